'use strict'
// What node-etcd put on the wire, rebuilt without its dependencies: `qs` query strings,
// `/v2/keys/` paths and form bodies.

// RFC 3986 unreserved characters stay as they are; qs also escapes ! ' ( ) *.
const RFC3986_EXTRA = /[!'()*]/g
const hexEscape = (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()

// Lone surrogates cannot be encoded as UTF-8; like TextEncoder, replace them with U+FFFD.
// (String.prototype.toWellFormed only exists from Node 20.)
const LONE_SURROGATE = /\p{Surrogate}/gu
function wellFormed(text) {
  return typeof text.toWellFormed === 'function' ? text.toWellFormed() : text.replace(LONE_SURROGATE, '\ufffd')
}

/** qs's default value encoding: UTF-8, %20 for space, lone surrogates replaced (U+FFFD). */
function encodeComponent(s) {
  const text = String(s)
  let encoded
  try {
    encoded = encodeURIComponent(text)
  } catch {
    encoded = encodeURIComponent(wellFormed(text))
  }
  return encoded.replace(RFC3986_EXTRA, hexEscape)
}

/**
 * qs.stringify with its defaults: insertion order, `a[0]=…` for arrays, `o[k]=…` for nested
 * objects, Dates as ISO strings, null as `key=`, undefined and functions skipped.
 */
function appendParam(parts, prefix, value) {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return
  if (value === null) {
    parts.push(encodeComponent(prefix) + '=')
  } else if (value instanceof Date) {
    parts.push(encodeComponent(prefix) + '=' + encodeComponent(value.toISOString()))
  } else if (typeof value !== 'object' || Buffer.isBuffer(value)) {
    parts.push(encodeComponent(prefix) + '=' + encodeComponent(value))
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) appendParam(parts, `${prefix}[${i}]`, value[i])
  } else {
    for (const k of Object.keys(value)) appendParam(parts, `${prefix}[${k}]`, value[k])
  }
}

// Call options that steer the client and never reach etcd.
const CLIENT_ONLY = new Set(['maxRetries', 'synchronous', 'signal', 'retryWrites'])

/**
 * The query string for a call: the caller's options in their order, then the parameters the
 * method adds (`extra`, [name, value] pairs). A caller key that a method also sets keeps its
 * place and takes the method's value, as in node-etcd. The caller's object is never changed.
 */
function buildQuery(options, extra) {
  const parts = []
  let pending = extra
  for (const key of Object.keys(options)) {
    if (CLIENT_ONLY.has(key)) continue
    let value = options[key]
    if (pending !== null) {
      const i = pending.findIndex((p) => p[0] === key)
      if (i !== -1) {
        value = pending[i][1]
        pending = pending.filter((_, j) => j !== i)
      }
    }
    appendParam(parts, key, value)
  }
  if (pending !== null) for (const [k, v] of pending) appendParam(parts, k, v)
  return parts.join('&')
}

// Keys: node-etcd's bytes for plain ASCII and for what Node's url.parse escaped, plus real
// percent-encoding where node-etcd broke (? # % \ and non-ASCII).
const PLAIN_KEY = /^[A-Za-z0-9/_.-]*$/
const KEPT_AS_IS = /%(2F|3B|2C|3A|40|24|2B|3D|5B|5D|26)/g

function encodeKeyPath(key) {
  if (PLAIN_KEY.test(key)) return key
  return encodeComponent(key).replace(/%2A|%21|%28|%29/g, decodeURIComponent).replace(KEPT_AS_IS, decodeURIComponent)
}

/** Accepts what node-etcd accepted as a key (strings) plus numbers; anything else is a TypeError. */
function keyString(key, what = 'key') {
  if (typeof key === 'string') return key
  if (typeof key === 'number' || typeof key === 'bigint') return String(key)
  const err = new TypeError(`The "${what}" argument must be a string, got ${describe(key)}`)
  err.code = 'ERR_INVALID_ARG_TYPE'
  throw err
}

/** `/v2/keys/<key>` with exactly one leading slash of the key removed (node-etcd's rule). */
function keyPath(key) {
  let k = keyString(key)
  if (k.charCodeAt(0) === 47) k = k.slice(1)
  if (DOT_SEGMENT.test(k)) k = resolveDots(k)
  return '/v2/keys/' + encodeKeyPath(k)
}

// `.` and `..` segments are resolved inside the key space: a key can never address another
// endpoint (`../members/x` is the key `members/x`, not /v2/members/x).
const DOT_SEGMENT = /(^|\/)\.\.?(\/|$)/
function resolveDots(k) {
  const out = []
  const segments = k.split('/')
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1
    if (seg === '..') {
      if (out.length > 0) out.pop()
      if (last) out.push('')
    } else if (seg === '.') {
      if (last) out.push('')
    } else {
      out.push(seg)
    }
  })
  return out.join('/')
}

/** The form body for a value, or null when there is none. Buffers are sent as their bytes. */
function formBody(value) {
  if (value === null || value === undefined) return null
  switch (typeof value) {
    case 'string':
      return 'value=' + encodeComponent(value)
    case 'number':
    case 'boolean':
    case 'bigint':
      return 'value=' + encodeComponent(String(value))
  }
  if (value instanceof Uint8Array) return 'value=' + encodeBytes(value)
  const err = new TypeError(`The "value" argument must be a string, number, boolean or Buffer, got ${describe(value)}`)
  err.code = 'ERR_INVALID_ARG_TYPE'
  throw err
}

function encodeBytes(bytes) {
  let out = ''
  for (const b of bytes) {
    const unreserved = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e
    out += unreserved ? String.fromCharCode(b) : '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase()
  }
  return out
}

function describe(v) {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'function') return 'a function'
  if (typeof v === 'object') return 'an object'
  return `type ${typeof v}`
}

module.exports = { buildQuery, keyPath, keyString, formBody, encodeComponent, describe, wellFormed }
