'use strict'
// etcd3's fluent builders (get, getAll, put, delete, if/then/else), its byte ranges and namespace prefixing.
// The request objects they build are exactly etcd3's (snake_case proto fields, Buffers, numeric enums as its
// TypeScript enums give them) so the codec sees what etcd3's grpc layer saw.
const { ClientRuntimeError } = require('./errors')
const { AbortError } = require('../errors')

/** A TypeScript-style numeric enum (name → number and number → name), as etcd3 exports them. */
function tsEnum(names) {
  const e = {}
  names.forEach((name, i) => {
    e[(e[name] = i)] = name
  })
  return e
}

const SortOrder = tsEnum(['None', 'Ascend', 'Descend'])
const SortTarget = tsEnum(['Key', 'Version', 'Create', 'Mod', 'Value'])
const CompareResult = tsEnum(['Equal', 'Greater', 'Less', 'NotEqual'])
const CompareTarget = tsEnum(['Version', 'Create', 'Mod', 'Value', 'Lease'])
const FilterType = tsEnum(['Noput', 'Nodelete'])
const AlarmType = tsEnum(['None', 'Nospace', 'Corrupt'])
const AlarmAction = tsEnum(['Get', 'Activate', 'Deactivate'])
const DowngradeAction = tsEnum(['Validate', 'Enable', 'Cancel'])
const EventType = tsEnum(['Put', 'Delete'])
const Permission = tsEnum(['Read', 'Write', 'Readwrite'])

/** Comparison operators accepted by `if()`/`and()`/`or()`. */
const comparator = {
  '==': CompareResult.Equal,
  '===': CompareResult.Equal,
  '>': CompareResult.Greater,
  '<': CompareResult.Less,
  '!=': CompareResult.NotEqual,
  '!==': CompareResult.NotEqual,
}

/** What a comparison looks at → the Compare field that carries the operand. */
const compareTarget = {
  Value: 'value',
  Version: 'version',
  Create: 'create_revision',
  Mod: 'mod_revision',
  Lease: 'lease',
}

const zeroKey = Buffer.from([0])
const emptyKey = Buffer.from([])

function toBuffer(input) {
  if (Buffer.isBuffer(input)) return input
  if (typeof input === 'number') return Buffer.from(String(input))
  return Buffer.from(input)
}

/**
 * The range_end that covers every key starting with `prefix`: drop trailing 0xff bytes and increment the
 * last remaining byte (`a\xff` → `b`). A prefix of only 0xff bytes has no upper bound: `\0` (all keys ≥ key).
 */
function endRangeForPrefix(prefix) {
  const start = toBuffer(prefix)
  for (let i = start.length - 1; i >= 0; i--) {
    if (start[i] < 0xff) {
      const end = Buffer.from(start.subarray(0, i + 1)) // a copy: never mutate the caller's key
      end[i]++
      return end
    }
  }
  return zeroKey
}

// Empty buffers sort last: in etcd an empty range end means "no upper bound" for comparisons here.
function compareKeys(a, b) {
  if (a.length === 0) return b.length === 0 ? 0 : 1
  if (b.length === 0) return -1
  return a.compare(b)
}

/** A byte range [start, end) of keys, as etcd3's `Range`. */
class Range {
  constructor(start, end = emptyKey) {
    this.start = toBuffer(start)
    this.end = toBuffer(end)
  }

  /** Every key with the given prefix; the empty prefix is every key (`\0`..`\0`). */
  static prefix(prefix) {
    if (prefix.length === 0) return new Range(zeroKey, zeroKey)
    return new Range(prefix, endRangeForPrefix(toBuffer(prefix)))
  }

  /** A Range from a key (string/Buffer: that one key), `{ prefix }`, `{ start, end }` or a Range. */
  static from(v) {
    if (typeof v === 'string' || Buffer.isBuffer(v)) return new Range(toBuffer(v))
    if (v instanceof Range) return v
    if (Object.prototype.hasOwnProperty.call(v, 'prefix')) return Range.prefix(v.prefix)
    return new Range(v.start, v.end)
  }

  includes(value) {
    const key = toBuffer(value)
    return compareKeys(this.start, key) <= 0 && compareKeys(this.end, key) > 0
  }

  /** -1 if this range lies wholly before `other`, 1 if wholly after, 0 if they overlap. */
  compare(other) {
    const startVsStart = compareKeys(this.start, other.start)
    const startVsEnd = compareKeys(this.start, other.end)
    const endVsStart = compareKeys(this.end, other.start)
    if (startVsStart < 0 && endVsStart <= 0) return -1
    if (startVsEnd >= 0) return 1
    return 0
  }
}

/** Applies a namespace prefix to keys and ranges of requests, and strips it from answered keys. */
class NSApplicator {
  constructor(prefix) {
    this.prefix = prefix
    this.endRange = undefined
  }

  applyKey(buf) {
    if (this.prefix.length === 0 || !buf) return buf
    return Buffer.concat([this.prefix, buf])
  }

  // A `\0` range end means "to the end of the keyspace"; inside a namespace that is the end of the prefix.
  applyRangeEnd(buf) {
    if (this.prefix.length === 0 || !buf) return buf
    if (buf.equals(zeroKey)) {
      if (!this.endRange) this.endRange = endRangeForPrefix(this.prefix)
      return this.endRange
    }
    return Buffer.concat([this.prefix, buf])
  }

  /** A prefixed copy of a request (the original is left alone: builders may run it again). */
  applyToRequest(req) {
    if (this.prefix.length === 0) return req
    return Object.assign({}, req, { key: this.applyKey(req.key), range_end: this.applyRangeEnd(req.range_end) })
  }

  unprefix(buf) {
    if (this.prefix.length === 0) return buf
    if (!buf.subarray(0, this.prefix.length).equals(this.prefix)) {
      throw new ClientRuntimeError(`Cannot slice non-existent prefix ${this.prefix} from ${buf}!`)
    }
    return buf.subarray(this.prefix.length)
  }
}
NSApplicator.default = new NSApplicator(emptyKey)

/** Settles like `promise`, or rejects with an AbortError when `signal` aborts first (the work goes on). */
function untilAborted(promise, signal) {
  if (!signal) return promise
  if (signal.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }))
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new AbortError(undefined, { cause: signal.reason }))
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (err) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    )
  })
}

function assertWithin(map, value, thing) {
  if (!(value in map)) {
    const keys = Object.keys(map).join('" "')
    throw new Error(`Unexpected "${String(value)}" in ${thing}. Possible values are: "${keys}"`)
  }
}

/**
 * Makes a builder awaitable: `then`/`catch`/`finally` run its default action. Like etcd3, every `then` runs
 * the request again; nothing is sent until someone awaits or calls an action.
 */
class PromiseWrap {
  then(onFulfilled, onRejected) {
    return this.createPromise().then(onFulfilled, onRejected)
  }

  catch(onRejected) {
    return this.createPromise().catch(onRejected)
  }

  finally(onFinally) {
    return this.createPromise().finally(onFinally)
  }
}

class RangeBuilder extends PromiseWrap {
  constructor(namespace) {
    super()
    this.namespace = namespace
    this.request = {}
    this.callOptions = undefined
  }

  /** Read the store as of this revision (a number or a decimal string, sent as given). */
  revision(rev) {
    this.request.revision = rev
    return this
  }

  serializable(serializable) {
    this.request.serializable = serializable
    return this
  }

  minModRevision(rev) {
    this.request.min_mod_revision = rev
    return this
  }

  maxModRevision(rev) {
    this.request.max_mod_revision = rev
    return this
  }

  minCreateRevision(rev) {
    this.request.min_create_revision = rev
    return this
  }

  maxCreateRevision(rev) {
    this.request.max_create_revision = rev
    return this
  }

  /** Call options for this request: `{ signal, deadline, … }`, merged over the client's defaults. */
  options(options) {
    this.callOptions = options
    return this
  }

  /** The request as a transaction operation. */
  op() {
    return Promise.resolve({ request_range: this.namespace.applyToRequest(this.request) })
  }
}

/** Looks up one key. Awaiting it gives the value as a string (null when absent). */
class SingleRangeBuilder extends RangeBuilder {
  constructor(kv, namespace, key) {
    super(namespace)
    this.kv = kv
    this.request.key = toBuffer(key)
    this.request.limit = 1
  }

  /** The value parsed as JSON (null when absent; rejects with the SyntaxError on bad JSON). */
  json() {
    return this.string().then((value) => JSON.parse(value))
  }

  string(encoding = 'utf8') {
    return this.exec().then((res) => (res.kvs.length === 0 ? null : res.kvs[0].value.toString(encoding)))
  }

  /** The value as a Number (NaN when it doesn't parse; null when absent). */
  number() {
    return this.string().then((value) => (value === null ? null : Number(value)))
  }

  buffer() {
    return this.exec().then((res) => (res.kvs.length === 0 ? null : res.kvs[0].value))
  }

  exists() {
    this.request.keys_only = true
    return this.exec().then((res) => res.count !== '0')
  }

  /** The raw RangeResponse. Keys keep the namespace prefix here, as in etcd3. */
  exec() {
    return this.kv.range(this.namespace.applyToRequest(this.request), this.callOptions)
  }

  createPromise() {
    return this.string()
  }
}

/** Looks up many keys (all of them unless narrowed). Awaiting it gives `{ key: value }` strings. */
class MultiRangeBuilder extends RangeBuilder {
  constructor(kv, namespace) {
    super(namespace)
    this.kv = kv
    this.prefix(emptyKey)
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

  all() {
    return this.prefix('')
  }

  /** At most `count` keys; a non-finite count means no limit. */
  limit(count) {
    this.request.limit = isFinite(count) ? count : 0
    return this
  }

  sort(target, order) {
    assertWithin(SortTarget, target, 'sort order in client.get().sort(...)')
    assertWithin(SortOrder, order, 'sort order in client.get().sort(...)')
    this.request.sort_target = SortTarget[target]
    this.request.sort_order = SortOrder[order]
    return this
  }

  count() {
    this.request.count_only = true
    return this.exec().then((res) => Number(res.count))
  }

  keys(encoding = 'utf8') {
    this.request.keys_only = true
    return this.exec().then((res) => res.kvs.map((kv) => kv.key.toString(encoding)))
  }

  keyBuffers() {
    this.request.keys_only = true
    return this.exec().then((res) => res.kvs.map((kv) => kv.key))
  }

  json() {
    return this.mapValues((buf) => JSON.parse(buf.toString()))
  }

  strings(encoding = 'utf8') {
    return this.mapValues((buf) => buf.toString(encoding))
  }

  numbers() {
    return this.mapValues((buf) => Number(buf.toString()))
  }

  buffers() {
    return this.mapValues((buf) => buf)
  }

  /** The raw RangeResponse, with the namespace prefix removed from every key (in place, as etcd3). */
  exec() {
    return this.kv.range(this.namespace.applyToRequest(this.request), this.callOptions).then((res) => {
      for (const kv of res.kvs) kv.key = this.namespace.unprefix(kv.key)
      return res
    })
  }

  createPromise() {
    return this.strings()
  }

  mapValues(fn) {
    return this.exec().then((res) => {
      const output = {}
      for (const kv of res.kvs) output[kv.key.toString()] = fn(kv.value)
      return output
    })
  }
}

/** Deletes a key or a range. Awaiting it gives the raw DeleteRangeResponse. */
class DeleteBuilder extends PromiseWrap {
  constructor(kv, namespace) {
    super()
    this.kv = kv
    this.namespace = namespace
    this.request = {}
    this.callOptions = undefined
  }

  key(value) {
    this.request.key = toBuffer(value)
    this.request.range_end = undefined
    return this
  }

  prefix(value) {
    return this.range(Range.prefix(value))
  }

  range(range) {
    const r = Range.from(range)
    this.request.key = r.start
    this.request.range_end = r.end
    return this
  }

  all() {
    return this.prefix('')
  }

  inRange(r) {
    return this.range(r)
  }

  /** Runs the delete and resolves with the deleted key-values (keys keep the namespace prefix, as etcd3). */
  getPrevious() {
    this.request.prev_kv = true
    return this.exec().then((res) => res.prev_kvs)
  }

  options(options) {
    this.callOptions = options
    return this
  }

  exec() {
    return this.kv.deleteRange(this.namespace.applyToRequest(this.request), this.callOptions)
  }

  op() {
    return Promise.resolve({ request_delete_range: this.namespace.applyToRequest(this.request) })
  }

  createPromise() {
    return this.exec()
  }
}

/** Writes a key. Awaiting it gives the raw PutResponse. */
class PutBuilder extends PromiseWrap {
  constructor(kv, namespace, key) {
    super()
    this.kv = kv
    this.namespace = namespace
    this.request = { key: toBuffer(key) }
    this.leaseFilter = undefined
    this.callOptions = undefined
  }

  value(value) {
    this.request.value = toBuffer(value)
    return this
  }

  /** Attach to a lease: its id (decimal string or number) or a promise of it (e.g. `lease.grant()`). */
  lease(lease) {
    this.leaseFilter = lease
    return this
  }

  ignoreLease() {
    this.request.ignore_lease = true
    return this
  }

  options(options) {
    this.callOptions = options
    return this
  }

  /** Runs the put and resolves with the previous key-value (if any) plus the response header. */
  getPrevious() {
    this.request.prev_kv = true
    return this.exec().then((res) => ({ ...res.prev_kv, header: res.header }))
  }

  /** Rewrites the key with its current value (bumps its revision), like etcd's ignore_value. */
  touch() {
    this.request.value = undefined
    this.request.ignore_value = true
    return this.exec()
  }

  async exec() {
    // A signal also ends the wait for a lease that is still being granted.
    await this.applyLease(this.callOptions && this.callOptions.signal)
    return this.kv.put(this.namespace.applyToRequest(this.request), this.callOptions)
  }

  async op() {
    await this.applyLease()
    return { request_put: this.namespace.applyToRequest(this.request) }
  }

  createPromise() {
    return this.exec()
  }

  async applyLease(signal) {
    if (!this.leaseFilter) return
    this.request.lease = await untilAborted(Promise.resolve(this.leaseFilter), signal)
  }
}

/**
 * Builds a transaction: comparisons, then the operations to run when they hold (`then`) or not (`else`).
 * `and()` adds a comparison that must also hold. `or()` (ours; etcd3 has none) starts an alternative group
 * of comparisons: the transaction succeeds when every comparison of any one group holds. It is sent as one
 * atomic transaction, nesting the alternatives in the failure branch (etcd ≥ 3.3), and the answer is
 * flattened to the branch that ran, so `succeeded`/`responses` read as for a plain transaction.
 */
class ComparatorBuilder {
  constructor(kv, namespace) {
    this.kv = kv
    this.namespace = namespace
    this.request = { compare: [], success: [], failure: [] }
    this.alternatives = [] // compare lists of the or() groups after the first
    this.callOptions = undefined
  }

  options(options) {
    this.callOptions = options
    return this
  }

  compareOf(key, column, cmp, value, method) {
    assertWithin(compareTarget, column, `comparison target in client.${method}(...)`)
    assertWithin(comparator, cmp, `comparator in client.${method}(...)`)
    if (column === 'Value') value = toBuffer(value)
    return Promise.resolve({
      key: this.namespace.applyKey(toBuffer(key)),
      result: comparator[cmp],
      target: CompareTarget[column],
      [compareTarget[column]]: value,
    })
  }

  /** Same as `and()`: reads naturally as the first clause. */
  if(key, column, cmp, value) {
    return this.and(key, column, cmp, value)
  }

  and(key, column, cmp, value) {
    const clause = this.compareOf(key, column, cmp, value, 'and')
    const group = this.alternatives.length ? this.alternatives[this.alternatives.length - 1] : this.request.compare
    group.push(clause)
    return this
  }

  or(key, column, cmp, value) {
    this.alternatives.push([this.compareOf(key, column, cmp, value, 'or')])
    return this
  }

  then(...clauses) {
    this.request.success = this.mapOperations(clauses)
    return this
  }

  else(...clauses) {
    this.request.failure = this.mapOperations(clauses)
    return this
  }

  async commit() {
    const success = await Promise.all(this.request.success)
    const failure = await Promise.all(this.request.failure)
    const groups = [await Promise.all(this.request.compare)]
    for (const group of this.alternatives) groups.push(await Promise.all(group))
    if (groups.length === 1) {
      return this.kv.txn({ compare: groups[0], failure, success }, this.callOptions)
    }
    let txn = { compare: groups[groups.length - 1], failure, success }
    for (let i = groups.length - 2; i >= 0; i--) {
      txn = { compare: groups[i], failure: [{ request_txn: txn }], success }
    }
    let res = await this.kv.txn(txn, this.callOptions)
    const header = res.header
    for (let depth = 1; depth < groups.length && !res.succeeded; depth++) {
      res = res.responses[0].response_txn
    }
    return { ...res, header }
  }

  /** Resolves builders (anything with `op()`) and raw RequestOp objects into RequestOp promises. */
  mapOperations(ops) {
    return ops.map((op) => (typeof op.op === 'function' ? op.op() : Promise.resolve(op)))
  }
}

module.exports = {
  SortOrder,
  SortTarget,
  CompareResult,
  CompareTarget,
  FilterType,
  AlarmType,
  AlarmAction,
  DowngradeAction,
  EventType,
  Permission,
  comparator,
  compareTarget,
  zeroKey,
  emptyKey,
  toBuffer,
  endRangeForPrefix,
  untilAborted,
  Range,
  NSApplicator,
  PromiseWrap,
  RangeBuilder,
  SingleRangeBuilder,
  MultiRangeBuilder,
  DeleteBuilder,
  PutBuilder,
  ComparatorBuilder,
}
