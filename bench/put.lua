-- wrk script for the v2 PUT rows: the same request node-etcd and etcd-napi send for set(key, 'bar').
wrk.method = "PUT"
wrk.body = "value=bar"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
