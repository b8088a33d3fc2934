'use strict'
// etcd3's Lease: a lease granted on first use and kept alive on the engine's shared keep-alive stream, with
// etcd3's events ('lost', 'keepaliveEstablished', 'keepaliveFired', 'keepaliveSucceeded', 'keepaliveFailed').
const { EventEmitter } = require('node:events')
const { PutBuilder, untilAborted } = require('./builders')
const { EtcdLeaseInvalidError, ClientClosedError, castGrpcError } = require('./errors')
const { safeEmit } = require('./emit')

const LeaseState = { Pending: 0, Alive: 1, Revoked: 2, 0: 'Pending', 1: 'Alive', 2: 'Revoked' }

function throwIfError(value) {
  if (value instanceof Error) throw value
  return value
}

/**
 * A lease of `ttl` seconds. Nothing is sent until it is first used (`grant()`, `put()`, `keepaliveOnce()`,
 * `ttl()`); then it is granted once and, unless `autoKeepAlive: false`, kept alive until `revoke()` or
 * `release()`. `'lost'` fires (at most once) when the lease can no longer be relied on: the grant failed,
 * etcd says it expired or doesn't know it, a keep-alive deadline passed, or the client was closed.
 */
class Lease extends EventEmitter {
  constructor(pool, namespace, ttl, options = {}) {
    super()
    if (!ttl || ttl < 1) {
      throw new RangeError(`The TTL in an etcd lease must be at least 1 second. Got: ${ttl}`)
    }
    this.pool = pool
    this.namespace = namespace
    this.leaseTTL = ttl
    const { autoKeepAlive, ...grantOptions } = options
    // A deadline or signal given here bounds the grant only: later calls would inherit a stale one (as etcd3).
    const { deadline, signal, ...laterOptions } = grantOptions
    this.autoKeepAlive = autoKeepAlive !== false
    this.grantOptions = grantOptions
    this.defaultOptions = laterOptions
    this.innerState = LeaseState.Pending
    this.leaseID = null // Promise<string | Error> once the grant starts
    this.revokedBeforeGrant = false
    this.keeper = null
    this.keepaliveBroken = false
    this.nativeFires = false
    this.lostEmitted = false
    this.unhookClose = null
  }

  get state() {
    return this.innerState
  }

  /**
   * Resolves with the lease id (a decimal string), granting the lease on first call. Safe to call many
   * times. Rejects when the grant failed (and 'lost' fires). `{ signal }` stops waiting, not the grant.
   */
  grant(options = {}) {
    return untilAborted(this.ensureGrant().then(throwIfError), options.signal)
  }

  ensureGrant() {
    if (this.leaseID) return this.leaseID
    if (this.revokedBeforeGrant) {
      return Promise.resolve(new EtcdLeaseInvalidError('(revoked before it was granted)'))
    }
    if (this.autoKeepAlive) this.unhookClose = this.pool.onClose(() => this.onClientClosed())
    this.leaseID = this.pool.exec('Lease', 'leaseGrant', { TTL: this.leaseTTL }, this.grantOptions).then(
      (res) => {
        if (this.innerState === LeaseState.Revoked) return res.ID
        this.innerState = LeaseState.Alive
        if (this.autoKeepAlive) this.startKeepalive(res.ID, Number(res.TTL) > 0 ? Number(res.TTL) : this.leaseTTL)
        return res.ID
      },
      (err) => {
        this.emitLoss(err)
        // Resolve with the error so an unobserved grant can't become an unhandled rejection.
        return err
      },
    )
    return this.leaseID
  }

  /** Revokes the lease in etcd (its keys are deleted). Does not emit 'lost'. */
  async revoke(options = this.defaultOptions) {
    this.close()
    if (!this.leaseID) {
      this.revokedBeforeGrant = true
      return
    }
    const id = await this.leaseID
    if (id instanceof Error) return // never granted
    try {
      await this.pool.exec('Lease', 'leaseRevoke', { ID: id }, options)
    } catch (err) {
      if (!(err instanceof EtcdLeaseInvalidError)) throw err
    }
  }

  /** Stops keeping the lease alive; etcd expires it after its TTL. Does not emit 'lost'. */
  release() {
    this.close()
  }

  /** A put builder whose key is attached to this lease. A lease-not-found answer emits 'lost'. */
  put(key) {
    const kv = {
      put: (req, options) =>
        this.pool.exec('KV', 'put', req, options).catch((err) => {
          if (err instanceof EtcdLeaseInvalidError) this.emitLoss(err)
          throw err
        }),
    }
    const id = this.grant()
    id.catch(() => {}) // observed by the builder when it runs; a builder never run must not crash the process
    return new PutBuilder(kv, this.namespace, key).lease(id)
  }

  /** Sends one keep-alive now; resolves with etcd's answer `{ header, ID, TTL }`. */
  async keepaliveOnce(options = this.defaultOptions) {
    const id = await this.grant()
    let res
    try {
      res = await this.pool.exec('Lease', 'leaseKeepAlive', { ID: id }, options)
    } catch (err) {
      if (err instanceof EtcdLeaseInvalidError) this.emitLoss(err)
      throw err
    }
    if (!(Number(res.TTL) > 0)) {
      const err = new EtcdLeaseInvalidError(res.ID || id)
      this.emitLoss(err)
      throw err
    }
    return res
  }

  /**
   * The seconds the lease has left, as etcd reports now (LeaseTimeToLive). When etcd no longer knows the
   * lease, 'lost' fires and this rejects with EtcdLeaseInvalidError.
   */
  async ttl(options = this.defaultOptions) {
    const id = await this.grant()
    const res = await this.pool.exec('Lease', 'leaseTimeToLive', { ID: id }, options)
    const ttl = Number(res.TTL)
    if (ttl < 0) {
      const err = new EtcdLeaseInvalidError(id)
      this.emitLoss(err)
      throw err
    }
    return ttl
  }

  /** Whether the lease is over (revoked, released or lost). */
  revoked() {
    return this.innerState === LeaseState.Revoked
  }

  startKeepalive(id, ttl) {
    const handlers = {
      onFired: () => {
        if (this.innerState === LeaseState.Revoked) return
        this.nativeFires = true
        this.safeEmit('keepaliveFired')
      },
      onSucceeded: (remaining, header) => {
        if (this.innerState === LeaseState.Revoked) return
        if (this.keepaliveBroken) {
          // etcd3 re-opens its stream after a failure and announces it; the engine's stream came back.
          this.keepaliveBroken = false
          this.safeEmit('keepaliveEstablished')
        }
        if (!this.nativeFires) this.safeEmit('keepaliveFired')
        this.safeEmit('keepaliveSucceeded', { header, ID: id, TTL: String(remaining) })
      },
      onFailed: (err) => {
        if (this.innerState === LeaseState.Revoked) return
        this.keepaliveBroken = true
        this.safeEmit('keepaliveFailed', castGrpcError(err))
      },
      onLost: (err) => {
        if (this.innerState === LeaseState.Revoked) return
        const cast = castGrpcError(err)
        if (cast instanceof EtcdLeaseInvalidError) {
          // etcd said the lease is gone: etcd3 reports the failed keep-alive, then the loss, with
          // the lease id in the message ("Lease <id> is expired or revoked").
          const gone = new EtcdLeaseInvalidError(id)
          Object.defineProperty(gone, 'cause', { value: cast, writable: true, configurable: true })
          this.safeEmit('keepaliveFailed', gone)
          this.emitLoss(gone)
          return
        }
        const lost = new EtcdLeaseInvalidError(id)
        if (cast !== undefined) Object.defineProperty(lost, 'cause', { value: cast, writable: true, configurable: true })
        this.emitLoss(lost)
      },
    }
    try {
      this.keeper = this.pool.keepAlive(id, ttl, handlers)
    } catch (err) {
      this.emitLoss(castGrpcError(err))
      return
    }
    this.safeEmit('keepaliveEstablished')
  }

  onClientClosed() {
    this.unhookClose = null
    if (this.innerState !== LeaseState.Revoked) this.emitLoss(new ClientClosedError('Lease'))
  }

  close() {
    this.innerState = LeaseState.Revoked
    if (this.keeper) {
      const keeper = this.keeper
      this.keeper = null
      keeper.stop()
    }
    if (this.unhookClose) {
      this.unhookClose()
      this.unhookClose = null
    }
  }

  // Listener errors must not unwind into the engine's callbacks or the grant chain.
  safeEmit(event, ...args) {
    safeEmit(this, event, ...args)
  }

  emitLoss(err) {
    this.close()
    if (this.lostEmitted) return
    this.lostEmitted = true
    this.safeEmit('lost', err)
  }
}

module.exports = { Lease, LeaseState }
