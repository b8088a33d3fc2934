'use strict'
// Go clientv3's mirror.Syncer on Etcd3: copy the keys under a prefix at one revision (in pages), then
// follow every change after that revision with a watch, so that a copy kept from both is exact; resumable
// from any revision the copy is known to be complete at.
const { EventEmitter } = require('node:events')
const { Range, toBuffer } = require('./builders')
const { invalidArg, AbortError } = require('../errors')
const { nextRevision } = require('./watch')

const DEFAULT_PAGE_SIZE = 1000

function revisionString(value, what) {
  const rev = typeof value === 'bigint' || typeof value === 'number' ? String(value) : value
  if (typeof rev !== 'string' || !/^[0-9]+$/.test(rev) || (typeof value === 'number' && !Number.isSafeInteger(value))) {
    throw invalidArg(`${what} must be a revision: a non-negative integer, decimal string or bigint`, 'ERR_INVALID_ARG_TYPE')
  }
  return BigInt(rev).toString()
}

function notSynced() {
  const err = new Error('syncUpdates() needs a revision to follow from: run syncBase() to the end first, or give mirror(prefix, { revision })')
  err.code = 'ETCD3_MIRROR_NOT_SYNCED'
  return err
}

/** Events of one watch response, one batch per revision (a transaction's changes stay together). */
function byRevision(events) {
  const batches = []
  for (const ev of events) {
    const revision = String(ev.kv.mod_revision)
    const last = batches[batches.length - 1]
    if (last && last.revision === revision) last.events.push(ev)
    else batches.push({ revision, events: [ev] })
  }
  return batches
}

/**
 * `client.mirror(prefix, { revision, pageSize })`. With `syncUpdates({ iterator: false })` changes arrive as
 * events: 'put' (kv, prev_kv) and 'delete' (kv, prev_kv) per change, then 'revision' ({ revision, events });
 * 'error' when following is over because of a failure (e.g. its start revision was compacted: copy the
 * base again).
 *
 * `revision` is the revision the copy is complete at: set by syncBase() when its last page has been
 * handed out, then advanced by syncUpdates() as each revision is handed out (by its iterator, or by the
 * events). Persist it with your copy; `mirror(prefix, { revision })` resumes from it with no change missed
 * or repeated.
 */
class Mirror extends EventEmitter {
  constructor(client, prefix, options = {}) {
    super()
    if (typeof prefix !== 'string' && !Buffer.isBuffer(prefix)) throw invalidArg('prefix must be a string or a Buffer', 'ERR_INVALID_ARG_TYPE')
    const { revision, pageSize = DEFAULT_PAGE_SIZE } = options || {}
    if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw invalidArg('pageSize must be a positive integer')
    this.client = client
    this.prefix = toBuffer(prefix)
    this.range = Range.prefix(this.prefix)
    this.pageSize = pageSize
    this.revision = revision === undefined || revision === null ? null : revisionString(revision, 'revision')
    this.following = null
  }

  /**
   * The keys under the prefix, at one revision, as an async iterable of pages `{ revision, kvs }` (key order,
   * up to `pageSize` each; none for an empty prefix). The revision is the mirror's `revision` if it has
   * one, else the current one. `options`: call options (`signal`, `deadline`).
   */
  async *syncBase(options) {
    let rev = this.revision
    let key = this.range.start
    for (;;) {
      const res = await this.client.kv.range({ key, range_end: this.range.end, revision: rev || '0', limit: this.pageSize }, options)
      if (!rev) rev = String(res.header.revision)
      if (res.kvs.length) yield { revision: rev, kvs: res.kvs }
      if (!res.more || res.kvs.length === 0) break
      key = Buffer.concat([res.kvs[res.kvs.length - 1].key, Buffer.from([0])])
    }
    this.revision = rev
  }

  /**
   * Follows every change under the prefix after `revision`, one batch `{ revision, events }` per revision
   * in order (`events` as a watch gives them: `{ type, kv, prev_kv }`). Returns an async iterable of the
   * batches, which keeps them until taken; `{ iterator: false }` delivers them as events instead, keeping
   * nothing. Ends on `stop()`, on the client's close, or when `signal` aborts (the iterator then rejects
   * with an AbortError); a failure of the watch rejects the iterator or is emitted as 'error'.
   */
  syncUpdates(options = {}) {
    if (this.revision === null) throw notSynced()
    if (this.following) throw invalidArg('this mirror already follows updates; stop() it first')
    const follow = new Follow(this, options)
    this.following = follow
    return follow
  }

  /** Stops following updates. */
  stop() {
    return this.following ? this.following.stop() : Promise.resolve()
  }
}

/** One run of syncUpdates(): a watch from the mirror's revision + 1, delivered to one iterator or to events. */
class Follow {
  constructor(mirror, { signal, iterator = true } = {}) {
    this.mirror = mirror
    this.queue = iterator ? [] : null // batches the iterator has not taken yet
    this.iterated = false
    this.waiting = null // the iterator's pending next()
    this.failure = null
    this.done = false
    this.signal = signal || null
    this.onAbort = null
    const start = nextRevision(mirror.revision)
    this.watcher = mirror.client.watch().inRange(mirror.range).startRevision(start).watcher()
    this.watcher.on('data', (res) => this.receive(res.events || []))
    this.watcher.on('error', (err) => this.fail(err))
    this.watcher.on('end', () => this.finish())
    if (this.signal) {
      this.onAbort = () => this.fail(new AbortError(undefined, { cause: this.signal.reason }))
      if (this.signal.aborted) process.nextTick(this.onAbort)
      else this.signal.addEventListener('abort', this.onAbort, { once: true })
    }
  }

  receive(events) {
    if (this.done) return
    for (const batch of byRevision(events)) {
      if (this.queue === null) {
        for (const ev of batch.events) this.mirror.emit(String(ev.type).toLowerCase(), ev.kv, ev.prev_kv)
        this.mirror.revision = batch.revision
        this.mirror.emit('revision', batch)
      } else if (this.waiting) {
        const { resolve } = this.waiting
        this.waiting = null
        this.mirror.revision = batch.revision
        resolve({ value: batch, done: false })
      } else {
        this.queue.push(batch)
      }
    }
  }

  fail(err) {
    if (this.done) return
    this.end()
    if (this.waiting) {
      const { reject } = this.waiting
      this.waiting = null
      reject(err)
    } else if (this.queue !== null) {
      this.failure = err
    }
    // With events only, an unheard 'error' must not pass silently (EventEmitter throws it).
    if (this.queue === null || this.mirror.listenerCount('error') > 0) this.mirror.emit('error', err)
  }

  finish() {
    if (this.done) return
    this.end()
    if (this.waiting) {
      const { resolve } = this.waiting
      this.waiting = null
      resolve({ value: undefined, done: true })
    }
  }

  end() {
    this.done = true
    if (this.onAbort) this.signal.removeEventListener('abort', this.onAbort)
    if (this.mirror.following === this) this.mirror.following = null
    this.watcher.cancel().catch(() => {})
  }

  stop() {
    this.finish()
    if (this.queue !== null) this.queue.length = 0
    return this.watcher.cancel().catch(() => {})
  }

  [Symbol.asyncIterator]() {
    if (this.queue === null) throw invalidArg('syncUpdates({ iterator: false }) delivers events only')
    if (this.iterated) throw invalidArg('syncUpdates() can be iterated once')
    this.iterated = true
    return {
      next: () => {
        if (this.queue.length) {
          const batch = this.queue.shift()
          this.mirror.revision = batch.revision
          return Promise.resolve({ value: batch, done: false })
        }
        if (this.failure) {
          const err = this.failure
          this.failure = null
          return Promise.reject(err)
        }
        if (this.done) return Promise.resolve({ value: undefined, done: true })
        return new Promise((resolve, reject) => {
          this.waiting = { resolve, reject }
        })
      },
      return: async () => {
        await this.stop()
        return { value: undefined, done: true }
      },
      [Symbol.asyncIterator]() {
        return this
      },
    }
  }
}

module.exports = { Mirror }
