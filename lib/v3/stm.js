'use strict'
// Software transactional memory: etcd3 1.1.2's API (`client.stm(options).transact(tx => …)`) with Go
// clientv3's semantics (concurrency/stm.go). Reads go to etcd and are remembered (the read set), writes are
// only recorded (the write set); at the end one transaction applies the writes if the compares built from
// the isolation level still hold, and the whole function runs again on a conflict, up to `retries` times.
//
// - SerializableSnapshot (default): every read sees the revision of the first read; commit needs each read
//   key unchanged and each written key not modified since that revision.
// - Serializable: the same snapshot reads; commit needs each read key unchanged.
// - RepeatableReads: each key is read once (from the local member) and then repeated; commit needs each
//   read key unchanged.
// - ReadCommitted: each key is read once; the commit checks nothing.
const { SingleRangeBuilder, PutBuilder, DeleteBuilder, Range, CompareResult, CompareTarget, toBuffer } = require('./builders')
const { STMConflictError } = require('./errors')
const { invalidArg } = require('../errors')

/** Isolation levels, as etcd3's (TypeScript const) enum and clientv3 number them. */
const Isolation = {
  SerializableSnapshot: 0,
  Serializable: 1,
  RepeatableReads: 2,
  ReadCommitted: 3,
  0: 'SerializableSnapshot',
  1: 'Serializable',
  2: 'RepeatableReads',
  3: 'ReadCommitted',
}

function unsupported(message) {
  const err = new Error(message)
  err.code = 'ETCD3_STM_UNSUPPORTED'
  return err
}

// etcd3's wording, so messages users match on stay the same.
function assertNoOption(kind, request, fields) {
  for (const field of fields) {
    if (request[field] !== undefined && request[field] !== null && request[field] !== false) {
      throw unsupported(`"${field}" is not supported in ${kind} requests within STM transactions`)
    }
  }
}

const READ_OPTIONS_REFUSED = ['revision', 'range_end', 'min_mod_revision', 'max_mod_revision', 'min_create_revision', 'max_create_revision']

const keyId = (key) => key.toString('latin1')

/** A read answered from the write set: what the key will hold once the transaction commits. */
function writtenResponse(key, value) {
  if (value === undefined) return { header: null, kvs: [], more: false, count: '0' }
  return { header: null, kvs: [{ key: Buffer.from(key), value }], more: false, count: '1' }
}

/** One run of the transaction function: its read set, write set and snapshot revision. */
class Attempt {
  constructor(kv, isolation, callOptions, carried) {
    this.kv = kv
    this.isolation = isolation
    this.callOptions = callOptions
    this.snapshot = isolation === Isolation.SerializableSnapshot || isolation === Isolation.Serializable
    this.reads = new Map() // keyId → { key, promise, response }
    this.writes = [] // in order: { kind: 'put' | 'delete' | 'range', key, request, range }
    this.baseRevision = null // snapshot levels: a promise of the first read's revision
    this.carried = carried // snapshot levels: reads answered by the last failed commit (keyId → response)
  }

  /** Reads keys (absolute Buffers) through the read set; resolves with one RangeResponse per key. */
  read(keys) {
    const entries = []
    const missing = []
    for (const key of keys) {
      const id = keyId(key)
      let entry = this.reads.get(id)
      if (!entry && this.snapshot && this.carried && this.carried.has(id)) {
        // clientv3 reuses what the failed commit read, saving a round trip; the commit re-checks it.
        const response = this.carried.get(id)
        this.carried.delete(id)
        entry = { key, promise: Promise.resolve(response), response }
        this.reads.set(id, entry)
        if (!this.baseRevision) this.baseRevision = Promise.resolve(response.header.revision)
      }
      if (!entry) {
        entry = { key, promise: null, response: null }
        this.reads.set(id, entry)
        missing.push(entry)
      }
      entries.push(entry)
    }
    if (missing.length > 0) {
      let batch
      if (!this.snapshot) batch = this.fetch(missing, { serializable: true })
      else if (!this.baseRevision) {
        // The first read is linearizable and fixes the snapshot every later read uses.
        batch = this.fetch(missing, {})
        this.baseRevision = batch.then((responses) => responses[0].header.revision)
        this.baseRevision.catch(() => {})
      } else batch = this.baseRevision.then((revision) => this.fetch(missing, { revision, serializable: true }))
      missing.forEach((entry, i) => {
        entry.promise = batch.then((responses) => (entry.response = responses[i]))
        entry.promise.catch(() => {}) // the caller of this read sees the failure
      })
    }
    return Promise.all(entries.map((entry) => entry.promise))
  }

  /** One transaction of range reads; every response gets the transaction's header (the read's revision). */
  async fetch(entries, options) {
    const res = await this.kv.txn({ compare: [], success: entries.map((e) => ({ request_range: { key: e.key, ...options } })), failure: [] }, this.callOptions)
    return res.responses.map((r) => ({ ...r.response_range, header: res.header }))
  }

  /** The latest write to `key` as a read answer, or null when the write set does not decide it. */
  writtenValue(key) {
    for (let i = this.writes.length - 1; i >= 0; i--) {
      const op = this.writes[i]
      if (op.kind === 'range') {
        if (op.range.includes(key)) return writtenResponse(key)
      } else if (op.key.equals(key)) {
        if (op.kind === 'delete') return writtenResponse(key)
        if (!op.request.ignore_value) return writtenResponse(key, op.request.value || Buffer.alloc(0))
      }
    }
    return null
  }

  range(request) {
    assertNoOption('read', request, READ_OPTIONS_REFUSED)
    const key = toBuffer(request.key)
    const written = this.writtenValue(key)
    if (written) return Promise.resolve(written)
    return this.read([key]).then((responses) => responses[0])
  }

  put(request) {
    assertNoOption('put', request, ['prev_kv'])
    const key = toBuffer(request.key)
    this.forget(key)
    this.writes.push({ kind: 'put', key, request })
    return Promise.resolve({})
  }

  deleteRange(request) {
    assertNoOption('delete', request, ['prev_kv'])
    const key = toBuffer(request.key)
    if (request.range_end && request.range_end.length > 0) {
      this.writes.push({ kind: 'range', key, request, range: new Range(key, request.range_end) })
    } else {
      this.forget(key)
      this.writes.push({ kind: 'delete', key, request })
    }
    return Promise.resolve({ header: undefined, deleted: '1', prev_kvs: [] })
  }

  // A later write to a key replaces the earlier one (etcd refuses a key twice in one transaction).
  forget(key) {
    this.writes = this.writes.filter((op) => op.kind === 'range' || !op.key.equals(key))
  }

  /** Sends the commit; true when it applied. On a conflict, keeps what it read for the next attempt. */
  async commit() {
    await Promise.all([...this.reads.values()].map((entry) => entry.promise.catch(() => {})))
    const reads = [...this.reads.values()].filter((entry) => entry.response)
    const compare = []
    if (this.isolation !== Isolation.ReadCommitted) {
      for (const { key, response } of reads) {
        const modRevision = response.kvs.length > 0 ? response.kvs[0].mod_revision : '0'
        compare.push({ key, target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: modRevision })
      }
    }
    if (this.isolation === Isolation.SerializableSnapshot && reads.length > 0) {
      // Written keys must not have changed after the snapshot (the earliest read revision).
      let first = null
      for (const { response } of reads) {
        const rev = BigInt(response.header.revision)
        if (first === null || rev < first) first = rev
      }
      const limit = (first + 1n).toString()
      for (const op of this.writes) {
        if (op.kind === 'range') throw unsupported('You cannot delete ranges in the SerializableSnapshot isolation level')
        compare.push({ key: op.key, target: CompareTarget.Mod, result: CompareResult.Less, mod_revision: limit })
      }
    }
    const success = this.writes.map((op) => (op.kind === 'put' ? { request_put: op.request } : { request_delete_range: op.request }))
    // Snapshot levels read their keys again in the failure branch, so a retry starts without a round trip.
    const failure = this.snapshot ? reads.map(({ key }) => ({ request_range: { key } })) : []
    const res = await this.kv.txn({ compare, success, failure }, this.callOptions)
    if (res.succeeded) return true
    if (this.snapshot) {
      this.carriedOut = new Map()
      reads.forEach(({ key }, i) => this.carriedOut.set(keyId(key), { ...res.responses[i].response_range, header: res.header }))
    }
    return false
  }
}

/**
 * A software transaction (etcd3's SoftwareTransaction): `transact(fn)` runs `fn(tx)`, where `tx.get()`,
 * `tx.put()` and `tx.delete()` are builders whose reads and writes belong to the transaction, then commits;
 * on a conflict it runs `fn` again (at most `retries` more times) and finally rejects with STMConflictError.
 * Resolves with what `fn` returned. Options: `{ isolation, retries = 3, prefetch = [], callOptions }`.
 */
class SoftwareTransaction {
  constructor(options, namespace, rawKV) {
    this.options = options
    this.namespace = namespace
    this.rawKV = rawKV
    this.attempt = null
  }

  async transact(fn) {
    const { isolation = Isolation.SerializableSnapshot, retries = 3, prefetch = [], callOptions } = this.options
    if (!(isolation in Isolation) || typeof isolation !== 'number') {
      throw invalidArg(`Unknown isolation level "${String(isolation)}"`)
    }
    if (!(Number.isInteger(retries) && retries >= 0)) throw invalidArg(`retries must be a whole number ≥ 0, got ${String(retries)}`)
    const prefetchKeys = prefetch.map((key) => this.namespace.applyKey(toBuffer(key)))
    let carried = null
    for (let attempt = 0; ; attempt++) {
      const state = new Attempt(this.rawKV, isolation, callOptions, carried)
      // Each run gets a view of its own, so builders left over from an earlier run cannot touch this one.
      const tx = Object.create(this, { attempt: { value: state } })
      if (prefetchKeys.length > 0) await state.read(prefetchKeys)
      const value = await fn(tx)
      if (await state.commit()) return value
      if (attempt >= retries) throw new STMConflictError()
      carried = state.carriedOut || null
    }
  }

  /** Reads one key inside the transaction (etcd3's SingleRangeBuilder: `.string()`, `.json()`, …). */
  get(key) {
    return new SingleRangeBuilder(this.attemptKV(), this.namespace, key)
  }

  /** Writes one key when the transaction commits. */
  put(key) {
    return new PutBuilder(this.attemptKV(), this.namespace, key)
  }

  /** Deletes a key (or a range; not in SerializableSnapshot) when the transaction commits. */
  delete() {
    return new DeleteBuilder(this.attemptKV(), this.namespace)
  }

  attemptKV() {
    const state = this.attempt
    if (!state) throw unsupported('get(), put() and delete() of a software transaction work on the tx given to transact() only')
    return {
      range: (req) => state.range(req),
      put: (req) => state.put(req),
      deleteRange: (req) => state.deleteRange(req),
    }
  }
}

module.exports = { SoftwareTransaction, Isolation }
