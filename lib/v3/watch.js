'use strict'
// etcd3's WatchBuilder and Watcher on top of the engine's watch streams (the engine multiplexes them,
// reconnects and resumes; this side turns its callbacks into etcd3's events and an async iterator).
const { EventEmitter } = require('node:events')
const { FilterType, Range, toBuffer } = require('./builders')
const { castGrpcError, castGrpcErrorMessage, EtcdCompactedError, EtcdWatchStreamEnded, COMPACTED_MESSAGE } = require('./errors')
const { AbortError } = require('../errors')
const { safeEmit } = require('./emit')

/** Operation names for `only()`: keeping puts means filtering deletes out, and vice versa. */
const operationNames = {
  put: FilterType.Nodelete,
  delete: FilterType.Noput,
}

function nextRevision(revision) {
  return (BigInt(revision) + 1n).toString()
}

function isCompacted(compactRevision) {
  return compactRevision !== undefined && compactRevision !== null && String(compactRevision) !== '0'
}

/** The error for a watch etcd cancelled on its own: etcd3's "Watcher canceled: …", typed for compaction. */
function cancelError(res) {
  if (isCompacted(res.compact_revision)) {
    const reason = res.cancel_reason || `${COMPACTED_MESSAGE} (oldest available revision ${res.compact_revision})`
    return new EtcdCompactedError(`Watcher canceled: ${reason}`, String(res.compact_revision))
  }
  return castGrpcErrorMessage(`Watcher canceled: ${res.cancel_reason}`)
}

/** Builds a watch: `client.watch().prefix('jobs/').create()`. */
class WatchBuilder {
  constructor(pool, namespace) {
    this.pool = pool
    this.namespace = namespace
    this.request = { progress_notify: true }
  }

  key(key) {
    this.request.key = toBuffer(key)
    return this
  }

  prefix(value) {
    return this.inRange(Range.prefix(value))
  }

  inRange(r) {
    const range = Range.from(r)
    this.request.key = range.start
    this.request.range_end = range.end
    return this
  }

  /** etcd3's deprecated alias of `only()` (despite its name it keeps, not drops, the given operations). */
  ignore(...operations) {
    return this.only(...operations)
  }

  /** Only these kinds of changes: 'put', 'delete'. */
  only(...operations) {
    this.request.filters = operations.map((op) => operationNames[op])
    return this
  }

  withPreviousKV() {
    this.request.prev_kv = true
    return this
  }

  /** Replay from this revision (inclusive). Kept as a decimal string: revisions are 64-bit. */
  startRevision(revision) {
    this.request.start_revision = String(revision)
    return this
  }

  /** The watcher, already starting; listen for 'connected' (or use `create()`). */
  watcher() {
    return new Watcher(this.pool, this.namespace, this.namespace.applyToRequest(this.request))
  }

  /** Resolves with the watcher once etcd confirmed it, or rejects with its error (or on `signal` abort). */
  create(options = {}) {
    const { signal } = options
    const watcher = this.watcher()
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        watcher.removeListener('connected', onConnected)
        watcher.removeListener('error', onError)
        if (signal) signal.removeEventListener('abort', onAbort)
      }
      const onConnected = () => {
        cleanup()
        // etcd3 leaves its own one-shot 'error' listener behind here, so the first later error of a watcher
        // made by create() is swallowed instead of crashing a process that attached no 'error' listener.
        watcher.once('error', () => {})
        resolve(watcher)
      }
      const onError = (err) => {
        cleanup()
        reject(err)
      }
      const onAbort = () => {
        cleanup()
        watcher.cancel().catch(() => {})
        reject(new AbortError(undefined, { cause: signal.reason }))
      }
      watcher.once('connected', onConnected)
      watcher.once('error', onError)
      if (signal) {
        if (signal.aborted) onAbort()
        else signal.addEventListener('abort', onAbort, { once: true })
      }
    })
  }
}

const STARTING = 'starting'
const CONNECTING = 'connecting'
const CONNECTED = 'connected'
const DISCONNECTED = 'disconnected'
const ENDED = 'ended'
const FAILED = 'failed'

/**
 * Watches a key or range. Events: 'connecting' (request), 'connected' (created response), 'data' (each
 * watch response), 'put'/'delete' (kv, prev_kv) per event, 'disconnected' (error; the engine reconnects and
 * resumes), 'error' (the watch is over: etcd cancelled it, e.g. compaction or permissions), 'end' (cancelled).
 * Also an async iterable of events `{ type: 'Put' | 'Delete', kv, prev_kv }`; breaking out cancels it.
 */
class Watcher extends EventEmitter {
  constructor(pool, namespace, request) {
    super()
    this.pool = pool
    this.namespace = namespace
    this.request = request
    this.id = null
    this.state = STARTING
    this.stream = null
    this.cancelling = null
    this.sinks = new Set()
    this.unhookClose = pool.onClose(() => this.onClientClosed())
    // Start on the next tick: listeners attached right after construction must see every event.
    process.nextTick(() => this.start())
  }

  start() {
    if (this.state !== STARTING) return
    this.state = CONNECTING
    const handlers = {
      onConnecting: () => this.handleConnecting(),
      onConnected: (arg) => this.handleConnected(arg),
      onResponse: (res) => this.handleResponse(res),
      onError: (err) => this.handleFatal(this.errorOf(err)),
      onDisconnected: (err) => this.handleDisconnected(err),
    }
    try {
      this.stream = this.pool.watch({ ...this.request }, handlers)
    } catch (err) {
      this.handleFatal(castGrpcError(err))
    }
  }

  /**
   * The revision to resume from: the one after the last event seen (or after the header revision of an
   * event-less response), as a decimal string; the requested start revision before any answer; null if none.
   */
  lastRevision() {
    const rev = this.request.start_revision
    return rev === undefined || rev === null ? null : String(rev)
  }

  cancel() {
    if (!this.cancelling) this.cancelling = this.doCancel()
    return this.cancelling
  }

  async doCancel() {
    if (this.state === ENDED || this.state === FAILED) return
    const wasStarted = this.state !== STARTING
    this.state = ENDED
    if (wasStarted && this.stream) {
      try {
        await this.stream.cancel()
      } catch {
        // The watch is gone either way; a failed cancel leaves nothing for the caller to act on.
      }
    }
    this.finish()
    safeEmit(this, 'end')
  }

  [Symbol.asyncIterator]() {
    const queue = []
    let pending = null // { resolve, reject } of a next() waiting for an event
    let done = false
    let failure = null
    const sink = {
      push: (event) => {
        if (pending) {
          const { resolve } = pending
          pending = null
          resolve({ value: event, done: false })
        } else queue.push(event)
      },
      end: () => {
        done = true
        if (pending) {
          const { resolve } = pending
          pending = null
          resolve({ value: undefined, done: true })
        }
      },
      fail: (err) => {
        failure = err
        if (pending) {
          const { reject } = pending
          pending = null
          failure = null
          done = true
          reject(err)
        }
      },
    }
    if (this.state === ENDED) done = true
    else this.sinks.add(sink)
    const stop = async () => {
      this.sinks.delete(sink)
      done = true
      queue.length = 0
      await this.cancel()
      return { value: undefined, done: true }
    }
    return {
      next: () => {
        if (queue.length) return Promise.resolve({ value: queue.shift(), done: false })
        if (failure) {
          const err = failure
          failure = null
          done = true
          return Promise.reject(err)
        }
        if (done) return Promise.resolve({ value: undefined, done: true })
        return new Promise((resolve, reject) => {
          pending = { resolve, reject }
        })
      },
      return: stop,
      throw: async (err) => {
        await stop()
        throw err
      },
      [Symbol.asyncIterator]() {
        return this
      },
    }
  }

  active() {
    return this.state !== ENDED && this.state !== FAILED
  }

  handleConnecting() {
    if (!this.active()) return
    this.state = CONNECTING
    safeEmit(this, 'connecting', this.request)
  }

  handleConnected(arg) {
    if (!this.active()) return
    // The engine may hand over the whole created response or just its header.
    const res =
      arg && typeof arg === 'object' && 'header' in arg
        ? arg
        : { header: arg, watch_id: null, created: true, canceled: false, compact_revision: '0', cancel_reason: '', fragment: false, events: [] }
    if (res.watch_id !== undefined && res.watch_id !== null) this.id = String(res.watch_id)
    this.state = CONNECTED
    // A created response says where a fresh watch starts; a watch with a start point keeps it (a
    // created response is stamped with the current revision even while older events are still to come).
    const rev = this.request.start_revision
    if ((rev === undefined || rev === null || String(rev) === '0') && res.header && res.header.revision !== undefined) {
      this.request.start_revision = nextRevision(res.header.revision)
    }
    safeEmit(this, 'connected', res)
  }

  handleResponse(res) {
    if (!this.active()) return
    if (res.created && !res.canceled) {
      this.handleConnected(res)
      return
    }
    if (res.canceled) {
      this.handleFatal(cancelError(res))
      return
    }
    const events = res.events || []
    for (const ev of events) {
      ev.kv.key = this.namespace.unprefix(ev.kv.key)
      if (ev.prev_kv) ev.prev_kv.key = this.namespace.unprefix(ev.prev_kv.key)
    }
    // Resume after the last event delivered; an event-less (progress) response vouches for its header.
    if (events.length) this.request.start_revision = nextRevision(events[events.length - 1].kv.mod_revision)
    else if (res.header && res.header.revision !== undefined) this.request.start_revision = nextRevision(res.header.revision)
    // etcd3 emits the per-event events before user 'data' listeners run.
    for (const ev of events) {
      safeEmit(this, String(ev.type).toLowerCase(), ev.kv, ev.prev_kv)
      for (const sink of this.sinks) sink.push(ev)
    }
    safeEmit(this, 'data', res)
  }

  handleDisconnected(err) {
    if (!this.active()) return
    this.state = DISCONNECTED
    this.id = null
    safeEmit(this, 'disconnected', err === undefined || err === null ? new EtcdWatchStreamEnded() : castGrpcError(err))
  }

  errorOf(err) {
    if (err && isCompacted(err.compactRevision) && !(err instanceof EtcdCompactedError)) {
      return cancelError({ compact_revision: err.compactRevision, cancel_reason: err.details || err.message })
    }
    return castGrpcError(err)
  }

  /** The watch is over because of `err`: it goes to 'error' listeners and to iterators. */
  handleFatal(err) {
    if (!this.active()) return
    this.state = FAILED
    this.id = null
    const sinks = [...this.sinks]
    for (const sink of sinks) sink.fail(err)
    this.sinks.clear()
    this.finish()
    // Iterators are consumers too: with one, a watcher without 'error' listeners must not throw.
    if (this.listenerCount('error') > 0 || sinks.length === 0) safeEmit(this, 'error', err)
  }

  onClientClosed() {
    this.unhookClose = null
    if (!this.active()) return
    this.state = ENDED
    this.id = null
    this.finish()
    safeEmit(this, 'end')
  }

  finish() {
    for (const sink of this.sinks) sink.end()
    this.sinks.clear()
    if (this.unhookClose) {
      this.unhookClose()
      this.unhookClose = null
    }
  }
}

module.exports = { WatchBuilder, Watcher, operationNames, nextRevision }
