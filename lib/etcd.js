'use strict'
// The node-etcd 7 `Etcd` class: argument conventions, query strings, tokens, callback shapes and
// error objects live here; connections, failover, retries and cancellation live in the native
// core. Each call crosses into Rust once and comes back once.
const native = require('./native')
const { buildQuery, keyPath, keyString, formBody, describe, wellFormed } = require('./encode')
const { normalizeHosts } = require('./hosts')
const { CancellationToken, PromiseToken } = require('./token')
const { AbortError, syncTimeoutError, fromNative, invalidArg } = require('./errors')
const { interpret } = require('./response')
const { Watcher } = require('./watcher')

const DEFAULT_MAX_RETRIES = 3
const NO_QUERY = Object.freeze({ noQuery: true })
// hyper refuses request targets of 64 KiB and more.
const MAX_TARGET = 65000
const LEGACY_INFO = Object.freeze({ noQuery: true, legacy: true })
const DEFAULT_SYNC_TIMEOUT = 60000

class Etcd {
  /**
   * @param {string|string[]} [hosts] default '127.0.0.1:2379'
   * @param {object} [options] timeout, ca, cert, key, passphrase, pfx, rejectUnauthorized/strictSSL,
   *   auth, proxy, headers, maxRetries, syncTimeout (or a port number: the pre-5.0 form)
   */
  constructor(hosts, options) {
    const legacyPort = typeof options === 'number' || typeof options === 'string' ? options : undefined
    const opts = options !== null && typeof options === 'object' ? options : {}
    this.hosts = normalizeHosts(hosts, legacyPort)
    // node-etcd binds `watcher` to the instance (it is handed around as a function).
    this.watcher = this.watcher.bind(this)
    let client
    try {
      client = native.createClient(nativeOptions(this.hosts, opts))
    } catch (err) {
      throw fromNative(err)
    }
    Object.defineProperties(this, {
      _native: { value: client },
      _maxRetries: { value: opts.maxRetries === undefined ? DEFAULT_MAX_RETRIES : retryCount(opts.maxRetries) },
      _syncTimeout: { value: positiveMs(opts.syncTimeout, 'syncTimeout', DEFAULT_SYNC_TIMEOUT) },
      _watchers: { value: new Set() },
      _pending: { value: new Set() },
      _closed: { value: false, writable: true },
      _autoSync: { value: null, writable: true },
      _retryWrites: { value: opts.retryWrites === true },
    })
    if (opts.autoSyncInterval !== undefined && opts.autoSyncInterval !== null) this.autoSync(opts.autoSyncInterval)
  }

  getHosts() {
    return this.hosts.slice()
  }

  /**
   * Ends everything this client owns: its watchers stop, pending calls are aborted (no callback;
   * awaited calls reject with AbortError), its connections close. Later calls throw
   * ERR_CLIENT_CLOSED. Not in node-etcd, which had no way to release a client.
   */
  close() {
    if (this._closed) return
    this._closed = true
    this.autoSync(0)
    for (const w of this._watchers) if (!w.stopped) w.stop()
    this._watchers.clear()
    for (const token of this._pending) token.abort()
    this._pending.clear()
    this._native.close()
  }

  // --- keys -------------------------------------------------------------------------------------

  set(key, value, options, callback) {
    ;[options, callback] = shuffle(options, callback)
    return this._call('PUT', keyPath(key), options, null, formBody(value), callback)
  }

  get(key, options, callback) {
    ;[options, callback] = shuffle(options, callback)
    return this._call('GET', keyPath(key), options, null, null, callback)
  }

  create(dir, value, options, callback) {
    ;[options, callback] = shuffle(options, callback)
    return this._call('POST', keyPath(dir), options, null, formBody(value), callback)
  }

  del(key, options, callback) {
    ;[options, callback] = shuffle(options, callback)
    return this._call('DELETE', keyPath(key), options, null, null, callback)
  }

  mkdir(dir, options, callback) {
    ;[options, callback] = shuffle(options, callback)
    return this._call('PUT', keyPath(dir), options, [['dir', true]], null, callback)
  }

  rmdir(dir, options, callback) {
    ;[options, callback] = shuffle(options, callback)
    return this._call('DELETE', keyPath(dir), options, [['dir', true]], null, callback)
  }

  compareAndSwap(key, value, oldvalue, options, callback) {
    ;[options, callback] = shuffle(options, callback)
    return this._call('PUT', keyPath(key), options, [['prevValue', compareValue(oldvalue, options, 'compareAndSwap')]], formBody(value), callback)
  }

  compareAndDelete(key, oldvalue, options, callback) {
    ;[options, callback] = shuffle(options, callback)
    return this._call('DELETE', keyPath(key), options, [['prevValue', compareValue(oldvalue, options, 'compareAndDelete')]], null, callback)
  }

  watch(key, options, callback) {
    ;[options, callback] = shuffle(options, callback)
    return this._call('GET', keyPath(key), options, [['wait', true]], null, callback)
  }

  watchIndex(key, index, options, callback) {
    ;[options, callback] = shuffle(options, callback)
    return this._call('GET', keyPath(key), options, [['waitIndex', index], ['wait', true]], null, callback)
  }

  /** Any method on any path (relative to the host); options become the query string. */
  raw(method, path, value, options, callback) {
    ;[options, callback] = shuffle(options, callback)
    if (typeof method !== 'string' || !/^[A-Za-z]+$/.test(method)) {
      throw invalidArg(`The "method" argument must be an HTTP method name, got ${describe(method)}`, 'ERR_INVALID_ARG_TYPE')
    }
    return this._call(method.toUpperCase(), rawPath(keyString(path, 'path')), options, null, formBody(value), callback)
  }

  /** A long-lived watch as an EventEmitter (and async iterable); see lib/watcher.js. */
  watcher(key, index = null, options = {}) {
    this._assertOpen()
    const w = new Watcher(this, key, index, options)
    this._watchers.add(w)
    w.once('stop', () => this._watchers.delete(w))
    return w
  }

  // --- cluster information ----------------------------------------------------------------------

  machines(options, callback) {
    return this._info('/v2/keys/_etcd/machines', options, callback)
  }

  leader(options, callback) {
    // etcd >= 2 has no /v2/leader: its plain 404 page arrives as a success, as in node-etcd.
    return this._info('/v2/leader', options, callback, LEGACY_INFO)
  }

  leaderStats(options, callback) {
    return this._info('/v2/stats/leader', options, callback)
  }

  selfStats(options, callback) {
    return this._info('/v2/stats/self', options, callback)
  }

  version(options, callback) {
    return this._info('/version', options, callback)
  }

  // --- synchronous forms ------------------------------------------------------------------------

  setSync(key, value, options) {
    return this.set(key, value, synchronous(options))
  }

  getSync(key, options) {
    return this.get(key, synchronous(options))
  }

  delSync(key, options) {
    return this.del(key, synchronous(options))
  }

  mkdirSync(dir, options) {
    return this.mkdir(dir, synchronous(options))
  }

  rmdirSync(dir, options) {
    return this.rmdir(dir, synchronous(options))
  }

  // --- internals --------------------------------------------------------------------------------

  /** node-etcd's info calls take only a callback; options (maxRetries, signal, synchronous) are also accepted. */
  _info(path, options, callback, spec = NO_QUERY) {
    ;[options, callback] = shuffle(options, callback)
    return this._call('GET', path, options, null, null, callback, spec)
  }

  _assertOpen() {
    if (this._closed) {
      const err = new Error('This etcd client was closed')
      err.code = 'ERR_CLIENT_CLOSED'
      throw err
    }
  }

  /**
   * One call in any convention. `spec` (rare paths only): `noQuery` (options are not sent),
   * `json` (the body is JSON), `hostIndex` (this host only, no failover or retries), `legacy`
   * (no v2-availability check), `transform(r)` (maps {err, body, headers, status} before delivery).
   */
  _call(method, path, options, extra, body, callback, spec = undefined) {
    this._assertOpen()
    if (callback !== undefined && typeof callback !== 'function') {
      throw invalidArg(`The "callback" argument must be a function, got ${describe(callback)}`, 'ERR_INVALID_ARG_TYPE')
    }
    const query = spec !== undefined && spec.noQuery ? '' : buildQuery(options, extra)
    const target = query === '' ? path : path + '?' + query
    if (target.length > MAX_TARGET) {
      throw invalidArg(`The request URL would be ${target.length} characters long (HTTP allows about ${MAX_TARGET}): the key or the options are too long`)
    }
    let maxRetries = options.maxRetries === undefined ? this._maxRetries : retryCount(options.maxRetries)
    let order = null
    let serverList
    if (spec !== undefined && spec.hostIndex !== undefined) {
      order = [spec.hostIndex]
      serverList = [this.hosts[spec.hostIndex]]
      maxRetries = 0
    } else if (this.hosts.length === 1) {
      serverList = this.hosts.slice()
    } else {
      order = shuffledIndexes(this.hosts.length)
      serverList = order.map((i) => this.hosts[i])
    }
    const fastRetry = process.env.RUNNING_UNIT_TESTS === 'true'
    const json = spec !== undefined && spec.json === true
    const retryWrites = options.retryWrites === undefined ? this._retryWrites : options.retryWrites === true
    const v2Path = path.charCodeAt(1) === 118 && path.startsWith('/v2/') && !(spec !== undefined && spec.legacy)
    const transform = spec !== undefined ? spec.transform : undefined
    const deliver = (status, headers, text, extra) => {
      const r = interpret(status, headers, text, extra, v2Path)
      return transform === undefined || (r.status === 0 && r.err !== null) ? r : transform(r)
    }

    const signal = options.signal
    if (signal !== undefined && signal !== null && (typeof signal.aborted !== 'boolean' || typeof signal.addEventListener !== 'function')) {
      throw invalidArg('The "signal" option must be an AbortSignal', 'ERR_INVALID_ARG_TYPE')
    }

    if (options.synchronous === true) {
      // A sync call cannot be interrupted, but an already aborted signal means: do not send it.
      if (signal && signal.aborted) return { err: new AbortError(undefined, { cause: signal.reason }), body: undefined, headers: undefined }
      let raw
      try {
        raw = this._native.requestSync(method, target, body, maxRetries, order, fastRetry, this._syncTimeout, json, retryWrites)
      } catch (err) {
        return { err: fromNative(err), body: undefined, headers: undefined }
      }
      if (raw.timedOut) return { err: syncTimeoutError(this._syncTimeout), body: undefined, headers: undefined }
      const r = deliver(raw.status, raw.headers, raw.body, raw)
      return { err: r.err, body: r.body, headers: r.headers }
    }

    const token = callback === undefined ? new PromiseToken(serverList, maxRetries) : new CancellationToken(serverList, maxRetries)
    if (signal && signal.aborted) {
      token._abortReason = new AbortError(undefined, { cause: signal.reason })
      token.abort()
      return token
    }
    let onAbort = null
    const id = native.submit(this._native, method, target, body, maxRetries, order, fastRetry, json, retryWrites, (status, headers, text, extra) => {
      if (onAbort !== null) signal.removeEventListener('abort', onAbort)
      this._pending.delete(token)
      if (token.aborted || (extra !== null && extra.cancelled)) return
      // With an attempt log, everything (headers and body too) is in `extra`.
      const r = extra === null ? deliver(status, headers, text, null) : deliver(extra.status, extra.headers, extra.body, extra)
      token.errors = r.errors
      token.retries = r.retries
      if (callback === undefined) {
        if (r.err === null) token._fulfill(r.body, r.headers)
        else token._fail(r.err, r.headers)
      } else {
        invoke(callback, r)
      }
    })
    this._pending.add(token)
    token._cancel = () => {
      if (onAbort !== null) signal.removeEventListener('abort', onAbort)
      this._pending.delete(token)
      native.cancel(this._native, id)
    }
    if (signal) {
      onAbort = () => {
        token._abortReason = new AbortError(undefined, { cause: signal.reason })
        token.abort()
      }
      signal.addEventListener('abort', onAbort, { once: true })
    }
    return token
  }
}

require('./extras').install(Etcd)

if (typeof Symbol.dispose === 'symbol') Etcd.prototype[Symbol.dispose] = Etcd.prototype.close
Etcd.prototype.post = Etcd.prototype.create
Etcd.prototype.delete = Etcd.prototype.del
Etcd.prototype.testAndSet = Etcd.prototype.compareAndSwap
Etcd.prototype.testAndDelete = Etcd.prototype.compareAndDelete

/** node-etcd's `_argParser`: the parameter after the fixed ones may be the callback. */
function shuffle(options, callback) {
  if (typeof options === 'function') return [{}, options]
  if (options === undefined || options === null || typeof options !== 'object') return [{}, callback]
  return [options, callback]
}

function synchronous(options) {
  return Object.assign({}, options !== null && typeof options === 'object' ? options : undefined, { synchronous: true })
}

function retryCount(v) {
  // node-etcd compared with coercion, so numeric strings work too.
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN
  if (!Number.isFinite(n) || n < 0) throw invalidArg(`maxRetries must be a non-negative number, got ${describe(v)}`)
  return Math.min(Math.floor(n), 0xffffffff)
}

// Node's own timers stop at 2^31-1 ms (about 24.8 days).
const MAX_MS = 2 ** 31 - 1

function positiveMs(v, name, fallback) {
  if (v === undefined || v === null) return fallback
  if (typeof v !== 'number' || !(v > 0 && v <= MAX_MS)) throw invalidArg(`${name} must be a positive number of milliseconds up to ${MAX_MS}, got ${describe(v)}`)
  return v
}

/** node-etcd's compare value: a CAS without one (and without prevIndex) would be a plain write. */
function compareValue(oldValue, options, method) {
  switch (typeof oldValue) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return oldValue
  }
  if (oldValue === null) return null // etcd answers 201 "PrevValue is Required", as with node-etcd
  if (oldValue === undefined && options.prevIndex !== undefined && options.prevIndex !== null) return undefined // compare by index only
  throw invalidArg(
    `The "oldValue" argument of ${method}() must be a string, number or boolean (or undefined with a prevIndex option), got ${describe(oldValue)}`,
    'ERR_INVALID_ARG_TYPE',
  )
}

function shuffledIndexes(n) {
  const order = new Array(n)
  for (let i = 0; i < n; i++) order[i] = i
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    const t = order[i]
    order[i] = order[j]
    order[j] = t
  }
  return order
}

// `raw()` paths are used as given (queries allowed); only what cannot stand in a URL is escaped.
const UNSAFE_IN_RAW_PATH = /[^\x21-\x7e]|["<>{}|^'`\\]/gu
function rawPath(path) {
  const escaped = wellFormed(path).replace(UNSAFE_IN_RAW_PATH, encodeURIComponent)
  return escaped.charCodeAt(0) === 47 ? escaped : '/' + escaped
}

/** Calls a user callback; a throw surfaces as an uncaught exception, as it did in node-etcd. */
function invoke(callback, r) {
  try {
    if (r.err !== null && r.headers === undefined) callback(r.err)
    else callback(r.err, r.body, r.headers)
  } catch (e) {
    process.nextTick(() => {
      throw e
    })
  }
}

function toBufferList(v, name) {
  if (v === undefined || v === null) return undefined
  const list = Array.isArray(v) ? v : [v]
  return list.map((x) => toBuffer(x, name))
}

function toBuffer(v, name) {
  if (v === undefined || v === null) return undefined
  if (typeof v === 'string') return Buffer.from(v)
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  throw invalidArg(`The "${name}" option must be a string or a Buffer, got ${describe(v)}`, 'ERR_INVALID_ARG_TYPE')
}

function proxyUrl(text) {
  let url
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`)
  } catch {
    throw invalidArg(`invalid proxy URL ${JSON.stringify(text)}`, 'ERR_INVALID_URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidArg(`unsupported proxy protocol ${url.protocol} (use http:// or https://)`, 'ERR_INVALID_URL')
  return url.href
}

/** Constructor options as the native client takes them; unknown options are ignored. */
function nativeOptions(hosts, o) {
  // node-etcd passed `agentOptions` to Node's agent, where TLS material could also live.
  const agent = o.agentOptions !== null && typeof o.agentOptions === 'object' ? o.agentOptions : {}
  const pick = (k) => (o[k] !== undefined ? o[k] : agent[k])
  const out = { hosts }
  if (o.timeout !== undefined && o.timeout !== null) out.timeout = positiveMs(o.timeout, 'timeout')
  const ca = toBufferList(pick('ca'), 'ca')
  if (ca !== undefined) out.ca = ca
  for (const k of ['cert', 'key', 'pfx']) {
    const b = toBuffer(pick(k), k)
    if (b !== undefined) out[k] = b
  }
  const passphrase = pick('passphrase')
  if (passphrase !== undefined && passphrase !== null) {
    if (typeof passphrase !== 'string') throw invalidArg('The "passphrase" option must be a string', 'ERR_INVALID_ARG_TYPE')
    out.passphrase = passphrase
  }
  out.rejectUnauthorized = !(pick('rejectUnauthorized') === false || o.strictSSL === false)
  if (o.auth !== undefined && o.auth !== null) {
    if (typeof o.auth !== 'object') throw invalidArg('The "auth" option must be {user, pass} or {username, password}', 'ERR_INVALID_ARG_TYPE')
    const user = o.auth.user !== undefined ? o.auth.user : o.auth.username
    const pass = o.auth.pass !== undefined ? o.auth.pass : o.auth.password
    if (user !== undefined && user !== null) {
      out.username = String(user)
      out.password = pass === undefined || pass === null ? '' : String(pass)
    }
  }
  if (o.proxy === false) out.noProxy = true
  else if (typeof o.proxy === 'string') out.proxy = proxyUrl(o.proxy)
  else if (o.proxy !== undefined && o.proxy !== null) throw invalidArg('The "proxy" option must be a URL string or false', 'ERR_INVALID_ARG_TYPE')
  if (o.headers !== undefined && o.headers !== null) {
    if (typeof o.headers !== 'object') throw invalidArg('The "headers" option must be an object', 'ERR_INVALID_ARG_TYPE')
    const flat = []
    for (const name of Object.keys(o.headers)) {
      const value = o.headers[name]
      if (value === undefined || value === null) continue
      for (const v of Array.isArray(value) ? value : [value]) flat.push(name, String(v))
    }
    out.headers = flat
  }
  return out
}

module.exports = Etcd
