'use strict'
// Distributed locks with Go clientv3's Mutex layout, so `etcdctl lock`, Go services and these locks exclude
// each other: a lock named `k` is the set of keys `k/<lease id in lowercase hex>`, each put under its
// owner's lease; the key with the lowest create revision holds the lock and every other owner waits for
// the deletion of the key created just before its own (a FIFO queue in which nobody wakes for nothing).
// etcd3 1.1.2's API on top: `acquire()` without options fails at once when the lock is held, as etcd3's did.
const { EventEmitter } = require('node:events')
const { Lease } = require('./lease')
const { WatchBuilder } = require('./watch')
const { NSApplicator, CompareResult, CompareTarget, SortOrder, SortTarget, endRangeForPrefix, toBuffer } = require('./builders')
const { EtcdLockFailedError, EtcdLockTimeoutError, EtcdLockLostError, EtcdCompactedError, ClientClosedError } = require('./errors')
const { AbortError, invalidArg } = require('../errors')
const { safeEmit } = require('./emit')

const SLASH = Buffer.from('/')

/** The name clientv3 gives a lease's key under a lock or election prefix: the id in lowercase hex. */
function leaseKeyName(leaseId) {
  return BigInt(leaseId).toString(16)
}

/** A range request for the key under `prefix` with the lowest create revision (clientv3's WithFirstCreate). */
function firstCreatedRequest(prefix) {
  return { key: prefix, range_end: endRangeForPrefix(prefix), sort_target: SortTarget.Create, sort_order: SortOrder.Ascend, limit: 1 }
}

function withSignal(callOptions, signal) {
  return signal ? { ...callOptions, signal } : callOptions || {}
}

// An aborted call rejects with an AbortError; the reason the wait was stopped says more (timeout, loss, …).
function stopReason(err, signal) {
  return signal && signal.aborted ? signal.reason : err
}

/**
 * Resolves once `key` (created at `createRevision`) is gone, or on compaction (the caller looks again).
 * The watch starts at "now", which etcd serves from its live events at once; clientv3 watches from the
 * revision of its last read, a past revision, and etcd catches such watches up in a background sync that
 * runs every 100 ms, which delays hand-offs under contention. A read once the watch is in place covers a
 * deletion that happened before it.
 */
function waitForDelete(pool, key, createRevision, signal, callOptions) {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) {
      reject(signal.reason)
      return
    }
    const watcher = new WatchBuilder(pool, NSApplicator.default).key(key).only('delete').watcher()
    let settled = false
    const finish = (settle, value) => {
      if (settled) return
      settled = true
      if (signal) signal.removeEventListener('abort', onAbort)
      watcher.cancel().catch(() => {})
      settle(value)
    }
    const onAbort = () => finish(reject, signal.reason)
    watcher.once('connected', () => {
      pool.exec('KV', 'range', { key, keys_only: true }, withSignal(callOptions, signal)).then(
        (res) => {
          if (res.kvs.length === 0 || res.kvs[0].create_revision !== createRevision) finish(resolve)
        },
        (err) => finish(reject, stopReason(err, signal)),
      )
    })
    watcher.on('delete', () => finish(resolve))
    // Events before a compacted start revision are gone (after a reconnect): the caller reads again.
    watcher.on('error', (err) => (err instanceof EtcdCompactedError ? finish(resolve) : finish(reject, err)))
    // 'end' without our cancel means the client was closed.
    watcher.on('end', () => finish(reject, new ClientClosedError('Watch')))
    if (signal) signal.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * clientv3's waitDeletes: resolves once no key under `prefix` (absolute) has a create revision
 * ≤ `maxCreateRevision`, waiting each time only for the newest such key to go. Resolves with the header of
 * the read that found none. Rejects with `signal.reason` when `signal` aborts.
 */
async function waitForDeletes(pool, prefix, maxCreateRevision, { signal, callOptions } = {}) {
  const max = BigInt(maxCreateRevision)
  const options = withSignal(callOptions, signal)
  const request = {
    key: prefix,
    range_end: endRangeForPrefix(prefix),
    sort_target: SortTarget.Create,
    sort_order: SortOrder.Descend,
    limit: 1,
    max_create_revision: max.toString(),
  }
  for (;;) {
    if (signal && signal.aborted) throw signal.reason
    // max_create_revision 0 would mean "no bound": nothing can have been created before revision 1.
    if (max < 1n) return undefined
    let res
    try {
      res = await pool.exec('KV', 'range', request, options)
    } catch (err) {
      throw stopReason(err, signal)
    }
    if (res.kvs.length === 0) return res.header
    await waitForDelete(pool, res.kvs[0].key, res.kvs[0].create_revision, signal, callOptions)
  }
}

/** Aborts `controller` when any of `signals` aborts or `timeout` ms pass; returns the unlink function. */
function linkStop(controller, signals, timeout, timeoutError) {
  const undo = []
  for (const signal of signals) {
    if (!signal) continue
    const onAbort = () => controller.abort(new AbortError(undefined, { cause: signal.reason }))
    if (signal.aborted) onAbort()
    else {
      signal.addEventListener('abort', onAbort, { once: true })
      undo.push(() => signal.removeEventListener('abort', onAbort))
    }
  }
  if (timeout !== undefined) {
    const timer = setTimeout(() => controller.abort(timeoutError()), timeout)
    undo.push(() => clearTimeout(timer))
  }
  return () => {
    for (const fn of undo) fn()
  }
}

function checkAcquireOptions(options) {
  if (options === null || typeof options !== 'object') {
    throw invalidArg('lock options must be an object: { wait, timeout, signal }', 'ERR_INVALID_ARG_TYPE')
  }
  const { timeout, signal } = options
  if (timeout !== undefined && !(typeof timeout === 'number' && timeout >= 0 && timeout <= 2 ** 31 - 1)) {
    throw invalidArg(`lock timeout must be a number of milliseconds from 0 to 2^31-1, got ${String(timeout)}`)
  }
  if (signal !== undefined && !(signal && typeof signal.aborted === 'boolean' && typeof signal.addEventListener === 'function')) {
    throw invalidArg('signal must be an AbortSignal', 'ERR_INVALID_ARG_TYPE')
  }
}

// How long a failed acquire waits for etcd to revoke its lease before it rejects (the revoke goes on after).
const LEAVE_QUEUE_WAIT_MS = 250

/** Resolves when `promise` settles (its error swallowed) or after `ms`, whichever comes first. */
function settledWithin(promise, ms) {
  let timer
  const bound = new Promise((resolve) => {
    timer = setTimeout(resolve, ms)
  })
  return Promise.race([promise.catch(() => {}), bound]).finally(() => clearTimeout(timer))
}

function inUseError(message) {
  const err = new Error(message)
  err.code = 'ETCD3_LOCK_IN_USE'
  return err
}

const IDLE = 'idle'
const ACQUIRING = 'acquiring'
const HELD = 'held'
const LOST = 'lost'
const RELEASED = 'released'

/**
 * A distributed lock on `key` (etcd3's Lock, with clientv3's key layout and queue). Each acquisition runs on
 * a lease of its own (`ttl()` seconds, default 30, kept alive while held): if this process dies, etcd
 * releases the lock when the lease expires.
 *
 * - `acquire()` / `tryAcquire()`: take the lock now or reject with EtcdLockFailedError (etcd3's contract).
 * - `acquire({ wait: true, timeout, signal })`: queue (fairly, first come first served) until it is ours;
 *   a timeout rejects with EtcdLockTimeoutError, an abort with AbortError; either way the removal of our
 *   queue entry and lease starts before the promise settles and completes when etcd answers.
 * - `do(fn, options)`: acquire, run `fn(lock)`, release.
 * Emits 'lost' (EtcdLockLostError) when the lease of a held lock expires or is revoked; `do()` then rejects
 * with that error even if `fn` succeeded.
 */
class Lock extends EventEmitter {
  constructor(pool, namespace, key) {
    super()
    this.pool = pool
    this.namespace = namespace
    this.key = key
    this.leaseTTL = 30
    this.lease = undefined
    this.callOptions = undefined
    this.phase = IDLE
    this.ownKey = null // absolute key of our queue entry
    this.ownRevision = null // its create revision (decimal string)
    this.lostError = null
    this.stopAcquire = null
  }

  /** The TTL (seconds) of the lease under the lock; default 30. Not while acquiring or held. */
  ttl(seconds) {
    if (this.phase === ACQUIRING || this.phase === HELD) throw inUseError('Cannot set a lock TTL after acquiring the lock')
    this.leaseTTL = seconds
    return this
  }

  /** Call options (`{ signal, deadline }`) for each request the lock makes. */
  options(options) {
    this.callOptions = options
    return this
  }

  /**
   * Without options (or `wait: false`) takes the lock if it is free and rejects with EtcdLockFailedError if
   * anyone holds or waits for it, as etcd3. With `{ wait: true }` waits its turn; `timeout` (ms) and
   * `signal` bound the wait. Resolves with the lock.
   */
  acquire(options) {
    if (options === undefined || options === null) options = {}
    try {
      checkAcquireOptions(options)
    } catch (err) {
      return Promise.reject(err)
    }
    return this.obtain(options, options.wait === true)
  }

  /** Takes the lock if it is free; else rejects with EtcdLockFailedError (leaving nothing behind). */
  tryAcquire(options) {
    if (options === undefined || options === null) options = {}
    try {
      checkAcquireOptions(options)
    } catch (err) {
      return Promise.reject(err)
    }
    return this.obtain(options, false)
  }

  /** The id of the lease under the lock (decimal string), or null before the first acquire. */
  leaseId() {
    return this.lease ? this.lease.grant() : Promise.resolve(null)
  }

  /** Whether this lock is held right now (as far as this client knows). */
  isHeld() {
    return this.phase === HELD
  }

  /** Releases the lock (revokes its lease, which deletes its key). While acquiring, gives up the wait. */
  release() {
    if (!this.lease) throw inUseError('Attempted to release a lock which was not acquired')
    if (this.phase === ACQUIRING && this.stopAcquire) {
      this.stopAcquire(new EtcdLockFailedError(`The lock on ${this.key} was released while it was being acquired`))
    }
    this.phase = RELEASED
    return this.lease.revoke(this.callOptions)
  }

  /**
   * Acquires the lock (`options` as for `acquire()`), runs `fn(lock)` and releases the lock however `fn`
   * ends. Rejects with `fn`'s error, else with EtcdLockLostError if the lock was lost meanwhile.
   */
  async do(fn, options) {
    await this.acquire(options)
    let result
    let error
    let failed = false
    try {
      result = await fn(this)
    } catch (err) {
      failed = true
      error = err
    }
    const lost = this.lostError
    try {
      await this.release()
    } catch (err) {
      if (!failed && !lost) {
        failed = true
        error = err
      }
    }
    if (failed) throw error
    if (lost) throw lost
    return result
  }

  /** The absolute prefix of the lock's queue: namespace + key + '/'. */
  queuePrefix() {
    return Buffer.concat([this.namespace.applyKey(toBuffer(this.key)), SLASH])
  }

  async obtain(options, wait) {
    if (this.phase === ACQUIRING || this.phase === HELD) {
      throw inUseError(`The lock on ${this.key} is already ${this.phase === HELD ? 'held' : 'being acquired'} by this Lock object`)
    }
    this.phase = ACQUIRING
    this.lostError = null
    this.ownKey = null
    this.ownRevision = null
    const stop = new AbortController()
    const callSignal = this.callOptions && this.callOptions.signal
    const unlink = linkStop(
      stop,
      [options.signal, callSignal],
      options.timeout,
      () => new EtcdLockTimeoutError(`Timed out after ${options.timeout} ms waiting for the lock on ${this.key}`),
    )
    this.stopAcquire = (reason) => stop.abort(reason)
    // The lease is this attempt's token: after release() an attempt may still be unwinding while a newer one
    // runs, and only the current attempt may change the lock's state.
    const lease = (this.lease = new Lease(this.pool, this.namespace, this.leaseTTL))
    const isCurrent = () => this.lease === lease
    lease.on('lost', (err) => this.onLeaseLost(lease, err))
    const callOptions = withSignal(this.callOptions, stop.signal)
    try {
      const id = await lease.grant({ signal: stop.signal }).catch((err) => {
        throw stopReason(err, stop.signal)
      })
      const prefix = this.queuePrefix()
      const own = Buffer.concat([prefix, Buffer.from(leaseKeyName(id))])
      if (isCurrent()) this.ownKey = own
      const owner = firstCreatedRequest(prefix)
      // clientv3's tryAcquire: join the queue and learn the holder in one round trip.
      const res = await this.pool
        .exec(
          'KV',
          'txn',
          {
            compare: [{ key: own, result: CompareResult.Equal, target: CompareTarget.Create, create_revision: 0 }],
            success: [{ request_put: { key: own, value: Buffer.alloc(0), lease: id } }, { request_range: owner }],
            failure: [{ request_range: { key: own } }, { request_range: owner }],
          },
          callOptions,
        )
        .catch((err) => {
          throw stopReason(err, stop.signal)
        })
      const ownRevision = res.succeeded ? res.header.revision : res.responses[0].response_range.kvs[0].create_revision
      if (isCurrent()) this.ownRevision = ownRevision
      const holder = res.responses[1].response_range.kvs[0]
      if (holder === undefined || holder.create_revision === ownRevision) {
        // A release() or timeout that came with the reply wins: we leave the queue instead.
        if (stop.signal.aborted) throw stop.signal.reason
        this.phase = HELD
        return this
      }
      if (!wait) throw new EtcdLockFailedError(`Failed to acquire a lock on ${this.key}`)
      await waitForDeletes(this.pool, prefix, BigInt(ownRevision) - 1n, { signal: stop.signal, callOptions: this.callOptions })
      // Our turn, unless our lease ran out while we waited (our key would be gone then).
      const check = await this.pool.exec('KV', 'range', { key: own }, callOptions).catch((err) => {
        throw stopReason(err, stop.signal)
      })
      if (check.kvs.length === 0 || check.kvs[0].create_revision !== ownRevision) {
        throw new EtcdLockLostError(`The lease of the lock on ${this.key} ran out while waiting for it`)
      }
      if (stop.signal.aborted) throw stop.signal.reason
      this.phase = HELD
      return this
    } catch (err) {
      const reason = stopReason(err, stop.signal)
      if (isCurrent() && this.phase === ACQUIRING) this.phase = IDLE
      // Leave the queue: revoking the lease deletes our key, so nobody waits behind a dead entry. A stalled
      // etcd must not hold up a timeout or abort, so the revoke gets a short head start and then runs on.
      await settledWithin(lease.revoke({}), LEAVE_QUEUE_WAIT_MS)
      throw reason
    } finally {
      unlink()
      if (isCurrent()) this.stopAcquire = null
    }
  }

  onLeaseLost(lease, err) {
    if (lease !== this.lease) return
    // Before our key exists a failed grant rejects the acquire by itself.
    if (this.ownKey === null) return
    const lost = new EtcdLockLostError(`The lease of the lock on ${this.key} was lost: ${err && err.message}`)
    Object.defineProperty(lost, 'cause', { value: err, writable: true, configurable: true })
    if (this.phase === ACQUIRING) {
      // A closed client is the reason to report, not the lease it took down.
      if (this.stopAcquire) this.stopAcquire(err instanceof ClientClosedError ? err : lost)
    } else if (this.phase === HELD) {
      this.phase = LOST
      this.lostError = lost
      safeEmit(this, 'lost', lost)
    }
  }
}

module.exports = { Lock, leaseKeyName, firstCreatedRequest, waitForDeletes }
