'use strict'
// `require('etcd-napi/v3')`: npm etcd3's module shape, for a one-line switch from `require('etcd3')`.
module.exports = require('../lib/v3/etcd3')
