// The v3 client (`Etcd3`) against a real etcd 3.5: every builder and terminal, every transaction compare,
// leases (keep-alive, expiry, loss), watchers (replay, compaction, cancel, iteration), namespaces,
// AbortSignal, 64-bit numbers, binary/unicode keys, error classes, and process exit after close().
//
// Run: node --test __test__/v3.test.mjs

import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { sleep, until, once, refusedPort, stallServer, runProcess } from './helpers/common.mjs'

const require = createRequire(import.meta.url)
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { startEtcd } = require('../testing/index.js')
const v3 = require('../lib/v3/etcd3.js')
const {
  Etcd3,
  Range,
  EtcdLeaseInvalidError,
  EtcdCompactedError,
  EtcdError,
  GRPCOutOfRangeError,
  ClientClosedError,
  EtcdPermissionDeniedError,
} = v3

const isDecimal = (s) => typeof s === 'string' && /^(0|[1-9][0-9]*)$/.test(s)

/** Runs a node script (CommonJS, `ETCD_HOSTS` in env); resolves { code, signal, stdout, stderr, ms }. */
function runChild(source, env, timeoutMs = 20_000) {
  return runProcess(process.execPath, ['-e', source], { cwd: ROOT, env: { ...process.env, ...env }, timeoutMs })
}

let etcd
let client
let seq = 0
/** A fresh key prefix per test, so tests never see each other's keys. */
const fresh = (name) => `v3t/${++seq}-${name}/`

before(async () => {
  etcd = await startEtcd({ v2: false })
  client = new Etcd3({ hosts: etcd.endpoints })
})

after(async () => {
  if (client) client.close()
  if (etcd) await etcd.stop()
})

describe('module shape', () => {
  test("Etcd3 is the same class from 'etcd-napi', 'etcd-napi/v3' and lib/v3", () => {
    assert.equal(require('etcd-napi').Etcd3, Etcd3)
    assert.equal(require('etcd-napi/v3').Etcd3, Etcd3)
    assert.equal(typeof require('etcd-napi/v3').EtcdLeaseInvalidError, 'function')
  })
})

describe('get', () => {
  let p
  before(async () => {
    p = fresh('get')
    await client.put(`${p}str`).value('hello')
    await client.put(`${p}json`).value(JSON.stringify({ a: [1, 'two', null] }))
    await client.put(`${p}num`).value('42.5')
    await client.put(`${p}nan`).value('not a number')
    await client.put(`${p}bin`).value(Buffer.from([0, 1, 0xfe, 0xff]))
  })

  test('string, json, buffer, number and awaiting the builder', async () => {
    assert.equal(await client.get(`${p}str`).string(), 'hello')
    assert.equal(await client.get(`${p}str`), 'hello') // thenable: string by default
    assert.equal(await client.get(`${p}str`).string('base64'), Buffer.from('hello').toString('base64'))
    assert.deepEqual(await client.get(`${p}json`).json(), { a: [1, 'two', null] })
    assert.equal(await client.get(`${p}num`).number(), 42.5)
    assert.ok(Number.isNaN(await client.get(`${p}nan`).number()))
    assert.deepEqual(await client.get(`${p}bin`).buffer(), Buffer.from([0, 1, 0xfe, 0xff]))
    await assert.rejects(client.get(`${p}nan`).json(), SyntaxError)
  })

  test('a missing key is null for every terminal and exists() is false', async () => {
    const k = `${p}missing`
    assert.equal(await client.get(k).string(), null)
    assert.equal(await client.get(k).buffer(), null)
    assert.equal(await client.get(k).number(), null)
    assert.equal(await client.get(k).json(), null)
    assert.equal(await client.get(k).exists(), false)
    assert.equal(await client.get(`${p}str`).exists(), true)
    const raw = await client.get(k).exec()
    assert.deepEqual(raw.kvs, [])
    assert.equal(raw.count, '0')
  })

  test('revision() reads an older value; serializable() reads the local member', async () => {
    const k = `${p}rev`
    const r1 = (await client.put(k).value('one')).header.revision
    const r2 = (await client.put(k).value('two')).header.revision
    assert.ok(BigInt(r2) > BigInt(r1))
    assert.equal(await client.get(k).revision(r1).string(), 'one')
    assert.equal(await client.get(k).revision(Number(r1)).string(), 'one')
    assert.equal(await client.get(k).revision(r2).string(), 'two')
    assert.equal(await client.get(k).serializable(true).string(), 'two')
    const raw = await client.get(k).exec()
    assert.equal(raw.kvs[0].key.toString(), k)
    assert.equal(raw.kvs[0].mod_revision, r2)
    assert.equal(raw.kvs[0].create_revision, r1)
    assert.equal(raw.kvs[0].version, '2')
    assert.equal(raw.kvs[0].lease, '0')
    for (const f of ['revision', 'raft_term', 'cluster_id', 'member_id']) assert.ok(isDecimal(raw.header[f]), f)
  })

  test('min/max mod and create revision filters', async () => {
    const q = `${p}filter/`
    const r = []
    for (const k of ['a', 'b', 'c']) r.push((await client.put(q + k).value(k)).header.revision)
    assert.deepEqual(await client.getAll().prefix(q).minModRevision(r[1]).keys(), [`${q}b`, `${q}c`])
    assert.deepEqual(await client.getAll().prefix(q).maxModRevision(r[1]).keys(), [`${q}a`, `${q}b`])
    assert.deepEqual(await client.getAll().prefix(q).minCreateRevision(r[2]).keys(), [`${q}c`])
    assert.deepEqual(await client.getAll().prefix(q).maxCreateRevision(r[0]).keys(), [`${q}a`])
  })
})

describe('getAll', () => {
  let p
  const values = { a: '3', b: '1', c: '2', d: '5' }
  before(async () => {
    p = fresh('getall')
    for (const [k, v] of Object.entries(values)) await client.put(`${p}x/${k}`).value(v)
    await client.put(`${p}y/other`).value('{"y":true}')
  })

  test('prefix: strings, buffers, json, numbers, keys, keyBuffers, count, awaiting the builder', async () => {
    const x = `${p}x/`
    const expected = Object.fromEntries(Object.entries(values).map(([k, v]) => [x + k, v]))
    assert.deepEqual(await client.getAll().prefix(x).strings(), expected)
    assert.deepEqual(await client.getAll().prefix(x), expected)
    assert.deepEqual(await client.getAll().prefix(x).numbers(), Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, Number(v)])))
    assert.deepEqual(await client.getAll().prefix(x).json(), Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, JSON.parse(v)])))
    assert.deepEqual(await client.getAll().prefix(x).buffers(), Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, Buffer.from(v)])))
    assert.deepEqual(await client.getAll().prefix(x).keys(), Object.keys(expected))
    assert.deepEqual(await client.getAll().prefix(x).keyBuffers(), Object.keys(expected).map((k) => Buffer.from(k)))
    assert.equal(await client.getAll().prefix(x).count(), 4)
    assert.equal(await client.getAll().prefix(p).count(), 5)
    assert.deepEqual(await client.getAll().prefix(`${p}y/`).json(), { [`${p}y/other`]: { y: true } })
  })

  test('inRange: [start, end) as an object and as a Range', async () => {
    assert.deepEqual(await client.getAll().inRange({ start: `${p}x/b`, end: `${p}x/d` }).keys(), [`${p}x/b`, `${p}x/c`])
    assert.deepEqual(await client.getAll().inRange(new Range(`${p}x/c`, `${p}y/`)).keys(), [`${p}x/c`, `${p}x/d`])
    assert.deepEqual(await client.getAll().inRange(Range.prefix(`${p}y/`)).keys(), [`${p}y/other`])
  })

  test('limit and sort', async () => {
    const x = `${p}x/`
    assert.deepEqual(await client.getAll().prefix(x).limit(2).keys(), [`${x}a`, `${x}b`])
    assert.deepEqual(await client.getAll().prefix(x).limit(Infinity).keys(), [`${x}a`, `${x}b`, `${x}c`, `${x}d`])
    assert.deepEqual(await client.getAll().prefix(x).sort('Key', 'Descend').keys(), [`${x}d`, `${x}c`, `${x}b`, `${x}a`])
    assert.deepEqual(await client.getAll().prefix(x).sort('Value', 'Ascend').keys(), [`${x}b`, `${x}c`, `${x}a`, `${x}d`])
    assert.deepEqual(await client.getAll().prefix(x).sort('Value', 'Descend').limit(1).strings(), { [`${x}d`]: '5' })
    assert.deepEqual(await client.getAll().prefix(x).sort('Mod', 'Descend').keys(), [`${x}d`, `${x}c`, `${x}b`, `${x}a`])
    const raw = await client.getAll().prefix(x).limit(1).exec()
    assert.equal(raw.more, true)
    assert.equal(raw.count, '4')
    assert.throws(() => client.getAll().sort('Nope', 'Ascend'), /Possible values/)
  })

  test('all() inside a namespace sees every key of that namespace only', async () => {
    const ns = client.namespace(p)
    assert.deepEqual(await ns.getAll().all().keys(), ['x/a', 'x/b', 'x/c', 'x/d', 'y/other'])
    assert.deepEqual(await ns.getAll().keys(), ['x/a', 'x/b', 'x/c', 'x/d', 'y/other'])
  })
})

describe('put', () => {
  test('value as string, Buffer and number; the response header revision is a decimal string', async () => {
    const p = fresh('put')
    const r1 = await client.put(`${p}s`).value('text')
    await client.put(`${p}b`).value(Buffer.from([0xde, 0xad]))
    await client.put(`${p}n`).value(17)
    assert.ok(isDecimal(r1.header.revision))
    assert.equal(r1.prev_kv, null)
    assert.equal(await client.get(`${p}s`).string(), 'text')
    assert.deepEqual(await client.get(`${p}b`).buffer(), Buffer.from([0xde, 0xad]))
    assert.equal(await client.get(`${p}n`).number(), 17)
  })

  test('getPrevious returns the previous key-value plus the header; touch keeps the value and bumps the version', async () => {
    const p = fresh('put-prev')
    const first = await client.put(`${p}k`).value('v1').getPrevious()
    assert.equal(first.value, undefined) // nothing before
    assert.ok(isDecimal(first.header.revision))
    const prev = await client.put(`${p}k`).value('v2').getPrevious()
    assert.equal(prev.value.toString(), 'v1')
    assert.equal(prev.key.toString(), `${p}k`)
    assert.equal(prev.version, '1')
    const touched = await client.put(`${p}k`).touch()
    const raw = await client.get(`${p}k`).exec()
    assert.equal(raw.kvs[0].value.toString(), 'v2')
    assert.equal(raw.kvs[0].version, '3')
    assert.equal(raw.kvs[0].mod_revision, touched.header.revision)
    // touch on a missing key is an etcd error (ignore_value needs a key to keep the value of)
    await assert.rejects(client.put(`${p}absent`).touch(), (err) => err instanceof Error && /key not found/.test(err.message))
  })

  test('lease and ignoreLease', async () => {
    const p = fresh('put-lease')
    const lease = client.lease(30)
    const id = await lease.grant()
    await client.put(`${p}k`).value('v').lease(id)
    assert.equal((await client.get(`${p}k`).exec()).kvs[0].lease, id)
    await client.put(`${p}k`).value('v2').ignoreLease()
    const kv = (await client.get(`${p}k`).exec()).kvs[0]
    assert.equal(kv.lease, id, 'ignoreLease keeps the attached lease')
    assert.equal(kv.value.toString(), 'v2')
    // a promise of an id is accepted too
    await client.put(`${p}k2`).value('v').lease(Promise.resolve(id))
    assert.equal((await client.get(`${p}k2`).exec()).kvs[0].lease, id)
    await client.put(`${p}k`).value('v3') // a plain put detaches it
    assert.equal((await client.get(`${p}k`).exec()).kvs[0].lease, '0')
    await lease.revoke()
    assert.equal(await client.get(`${p}k2`).exists(), false, 'revoking deletes the attached key')
    assert.equal(await client.get(`${p}k`).exists(), true)
  })
})

describe('delete', () => {
  test('key, prefix, range, inRange, all (in a namespace) and getPrevious', async () => {
    const p = fresh('delete')
    const ns = client.namespace(p)
    const seed = async () => {
      for (const k of ['a/1', 'a/2', 'b/1', 'b/2', 'c']) await ns.put(k).value(`v-${k}`)
    }
    await seed()
    const byKey = await ns.delete().key('c')
    assert.equal(byKey.deleted, '1')
    assert.equal((await ns.delete().key('c')).deleted, '0')
    assert.equal((await ns.delete().prefix('a/')).deleted, '2')
    assert.deepEqual(await ns.getAll().keys(), ['b/1', 'b/2'])
    assert.equal((await ns.delete().range(new Range('b/1', 'b/2'))).deleted, '1')
    assert.deepEqual(await ns.getAll().keys(), ['b/2'])
    assert.equal((await ns.delete().inRange({ start: 'b/', end: 'b/3' })).deleted, '1')
    await seed()
    const prev = await ns.delete().prefix('b/').getPrevious()
    assert.deepEqual(
      prev.map((kv) => [kv.key.toString(), kv.value.toString()]),
      [
        [`${p}b/1`, 'v-b/1'],
        [`${p}b/2`, 'v-b/2'],
      ],
    )
    const other = fresh('delete-other')
    await client.put(`${other}keep`).value('1')
    assert.equal((await ns.delete().all()).deleted, '3')
    assert.equal(await ns.getAll().count(), 0)
    assert.equal(await client.get(`${other}keep`).string(), '1', "a namespace's delete().all() stays inside it")
  })
})

describe('transactions', () => {
  // For each compare target: [an operand that equals the key's current value, one that is smaller, one larger].
  let p, key, lease, facts
  before(async () => {
    p = fresh('txn')
    key = `${p}k`
    lease = client.lease(60)
    const id = await lease.grant()
    const created = (await client.put(key).value('m').lease(id)).header.revision
    const modded = (await client.put(key).value('m').lease(id)).header.revision
    const big = BigInt(id)
    facts = {
      Value: ['m', 'a', 'z'],
      Version: [2, 1, 3],
      Create: [created, String(BigInt(created) - 1n), String(BigInt(created) + 1n)],
      Mod: [modded, String(BigInt(modded) - 1n), String(BigInt(modded) + 1n)],
      Lease: [id, String(big - 1n), String(big + 1n)],
    }
  })
  after(() => lease.revoke())

  const cases = []
  for (const target of ['Value', 'Version', 'Create', 'Mod', 'Lease']) {
    // [operator, which operand, expected outcome] where operand index 0 = equal, 1 = smaller, 2 = larger.
    // etcd compares "key's value <op> operand".
    for (const [op, which, expected] of [
      ['==', 0, true],
      ['==', 1, false],
      ['!=', 1, true],
      ['!=', 0, false],
      ['<', 2, true],
      ['<', 0, false],
      ['>', 1, true],
      ['>', 2, false],
    ]) {
      cases.push([target, op, which, expected])
    }
  }

  test('every target with ==, !=, <, >: then runs on success, else on failure', async () => {
    const failures = []
    for (const [target, op, which, expected] of cases) {
      const operand = facts[target][which]
      const res = await client
        .if(key, target, op, operand)
        .then(client.put(`${p}then`).value(`${target}${op}`))
        .else(client.put(`${p}else`).value(`${target}${op}`))
        .commit()
      if (res.succeeded !== expected) failures.push(`${target} ${op} ${operand}: succeeded=${res.succeeded}`)
      assert.equal(res.responses.length, 1)
      assert.equal(res.responses[0].response, 'response_put')
      const landed = await client.get(`${p}${expected ? 'then' : 'else'}`).string()
      if (landed !== `${target}${op}`) failures.push(`${target} ${op}: the ${expected ? 'then' : 'else'} op did not run`)
    }
    assert.deepEqual(failures, [])
  })

  test('and() needs every clause; ops are put, get and delete builders and raw RequestOps', async () => {
    await client.put(`${p}del`).value('x')
    const res = await client
      .if(key, 'Value', '==', 'm')
      .and(key, 'Version', '>', 0)
      .then(client.put(`${p}t1`).value('1'), client.get(key), client.delete().key(`${p}del`), client.getAll().prefix(`${p}t1`))
      .else(client.put(`${p}never`).value('1'))
      .commit()
    assert.equal(res.succeeded, true)
    assert.deepEqual(
      res.responses.map((r) => r.response),
      ['response_put', 'response_range', 'response_delete_range', 'response_range'],
    )
    assert.equal(res.responses[1].response_range.kvs[0].value.toString(), 'm')
    assert.equal(res.responses[2].response_delete_range.deleted, '1')
    assert.deepEqual(
      res.responses[3].response_range.kvs.map((kv) => kv.key.toString()),
      [`${p}t1`],
    )
    assert.equal(await client.get(`${p}never`).exists(), false)

    const failed = await client
      .if(key, 'Value', '==', 'm')
      .and(key, 'Version', '>', 100)
      .then(client.put(`${p}never`).value('1'))
      .else(client.delete().key(`${p}t1`), { request_range: { key: Buffer.from(key) } })
      .commit()
    assert.equal(failed.succeeded, false)
    assert.deepEqual(
      failed.responses.map((r) => r.response),
      ['response_delete_range', 'response_range'],
    )
    assert.equal(await client.get(`${p}t1`).exists(), false)
    assert.equal(await client.get(`${p}never`).exists(), false)
  })

  test('a compare on a missing key: Version == 0 and Create == 0 hold', async () => {
    const missing = `${p}missing`
    const res = await client.if(missing, 'Version', '==', 0).and(missing, 'Create', '==', 0).then(client.put(missing).value('created')).commit()
    assert.equal(res.succeeded, true)
    const again = await client.if(missing, 'Version', '==', 0).then(client.put(missing).value('twice')).commit()
    assert.equal(again.succeeded, false, 'compare-and-create runs once')
    assert.equal(await client.get(missing).string(), 'created')
  })
})

describe('leases', () => {
  test('grant gives an exact decimal id; ttl(); put through the lease; keepaliveOnce; revoke deletes keys and is not a loss', async (t) => {
    const p = fresh('lease')
    const lease = client.lease(20)
    let lost = null
    lease.on('lost', (err) => (lost = err))
    t.after(() => lease.release())
    const id = await lease.grant()
    assert.ok(isDecimal(id), id)
    assert.equal(await lease.grant(), id, 'granted once')
    const listed = await client.leaseClient.leaseLeases()
    assert.ok(
      listed.leases.some((l) => l.ID === id),
      `leaseLeases lists ${id} exactly: ${JSON.stringify(listed.leases)}`,
    )
    const ttl = await lease.ttl()
    assert.ok(ttl > 15 && ttl <= 20, `ttl ${ttl}`)
    const raw = await client.leaseClient.leaseTimeToLive({ ID: id, keys: true })
    assert.equal(raw.ID, id)
    assert.equal(raw.grantedTTL, '20')

    await lease.put(`${p}a`).value('1')
    await lease.put(`${p}b`).value('2')
    assert.equal((await client.get(`${p}a`).exec()).kvs[0].lease, id)
    const withKeys = await client.leaseClient.leaseTimeToLive({ ID: id, keys: true })
    assert.deepEqual(withKeys.keys.map((k) => k.toString()).sort(), [`${p}a`, `${p}b`])

    const ka = await lease.keepaliveOnce()
    assert.equal(ka.ID, id)
    assert.equal(ka.TTL, '20')
    assert.ok(isDecimal(ka.header.revision))

    assert.equal(lease.revoked(), false)
    await lease.revoke()
    assert.equal(lease.revoked(), true)
    assert.equal(await client.getAll().prefix(p).count(), 0)
    await sleep(200)
    assert.equal(lost, null, "revoke() doesn't emit 'lost'")
    const after = await client.leaseClient.leaseTimeToLive({ ID: id })
    assert.equal(after.TTL, '-1')
  })

  test('a released lease is no longer kept alive and expires; release is not a loss', async (t) => {
    const p = fresh('release')
    const lease = client.lease(2)
    let lost = null
    lease.on('lost', (err) => (lost = err))
    t.after(() => lease.revoke().catch(() => {}))
    await lease.put(`${p}k`).value('v')
    await sleep(2500) // kept alive past its TTL
    assert.equal(await client.get(`${p}k`).string(), 'v', 'kept alive while held')
    const released = Date.now()
    lease.release()
    await until(async () => !(await client.get(`${p}k`).exists()), 8000, 'the released lease to expire')
    const ms = Date.now() - released
    assert.ok(ms >= 1000, `expired ${ms} ms after release: too soon, the TTL was 2 s`)
    assert.equal(lost, null, "release() doesn't emit 'lost'")
    console.log(`# released TTL-2 lease expired ${ms} ms after release()`)
  })

  test('autoKeepAlive: false with TTL 1: the key is gone after about 2 s', async (t) => {
    const p = fresh('noka')
    const lease = client.lease(1, { autoKeepAlive: false })
    const fired = []
    lease.on('keepaliveFired', () => fired.push(Date.now()))
    t.after(() => lease.revoke().catch(() => {}))
    const start = Date.now()
    await lease.put(`${p}k`).value('v')
    assert.equal(await client.get(`${p}k`).string(), 'v')
    await until(async () => !(await client.get(`${p}k`).exists()), 6000, 'a TTL-1 lease without keep-alives to expire')
    const ms = Date.now() - start
    assert.ok(ms < 4000, `expired after ${ms} ms`)
    assert.deepEqual(fired, [], 'no keep-alive was sent')
    console.log(`# TTL-1 lease without keep-alive: key gone ${ms} ms after the put`)
  })

  test("a lease revoked by another client: 'lost' fires once with EtcdLeaseInvalidError within about the TTL", async (t) => {
    const other = new Etcd3({ hosts: etcd.endpoints })
    t.after(() => other.close())
    const lease = client.lease(3)
    t.after(() => lease.release())
    const lost = []
    lease.on('lost', (err) => lost.push(err))
    const id = await lease.grant()
    await sleep(300)
    await other.leaseClient.leaseRevoke({ ID: id })
    const revokedAt = Date.now()
    await until(() => lost.length > 0, 6000, "'lost' after the lease was revoked elsewhere")
    const ms = Date.now() - revokedAt
    assert.ok(lost[0] instanceof EtcdLeaseInvalidError, `${lost[0] && lost[0].constructor.name}: ${lost[0] && lost[0].message}`)
    assert.equal(lost[0].constructor.name, 'EtcdLeaseInvalidError')
    assert.equal(lost[0].code, 'ETCD3_LEASE_NOT_FOUND')
    assert.ok(ms <= 3500, `'lost' came ${ms} ms after the revoke (TTL 3 s)`)
    assert.equal(lease.revoked(), true)
    await sleep(1500)
    assert.equal(lost.length, 1, "'lost' fires once")
    await assert.rejects(lease.keepaliveOnce(), EtcdLeaseInvalidError)
    console.log(`# lease revoked elsewhere: 'lost' ${ms} ms after the revoke (TTL 3 s)`)
  })

  test("keep-alives that go unanswered (etcd stopped with SIGSTOP): 'lost' within about the TTL", async (t) => {
    const lone = await startEtcd({ v2: false })
    t.after(() => lone.stop())
    const c = new Etcd3({ hosts: lone.endpoints })
    t.after(() => c.close())
    const lease = c.lease(2)
    const lost = []
    lease.on('lost', (e) => lost.push({ e, at: Date.now() }))
    let lastOk = 0
    lease.on('keepaliveSucceeded', () => (lastOk = Date.now()))
    await lease.grant()
    await until(() => lastOk > 0, 5000, 'a first keep-alive')
    await lone.pause(0)
    const pausedAt = Date.now()
    try {
      await until(() => lost.length > 0, 8000, "'lost' while etcd does not answer")
    } finally {
      await lone.resume(0)
    }
    const sinceOk = lost[0].at - lastOk
    const sincePause = lost[0].at - pausedAt
    assert.ok(lost[0].e instanceof EtcdLeaseInvalidError, String(lost[0].e))
    // The lease is gone server-side once its TTL passes without a refresh: report it then, not later.
    assert.ok(sinceOk <= 3000, `'lost' ${sinceOk} ms after the last successful keep-alive (TTL 2 s)`)
    console.log(`# unanswered keep-alives: 'lost' ${sincePause} ms after SIGSTOP, ${sinceOk} ms after the last success (TTL 2 s)`)
  })

  test('keep-alive events: established, then fired/succeeded pairs about every TTL/3', async (t) => {
    const lease = client.lease(3)
    t.after(() => lease.revoke().catch(() => {}))
    const log = []
    const t0 = Date.now()
    for (const ev of ['keepaliveEstablished', 'keepaliveFired', 'keepaliveSucceeded', 'keepaliveFailed', 'lost']) {
      lease.on(ev, (arg) => log.push({ ev, at: Date.now() - t0, arg }))
    }
    const id = await lease.grant()
    await until(() => log.filter((e) => e.ev === 'keepaliveSucceeded').length >= 4, 8000, 'four keep-alives')
    const names = log.map((e) => e.ev)
    assert.equal(names[0], 'keepaliveEstablished')
    assert.ok(!names.includes('keepaliveFailed') && !names.includes('lost'), names.join(','))
    const pairs = names.slice(1, 9)
    assert.deepEqual(pairs, ['keepaliveFired', 'keepaliveSucceeded', 'keepaliveFired', 'keepaliveSucceeded', 'keepaliveFired', 'keepaliveSucceeded', 'keepaliveFired', 'keepaliveSucceeded'])
    const ok = log.filter((e) => e.ev === 'keepaliveSucceeded')
    for (const e of ok) {
      assert.equal(e.arg.ID, id)
      assert.equal(e.arg.TTL, '3')
    }
    const gaps = ok.slice(1).map((e, i) => e.at - ok[i].at)
    for (const g of gaps) assert.ok(g > 600 && g < 1800, `keep-alive interval ${g} ms (TTL/3 = 1000)`)
    console.log(`# keep-alive intervals for TTL 3 s: ${gaps.join(', ')} ms`)
  })

  test('keepaliveSucceeded carries the response header, as etcd3 (LeaseKeepAliveResponse)', async (t) => {
    const lease = client.lease(3)
    t.after(() => lease.revoke().catch(() => {}))
    const next = once(lease, 'keepaliveSucceeded', 8000)
    await lease.grant() // ours grants on first use (etcd3 grants in the constructor)
    const [res] = await next
    assert.ok(res.header && isDecimal(res.header.revision), `keepaliveSucceeded got ${JSON.stringify(res)}`)
  })

  test('a TTL below 1 is a RangeError', () => {
    assert.throws(() => client.lease(0), RangeError)
  })
})

describe('watch', () => {
  test('key watcher: connected, put and delete with prevKV, data, lastRevision', async (t) => {
    const p = fresh('watch-key')
    const k = `${p}k`
    await client.put(k).value('before')
    const w = await client.watch().key(k).withPreviousKV().create()
    t.after(() => w.cancel())
    const got = []
    w.on('put', (kv, prev) => got.push(['put', kv.value.toString(), prev && prev.value.toString()]))
    w.on('delete', (kv, prev) => got.push(['delete', kv.key.toString(), prev && prev.value.toString()]))
    const datas = []
    w.on('data', (res) => datas.push(res))
    await client.put(`${p}other`).value('ignored')
    await client.put(k).value('v1')
    const rev = (await client.delete().key(k)).header.revision
    await until(() => got.length >= 2, 5000, 'two events')
    assert.deepEqual(got, [
      ['put', 'v1', 'before'],
      ['delete', k, 'v1'],
    ])
    assert.ok(datas.length >= 1)
    assert.ok(datas.every((d) => Array.isArray(d.events) && isDecimal(d.header.revision)))
    assert.equal(datas.flatMap((d) => d.events).length, 2)
    assert.equal(String(w.lastRevision()), String(BigInt(rev) + 1n))
  })

  test('prefix and inRange watchers see only their keys; only() filters', async (t) => {
    const p = fresh('watch-range')
    const pw = await client.watch().prefix(`${p}a/`).create()
    const rw = await client.watch().inRange({ start: `${p}b`, end: `${p}d` }).create()
    const ow = await client.watch().prefix(p).only('delete').create()
    t.after(() => Promise.all([pw.cancel(), rw.cancel(), ow.cancel()]))
    const seen = { p: [], r: [], o: [] }
    pw.on('put', (kv) => seen.p.push(kv.key.toString()))
    rw.on('put', (kv) => seen.r.push(kv.key.toString()))
    ow.on('put', (kv) => seen.o.push(`put ${kv.key}`))
    ow.on('delete', (kv) => seen.o.push(`delete ${kv.key}`))
    for (const k of ['a/1', 'b', 'c', 'd', 'a/2', 'aa']) await client.put(p + k).value('x')
    await client.delete().key(`${p}b`)
    await until(() => seen.p.length >= 2 && seen.r.length >= 2 && seen.o.length >= 1, 5000, 'events')
    await sleep(300)
    assert.deepEqual(seen.p, [`${p}a/1`, `${p}a/2`])
    assert.deepEqual(seen.r, [`${p}b`, `${p}c`])
    assert.deepEqual(seen.o, [`delete ${p}b`])
  })

  test('startRevision in the past replays history in order, then goes live', async (t) => {
    const p = fresh('watch-replay')
    const revs = []
    for (let i = 0; i < 20; i++) revs.push((await client.put(`${p}${i % 3}`).value(`v${i}`)).header.revision)
    await client.delete().key(`${p}0`)
    const w = client.watch().prefix(p).startRevision(revs[5]).watcher()
    t.after(() => w.cancel())
    const got = []
    w.on('put', (kv) => got.push(`${kv.value}@${kv.mod_revision}`))
    w.on('delete', (kv) => got.push(`del ${kv.key}@${kv.mod_revision}`))
    await once(w, 'connected')
    await until(() => got.length >= 16, 5000, 'the replay')
    await client.put(`${p}live`).value('live')
    await until(() => got.length >= 17, 5000, 'the live event')
    const expected = revs.slice(5).map((r, i) => `v${i + 5}@${r}`)
    assert.deepEqual(got.slice(0, 15), expected)
    assert.match(got[15], new RegExp(`^del ${p}0@`))
    assert.match(got[16], /^live@/)
  })

  test('a watch from a compacted revision fails with EtcdCompactedError carrying compactRevision', async (t) => {
    const p = fresh('watch-compact')
    const r0 = (await client.put(`${p}k`).value('0')).header.revision
    let last
    for (let i = 1; i < 5; i++) last = (await client.put(`${p}k`).value(String(i))).header.revision
    await client.kv.compact({ revision: last, physical: true })
    const w = client.watch().prefix(p).startRevision(r0).watcher()
    t.after(() => w.cancel())
    const events = []
    w.on('put', (kv) => events.push(kv))
    const [err] = await once(w, 'error', 8000)
    assert.ok(err instanceof EtcdCompactedError, `${err.constructor.name}: ${err.message}`)
    assert.ok(err instanceof EtcdError, 'the watch form is an EtcdError, as etcd3')
    assert.equal(err.name, 'EtcdCompactedError')
    assert.equal(err.code, 'ETCD3_COMPACTED')
    assert.equal(err.compactRevision, last)
    assert.match(err.message, /^Watcher canceled: .*compacted/)
    assert.deepEqual(events, [])
    console.log(`# compacted watch error: ${err.constructor.name} (${err.name}) compactRevision=${err.compactRevision}`)

    // the async iterator of such a watcher rejects with the same class
    const w2 = client.watch().prefix(p).startRevision(r0).watcher()
    t.after(() => w2.cancel())
    await assert.rejects(
      (async () => {
        for await (const ev of w2) void ev
      })(),
      (e) => e instanceof EtcdCompactedError && e.compactRevision === last,
    )

    // unary reads of a compacted revision: the gRPC class etcd3 gives (OUT_OF_RANGE), also an EtcdCompactedError
    const rangeErr = await client
      .get(`${p}k`)
      .revision(r0)
      .exec()
      .then(
        () => null,
        (e) => e,
      )
    assert.ok(rangeErr instanceof GRPCOutOfRangeError, String(rangeErr))
    assert.ok(rangeErr instanceof EtcdCompactedError)
    assert.equal(rangeErr.code, 'ETCD3_COMPACTED')

    // from the compact revision itself it works
    const ok = client.watch().prefix(p).startRevision(last).watcher()
    t.after(() => ok.cancel())
    const [kv] = await once(ok, 'put')
    assert.equal(kv.value.toString(), '4')
  })

  test('a watch through a compaction that happens while it is live keeps delivering', async (t) => {
    const p = fresh('watch-through')
    const w = await client.watch().prefix(p).create()
    t.after(() => w.cancel())
    const got = []
    let error = null
    w.on('put', (kv) => got.push(kv.value.toString()))
    w.on('error', (e) => (error = e))
    let rev
    for (let i = 0; i < 5; i++) rev = (await client.put(`${p}k`).value(`a${i}`)).header.revision
    await client.kv.compact({ revision: rev })
    for (let i = 0; i < 5; i++) await client.put(`${p}k`).value(`b${i}`)
    await until(() => got.length >= 10, 5000, 'ten events')
    assert.deepEqual(got, ['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b1', 'b2', 'b3', 'b4'])
    assert.equal(error, null)
  })

  test('cancel() ends the watcher: end fires, no more events', async () => {
    const p = fresh('watch-cancel')
    const w = await client.watch().prefix(p).create()
    const got = []
    w.on('put', (kv) => got.push(kv.value.toString()))
    let ended = 0
    w.on('end', () => ended++)
    await client.put(`${p}k`).value('1')
    await until(() => got.length === 1, 5000, 'first event')
    await w.cancel()
    await w.cancel() // idempotent
    assert.equal(ended, 1)
    await client.put(`${p}k`).value('2')
    await sleep(500)
    assert.deepEqual(got, ['1'])
  })

  test('async iteration yields events in order; breaking out cancels the watcher', async () => {
    const p = fresh('watch-iter')
    const w = await client.watch().prefix(p).create()
    let ended = false
    w.on('end', () => (ended = true))
    const writer = (async () => {
      for (let i = 0; i < 5; i++) await client.put(`${p}k${i}`).value(String(i))
      await client.delete().key(`${p}k0`)
    })()
    const seen = []
    for await (const ev of w) {
      seen.push(`${ev.type} ${ev.kv.key}`)
      if (seen.length === 6) break
    }
    await writer
    assert.deepEqual(seen, [...[0, 1, 2, 3, 4].map((i) => `Put ${p}k${i}`), `Delete ${p}k0`])
    assert.equal(ended, true, 'break cancels the watcher')
  })
})

describe('namespaces', () => {
  test('two namespaces with the same keys are isolated for get, getAll, delete and watch; nesting composes', async (t) => {
    const root = fresh('ns')
    const a = client.namespace(`${root}a/`)
    const b = client.namespace(`${root}b/`)
    const wa = await a.watch().prefix('').create()
    const wb = await b.watch().prefix('k').create()
    t.after(() => Promise.all([wa.cancel(), wb.cancel()]))
    const seenA = []
    const seenB = []
    wa.on('put', (kv) => seenA.push(`${kv.key}=${kv.value}`))
    wa.on('delete', (kv) => seenA.push(`-${kv.key}`))
    wb.on('put', (kv) => seenB.push(`${kv.key}=${kv.value}`))
    wb.on('delete', (kv) => seenB.push(`-${kv.key}`))

    await a.put('k1').value('A1')
    await b.put('k1').value('B1')
    await a.put('k2').value('A2')
    assert.equal(await a.get('k1').string(), 'A1')
    assert.equal(await b.get('k1').string(), 'B1')
    assert.deepEqual(await a.getAll().strings(), { k1: 'A1', k2: 'A2' })
    assert.deepEqual(await b.getAll().strings(), { k1: 'B1' })
    assert.equal(await client.get(`${root}a/k1`).string(), 'A1')
    // etcd3: a single get keeps the full key, getAll strips it
    assert.equal((await a.get('k1').exec()).kvs[0].key.toString(), `${root}a/k1`)
    assert.equal((await a.getAll().exec()).kvs[0].key.toString(), 'k1')

    const nested = a.namespace('n/')
    await nested.put('k').value('N')
    assert.equal(await client.get(`${root}a/n/k`).string(), 'N')
    assert.deepEqual(await nested.getAll().strings(), { k: 'N' })
    assert.deepEqual(await a.getAll().keys(), ['k1', 'k2', 'n/k'])

    assert.equal((await a.delete().all()).deleted, '3')
    assert.deepEqual(await b.getAll().strings(), { k1: 'B1' })
    await until(() => seenA.length >= 6 && seenB.length >= 1, 5000, 'namespace events')
    await sleep(200)
    assert.equal(seenA.length, 6, seenA.join(' '))
    assert.deepEqual(seenA.slice(0, 3), ['k1=A1', 'k2=A2', 'n/k=N'])
    assert.deepEqual(seenA.slice(3).sort(), ['-k1', '-k2', '-n/k'])
    assert.deepEqual(seenB, ['k1=B1'])
  })

  test('a transaction and a lease inside a namespace use prefixed keys', async (t) => {
    const root = fresh('ns-txn')
    const ns = client.namespace(root)
    const res = await ns.if('k', 'Version', '==', 0).then(ns.put('k').value('v')).commit()
    assert.equal(res.succeeded, true)
    assert.equal(await client.get(`${root}k`).string(), 'v')
    const lease = ns.lease(30)
    t.after(() => lease.revoke())
    await lease.put('leased').value('x')
    assert.equal((await client.get(`${root}leased`).exec()).kvs[0].lease, await lease.grant())
  })
})

describe('AbortSignal', () => {
  test('get: an aborted signal rejects at once; aborting an in-flight get against a silent server rejects', async (t) => {
    const ac = new AbortController()
    ac.abort()
    await assert.rejects(client.get('x').options({ signal: ac.signal }).string(), { name: 'AbortError' })

    const stall = await stallServer()
    t.after(() => stall.close())
    const silent = new Etcd3({ hosts: [stall.url] })
    t.after(() => silent.close())
    const ac2 = new AbortController()
    const started = Date.now()
    setTimeout(() => ac2.abort(), 300)
    await assert.rejects(silent.get('x').options({ signal: ac2.signal }).string(), { name: 'AbortError' })
    const ms = Date.now() - started
    assert.ok(ms < 2000, `aborted after ${ms} ms`)
  })

  test('watch create: a signal aborted before etcd answers rejects with AbortError and cancels the watcher', async (t) => {
    const pre = new AbortController()
    pre.abort()
    await assert.rejects(client.watch().key('x').create({ signal: pre.signal }), { name: 'AbortError' })

    const stall = await stallServer()
    t.after(() => stall.close())
    const silent = new Etcd3({ hosts: [stall.url] })
    t.after(() => silent.close())
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 300)
    const started = Date.now()
    await assert.rejects(silent.watch().key('x').create({ signal: ac.signal }), { name: 'AbortError' })
    assert.ok(Date.now() - started < 2000)
  })
})

describe('64-bit numbers and key/value encodings', () => {
  test('lease ids beyond 2^53 and revisions are exact decimal strings and round-trip', async (t) => {
    const p = fresh('big')
    // etcd picks random 63-bit lease ids; grant until one exceeds 2^53 (almost always the first).
    let lease
    let id
    for (let i = 0; i < 10; i++) {
      lease = client.lease(30)
      id = await lease.grant()
      if (BigInt(id) > 2n ** 53n) break
      await lease.revoke()
    }
    t.after(() => lease.revoke())
    assert.ok(BigInt(id) > 2n ** 53n, `no lease id above 2^53 in 10 grants (last ${id})`)
    await client.put(`${p}k`).value('v').lease(id)
    const kv = (await client.get(`${p}k`).exec()).kvs[0]
    assert.equal(kv.lease, id)
    const res = await client.if(`${p}k`, 'Lease', '==', id).then(client.get(`${p}k`)).commit()
    assert.equal(res.succeeded, true)
    assert.equal((await client.leaseClient.leaseTimeToLive({ ID: id })).ID, id)
    for (const f of ['create_revision', 'mod_revision', 'version', 'lease']) assert.ok(isDecimal(kv[f]), f)
    // a client-side Number would round the id and name a lease that doesn't exist
    const rounded = String(Number(id))
    if (rounded !== id) await assert.rejects(client.put(`${p}k2`).value('v').lease(rounded), EtcdLeaseInvalidError)
  })

  test('binary and unicode keys and values, as strings and Buffers', async () => {
    const p = fresh('enc')
    const binKey = Buffer.concat([Buffer.from(p), Buffer.from([0x00, 0xff, 0x80, 0x0a])])
    const binVal = Buffer.from([0xff, 0x00, 0xc3, 0x28])
    await client.put(binKey).value(binVal)
    assert.deepEqual(await client.get(binKey).buffer(), binVal)
    const uni = `${p}ключ/🔑`
    await client.put(uni).value('значение ✓ 🎉')
    assert.equal(await client.get(uni).string(), 'значение ✓ 🎉')
    assert.deepEqual(await client.getAll().prefix(`${p}ключ/`).strings(), { [uni]: 'значение ✓ 🎉' })
    assert.deepEqual(await client.getAll().prefix(p).keyBuffers(), [binKey, Buffer.from(uni)].sort(Buffer.compare))
    // a prefix ending in 0xff bytes
    const ffPrefix = Buffer.concat([Buffer.from(p), Buffer.from([0xff, 0xff])])
    await client.put(Buffer.concat([ffPrefix, Buffer.from('x')])).value('under ff')
    await client.put(Buffer.concat([Buffer.from(p), Buffer.from([0xfe])])).value('below')
    assert.deepEqual(Object.values(await client.getAll().prefix(ffPrefix).strings()), ['under ff'])
    // an empty value is kept as empty, not missing
    await client.put(`${p}empty`).value('')
    assert.equal(await client.get(`${p}empty`).string(), '')
    assert.equal(await client.get(`${p}empty`).exists(), true)
    // a watcher gets Buffers with the exact bytes
    const w = await client.watch().key(binKey).create()
    const [kv] = await Promise.all([once(w, 'put').then((a) => a[0]), client.put(binKey).value(binVal)])
    await w.cancel()
    assert.deepEqual(kv.key, binKey)
    assert.deepEqual(kv.value, binVal)
  })
})

describe('errors', () => {
  test('lease not found: EtcdLeaseInvalidError', async () => {
    const err = await client.leaseClient.leaseRevoke({ ID: '12345' }).then(
      () => null,
      (e) => e,
    )
    assert.ok(err instanceof EtcdLeaseInvalidError, String(err))
    assert.equal(err.constructor.name, 'EtcdLeaseInvalidError')
    assert.equal(err.code, 'ETCD3_LEASE_NOT_FOUND')
    await assert.rejects(client.put(fresh('e') + 'k').value('v').lease('12345'), EtcdLeaseInvalidError)
  })

  test('a closed client: calls reject with ClientClosedError; leases lose, watchers end', async () => {
    const c = new Etcd3({ hosts: etcd.endpoints })
    const p = fresh('closed')
    const lease = c.lease(10)
    await lease.grant()
    const w = await c.watch().prefix(p).create()
    const lost = once(lease, 'lost')
    const ended = once(w, 'end')
    c.close()
    const [err] = await lost
    assert.ok(err instanceof ClientClosedError, String(err))
    await ended
    const callErr = await c.get('x').then(
      () => null,
      (e) => e,
    )
    assert.ok(callErr instanceof ClientClosedError, String(callErr))
    assert.equal(callErr.constructor.name, 'ClientClosedError')
    assert.equal(callErr.code, 'ETCD3_CLIENT_CLOSED')
    await assert.rejects(c.put('x').value('y'), ClientClosedError)
    c.close() // idempotent
  })

  test('a call in flight when close() is called rejects at once with ClientClosedError', async (t) => {
    const stall = await stallServer()
    t.after(() => stall.close())
    const c = new Etcd3({ hosts: [stall.url] })
    const pending = c.get('x').string().then(
      () => null,
      (e) => e,
    )
    await sleep(300)
    const started = Date.now()
    c.close()
    const err = await pending
    assert.ok(Date.now() - started < 1000)
    assert.ok(err instanceof ClientClosedError, `${err && err.constructor.name}: ${err && err.message}`)
    assert.equal(v3.isRecoverableError(err), false, 'a retry policy must not retry a closed client')
  })

  test('a call to a host that refuses connections fails with a recoverable error, not a hang', async () => {
    const port = await refusedPort() // nothing listens there now
    const c = new Etcd3({ hosts: [`http://127.0.0.1:${port}`] })
    try {
      const started = Date.now()
      const err = await c.get('x').then(
        () => null,
        (e) => e,
      )
      assert.ok(v3.isRecoverableError(err), `${err && err.constructor.name}: ${err && err.message}`)
      assert.equal(err.constructor.name, 'GRPCUnavailableError')
      assert.ok(Date.now() - started < 5000)
    } finally {
      c.close()
    }
  })
})

describe('permission denied (auth enabled)', () => {
  let secure
  before(async () => {
    secure = await startEtcd({ v2: false })
    const root = new Etcd3({ hosts: secure.endpoints })
    try {
      await root.user('root').create('rootpw')
      await root.role('root').create()
      await root.role('root').addUser('root')
      await root.user('reader').create('readerpw')
      await root.role('ro').create()
      await root.role('ro').grant({ permission: 'Read', range: Range.prefix('pub/') })
      await root.role('ro').addUser('reader')
      await root.auth.authEnable()
    } finally {
      root.close()
    }
  })
  after(() => secure && secure.stop())

  test('a denied write is EtcdPermissionDeniedError; an allowed read works', async (t) => {
    const reader = new Etcd3({ hosts: secure.endpoints, auth: { username: 'reader', password: 'readerpw' } })
    t.after(() => reader.close())
    assert.equal(await reader.get('pub/x').string(), null)
    const err = await reader
      .put('pub/x')
      .value('no')
      .then(
        () => null,
        (e) => e,
      )
    assert.ok(err instanceof EtcdPermissionDeniedError, String(err))
    assert.equal(err.constructor.name, 'EtcdPermissionDeniedError')
    assert.equal(err.code, 'ETCD3_PERMISSION_DENIED')
  })
})

describe('process exit', () => {
  const script = (body) => `
    const { Etcd3 } = require('./lib/v3/etcd3.js')
    const hosts = process.env.ETCD_HOSTS.split(',')
    const say = (x) => process.stdout.write(JSON.stringify(x) + '\\n')
    ;(async () => { ${body} })().catch((e) => { console.error(e); process.exitCode = 3 })
  `

  test('an unused client lets the process exit', async () => {
    const r = await runChild(script(`new Etcd3({ hosts }); say('made')`), { ETCD_HOSTS: etcd.endpoints.join(',') })
    assert.equal(r.signal, null, `killed: the process did not exit (${r.stderr})`)
    assert.equal(r.code, 0, r.stderr)
    assert.ok(r.ms < 10_000, `${r.ms} ms`)
  })

  test('close() lets the process exit and ends its watcher and lease', async () => {
    const r = await runChild(
      script(`
        const c = new Etcd3({ hosts })
        await c.put('exit/k').value('v')
        const w = await c.watch().prefix('exit/').create()
        w.on('end', () => say('end'))
        const lease = c.lease(5)
        lease.on('lost', (e) => say('lost ' + e.constructor.name))
        await lease.grant()
        await new Promise((r) => lease.once('keepaliveSucceeded', r))
        c.close()
        say('closed')
      `),
      { ETCD_HOSTS: etcd.endpoints.join(',') },
    )
    assert.equal(r.signal, null, `killed: the process did not exit after close() (${r.stdout} ${r.stderr})`)
    assert.equal(r.code, 0, r.stderr)
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l))
    assert.ok(lines.includes('end'), r.stdout)
    assert.ok(lines.includes('lost ClientClosedError'), r.stdout)
    assert.ok(lines.includes('closed'), r.stdout)
  })

  test('a client with a live watcher and lease keeps the process alive until close()', async () => {
    const r = await runChild(
      script(`
        const c = new Etcd3({ hosts })
        const w = await c.watch().prefix('exit2/').create()
        const lease = c.lease(5)
        await lease.grant()
        const t0 = Date.now()
        setTimeout(() => { say(Date.now() - t0); c.close() }, 1500).unref()
      `),
      { ETCD_HOSTS: etcd.endpoints.join(',') },
    )
    assert.equal(r.signal, null, `killed: did not exit (${r.stderr})`)
    assert.equal(r.code, 0, r.stderr)
    const waited = JSON.parse(r.stdout.trim())
    assert.ok(waited >= 1400, `the process stayed up ${waited} ms: watchers/leases must hold it until close()`)
  })
})
