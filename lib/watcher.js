'use strict'
// node-etcd's Watcher: an EventEmitter fed by the native watch loop (src/v2/watch.rs). The loop
// long-polls, tracks the index and backs off; this class only turns its results into node-etcd's
// events and owns what keeps the process alive.
const { EventEmitter } = require('node:events')
const { buildQuery, keyPath } = require('./encode')
const { parseBody, headerObject, attemptErrors } = require('./response')
const { etcdError, allServersError, invalidArg } = require('./errors')

// A ref'd timer stands for the watch connection in Node's event loop (the native side uses a
// weak threadsafe function), so `unref()` works like a socket's.
const KEEP_ALIVE_MS = 2 ** 31 - 1
const noop = () => {}

class Watcher extends EventEmitter {
  constructor(etcd, key, index = null, options = {}) {
    super()
    // node-etcd #60: `watcher(key, {recursive: true})` means options, not an index.
    if (index !== null && typeof index === 'object' && !(options !== null && typeof options === 'object' && Object.keys(options).length > 0)) {
      options = index
      index = null
    }
    if (index === undefined) index = null
    if (options === null || typeof options !== 'object') options = {}
    this.etcd = etcd
    this.key = key
    this.index = index
    this.options = options
    this.stopped = false
    this.retryAttempts = 0
    const path = keyPath(key)
    const query = buildQuery(withoutWaitParams(options), null)
    const start = index === null ? null : startIndex(index)
    this._keepAlive = setInterval(noop, KEEP_ALIVE_MS)
    try {
      this._handle = etcd._native.watch(path, query, start, (event) => {
        // The native loop waits for this callback; nothing may escape it, or the loop would end
        // silently while the keep-alive timer holds the process.
        try {
          this._dispatch(event)
        } catch (err) {
          process.nextTick(() => {
            throw err
          })
        }
      })
    } catch (err) {
      clearInterval(this._keepAlive)
      throw err
    }
  }

  /** Stops the loop at once: the open long-poll is closed and no request follows. */
  stop() {
    this.stopped = true
    this._handle.stop()
    clearInterval(this._keepAlive)
    return this.emit('stop', `Watcher for '${this.key}' aborted.`)
  }

  /** Let the process exit while this watcher is running (like `socket.unref()`). */
  unref() {
    this._keepAlive.unref()
    return this
  }

  ref() {
    this._keepAlive.ref()
    return this
  }

  /** Change bodies, in order, until `stop()` or `break`; an `error` event ends the loop with a throw. */
  [Symbol.asyncIterator]() {
    const queue = []
    let pending = null
    let finished = false
    let failure = null
    const settle = () => {
      if (pending === null) return
      const p = pending
      if (queue.length > 0) {
        pending = null
        p.resolve({ value: queue.shift(), done: false })
      } else if (failure !== null) {
        pending = null
        const err = failure
        failure = null
        p.reject(err)
      } else if (finished) {
        pending = null
        p.resolve({ value: undefined, done: true })
      }
    }
    const onChange = (body) => {
      queue.push(body)
      settle()
    }
    const onStop = () => {
      finished = true
      detach()
      settle()
    }
    const onError = (err) => {
      failure = err
      finished = true
      detach()
      if (!this.stopped) this.stop()
      settle()
    }
    const detach = () => {
      this.off('change', onChange)
      this.off('stop', onStop)
      this.off('error', onError)
    }
    this.on('change', onChange)
    this.on('stop', onStop)
    this.on('error', onError)
    if (this.stopped) onStop()
    return {
      next: () =>
        new Promise((resolve, reject) => {
          pending = { resolve, reject }
          settle()
        }),
      return: () => {
        queue.length = 0
        if (!this.stopped) this.stop()
        detach()
        finished = true
        return Promise.resolve({ value: undefined, done: true })
      },
      [Symbol.asyncIterator]() {
        return this
      },
    }
  }

  _dispatch(event) {
    if (this.stopped) return
    this.retryAttempts = event.retryAttempts
    if (event.nextIndex !== undefined && event.nextIndex !== null) this.index = event.nextIndex
    switch (event.kind) {
      case 'change': {
        this.retryAttempts = 0
        const body = parseBody(event.body)
        const headers = headerObject(event.headers)
        this._emit('change', body, headers)
        // A listener that stopped the watcher gets no further events.
        if (!this.stopped && body.action !== undefined) this._emit(body.action, body, headers)
        break
      }
      case 'resync':
        this.retryAttempts = 0
        this._emit('resync', etcdError(parseBody(event.body)))
        break
      case 'timeout': {
        this.retryAttempts = 0
        const err = new Error('Etcd timed out watcher, reconnecting.')
        err.headers = headerObject(event.headers)
        err.code = 'ETCD_WATCH_TIMEOUT'
        this._emit('reconnect', err)
        break
      }
      case 'reconnect': {
        const err = new Error('Connection error, reconnecting.')
        err.error = event.errors ? allServersError(attemptErrors(event.errors), 0) : etcdError(parseBody(event.body))
        err.reconnectCount = event.retryAttempts
        err.code = 'ETCD_WATCH_RECONNECT'
        this._emit('reconnect', err)
        break
      }
      default: {
        const err = new Error('Received unexpected response')
        err.response = event.body === undefined || event.body === null ? undefined : parseBody(event.body)
        err.code = 'ETCD_UNEXPECTED_RESPONSE'
        // node-etcd crashed the process here when nobody listened for 'error' (#30).
        if (this.listenerCount('error') > 0) this._emit('error', err)
        else process.emitWarning(`etcd watcher for '${this.key}': ${err.message}; retrying`, { code: err.code })
      }
    }
  }

  /**
   * A throwing listener must not break the loop: the exception is rethrown on a later tick
   * (an 'uncaughtException', as for any throwing event listener in Node) and watching goes on.
   */
  _emit(name, ...args) {
    try {
      this.emit(name, ...args)
    } catch (err) {
      process.nextTick(() => {
        throw err
      })
    }
  }
}

function withoutWaitParams(options) {
  const out = {}
  for (const k of Object.keys(options)) if (k !== 'wait' && k !== 'waitIndex') out[k] = options[k]
  return out
}

function startIndex(index) {
  const n = typeof index === 'string' && index.trim() !== '' ? Number(index) : index
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    throw invalidArg(`The watcher index must be a non-negative integer or null, got ${String(index)}`)
  }
  return n
}

module.exports = { Watcher }
