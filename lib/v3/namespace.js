'use strict'
// The call layer between etcd3's API and the native engine (`rpc`), etcd3's low-level service clients, and
// `Namespace`: the prefixed key space every high-level call goes through.
const { castGrpcError, ClientClosedError } = require('./errors')
const { NSApplicator, Range, SingleRangeBuilder, MultiRangeBuilder, PutBuilder, DeleteBuilder, ComparatorBuilder, toBuffer } = require('./builders')
const { Lease } = require('./lease')
const { WatchBuilder } = require('./watch')
const { rethrowLater } = require('./emit')

/** etcd3's defaultCallOptions may be an object or a function of the call context; call options win. */
function resolveCallOptions(callOptions, defaults, context) {
  if (defaults === undefined) return callOptions
  if (typeof defaults === 'function') defaults = defaults(context)
  return callOptions ? { ...defaults, ...callOptions } : defaults
}

/** etcd3 names methods in camelCase ('deleteRange'); the engine takes gRPC's names ('DeleteRange'). */
function grpcMethod(method) {
  return method.charAt(0).toUpperCase() + method.slice(1)
}

function unsupported(what) {
  const err = new Error(`${what} is not supported by etcd-napi's etcd3 API (use the high-level watch()/lease() instead)`)
  err.code = 'ETCD3_UNSUPPORTED'
  return err
}

/**
 * Runs every call of one client (all its namespaces share it): call options, error casting, the optional
 * user policy (`faultHandling.global`), etcd3's `mock()`, and what happens on `close()`. Retries, failover,
 * auth tokens and TLS are the engine's.
 */
class CallPool {
  constructor(rpc, options = {}) {
    this.rpc = rpc
    this.options = options
    this.callOptionsFactory = options.defaultCallOptions
    const faultHandling = options.faultHandling || {}
    this.globalPolicy = faultHandling.global
    this.closed = false
    this.mockImpl = null
    this.closeHooks = new Set()
  }

  /** One unary call, `method` in etcd3's spelling ('range', 'leaseGrant', …). */
  exec(service, method, payload, options) {
    if (this.mockImpl) return Promise.resolve().then(() => this.mockImpl.exec(service, method, payload))
    if (this.closed) return Promise.reject(new ClientClosedError(service))
    const callOptions = resolveCallOptions(options, this.callOptionsFactory, { service, method, params: payload, isStream: false })
    const attempt = () => {
      if (this.closed) return Promise.reject(new ClientClosedError(service))
      return Promise.resolve()
        .then(() => this.rpc.call(service, grpcMethod(method), payload, callOptions || {}))
        .catch((err) => {
          throw castGrpcError(err)
        })
    }
    // A user-supplied cockatiel policy sees the typed errors, so `handleWhen(isRecoverableError)` works.
    return this.globalPolicy ? this.globalPolicy.execute(attempt) : attempt()
  }

  /** Starts a watch stream on the engine (which resumes it on reconnects). */
  watch(createRequest, handlers) {
    if (this.closed) throw new ClientClosedError('Watch')
    return this.rpc.watch(createRequest, handlers)
  }

  /** Keeps a lease alive on the engine's shared keep-alive stream. */
  keepAlive(leaseId, ttl, handlers) {
    if (this.closed) throw new ClientClosedError('Lease')
    return this.rpc.keepAlive(leaseId, ttl, handlers)
  }

  /** Runs `fn` once when the client closes; returns an unregister function. */
  onClose(fn) {
    this.closeHooks.add(fn)
    return () => this.closeHooks.delete(fn)
  }

  mock(callable) {
    this.mockImpl = callable
  }

  unmock() {
    this.mockImpl = null
  }

  close() {
    if (this.closed) return
    this.closed = true
    // Leases and watchers learn first, so they report the close rather than the streams' teardown errors.
    const hooks = [...this.closeHooks]
    this.closeHooks.clear()
    for (const hook of hooks) {
      try {
        hook()
      } catch (err) {
        rethrowLater(err)
      }
    }
    this.rpc.close()
  }
}

// Low-level clients: etcd3's raw request/response methods, one engine call each.
function unaryMethods(cls, service, withRequest, withoutRequest = []) {
  for (const method of withRequest) {
    cls.prototype[method] = function (req, options) {
      return this.client.exec(service, method, req, options)
    }
  }
  for (const method of withoutRequest) {
    cls.prototype[method] = function (options) {
      return this.client.exec(service, method, {}, options)
    }
  }
  return cls
}

class KVClient {
  constructor(client) {
    this.client = client
  }
}
unaryMethods(KVClient, 'KV', ['range', 'put', 'deleteRange', 'txn', 'compact'])

class LeaseClient {
  constructor(client) {
    this.client = client
  }

  // etcd3 hands out the raw bidirectional gRPC stream here; the engine owns that stream.
  leaseKeepAlive() {
    return Promise.reject(unsupported('leaseClient.leaseKeepAlive() (a raw gRPC stream)'))
  }
}
unaryMethods(LeaseClient, 'Lease', ['leaseGrant', 'leaseRevoke', 'leaseTimeToLive'], ['leaseLeases'])

class WatchClient {
  constructor(client) {
    this.client = client
  }

  watch() {
    return Promise.reject(unsupported('watchClient.watch() (a raw gRPC stream)'))
  }
}

class ClusterClient {
  constructor(client) {
    this.client = client
  }
}
unaryMethods(ClusterClient, 'Cluster', ['memberAdd', 'memberRemove', 'memberUpdate', 'memberList', 'memberPromote'])

class MaintenanceClient {
  constructor(client) {
    this.client = client
  }

  /** etcd3 hands out grpc-js's response stream; this is a Readable (object mode) of the same decoded messages. */
  snapshot(options) {
    const { ServerStream } = require('./admin')
    if (this.client.closed) return Promise.reject(new ClientClosedError('Maintenance'))
    return Promise.resolve(new ServerStream(this.client, 'Maintenance', 'Snapshot', {}, { signal: options && options.signal }))
  }
}
unaryMethods(MaintenanceClient, 'Maintenance', ['alarm', 'hashKV', 'moveLeader', 'downgrade'], ['status', 'defragment', 'hash'])

class AuthClient {
  constructor(client) {
    this.client = client
  }
}
unaryMethods(
  AuthClient,
  'Auth',
  ['authenticate', 'userAdd', 'userGet', 'userDelete', 'userChangePassword', 'userGrantRole', 'userRevokeRole', 'roleAdd', 'roleGet', 'roleDelete', 'roleGrantPermission', 'roleRevokePermission'],
  ['authEnable', 'authDisable', 'authStatus', 'userList', 'roleList'],
)

/**
 * A key space: every key given to its methods gets `prefix` prepended, and keys it hands back (getAll,
 * watch events) have it removed. `namespace(p)` nests. All namespaces of a client share its connections.
 */
class Namespace {
  constructor(prefix, pool, options) {
    this.prefix = prefix
    this.pool = pool
    this.options = options
    this.kv = new KVClient(pool)
    this.leaseClient = new LeaseClient(pool)
    this.watchClient = new WatchClient(pool)
    this.nsApplicator = new NSApplicator(prefix)
  }

  get(key) {
    return new SingleRangeBuilder(this.kv, this.nsApplicator, key)
  }

  getAll() {
    return new MultiRangeBuilder(this.kv, this.nsApplicator)
  }

  put(key) {
    return new PutBuilder(this.kv, this.nsApplicator, key)
  }

  delete() {
    return new DeleteBuilder(this.kv, this.nsApplicator)
  }

  /** A lease of `ttl` seconds, granted on first use and kept alive until revoked or released. */
  lease(ttl, options) {
    return new Lease(this.pool, this.nsApplicator, ttl, options)
  }

  if(key, column, cmp, value) {
    return new ComparatorBuilder(this.kv, this.nsApplicator).and(key, column, cmp, value)
  }

  watch() {
    return new WatchBuilder(this.pool, this.nsApplicator)
  }

  range(r) {
    return Range.from(r)
  }

  namespace(prefix) {
    return new Namespace(Buffer.concat([this.prefix, toBuffer(prefix)]), this.pool, this.options)
  }

  // The concurrency recipes (lock.js, stm.js, election.js) are required where used: they build on this
  // file's call layer, not the other way round.

  /** A distributed lock on `key` (keys `<key>/<lease id hex>`, as clientv3's Mutex and `etcdctl lock`). */
  lock(key) {
    const { Lock } = require('./lock')
    return new Lock(this.pool, this.nsApplicator, key)
  }

  /** A software transaction; `options`: `{ isolation, retries = 3, prefetch = [], callOptions }`. */
  stm(options) {
    const { SoftwareTransaction, Isolation } = require('./stm')
    return new SoftwareTransaction({ isolation: Isolation.SerializableSnapshot, prefetch: [], retries: 3, ...options }, this.nsApplicator, this.kv)
  }

  /** A leader election (keys `<name>/<lease id hex>`, as clientv3 and `etcdctl elect`); leases of `ttl` s. */
  election(name, ttl) {
    const { Election } = require('./election')
    return new Election(this, name, ttl)
  }
}

module.exports = {
  resolveCallOptions,
  grpcMethod,
  CallPool,
  KVClient,
  LeaseClient,
  WatchClient,
  ClusterClient,
  MaintenanceClient,
  AuthClient,
  Namespace,
}
