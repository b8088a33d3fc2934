'use strict'
// A small schema-driven proto3 codec for etcd's v3 messages.
//
// Decoded objects have the shapes that @grpc/proto-loader produces with
// `{ keepCase: true, longs: String, enums: String, defaults: true, oneofs: true }` (as etcd3 uses):
// every field present with its default, 64-bit integers as decimal strings, enums as names (an
// unknown number stays a number), bytes as Buffers, unset message fields as `null`, and for a set
// oneof member a virtual property named after the oneof holding the member's name (unset oneof
// members are absent, not defaulted).
//
// Schemas are plain data (see messages.js) compiled once into field tables; encoding and decoding
// are loops with a switch on the field's type code, no per-field closures and no code generation.

/* eslint-disable no-use-before-define */

// Field type codes.
const INT64 = 1
const UINT64 = 2
const INT32 = 3
const UINT32 = 4
const BOOL = 5
const ENUM = 6
const BYTES = 7
const STRING = 8
const MESSAGE = 9

const SCALARS = { int64: INT64, uint64: UINT64, int32: INT32, uint32: UINT32, bool: BOOL, bytes: BYTES, string: STRING }

// Wire types.
const WT_VARINT = 0
const WT_I64 = 1
const WT_LEN = 2
const WT_I32 = 5

const TWO32 = 4294967296
const MAX_DEPTH = 100 // protoc's and protobufjs's default recursion limit
const EMPTY = Buffer.alloc(0) // shared default for bytes; zero length, so nothing in it can change

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
const UINT64_MAX = 2n ** 64n - 1n
const DECIMAL = /^-?[0-9]+$/

const hasUtf8Slice = typeof Buffer.prototype.utf8Slice === 'function'
const hasUtf8Write = typeof Buffer.prototype.utf8Write === 'function'

// ------------------------------------------------------------------------------------------------
// Errors

function decodeError(message) {
  const err = new Error(`protobuf decode: ${message}`)
  err.code = 'ERR_PROTOBUF_DECODE'
  return err
}

function encodeError(type, field, message, Ctor = TypeError) {
  const err = new Ctor(`protobuf encode: ${type ? type.name : '?'}.${field.name}: ${message}`)
  err.code = 'ERR_PROTOBUF_ENCODE'
  return err
}

// ------------------------------------------------------------------------------------------------
// Compilation

/**
 * Compiles `{ messages, enums }` into message types with `encode(obj) -> Buffer` and
 * `decode(buf) -> obj`.
 *
 * messages: `{ Name: { package?, fields: [[name, number, type, { repeated?, oneof?, ext? }?], ...] } }`
 *   where type is a scalar name, `enum` names from `enums`, or another message's name.
 *   `ext` marks a field that the reference shapes (etcd3's .proto) do not have: it is decoded only
 *   when present on the wire (no default), so objects from servers that never send it keep the
 *   reference shape.
 * enums: `{ Name: ['Zero', 'One', ...] }` or `{ Name: { Zero: 0, One: 1 } }`.
 */
function compile(schema) {
  const enums = Object.create(null)
  for (const [name, def] of Object.entries(schema.enums || {})) enums[name] = compileEnum(name, def)

  const types = Object.create(null)
  const defs = schema.messages || {}
  // Two passes so that message fields can refer to types declared later (and to themselves).
  for (const name of Object.keys(defs)) types[name] = newType(name, defs[name])
  for (const name of Object.keys(defs)) fillType(types[name], defs[name], types, enums)

  return {
    types,
    enums,
    encode(name, obj) { return encode(lookup(types, name), obj) },
    decode(name, buf) { return decode(lookup(types, name), buf) },
  }
}

function lookup(types, name) {
  const type = types[name]
  if (type === undefined) throw new TypeError(`protobuf: unknown message type ${name}`)
  return type
}

function compileEnum(name, def) {
  const names = []
  const values = Object.create(null)
  const entries = Array.isArray(def) ? def.map((n, i) => [n, i]) : Object.entries(def)
  for (const [n, v] of entries) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new Error(`protobuf: enum ${name}.${n}: unsupported value ${v}`)
    values[n] = v
    if (names[v] === undefined) names[v] = n // with aliases, the first name wins (as protobufjs)
  }
  if (names[0] === undefined) throw new Error(`protobuf: enum ${name} has no zero value`)
  return { name, names, values }
}

function newType(name, def) {
  const type = {
    name,
    fullName: def.package ? `${def.package}.${name}` : name,
    fields: [], // by field number, for encoding in canonical order
    byNumber: [], // field number -> field, for decoding
    template: null, // every field that gets a default on decode, with its default (arrays: null)
    arrays: [], // names of the repeated fields among them
    oneofs: [],
    encode: null,
    decode: null,
  }
  type.encode = (obj) => encode(type, obj)
  type.decode = (buf) => decode(type, buf)
  return type
}

function fillType(type, def, types, enums) {
  const seen = new Set()
  const defaults = []
  for (const spec of def.fields) {
    const [name, number, typeName, opts = {}] = spec
    if (!Number.isInteger(number) || number < 1 || number > 536870911 || (number >= 19000 && number <= 19999)) {
      throw new Error(`protobuf: ${type.name}.${name}: invalid field number ${number}`)
    }
    if (seen.has(number) || type.fields.some((f) => f.name === name)) throw new Error(`protobuf: ${type.name}.${name}: duplicate field`)
    seen.add(number)

    let code = SCALARS[typeName]
    let msg = null
    let enm = null
    if (code === undefined) {
      if (enums[typeName]) { code = ENUM; enm = enums[typeName] } else if (types[typeName]) { code = MESSAGE; msg = types[typeName] } else {
        throw new Error(`protobuf: ${type.name}.${name}: unknown type ${typeName}`)
      }
    }
    const repeated = !!opts.repeated
    if (repeated && opts.oneof) throw new Error(`protobuf: ${type.name}.${name}: a oneof member cannot be repeated`)
    const wireType = code === BYTES || code === STRING || code === MESSAGE ? WT_LEN : WT_VARINT
    const packed = repeated && wireType === WT_VARINT
    const field = {
      name,
      number,
      type: code,
      repeated,
      packed,
      wireType,
      // The key written before the value (packed repeated scalars are length-delimited).
      tag: ((number << 3) | (packed ? WT_LEN : wireType)) >>> 0,
      tagSize: 0,
      oneof: opts.oneof || null,
      ext: !!opts.ext,
      msg,
      enumNames: enm ? enm.names : null,
      enumValues: enm ? enm.values : null,
      def: null,
    }
    field.def = defaultValue(field)
    field.tagSize = varintSize32(field.tag)
    type.fields.push(field)
    type.byNumber[number] = field
    if (field.oneof) { if (!type.oneofs.includes(field.oneof)) type.oneofs.push(field.oneof) } else if (!field.ext) defaults.push(field)
  }
  type.template = {}
  for (const f of defaults.sort((a, b) => a.number - b.number)) {
    type.template[f.name] = f.def
    if (f.repeated) type.arrays.push(f.name)
  }
  for (const oneof of type.oneofs) {
    if (type.fields.some((f) => f.name === oneof)) throw new Error(`protobuf: ${type.name}: oneof ${oneof} clashes with a field name`)
  }
  type.fields.sort((a, b) => a.number - b.number)
}

function defaultValue(field) {
  if (field.repeated) return null // a fresh [] per object
  switch (field.type) {
    case INT64: case UINT64: return '0'
    case INT32: case UINT32: return 0
    case BOOL: return false
    case ENUM: return field.enumNames[0]
    case BYTES: return EMPTY
    case STRING: return ''
    default: return null // unset message
  }
}

// ------------------------------------------------------------------------------------------------
// Decoding. The state of one decode lives in module variables: a decode is synchronous and calls
// no user code, so it cannot be re-entered.

let buf = EMPTY
let pos = 0
let lo = 0 // 64-bit varints land here as two uint32 halves
let hi = 0

/** Decodes one message of `type` from a Buffer or Uint8Array. */
function decode(type, input) {
  let b = input
  if (!Buffer.isBuffer(b)) {
    if (!(b instanceof Uint8Array)) throw new TypeError('protobuf decode: expected a Buffer or Uint8Array')
    b = Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  }
  buf = b
  pos = 0
  try {
    return decodeMessage(type, b.length, 0)
  } finally {
    buf = EMPTY // do not keep the caller's buffer alive
  }
}

// A fresh object with every default: a shallow copy of the type's template (V8 clones an object literal
// spread by copying its hidden class, much faster than adding the properties one by one), then fresh arrays.
function newObject(type) {
  const obj = { ...type.template }
  const arrays = type.arrays
  for (let i = 0; i < arrays.length; i++) obj[arrays[i]] = []
  return obj
}

function decodeMessage(type, end, depth) {
  if (depth > MAX_DEPTH) throw decodeError(`nesting deeper than ${MAX_DEPTH} (${type.name})`)
  const obj = newObject(type)
  const byNumber = type.byNumber
  while (pos < end) {
    let tag = buf[pos++]
    if (tag > 127) tag = varint32Tail(tag)
    const wt = tag & 7
    const f = byNumber[tag >>> 3]
    if (f === undefined) {
      if (tag >>> 3 === 0) throw decodeError(`field number 0 at offset ${pos} (${type.name})`)
      skipField(wt, end, type)
      continue
    }
    if (wt !== f.wireType) {
      if (wt === WT_LEN && f.packed) { readPacked(obj, f, type, end); continue }
      throw decodeError(`wire type ${wt} for ${type.name}.${f.name} (expected ${f.wireType}) at offset ${pos}`)
    }
    let v
    switch (f.type) {
      case BYTES: { const len = readLength(end, type); v = len === 0 ? EMPTY : buf.subarray(pos, pos += len); break }
      case STRING: { const len = readLength(end, type); v = len === 0 ? '' : utf8(pos, pos += len); break }
      case MESSAGE: { const len = readLength(end, type); v = decodeMessage(f.msg, pos + len, depth + 1); break } // pos read after readLength
      default: v = readVarintScalar(f)
    }
    if (pos > end) throw truncated(type)
    if (f.repeated) {
      const arr = obj[f.name]
      if (arr === undefined) obj[f.name] = [v] // an `ext` field: no default
      else arr.push(v)
    } else {
      if (f.oneof !== null) {
        // Last member on the wire wins (proto3 semantics); the others are dropped.
        const prev = obj[f.oneof]
        if (prev !== undefined && prev !== f.name) delete obj[prev]
        obj[f.oneof] = f.name
      }
      obj[f.name] = v
    }
  }
  if (pos !== end) throw truncated(type)
  return obj
}

function truncated(type) {
  return decodeError(`truncated message (${type.name}) at offset ${pos}`)
}

function utf8(start, stop) {
  return hasUtf8Slice ? buf.utf8Slice(start, stop) : buf.toString('utf8', start, stop)
}

// Rest of a varint whose first byte `b` had the continuation bit; keeps the low 32 bits
// (int32/enum/bool/uint32 semantics), consumes up to 10 bytes.
function varint32Tail(b) {
  let v = b & 127
  b = buf[pos++]; v |= (b & 127) << 7; if (b < 128) return v
  b = buf[pos++]; v |= (b & 127) << 14; if (b < 128) return v
  b = buf[pos++]; v |= (b & 127) << 21; if (b < 128) return v
  b = buf[pos++]; v = (v | (b << 28)) >>> 0; if (b < 128) return v
  // Past the end of the buffer `b` is undefined, which never ends the varint: a truncated
  // varint always gets here.
  for (let i = 0; i < 5; i++) { b = buf[pos++]; if (b < 128) return v }
  throw badVarint()
}

function badVarint() {
  return decodeError(pos > buf.length ? 'truncated varint' : `varint longer than 10 bytes at offset ${pos}`)
}

function readVarint32() {
  const b = buf[pos++]
  return b < 128 ? b : varint32Tail(b)
}

function readVarint64() {
  let b = buf[pos++]
  if (b < 128) { lo = b; hi = 0; return }
  let l = b & 127
  b = buf[pos++]; l |= (b & 127) << 7; if (b < 128) { lo = l; hi = 0; return }
  b = buf[pos++]; l |= (b & 127) << 14; if (b < 128) { lo = l; hi = 0; return }
  b = buf[pos++]; l |= (b & 127) << 21; if (b < 128) { lo = l; hi = 0; return }
  b = buf[pos++]; l |= (b & 127) << 28; lo = l >>> 0
  let h = (b & 127) >> 4; if (b < 128) { hi = h; return }
  b = buf[pos++]; h |= (b & 127) << 3; if (b < 128) { hi = h; return }
  b = buf[pos++]; h |= (b & 127) << 10; if (b < 128) { hi = h; return }
  b = buf[pos++]; h |= (b & 127) << 17; if (b < 128) { hi = h; return }
  b = buf[pos++]; h |= (b & 127) << 24; if (b < 128) { hi = h >>> 0; return }
  b = buf[pos++]; h |= (b & 1) << 31; if (b < 128) { hi = h >>> 0; return } // 10th byte: one bit left
  throw badVarint()
}

function uint64String() {
  if (hi === 0) return '' + lo
  if (hi < 0x200000) return '' + (hi * TWO32 + lo) // below 2^53: exact as a double
  return bigDecimal(hi, lo)
}

function int64String() {
  if (hi < 0x80000000) return uint64String()
  // Negative: negate the two's complement, then print with a minus sign.
  const nlo = (~lo + 1) >>> 0
  const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0
  if (nhi < 0x200000) return '-' + (nhi * TWO32 + nlo)
  return '-' + bigDecimal(nhi, nlo)
}

const ZEROS = '0000000'

// Decimal digits of h * 2^32 + l (at least 2^53) without BigInt, which is 2-3x slower here: split
// into three base-10^7 digits with every intermediate below 2^53. With h = a * 2^16 + b (16 bits
// each), the value is a * 2^48 + b * 2^32 + l, and 2^48 = 28147497 * 10^7 + 6710656,
// 2^32 = 429 * 10^7 + 4967296.
function bigDecimal(h, l) {
  const a = h >>> 16
  const b = h & 0xffff
  let d0 = a * 6710656 + b * 4967296 + l
  let d1 = a * 28147497 + b * 429
  const carry = Math.floor(d0 / 1e7)
  d0 -= carry * 1e7
  d1 += carry
  const d2 = Math.floor(d1 / 1e7)
  d1 -= d2 * 1e7
  const s0 = '' + d0
  if (d2 === 0) return d1 + ZEROS.slice(s0.length) + s0
  const s1 = '' + d1
  return d2 + ZEROS.slice(s1.length) + s1 + ZEROS.slice(s0.length) + s0
}

// A length prefix, checked against the end of the enclosing message.
function readLength(end, type) {
  let len = buf[pos++]
  if (len > 127) {
    len = varint32Tail(len)
    if (len > 0x7fffffff) throw decodeError(`length ${len} out of range (${type.name})`)
  }
  if (len > end - pos) throw decodeError(`length ${len} past the end of the message (${type.name}) at offset ${pos}`)
  return len
}

/** One varint-encoded value of `f` (int64/uint64 as decimal strings, enums by name, unknown enum numbers as numbers). */
function readVarintScalar(f) {
  switch (f.type) {
    case INT64: readVarint64(); return int64String()
    case UINT64: readVarint64(); return uint64String()
    case INT32: return readVarint32() | 0
    case UINT32: return readVarint32()
    case BOOL: return readVarint32() !== 0
    default: {
      const n = readVarint32() | 0
      const name = n >= 0 && n < f.enumNames.length ? f.enumNames[n] : undefined
      return name === undefined ? n : name
    }
  }
}

function readPacked(obj, f, type, end) {
  let arr = obj[f.name]
  if (arr === undefined) arr = obj[f.name] = [] // an `ext` field: no default
  const len = readLength(end, type) // before reading `pos`: it moves past the prefix
  const stop = pos + len
  while (pos < stop) arr.push(readVarintScalar(f))
  if (pos !== stop) throw truncated(type)
}

function skipField(wt, end, type) {
  switch (wt) {
    case WT_VARINT: readVarint64(); break
    case WT_I64: pos += 8; break
    case WT_LEN: { const len = readLength(end, type); pos += len; break }
    case WT_I32: pos += 4; break
    default: throw decodeError(`unsupported wire type ${wt} at offset ${pos} (${type.name})`)
  }
  if (pos > end) throw truncated(type)
}

// ------------------------------------------------------------------------------------------------
// Encoding, in two passes. The first walks the input, validates and converts every value that will
// be written, computes sizes, and records what to write in `plan`, a flat list of entries:
//   field, value                    32-bit ints, enums (as numbers), bools, Uint8Array bytes
//   field, lo, hi                   64-bit ints
//   field, string, byteLength       strings (and strings given for bytes)
//   field, array, payloadLength     packed repeated scalars (elements converted again when written)
//   field, length, ...entries, END  messages
// The second pass allocates a buffer of exactly the right size and writes the plan out, without
// looking at the input again (so both passes agree even if the input changes in between).

const END = null
let plan = []
let pn = 0 // entries used in `plan` while planning, read position while writing
let out = EMPTY
let opos = 0

/** Encodes `obj` as a message of `type` into a new Buffer. */
function encode(type, obj) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw Object.assign(new TypeError(`protobuf encode: ${type.name}: expected an object`), { code: 'ERR_PROTOBUF_ENCODE' })
  }
  pn = 0
  let size
  try {
    size = planMessage(type, obj, 0)
  } catch (err) {
    clearPlan(pn)
    throw err
  }
  plan[pn++] = END
  const used = pn
  const result = Buffer.allocUnsafe(size)
  out = result
  opos = 0
  pn = 0
  writePlan()
  out = EMPTY
  clearPlan(used)
  return result
}

// Drops the plan's references to the caller's strings and buffers (a loop: faster than fill() for
// the few entries of a typical request).
function clearPlan(used) {
  for (let i = 0; i < used; i++) plan[i] = undefined
}

function varintSize32(v) {
  return v < 128 ? 1 : ((38 - Math.clz32(v)) / 7) | 0
}

function varintSize64() {
  return hi === 0 ? varintSize32(lo) : ((70 - Math.clz32(hi)) / 7) | 0
}

// Converts a 64-bit input (number, decimal string or BigInt) into `lo`/`hi`.
function toLong(v, unsigned, type, f) {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) {
      if (v >= 0) { lo = v >>> 0; hi = (v - lo) / TWO32; return }
      if (!unsigned) {
        const m = -v
        const mlo = m >>> 0
        const mhi = (m - mlo) / TWO32
        lo = (~mlo + 1) >>> 0
        hi = (~mhi + (lo === 0 ? 1 : 0)) >>> 0
        return
      }
      throw encodeError(type, f, `${v} is negative`, RangeError)
    }
    if (!Number.isInteger(v)) throw encodeError(type, f, `expected an integer, got ${v}`, RangeError)
    return fromBigInt(BigInt(v), unsigned, type, f)
  }
  if (typeof v === 'string') {
    if (!DECIMAL.test(v)) throw encodeError(type, f, `expected a decimal integer string, got ${JSON.stringify(v)}`)
    if (v.length < 16) return toLong(+v, unsigned, type, f) // at most 15 digits: exact as a double
    return fromBigInt(BigInt(v), unsigned, type, f)
  }
  if (typeof v === 'bigint') return fromBigInt(v, unsigned, type, f)
  throw encodeError(type, f, `expected an integer (number, string or bigint), got ${typeof v}`)
}

function fromBigInt(b, unsigned, type, f) {
  if (unsigned ? b < 0n || b > UINT64_MAX : b < INT64_MIN || b > INT64_MAX) {
    throw encodeError(type, f, `${b} is out of ${unsigned ? 'uint64' : 'int64'} range`, RangeError)
  }
  const u = BigInt.asUintN(64, b)
  lo = Number(u & 0xffffffffn)
  hi = Number(u >> 32n)
}

function toInt32(v, type, f) {
  if (typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647) return v
  throw encodeError(type, f, `expected an int32, got ${typeof v === 'number' ? v : typeof v}`, RangeError)
}

function toUint32(v, type, f) {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 4294967295) return v
  throw encodeError(type, f, `expected a uint32, got ${typeof v === 'number' ? v : typeof v}`, RangeError)
}

function toEnum(v, f, type) {
  if (typeof v === 'string') {
    const n = f.enumValues[v]
    if (n === undefined) throw encodeError(type, f, `unknown enum value ${JSON.stringify(v)}`, RangeError)
    return n
  }
  return toInt32(v, type, f)
}

// Size of an int32/enum value: negative numbers take 10 bytes (sign-extended to 64 bits).
function int32Size(n) {
  return n < 0 ? 10 : varintSize32(n)
}

// UTF-8 length of `s`: its length if it is short and all ASCII, else Buffer.byteLength.
function utf8Length(s) {
  if (s.length < 64) {
    let i = 0
    while (i < s.length && s.charCodeAt(i) < 128) i++
    if (i === s.length) return i
  }
  return Buffer.byteLength(s, 'utf8')
}

// Plans one value of `f` (its key is the caller's business) and returns its size.
function planValue(f, v, type, depth) {
  switch (f.type) {
    case INT64: case UINT64:
      toLong(v, f.type === UINT64, type, f)
      plan[pn++] = f; plan[pn++] = lo; plan[pn++] = hi
      return varintSize64()
    case INT32: { const n = toInt32(v, type, f); plan[pn++] = f; plan[pn++] = n; return int32Size(n) }
    case UINT32: { const n = toUint32(v, type, f); plan[pn++] = f; plan[pn++] = n; return varintSize32(n) }
    case ENUM: { const n = toEnum(v, f, type); plan[pn++] = f; plan[pn++] = n; return int32Size(n) }
    case BOOL: plan[pn++] = f; plan[pn++] = v ? 1 : 0; return 1
    case BYTES:
      if (v instanceof Uint8Array) { plan[pn++] = f; plan[pn++] = v; return varintSize32(v.length) + v.length }
      if (typeof v !== 'string') throw encodeError(type, f, `expected a Buffer, Uint8Array or string, got ${typeof v}`)
      return planString(f, v)
    case STRING:
      if (typeof v !== 'string') throw encodeError(type, f, `expected a string, got ${typeof v}`)
      return planString(f, v)
    default: {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw encodeError(type, f, 'expected an object')
      plan[pn++] = f
      const slot = pn++
      const n = planMessage(f.msg, v, depth + 1)
      plan[pn++] = END
      plan[slot] = n
      return varintSize32(n) + n
    }
  }
}

function planString(f, s) {
  const n = utf8Length(s)
  plan[pn++] = f; plan[pn++] = s; plan[pn++] = n
  return varintSize32(n) + n
}

// Size of one element of a packed run (validated here, converted again when written).
function packedElementSize(f, v, type) {
  switch (f.type) {
    case INT64: case UINT64: toLong(v, f.type === UINT64, type, f); return varintSize64()
    case INT32: return int32Size(toInt32(v, type, f))
    case UINT32: return varintSize32(toUint32(v, type, f))
    case BOOL: return 1
    default: return int32Size(toEnum(v, f, type))
  }
}

function planMessage(type, obj, depth) {
  if (depth > MAX_DEPTH) throw encodeError(type, { name: '' }, `nesting deeper than ${MAX_DEPTH}`, RangeError)
  let size = 0
  const fields = type.fields
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]
    const v = obj[f.name]
    if (v === undefined || v === null) continue
    if (f.repeated) {
      if (!Array.isArray(v)) throw encodeError(type, f, 'expected an array')
      if (v.length === 0) continue
      if (f.packed) {
        let n = 0
        for (let j = 0; j < v.length; j++) n += packedElementSize(f, v[j], type)
        plan[pn++] = f; plan[pn++] = v; plan[pn++] = n
        size += f.tagSize + varintSize32(n) + n
      } else {
        for (let j = 0; j < v.length; j++) size += f.tagSize + planValue(f, v[j], type, depth)
      }
      continue
    }
    // A set oneof member and a present message are always written.
    if (f.oneof !== null || f.type === MESSAGE) { size += f.tagSize + planValue(f, v, type, depth); continue }
    // Other singular fields are left out when they hold their default (proto3).
    switch (f.type) {
      case INT64: case UINT64:
        toLong(v, f.type === UINT64, type, f)
        if (lo !== 0 || hi !== 0) {
          plan[pn++] = f; plan[pn++] = lo; plan[pn++] = hi
          size += f.tagSize + varintSize64()
        }
        break
      case INT32: { const n = toInt32(v, type, f); if (n !== 0) { plan[pn++] = f; plan[pn++] = n; size += f.tagSize + int32Size(n) } break }
      case UINT32: { const n = toUint32(v, type, f); if (n !== 0) { plan[pn++] = f; plan[pn++] = n; size += f.tagSize + varintSize32(n) } break }
      case ENUM: { const n = toEnum(v, f, type); if (n !== 0) { plan[pn++] = f; plan[pn++] = n; size += f.tagSize + int32Size(n) } break }
      case BOOL: if (v) { plan[pn++] = f; plan[pn++] = 1; size += f.tagSize + 1 } break
      case STRING:
        if (typeof v !== 'string') throw encodeError(type, f, `expected a string, got ${typeof v}`)
        if (v.length !== 0) size += f.tagSize + planString(f, v)
        break
      default: // BYTES
        if (typeof v !== 'string' && !(v instanceof Uint8Array)) throw encodeError(type, f, `expected a Buffer, Uint8Array or string, got ${typeof v}`)
        if (v.length !== 0) size += f.tagSize + planValue(f, v, type, depth)
    }
  }
  return size
}

function writeVarint32(v) {
  while (v > 127) { out[opos++] = (v & 127) | 128; v >>>= 7 }
  out[opos++] = v
}

function writeVarint64(l, h) {
  while (h !== 0 || l > 127) {
    out[opos++] = (l & 127) | 128
    l = ((l >>> 7) | (h << 25)) >>> 0
    h >>>= 7
  }
  out[opos++] = l
}

function writeInt32(n) {
  if (n >= 0) writeVarint32(n)
  else writeVarint64(n >>> 0, 0xffffffff)
}

// Writes plan entries up to the next END.
function writePlan() {
  for (;;) {
    const f = plan[pn++]
    if (f === END) return
    writeVarint32(f.tag)
    if (f.packed) {
      const arr = plan[pn++]
      writeVarint32(plan[pn++])
      for (let j = 0; j < arr.length; j++) writePackedElement(f, arr[j])
      continue
    }
    switch (f.type) {
      case INT64: case UINT64: writeVarint64(plan[pn++], plan[pn++]); break
      case INT32: case ENUM: writeInt32(plan[pn++]); break
      case UINT32: writeVarint32(plan[pn++]); break
      case BOOL: out[opos++] = plan[pn++]; break
      case MESSAGE: writeVarint32(plan[pn++]); writePlan(); break
      default: { // STRING, BYTES
        const v = plan[pn++]
        if (typeof v === 'string') {
          const n = plan[pn++]
          writeVarint32(n)
          if (n === v.length && n < 64) { for (let i = 0; i < n; i++) out[opos++] = v.charCodeAt(i) } else {
            opos += hasUtf8Write ? out.utf8Write(v, opos, n) : out.write(v, opos, n, 'utf8')
          }
        } else {
          writeVarint32(v.length)
          if (v.length < 32) { for (let i = 0; i < v.length; i++) out[opos++] = v[i] } else { out.set(v, opos); opos += v.length }
        }
      }
    }
  }
}

function writePackedElement(f, v) {
  switch (f.type) {
    case INT64: case UINT64: toLong(v, f.type === UINT64, null, f); writeVarint64(lo, hi); break
    case INT32: writeInt32(v); break
    case UINT32: writeVarint32(v); break
    case BOOL: out[opos++] = v ? 1 : 0; break
    default: writeInt32(typeof v === 'string' ? f.enumValues[v] : v)
  }
}

module.exports = { compile, encode, decode, EMPTY_BUFFER: EMPTY }
