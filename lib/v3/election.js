'use strict'
// Leader elections with Go clientv3's Election layout, so `etcdctl elect`, Go services and these campaigns
// take part in the same elections: candidates of election `name` are the keys `name/<lease id in lowercase
// hex>`, each holding its proposal under its candidate's lease; the leader is the key with the lowest
// create revision, and each candidate waits for the deletion of the key created just before its own.
// etcd3 1.1.2's API on top (Election, Campaign, ElectionObserver), except that etcd3 kept its candidates
// under `election/<name>/<lease id in decimal>`, where nothing else could see them.
const { EventEmitter } = require('node:events')
const { toBuffer } = require('./builders')
const { NotCampaigningError, EtcdLeaseInvalidError, EtcdCompactedError, ClientClosedError } = require('./errors')
const { leaseKeyName, waitForDeletes } = require('./lock')
const { nextRevision } = require('./watch')
const { safeEmit } = require('./emit')

/** The candidate with the lowest create revision (its key unprefixed), and the read's header. */
async function firstCandidate(namespace) {
  const res = await namespace.getAll().sort('Create', 'Ascend').limit(1).exec()
  return { kv: res.kvs[0], header: res.header }
}

/** Resolves on the next `event` of `emitter`, rejects on its next 'error' (whichever comes first). */
function nextOf(emitter, event) {
  return new Promise((resolve, reject) => {
    const onEvent = () => {
      emitter.removeListener('error', onError)
      resolve()
    }
    const onError = (err) => {
      emitter.removeListener(event, onEvent)
      reject(err)
    }
    emitter.once(event, onEvent)
    emitter.once('error', onError)
  })
}

function deferred() {
  const d = {}
  d.promise = new Promise((resolve, reject) => {
    d.resolve = resolve
    d.reject = reject
  })
  d.promise.catch(() => {}) // rejected only for callers of proclaim(), who hold the promise
  return d
}

const UNSET = Symbol('unset')

/**
 * Follows an election's leader (etcd3's ElectionObserver; clientv3's Observe loop): 'change' with the
 * leader's value (undefined when there is none), 'disconnected' while a watch reconnects, 'error' when
 * observing had to stop. `cancel()` ends it.
 */
class ElectionObserver extends EventEmitter {
  constructor(namespace) {
    super()
    this.namespace = namespace
    this.running = true
    this.current = UNSET
    this.disposer = null
    this.endError = null // why the loop stopped, when it failed
    this.runLoop = this.loop().catch((err) => {
      const wasRunning = this.running
      this.running = false
      this.endError = err
      // A closed client ends observation quietly, as it ends watchers.
      if (wasRunning && !(err instanceof ClientClosedError)) safeEmit(this, 'error', err)
    })
  }

  /** Whether the election has a leader (as last seen). */
  get hasLeader() {
    return this.current !== UNSET && this.current !== undefined
  }

  /** Stops observing. */
  async cancel() {
    this.running = false
    if (this.disposer) this.disposer()
    await this.runLoop
  }

  /** The leader's value (a string, or a Buffer with 'buffer'), or undefined without a leader. */
  leader(encoding = 'utf-8') {
    const kv = this.current
    if (kv === UNSET || kv === undefined) return undefined
    return encoding === 'buffer' ? kv.value : kv.value.toString(encoding)
  }

  // The first call always emits (etcd3 emitted undefined then, even with a leader; we emit the value).
  setLeader(kv) {
    const prev = this.current
    this.current = kv
    const value = kv === undefined ? undefined : kv.value.toString()
    if (prev === UNSET) safeEmit(this, 'change', value)
    else if (kv === undefined) {
      if (prev !== undefined) safeEmit(this, 'change', undefined)
    } else if (prev === undefined || !kv.value.equals(prev.value)) safeEmit(this, 'change', value)
  }

  async loop() {
    while (this.running) {
      const { kv, header } = await firstCandidate(this.namespace)
      if (!this.running) return
      let leader = kv
      let revision = header.revision
      if (leader === undefined) {
        this.setLeader(undefined)
        // The first candidate to appear after that read is the leader.
        leader = await this.watchUntil(this.namespace.watch().prefix('').startRevision(nextRevision(revision)).only('put'), (type, event) => event)
        if (leader === undefined) continue // stopped, or the start revision was compacted: read again
        revision = leader.mod_revision
      }
      this.setLeader(leader)
      await this.watchUntil(this.namespace.watch().key(leader.key).startRevision(nextRevision(revision)), (type, event) => {
        if (type === 'delete') return true
        this.setLeader(event) // a proclamation
        return undefined
      })
    }
  }

  /**
   * Watches until `onEvent(type, kv)` returns something other than undefined (resolves with it), the
   * observer is cancelled or the client closed (resolves undefined), or the watch fails.
   */
  watchUntil(builder, onEvent) {
    return new Promise((resolve, reject) => {
      if (!this.running) {
        resolve(undefined)
        return
      }
      const watcher = builder.watcher()
      let settled = false
      const finish = (settle, value) => {
        if (settled) return
        settled = true
        this.disposer = null
        watcher.cancel().catch(() => {})
        settle(value)
      }
      this.disposer = () => finish(resolve, undefined)
      const handle = (type) => (kv) => {
        if (settled) return
        const result = onEvent(type, kv)
        if (result !== undefined) finish(resolve, result)
      }
      watcher.on('put', handle('put'))
      watcher.on('delete', handle('delete'))
      watcher.on('disconnected', (err) => safeEmit(this, 'disconnected', err))
      watcher.on('error', (err) => (err instanceof EtcdCompactedError ? finish(resolve, undefined) : finish(reject, err)))
      // 'end' also follows our own cancel(); unsettled, it means the client was closed.
      watcher.on('end', () => {
        if (settled) return
        this.running = false
        finish(resolve, undefined)
      })
    })
  }
}

const CAMPAIGNING = 'campaigning'
const ELECTED = 'elected'
const RESIGNED = 'resigned'
const FAILED = 'failed'

/**
 * One candidate in an election (etcd3's Campaign). It starts at once: 'elected' when it leads, 'error'
 * when it failed (its lease was lost, or a request failed) — then it is over and its key is gone.
 */
class Campaign extends EventEmitter {
  constructor(namespace, value, ttl) {
    super()
    this.namespace = namespace
    this.value = toBuffer(value)
    this.lease = namespace.lease(ttl)
    this.phase = CAMPAIGNING
    this.keyName = undefined // our key within the election (lease id in hex)
    this.keyRevision = undefined // its create revision
    this.failure = undefined
    this.pendingProclamation = undefined
    this.stop = new AbortController()
    this.lease.on('lost', (err) => this.fail(err))
    this.start().catch((err) => this.fail(err))
  }

  /** Resolves with the campaign once elected; rejects if it fails; never settles after `resign()`. */
  wait() {
    if (this.phase === ELECTED) return Promise.resolve(this)
    if (this.phase === FAILED) return Promise.reject(this.failure)
    return nextOf(this, 'elected').then(() => this)
  }

  /**
   * Changes this candidate's value without a new election (seen by observers while it leads). Rejects
   * with NotCampaigningError after `resign()`, a failure, or when our key is no longer ours.
   */
  async proclaim(value) {
    if (!this.active()) throw new NotCampaigningError('This campaign has resigned or failed')
    const buf = toBuffer(value)
    if (buf.equals(this.value) && !this.pendingProclamation) return
    return this.proclaimInner(buf)
  }

  /** The candidate's key: the election's prefix plus the lease id in hex (as clientv3 and etcdctl name it). */
  async getCampaignKey() {
    const id = await this.lease.grant()
    return this.namespace.prefix.toString() + leaseKeyName(id)
  }

  /** The election's current leader value (ours or another candidate's), undefined without one. */
  async getLeader(encoding = 'utf-8') {
    const { kv } = await firstCandidate(this.namespace)
    if (kv === undefined) return undefined
    return encoding === 'buffer' ? kv.value : kv.value.toString(encoding)
  }

  /** Leaves the election (revokes the lease, which deletes our key); the next candidate takes over. */
  async resign() {
    if (this.phase === RESIGNED) return
    this.phase = RESIGNED
    const why = new NotCampaigningError('The campaign resigned')
    this.stop.abort(why)
    if (this.pendingProclamation) this.pendingProclamation.reject(why)
    await this.lease.revoke()
  }

  active() {
    return this.phase === CAMPAIGNING || this.phase === ELECTED
  }

  async start() {
    const id = await this.lease.grant()
    if (!this.active()) return
    const ns = this.namespace
    const key = leaseKeyName(id)
    this.keyName = key
    const value = this.value
    const res = await ns.if(key, 'Create', '==', 0).then(ns.put(key).value(value).lease(id)).else(ns.get(key)).commit()
    if (!this.active()) return
    let stored = value
    if (res.succeeded) this.keyRevision = res.header.revision
    else {
      const kv = res.responses[0].response_range.kvs[0]
      this.keyRevision = kv.create_revision
      stored = kv.value
    }
    // proclaim() calls made before our key existed were kept for now.
    if (!this.value.equals(stored)) await this.proclaimInner(this.value)
    if (this.pendingProclamation) {
      this.pendingProclamation.resolve()
      this.pendingProclamation = undefined
    }
    await waitForDeletes(ns.pool, ns.prefix, BigInt(this.keyRevision) - 1n, { signal: this.stop.signal })
    const own = await ns.get(key).exec()
    if (!this.active()) return
    if (own.kvs.length === 0 || own.kvs[0].create_revision !== this.keyRevision) {
      throw new EtcdLeaseInvalidError(id) // the lease ran out while we waited
    }
    this.phase = ELECTED
    safeEmit(this, 'elected')
  }

  async proclaimInner(buf) {
    if (this.keyRevision === undefined) {
      this.value = buf
      if (!this.pendingProclamation) this.pendingProclamation = deferred()
      return this.pendingProclamation.promise
    }
    const ns = this.namespace
    const id = await this.lease.grant()
    const res = await ns.if(this.keyName, 'Create', '==', this.keyRevision).then(ns.put(this.keyName).value(buf).lease(id)).commit()
    if (!res.succeeded) {
      this.resign().catch(() => {})
      throw new NotCampaigningError('The campaign key is no longer ours (its lease expired or it was deleted)')
    }
    this.value = buf
  }

  fail(err) {
    if (!this.active()) return
    this.phase = FAILED
    this.failure = err
    this.stop.abort(err)
    if (this.pendingProclamation) this.pendingProclamation.reject(err)
    this.lease.revoke().catch(() => {})
    // Closing the client is not a failure anyone has to handle.
    if (err instanceof ClientClosedError && this.listenerCount('error') === 0) return
    safeEmit(this, 'error', err)
  }
}

/**
 * An election (etcd3's Election, clientv3's layout): candidates are the keys under `<name>/` in this
 * namespace, kept alive by leases of `ttl` seconds (default 60: a dead leader is replaced within that).
 */
class Election {
  constructor(parent, name, ttl = 60) {
    this.name = name
    this.ttl = ttl
    this.namespace = parent.namespace(Buffer.concat([toBuffer(name), Buffer.from('/')]))
  }

  /** Starts campaigning with `value`; listen for 'elected' and 'error' on the result. */
  campaign(value) {
    return new Campaign(this.namespace, value, this.ttl)
  }

  /** The leader's value, or undefined when nobody leads. */
  async leader(encoding = 'utf-8') {
    const { kv } = await firstCandidate(this.namespace)
    if (kv === undefined) return undefined
    return encoding === 'buffer' ? kv.value : kv.value.toString(encoding)
  }

  /** Same as `leader()`. */
  getLeader(encoding) {
    return this.leader(encoding)
  }

  /** An observer of the leader, resolved once it knows the current one. `cancel()` it when done. */
  observe() {
    const observer = new ElectionObserver(this.namespace)
    // A loop that ends before the first 'change' (the client closed: it ends quietly) must not leave us pending.
    const endedFirst = observer.runLoop.then(() => {
      throw observer.endError || new ClientClosedError('Election')
    })
    return Promise.race([nextOf(observer, 'change'), endedFirst]).then(() => observer)
  }
}

/** etcd3 put elections under 'election/'; here an election's name is its prefix, as in clientv3 and etcdctl. */
Election.prefix = ''

module.exports = { Election, Campaign, ElectionObserver }
