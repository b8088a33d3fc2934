'use strict'
// The seam between the etcd3-compatible facade and the native v3 engine: requests are encoded
// here (lib/v3/messages.js), cross into Rust once as bytes, and answers come back as bytes to be
// decoded into exactly the objects etcd3 returns.
const { binding } = require('../native')
const { hold, release } = require('../alive')
const messages = require('./messages')
const { invalidArg, AbortError, fromNative } = require('../errors')
const { ClientClosedError } = require('./errors')

// A pending call's `done` code meaning "the client was closed" (not a gRPC status).
const CLOSED = -2

// Calls that may be sent to another member after a failure even if they reached one: reads.
const READS = new Set([
  '/etcdserverpb.KV/Range',
  '/etcdserverpb.Lease/LeaseTimeToLive',
  '/etcdserverpb.Lease/LeaseLeases',
  '/etcdserverpb.Lease/LeaseKeepAlive',
  '/etcdserverpb.Cluster/MemberList',
  '/etcdserverpb.Maintenance/Status',
  '/etcdserverpb.Maintenance/Hash',
  '/etcdserverpb.Maintenance/HashKV',
  '/etcdserverpb.Auth/AuthStatus',
  '/etcdserverpb.Auth/UserGet',
  '/etcdserverpb.Auth/UserList',
  '/etcdserverpb.Auth/RoleGet',
  '/etcdserverpb.Auth/RoleList',
  '/v3electionpb.Election/Leader',
])

/** A transaction whose every op is a range read changes nothing, so it may be retried. */
function readOnlyTxn(request) {
  const ops = [...(request.success || []), ...(request.failure || [])]
  return ops.every((op) => op && op.request_range && !op.request_put && !op.request_delete_range && !op.request_txn)
}

/** etcd3's errors carry the gRPC status code and etcd's text; the facade casts them to classes. */
function grpcError(code, message) {
  const err = new Error(message)
  err.code = code
  err.details = message
  return err
}

/** etcd3's hosts and credentials as URLs: `host:port` gets https when credentials are given. */
function hostUrls(hosts, secure) {
  const list = typeof hosts === 'string' ? [hosts] : hosts
  if (!Array.isArray(list) || list.length === 0 || !list.every((h) => typeof h === 'string' && h.trim() !== '')) {
    throw invalidArg('hosts must be a host string or a non-empty array of them', 'ERR_INVALID_ARG_TYPE')
  }
  return list.map((h) => {
    const text = h.trim()
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `${secure ? 'https' : 'http'}://${text}`
  })
}

class Rpc {
  /** `options`: etcd3's IOptions (hosts, credentials, auth, dialTimeout). */
  constructor(options = {}) {
    const creds = options.credentials
    const native = { hosts: hostUrls(options.hosts === undefined ? '127.0.0.1:2379' : options.hosts, Boolean(creds)) }
    if (creds) {
      if (creds.rootCertificate) native.ca = [Buffer.from(creds.rootCertificate)]
      if (creds.certChain) native.cert = Buffer.from(creds.certChain)
      if (creds.privateKey) native.key = Buffer.from(creds.privateKey)
    }
    if (options.dialTimeout !== undefined && options.dialTimeout !== null) native.dialTimeout = Number(options.dialTimeout)
    if (options.auth && options.auth.username !== undefined) {
      native.username = String(options.auth.username)
      native.password = String(options.auth.password === undefined ? '' : options.auth.password)
    }
    this._secure = Boolean(creds)
    this._pending = new Map()
    this._lastId = 0
    this._streams = new Set()
    this._closed = false
    const pending = this._pending
    this._native = new binding.V3Client(native, (id, code, message, body) => {
      const done = pending.get(id)
      if (done === undefined) return
      pending.delete(id)
      release()
      done(code, message, body)
    })
  }

  /** One unary call: resolves with the decoded answer, rejects with a gRPC-style error. */
  call(service, method, request, callOptions = {}) {
    const m = messages.methods[service] && messages.methods[service][method]
    if (!m) return Promise.reject(invalidArg(`unknown etcd method ${service}.${method}`))
    if (this._closed) return Promise.reject(new ClientClosedError(service))
    let body
    try {
      body = m.requestType.encode(request || {})
    } catch (err) {
      return Promise.reject(err)
    }
    const signal = callOptions.signal
    if (signal && signal.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }))
    const idempotent = READS.has(m.path) || (m.path === '/etcdserverpb.KV/Txn' && readOnlyTxn(request || {}))
    const deadline = remainingMs(callOptions.deadline)
    let endpoint
    try {
      endpoint = this.endpointUrl(callOptions.endpoint)
    } catch (err) {
      return Promise.reject(err)
    }
    return new Promise((resolve, reject) => {
      const id = (this._lastId = (this._lastId + 1) >>> 0)
      let onAbort = null
      this._pending.set(id, (code, message, answer) => {
        if (onAbort !== null) signal.removeEventListener('abort', onAbort)
        if (code === CLOSED) {
          reject(new ClientClosedError(service))
        } else if (code < 0) {
          try {
            resolve(m.responseType.decode(answer))
          } catch (err) {
            reject(err)
          }
        } else {
          reject(grpcError(code, message))
        }
      })
      hold()
      try {
        this._native.unary(id, m.path, body, idempotent, deadline, endpoint)
      } catch (err) {
        this._pending.delete(id)
        release()
        reject(fromNative(err))
        return
      }
      if (signal) {
        onAbort = () => {
          if (this._pending.delete(id)) {
            release()
            this._native.cancel(id)
            reject(new AbortError(undefined, { cause: signal.reason }))
          }
        }
        signal.addEventListener('abort', onAbort, { once: true })
      }
    })
  }

  /**
   * A watcher with native resume: `handlers` get onConnecting(), onConnected(createdResponse),
   * onResponse(response), onDisconnected(err), onError(err).
   */
  watch(createRequest, handlers) {
    const body = messages.types.WatchCreateRequest.encode(createRequest || {})
    let ended = false
    let lastCanceled = false
    const stream = { cancel: null }
    const finish = () => {
      if (ended) return
      ended = true
      this._streams.delete(stream)
      release()
    }
    hold()
    const handle = this._native.watch(body, (kind, code, message, answer) => {
      if (ended) return
      switch (kind) {
        case 0:
          if (handlers.onConnecting) handlers.onConnecting()
          break
        case 1: {
          const res = messages.types.WatchResponse.decode(answer)
          lastCanceled = res.canceled
          if (res.created && !res.canceled) {
            if (handlers.onConnected) handlers.onConnected(res)
          } else if (handlers.onResponse) {
            handlers.onResponse(res)
          }
          break
        }
        case 2:
          if (handlers.onDisconnected) handlers.onDisconnected(grpcError(code, message))
          break
        default:
          finish()
          // A cancelled answer (e.g. compaction) already told the facade why.
          if (!lastCanceled && handlers.onError) handlers.onError(grpcError(code < 0 ? 2 : code, message))
      }
    })
    stream.cancel = () => {
      handle.cancel()
      finish()
      return Promise.resolve()
    }
    this._streams.add(stream)
    return stream
  }

  /** `endpoint` as the engine takes it (`http(s)://host:port`, https when the client has credentials). */
  endpointUrl(endpoint) {
    if (endpoint === undefined || endpoint === null) return undefined
    if (typeof endpoint !== 'string' || endpoint.trim() === '') throw invalidArg('endpoint must be a host string such as "127.0.0.1:2379"', 'ERR_INVALID_ARG_TYPE')
    const url = hostUrls(endpoint, this._secure)[0]
    if (!/^https?:\/\//i.test(url)) throw invalidArg(`unsupported protocol in endpoint ${JSON.stringify(endpoint)} (use http:// or https://)`, 'ERR_INVALID_URL')
    return url
  }

  /**
   * A server-streaming call (Snapshot, Observe): `handlers` get onMessage(decoded), onEnd(), onError(err),
   * each at most once after the end. Messages are read from etcd only as `request(n)` grants credit for
   * them. Returns `{ request(n), cancel() }`; `cancel()` ends it silently, and so does the client's close
   * (after onError(ClientClosedError)).
   */
  serverStream(service, method, request, handlers, options = {}) {
    const m = messages.methods[service] && messages.methods[service][method]
    if (!m || !m.responseStream || m.requestStream) throw invalidArg(`not a server-streaming etcd method: ${service}.${method}`)
    if (this._closed) throw new ClientClosedError(service)
    const body = m.requestType.encode(request || {})
    const endpoint = this.endpointUrl(options.endpoint)
    let over = false
    const finish = () => {
      if (over) return false
      over = true
      this._streams.delete(entry)
      release()
      return true
    }
    hold()
    let handle
    try {
      handle = this._native.serverStream(m.path, body, endpoint, (kind, code, message, answer) => {
        if (over) return
        if (kind === 0) {
          let decoded
          try {
            decoded = m.responseType.decode(answer)
          } catch (err) {
            handle.cancel()
            if (finish() && handlers.onError) handlers.onError(err)
            return
          }
          if (handlers.onMessage) handlers.onMessage(decoded)
        } else if (kind === 1) {
          if (finish() && handlers.onEnd) handlers.onEnd()
        } else if (finish() && handlers.onError) {
          handlers.onError(grpcError(code, message))
        }
      })
    } catch (err) {
      finish()
      throw fromNative(err)
    }
    const entry = {
      request: (n = 1) => {
        if (!over) handle.request(n)
      },
      cancel: () => {
        if (!over) handle.cancel()
        finish()
      },
      // The client's close(): the stream ends without its last messages.
      stop: () => {
        if (over) return
        handle.cancel()
        finish()
        if (handlers.onError) handlers.onError(new ClientClosedError(service))
      },
    }
    this._streams.add(entry)
    return entry
  }

  /** Keeps a lease alive on the client's shared stream: onSucceeded(ttl), onFailed(err), onLost(err). */
  keepAlive(leaseId, ttl, handlers) {
    let stopped = false
    hold()
    const handle = this._native.keepAlive(String(leaseId), Number(ttl), (kind, value, message, answer) => {
      if (stopped) return
      if (kind === 0) {
        const res = answer ? messages.types.LeaseKeepAliveResponse.decode(answer) : null
        if (handlers.onSucceeded) handlers.onSucceeded(res ? res.TTL : String(value), res ? res.header : undefined)
      } else if (kind === 1) {
        if (handlers.onFailed) handlers.onFailed(grpcError(value, message))
      } else {
        entry.stop()
        if (handlers.onLost) handlers.onLost(grpcError(5, message))
      }
    })
    const entry = {
      stop: () => {
        if (stopped) return
        stopped = true
        this._streams.delete(entry)
        handle.stop()
        release()
      },
      cancel: () => entry.stop(),
    }
    this._streams.add(entry)
    return entry
  }

  close() {
    if (this._closed) return
    this._closed = true
    for (const s of [...this._streams]) (s.stop || s.cancel)()
    for (const [, done] of this._pending) {
      release()
      done(CLOSED, 'the client was closed', null)
    }
    this._pending.clear()
    this._native.close()
  }
}

/** grpc-js deadlines: a Date or milliseconds since the epoch; the native side wants a duration. */
function remainingMs(deadline) {
  if (deadline === undefined || deadline === null || deadline === Infinity) return undefined
  const at = deadline instanceof Date ? deadline.getTime() : Number(deadline)
  if (!Number.isFinite(at)) return undefined
  return Math.max(1, at - Date.now())
}

module.exports = { Rpc, grpcError }
