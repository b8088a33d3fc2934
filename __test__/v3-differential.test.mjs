// Differential: the same public-API calls through npm etcd3@1.1.2 and through etcd-napi's `Etcd3`, on the
// same etcd 3.5 (each under its own key prefix, one after the other so revisions advance alike). Results
// must be deep-equal once run-dependent values are normalised (revisions made relative to the scenario's
// first one, lease ids numbered in order of appearance, the key prefix replaced, lease TTLs rounded);
// errors must have the same class name and message. Where etcd-napi differs on purpose (Go clientv3
// semantics, typed errors, lazy grant, …) the difference is asserted explicitly, both sides.
//
// Run: node --test __test__/v3-differential.test.mjs

import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { sleep, until, refusedPort, cutProxy, stallServer } from './helpers/common.mjs'

const require = createRequire(import.meta.url)
const { startEtcd } = require('../testing/index.js')
const ours = require('../lib/v3/etcd3.js')
const ref = require('etcd3')

let etcd
const clients = []
function connect(which, opts = {}) {
  const c = which === 'etcd3' ? new ref.Etcd3({ hosts: etcd.endpoints, ...opts }) : new ours.Etcd3({ hosts: etcd.endpoints, ...opts })
  clients.push(c)
  return c
}

before(async () => {
  etcd = await startEtcd({ v2: false })
})

after(async () => {
  for (const c of clients) {
    try {
      c.close()
    } catch {}
  }
  if (etcd) await etcd.stop()
})

/**
 * Turns one implementation's results into comparable values: `ctx` holds its key prefix, the base revision
 * and the lease ids seen so far.
 */
function normalise(value, ctx, key = '') {
  if (value === null || value === undefined) return value
  if (Buffer.isBuffer(value)) return `buf:${text(value.toString('latin1'), ctx)}`
  if (value instanceof Error) {
    return { error: value.constructor.name, message: text(value.message, ctx) }
  }
  if (Array.isArray(value)) return value.map((v) => normalise(v, ctx))
  if (typeof value === 'object') {
    const out = {}
    for (const k of Object.keys(value).sort()) out[text(k, ctx)] = normalise(value[k], ctx, k)
    return out
  }
  if (typeof value === 'string') {
    if (['revision', 'mod_revision', 'create_revision', 'compact_revision'].includes(key) && /^\d+$/.test(value) && value !== '0') {
      return `rev+${BigInt(value) - ctx.base}`
    }
    if ((key === 'ID' || key === 'lease') && /^\d+$/.test(value) && value !== '0') return leaseName(value, ctx)
    if (key === 'TTL' || key === 'grantedTTL') return value === '-1' || value === '0' ? value : `~${Math.round(Number(value) / 5) * 5}`
    return text(value, ctx)
  }
  return value
}

function leaseName(id, ctx) {
  if (!ctx.leases.has(id)) ctx.leases.set(id, `LEASE#${ctx.leases.size}`)
  return ctx.leases.get(id)
}

function text(s, ctx) {
  let out = s.split(ctx.prefix).join('<P>')
  // Only ids long enough not to match ordinary digits (etcd's lease ids are random 63-bit numbers).
  for (const [id, name] of ctx.leases) if (id.length >= 10) out = out.split(id).join(name)
  return out
}

/** Runs `fn` and records its normalised result or error under `label`. */
function recorder(ctx) {
  const log = []
  const step = async (label, fn) => {
    let result
    try {
      result = await fn()
    } catch (err) {
      result = err instanceof Error ? err : new Error(String(err))
    }
    log.push([label, normalise(result, ctx)])
    return result
  }
  return { log, step }
}

/** Compares two logs; returns a list of differences `label: etcd3=… ours=…`. */
function diff(a, b) {
  const out = []
  assert.deepEqual(
    a.map(([l]) => l),
    b.map(([l]) => l),
    'both scenarios ran the same steps',
  )
  for (let i = 0; i < a.length; i++) {
    try {
      assert.deepStrictEqual(b[i][1], a[i][1])
    } catch {
      out.push({ label: a[i][0], etcd3: a[i][1], ours: b[i][1] })
    }
  }
  return out
}

function show(diffs) {
  return diffs.map((d) => `${d.label}:\n    etcd3 ${JSON.stringify(d.etcd3)}\n    ours  ${JSON.stringify(d.ours)}`).join('\n')
}

/** Both logs must agree step by step. DIFF_DUMP=1 prints our normalised log (to see what is compared). */
function expectSame(a, b) {
  if (process.env.DIFF_DUMP) console.log(b.map((entry) => JSON.stringify(entry)).join('\n'))
  const d = diff(a, b)
  assert.deepEqual(d, [], show(d))
}

let runCount = 0
async function newContext(client) {
  const prefix = `diff${++runCount}-${Date.now()}/`
  const head = await client.getAll().prefix('no-such-prefix/').exec()
  return { prefix, base: BigInt(head.header.revision), leases: new Map() }
}

/** Runs `scenario(client, P, step, ctx)` on etcd3 then ours; returns [etcd3Log, oursLog]. */
async function both(scenario) {
  const logs = []
  for (const which of ['etcd3', 'ours']) {
    const client = connect(which)
    const ctx = await newContext(client)
    const { log, step } = recorder(ctx)
    await scenario(client, ctx.prefix, step, ctx, which)
    logs.push(log)
    client.close()
  }
  return logs
}

describe('results and errors of the public API', () => {
  test('builders: get, getAll, put, delete', async () => {
    const [a, b] = await both(async (c, P, step) => {
      await step('put value', () => c.put(`${P}k1`).value('v1'))
      await step('put buffer', () => c.put(`${P}k2`).value(Buffer.from([0, 255, 1])))
      await step('put number', () => c.put(`${P}n`).value(42))
      await step('put json', () => c.put(`${P}j`).value(JSON.stringify({ a: 1 })))
      await step('put getPrevious', () => c.put(`${P}k1`).value('v1b').getPrevious())
      await step('put getPrevious (none)', () => c.put(`${P}k3`).value('v3').getPrevious())
      await step('put touch', () => c.put(`${P}k3`).touch())
      await step('put touch missing', () => c.put(`${P}missing`).touch())
      await step('put exec', () => c.put(`${P}k4`).value('v4').exec())
      await step('put ignoreLease (no lease)', () => c.put(`${P}k4`).value('v4b').ignoreLease())
      await step('get string', () => c.get(`${P}k1`).string())
      await step('get string hex', () => c.get(`${P}k1`).string('hex'))
      await step('get awaited', async () => await c.get(`${P}k1`))
      await step('get buffer', () => c.get(`${P}k2`).buffer())
      await step('get number', () => c.get(`${P}n`).number())
      await step('get number NaN', () => c.get(`${P}k1`).number())
      await step('get json', () => c.get(`${P}j`).json())
      await step('get json invalid', () => c.get(`${P}k1`).json())
      await step('get exists', () => c.get(`${P}k1`).exists())
      await step('get exists missing', () => c.get(`${P}missing`).exists())
      await step('get missing string', () => c.get(`${P}missing`).string())
      await step('get missing buffer', () => c.get(`${P}missing`).buffer())
      await step('get missing number', () => c.get(`${P}missing`).number())
      await step('get exec', () => c.get(`${P}k1`).exec())
      await step('get exec missing', () => c.get(`${P}missing`).exec())
      const rev = (await c.get(`${P}k1`).exec()).kvs[0].create_revision
      await step('get revision', () => c.get(`${P}k1`).revision(rev).string())
      await step('get serializable', () => c.get(`${P}k1`).serializable(true).string())
      await step('get future revision', () => c.get(`${P}k1`).revision('999999999').string())
      await step('getAll strings', () => c.getAll().prefix(P).strings())
      await step('getAll awaited', async () => await c.getAll().prefix(P))
      await step('getAll keys', () => c.getAll().prefix(P).keys())
      await step('getAll keyBuffers', () => c.getAll().prefix(P).keyBuffers())
      await step('getAll buffers', () => c.getAll().prefix(P).buffers())
      await step('getAll numbers', () => c.getAll().prefix(P).numbers())
      await step('getAll json (invalid)', () => c.getAll().prefix(P).json())
      await step('getAll json', () => c.getAll().prefix(`${P}j`).json())
      await step('getAll count', () => c.getAll().prefix(P).count())
      await step('getAll limit', () => c.getAll().prefix(P).limit(2).keys())
      await step('getAll sort key desc', () => c.getAll().prefix(P).sort('Key', 'Descend').keys())
      await step('getAll sort value asc', () => c.getAll().prefix(P).sort('Value', 'Ascend').keys())
      await step('getAll sort mod desc', () => c.getAll().prefix(P).sort('Mod', 'Descend').limit(3).keys())
      await step('getAll sort invalid', () => c.getAll().prefix(P).sort('Bogus', 'Ascend').keys())
      await step('getAll inRange', () => c.getAll().inRange({ start: `${P}k1`, end: `${P}k3` }).keys())
      await step('getAll inRange Range', () => c.getAll().inRange(c.range({ prefix: `${P}k` })).keys())
      await step('getAll exec', () => c.getAll().prefix(P).exec())
      await step('getAll min/max mod', () => c.getAll().prefix(P).minModRevision(rev).maxModRevision(String(BigInt(rev) + 3n)).keys())
      await step('delete key', () => c.delete().key(`${P}k4`))
      await step('delete key missing', () => c.delete().key(`${P}k4`))
      await step('delete getPrevious', () => c.delete().key(`${P}k3`).getPrevious())
      await step('delete range', () => c.delete().inRange({ start: `${P}j`, end: `${P}k2` }).getPrevious())
      await step('delete prefix', () => c.delete().prefix(`${P}k`))
      await step('delete exec', () => c.delete().prefix(P).exec())
      await step('getAll after', () => c.getAll().prefix(P).strings())
      await step('put empty key', () => c.put('').value('x'))
    })
    expectSame(a, b)
  })

  test('transactions: every compare target and operator, then/else with builder and raw ops', async () => {
    const [a, b] = await both(async (c, P, step) => {
      const lease = c.lease(60)
      const id = await lease.grant()
      await c.put(`${P}k`).value('m').lease(id)
      const r = (await c.put(`${P}k`).value('m').lease(id)).header.revision
      const create = (await c.get(`${P}k`).exec()).kvs[0].create_revision
      const operands = { Value: 'm', Version: 2, Create: create, Mod: r, Lease: id }
      for (const [target, v] of Object.entries(operands)) {
        for (const op of ['==', '!=', '<', '>']) {
          await step(`txn ${target} ${op}`, () =>
            c
              .if(`${P}k`, target, op, v)
              .then(c.put(`${P}then`).value(`${target}${op}`), c.get(`${P}k`))
              .else(c.delete().key(`${P}then`), c.getAll().prefix(P))
              .commit(),
          )
        }
      }
      await step('txn and', () => c.if(`${P}k`, 'Value', '==', 'm').and(`${P}k`, 'Version', '<', 5).then(c.put(`${P}x`).value('1')).commit())
      await step('txn raw ops', () =>
        c
          .if(`${P}k`, 'Value', '!=', 'm')
          .else({ request_range: { key: Buffer.from(`${P}k`) } }, { request_put: { key: Buffer.from(`${P}y`), value: Buffer.from('2'), prev_kv: true } })
          .commit(),
      )
      await step('txn empty', () => c.if(`${P}k`, 'Value', '==', 'm').commit())
      await step('txn duplicate key', () => c.if(`${P}k`, 'Value', '==', 'm').then(c.put(`${P}d`).value('1'), c.put(`${P}d`).value('2')).commit())
      await step('txn invalid target', () => c.if(`${P}k`, 'Nope', '==', 'm').commit())
      await step('txn invalid op', () => c.if(`${P}k`, 'Value', '~', 'm').commit())
      await step('txn lease put through lease', () => c.if(`${P}k`, 'Lease', '==', id).then(lease.put(`${P}lp`).value('lp')).commit())
      await step('after txns', () => c.getAll().prefix(P).exec())
      await lease.revoke()
      await step('after revoke', () => c.getAll().prefix(P).keys())
    })
    expectSame(a, b)
  })

  test('leases: grant, leaseTimeToLive, keepaliveOnce, put, revoke, revoke twice, put after revoke', async () => {
    const [a, b] = await both(async (c, P, step) => {
      const lease = c.lease(30)
      await step('grant', async () => ({ ID: await lease.grant() }))
      await step('grant again', async () => ({ ID: await lease.grant() }))
      const id = await lease.grant()
      await step('state', () => lease.state)
      await step('revoked()', () => lease.revoked())
      await step('leaseTimeToLive', () => c.leaseClient.leaseTimeToLive({ ID: id }))
      await step('lease put', () => lease.put(`${P}a`).value('1'))
      await step('lease put exec', () => lease.put(`${P}b`).value('2').exec())
      // etcd lists a lease's keys in no fixed order
      await step('leaseTimeToLive keys', async () => {
        const res = await c.leaseClient.leaseTimeToLive({ ID: id, keys: true })
        return { ...res, keys: res.keys.sort(Buffer.compare) }
      })
      await step('keepaliveOnce', () => lease.keepaliveOnce())
      await step('kv lease', async () => (await c.get(`${P}a`).exec()).kvs[0].lease)
      await step('revoke', () => lease.revoke())
      await step('revoked() after', () => lease.revoked())
      await step('state after', () => lease.state)
      await step('revoke again', () => lease.revoke())
      await step('keys after revoke', () => c.getAll().prefix(P).keys())
      await step('leaseTimeToLive after', () => c.leaseClient.leaseTimeToLive({ ID: id }))
      await step('put with revoked id', () => c.put(`${P}c`).value('3').lease(id))
      await step('lease TTL 0', () => c.lease(0))
      const noKa = c.lease(10, { autoKeepAlive: false })
      await step('autoKeepAlive false put', () => noKa.put(`${P}nk`).value('x'))
      await step('autoKeepAlive false ttl', async () => c.leaseClient.leaseTimeToLive({ ID: await noKa.grant() }))
      await noKa.revoke()
    })
    expectSame(a, b)
  })

  test('namespaces: prefixed writes, unprefixed getAll, prefixed get exec, nested, delete all, txn', async () => {
    const [a, b] = await both(async (c, P, step) => {
      const ns = c.namespace(`${P}ns/`)
      const other = c.namespace(`${P}other/`)
      await step('ns put', () => ns.put('k').value('v'))
      await step('other put', () => other.put('k').value('o'))
      await step('ns get', () => ns.get('k').string())
      await step('ns get exec', () => ns.get('k').exec())
      await step('ns put getPrevious', () => ns.put('k').value('v2').getPrevious())
      await step('ns getAll', () => ns.getAll().strings())
      await step('ns getAll exec', () => ns.getAll().exec())
      await step('ns getAll keys', () => ns.getAll().prefix('k').keys())
      const nested = ns.namespace('deep/')
      await step('nested put', () => nested.put('x').value('y'))
      await step('root view', () => c.getAll().prefix(P).strings())
      await step('ns txn', () => ns.if('k', 'Value', '==', 'v2').then(ns.put('t').value('1'), ns.get('k')).else(ns.delete().key('k')).commit())
      await step('ns delete getPrevious', () => ns.delete().key('t').getPrevious())
      await step('ns delete all', () => ns.delete().all())
      await step('ns count after', () => ns.getAll().count())
      await step('other intact', () => other.getAll().strings())
      const lease = ns.lease(30)
      await step('ns lease put', () => lease.put('l').value('x'))
      await step('ns lease key', () => c.getAll().prefix(`${P}ns/`).keys())
      await lease.revoke()
    })
    expectSame(a, b)
  })

  test('low-level kv and leaseClient raw calls, cluster and auth status', async () => {
    const [a, b] = await both(async (c, P, step) => {
      await step('kv.put', () => c.kv.put({ key: Buffer.from(`${P}a`), value: Buffer.from('1') }))
      await step('kv.put prev_kv', () => c.kv.put({ key: Buffer.from(`${P}a`), value: Buffer.from('2'), prev_kv: true }))
      await step('kv.range', () => c.kv.range({ key: Buffer.from(`${P}a`) }))
      await step('kv.range prefix count_only', () => c.kv.range({ key: Buffer.from(P), range_end: Buffer.from(`${P.slice(0, -1)}0`), count_only: true }))
      await step('kv.range keys_only sorted', () => c.kv.range({ key: Buffer.from(P), range_end: Buffer.from(`${P.slice(0, -1)}0`), keys_only: true, sort_order: 'Descend', sort_target: 'Key' }))
      await step('kv.txn', () =>
        c.kv.txn({
          compare: [{ key: Buffer.from(`${P}a`), result: 'Equal', target: 'Value', value: Buffer.from('2') }],
          success: [{ request_put: { key: Buffer.from(`${P}b`), value: Buffer.from('3') } }, { request_range: { key: Buffer.from(`${P}a`) } }],
          failure: [],
        }),
      )
      await step('kv.deleteRange prev_kv', () => c.kv.deleteRange({ key: Buffer.from(`${P}a`), prev_kv: true }))
      await step('kv.range missing', () => c.kv.range({ key: Buffer.from(`${P}a`) }))
      const g = await step('leaseGrant', () => c.leaseClient.leaseGrant({ TTL: 20 }))
      await step('leaseTimeToLive', () => c.leaseClient.leaseTimeToLive({ ID: g.ID, keys: true }))
      await step('leaseLeases (own)', async () => (await c.leaseClient.leaseLeases()).leases.filter((l) => l.ID === g.ID))
      await step('leaseRevoke', () => c.leaseClient.leaseRevoke({ ID: g.ID }))
      await step('leaseRevoke again', () => c.leaseClient.leaseRevoke({ ID: g.ID }))
      await step('leaseGrant TTL 0', () => c.leaseClient.leaseGrant({ TTL: 0 }))
      await step('leaseTimeToLive unknown', () => c.leaseClient.leaseTimeToLive({ ID: '7' }))
      await step('memberList', async () => {
        const res = await c.cluster.memberList({}) // etcd3 needs the (empty) request object
        return { ...res, members: res.members.map((m) => ({ ...m, ID: 'M' })) }
      })
      // authRevision moves with every user/role change on the server (the other run's too)
      await step('authStatus', async () => ({ ...(await c.auth.authStatus()), authRevision: 'A' }))
      await step('status keys', async () => Object.keys(await c.maintenance.status()).sort())
      await step('user not found', () => c.user('nobody').roles())
      await step('role not found', () => c.role('nobody').permissions())
      const uname = `u-${P.slice(0, -1)}`
      await step('userAdd', () => c.user(uname).create('pw').then((u) => u.name === uname))
      await step('user exists', () => c.user(uname).create('pw'))
      await step('userDelete', () => c.user(uname).delete().then((u) => u.name === uname))
      await step('role exists', async () => {
        await c.role('r-diff').create()
        try {
          return await c.role('r-diff').create()
        } finally {
          await c.role('r-diff').delete()
        }
      })
    })
    expectSame(a, b)
  })

  test('watch: connected, put/delete with prevKV, data responses, lastRevision, cancel/end', async () => {
    const [a, b] = await both(async (c, P, step) => {
      await c.put(`${P}k`).value('0')
      const w = await c.watch().prefix(P).withPreviousKV().create()
      const seen = []
      w.on('put', (kv, prev) => seen.push(['put', kv, prev]))
      w.on('delete', (kv, prev) => seen.push(['delete', kv, prev]))
      const datas = []
      w.on('data', (res) => datas.push(res))
      let ended = 0
      w.on('end', () => ended++)
      await c.put(`${P}k`).value('1')
      await c.put(`${P}k2`).value('2')
      await c.delete().key(`${P}k`)
      await until(() => seen.length >= 3, 5000, 'watch events')
      await step('events', () => seen)
      await step('data', () => datas.map((d) => ({ ...d, watch_id: 'W' })))
      await step('lastRevision', () => ({ revision: w.lastRevision() }))
      await step('lastRevision type', () => typeof w.lastRevision())
      await step('cancel', () => w.cancel())
      await step('ended', () => ended)
      await c.put(`${P}k`).value('after')
      await sleep(200)
      await step('events after cancel', () => seen.length)
      const r = (await c.put(`${P}h`).value('h1')).header.revision
      await c.put(`${P}h`).value('h2')
      const replay = c.watch().key(`${P}h`).startRevision(r).watcher()
      const got = []
      replay.on('put', (kv) => got.push(kv.value.toString()))
      await until(() => got.length >= 2, 5000, 'replay')
      await step('replay', () => got)
      await replay.cancel()
    })
    expectSame(a, b)
  })
})

describe('lifecycle, faults and deliberate differences (both sides asserted)', () => {
  test('errors: etcd3 leaves name "Error" and has no code; ours have the class name and a stable code', async () => {
    const r = connect('etcd3')
    const o = connect('ours')
    const re = await r.leaseClient.leaseRevoke({ ID: '7' }).catch((e) => e)
    const oe = await o.leaseClient.leaseRevoke({ ID: '7' }).catch((e) => e)
    assert.equal(re.constructor.name, 'EtcdLeaseInvalidError')
    assert.equal(oe.constructor.name, 'EtcdLeaseInvalidError')
    assert.equal(oe.message, re.message)
    assert.equal(re.name, 'Error')
    assert.equal(re.code, undefined)
    assert.equal(oe.name, 'EtcdLeaseInvalidError')
    assert.equal(oe.code, 'ETCD3_LEASE_NOT_FOUND')
    assert.ok(oe instanceof ours.EtcdLeaseInvalidError)
  })

  test('a closed client: same class and message', async () => {
    const r = connect('etcd3')
    const o = connect('ours')
    r.close()
    o.close()
    const re = await r.get('x').catch((e) => e)
    const oe = await o.get('x').catch((e) => e)
    assert.equal(oe.constructor.name, re.constructor.name)
    assert.equal(oe.message, re.message)
  })

  test('a call in flight at close(): both reject with ClientClosedError', async (t) => {
    const stall = await stallServer({ pauseOnConnect: true })
    t.after(() => stall.close())
    const out = {}
    for (const which of ['etcd3', 'ours']) {
      const lib = which === 'etcd3' ? ref : ours
      const c = new lib.Etcd3({ hosts: `127.0.0.1:${stall.port}` })
      const pending = c.get('x').string().then(
        () => 'ok',
        (e) => e,
      )
      await sleep(300)
      c.close()
      const res = await Promise.race([pending, sleep(5000).then(() => 'pending')])
      out[which] = res instanceof Error ? `${res.constructor.name}: ${res.message}` : res
    }
    assert.match(out.etcd3, /^ClientClosedError: /)
    assert.equal(out.ours, out.etcd3)
  })

  test("close(): ours ends live watchers ('end'); etcd3's never end (they retry until cancelled)", async () => {
    const out = {}
    for (const which of ['etcd3', 'ours']) {
      const c = which === 'etcd3' ? new ref.Etcd3({ hosts: etcd.endpoints }) : new ours.Etcd3({ hosts: etcd.endpoints })
      const w = await c.watch().key('close-watch').create()
      const events = []
      for (const ev of ['end', 'error', 'disconnected']) w.on(ev, (e) => events.push(e ? `${ev} ${e.constructor.name}` : ev))
      c.close()
      await sleep(1500)
      out[which] = [...new Set(events)]
      // etcd3's watcher retries forever after close (holding the process open) until cancelled
      await Promise.race([w.cancel().catch(() => {}), sleep(1000)])
    }
    console.log(`# watcher events within 1.5 s of close(): ${JSON.stringify(out)}`)
    assert.ok(!out.etcd3.includes('end'), JSON.stringify(out.etcd3))
    assert.deepEqual(out.ours, ['end'])
  })

  test("unanswered keep-alives (etcd paused): ours 'lost' within the TTL, etcd3 after about 2×TTL", async () => {
    const out = {}
    for (const which of ['etcd3', 'ours']) {
      const c = connect(which)
      const lease = c.lease(2)
      const events = []
      let lostAt = null
      for (const ev of ['keepaliveFailed', 'lost']) lease.on(ev, (e) => events.push(`${ev} ${e.constructor.name}`))
      lease.on('lost', () => (lostAt = Date.now()))
      let lastOk = 0
      lease.on('keepaliveSucceeded', () => (lastOk = Date.now()))
      await lease.grant()
      await until(() => lastOk > 0, 5000, `${which}: first keep-alive`)
      await etcd.pause(0)
      try {
        await until(() => lostAt !== null, 10_000, `${which}: lost`)
      } finally {
        await etcd.resume(0)
      }
      out[which] = { sinceLastOk: lostAt - lastOk, events }
      lease.release()
    }
    console.log(`# unanswered keep-alives (TTL 2 s): ${JSON.stringify(out)}`)
    assert.ok(out.ours.sinceLastOk <= 3000, `ours: ${out.ours.sinceLastOk} ms`)
    assert.ok(out.etcd3.sinceLastOk >= 3500, `etcd3: ${out.etcd3.sinceLastOk} ms`)
    assert.equal(out.ours.events.at(-1), 'lost EtcdLeaseInvalidError')
    assert.equal(out.etcd3.events.at(-1), 'lost EtcdLeaseInvalidError')
  })

  test('leases are granted lazily: etcd3 grants in lease(), ours on first use', async () => {
    const r = connect('etcd3')
    const o = connect('ours')
    const before = new Set((await o.leaseClient.leaseLeases()).leases.map((l) => l.ID))
    const rl = r.lease(30)
    const ol = o.lease(30)
    await sleep(500)
    const fresh = (await o.leaseClient.leaseLeases()).leases.map((l) => l.ID).filter((id) => !before.has(id))
    const rid = await rl.grant()
    assert.deepEqual(fresh, [rid], 'etcd3 granted at construction, ours not yet')
    const oid = await ol.grant()
    assert.ok((await o.leaseClient.leaseLeases()).leases.some((l) => l.ID === oid))
    await rl.revoke()
    await ol.revoke()
  })

  test("'lost' for a lease revoked elsewhere: both EtcdLeaseInvalidError; ours once, etcd3 on every failing put", async () => {
    const admin = connect('ours')
    const out = {}
    for (const which of ['etcd3', 'ours']) {
      const c = connect(which)
      const lease = c.lease(3)
      const lost = []
      const failed = []
      lease.on('lost', (e) => lost.push(e))
      lease.on('keepaliveFailed', (e) => failed.push(e))
      const id = await lease.grant()
      await admin.leaseClient.leaseRevoke({ ID: id })
      const t0 = Date.now()
      await until(() => lost.length > 0, 8000, `${which}: lost`)
      const ms = Date.now() - t0
      // puts through the dead lease
      const p1 = await lease.put(`lost-${which}/a`).value('x').catch((e) => e)
      const p2 = await lease.put(`lost-${which}/b`).value('x').catch((e) => e)
      await sleep(300)
      out[which] = { lost: lost.map((e) => e.constructor.name), firstMessage: lost[0].message.split(id).join('<ID>'), ms, puts: [p1.constructor.name, p2.constructor.name], failed: failed.map((e) => e.constructor.name) }
      lease.release()
    }
    console.log(`# lost after revoke elsewhere: ${JSON.stringify(out)}`)
    assert.deepEqual(out.etcd3.puts, ['EtcdLeaseInvalidError', 'EtcdLeaseInvalidError'])
    assert.deepEqual(out.ours.puts, ['EtcdLeaseInvalidError', 'EtcdLeaseInvalidError'])
    assert.equal(out.ours.lost.length, 1, "ours: 'lost' fires once")
    assert.equal(out.ours.lost[0], 'EtcdLeaseInvalidError')
    assert.equal(out.etcd3.lost[0], 'EtcdLeaseInvalidError')
    assert.ok(out.etcd3.lost.length > 1, `etcd3 re-emits 'lost' for each failing put (${out.etcd3.lost.length})`)
    // etcd3 words a TTL-0 keep-alive answer as "Lease <id> is expired or revoked"; ours must name the lease too
    assert.equal(out.etcd3.firstMessage, 'Lease <ID> is expired or revoked')
    assert.equal(out.ours.firstMessage, out.etcd3.firstMessage, 'the lost error of a keep-alive answered with TTL 0')
  })

  test('keepaliveSucceeded payload: the LeaseKeepAliveResponse with its header, as etcd3', async () => {
    const out = {}
    for (const which of ['etcd3', 'ours']) {
      const c = connect(which)
      const lease = c.lease(3)
      const got = new Promise((resolve) => lease.once('keepaliveSucceeded', resolve))
      const id = await lease.grant()
      const res = await got
      const ctx = { prefix: '\u0000none', base: 0n, leases: new Map([[id, 'LEASE']]) }
      out[which] = normalise({ ...res, header: res.header ? { ...res.header, revision: 'R' } : res.header }, ctx)
      await lease.revoke()
    }
    console.log(`# keepaliveSucceeded payloads: ${JSON.stringify(out)}`)
    assert.deepEqual(out.ours, out.etcd3)
  })

  test('keep-alive stream: etcd3 opens one per lease, ours shares one (same events per lease)', async () => {
    // Observable through the events only: both emit keepaliveEstablished once and fired/succeeded per refresh.
    const out = {}
    for (const which of ['etcd3', 'ours']) {
      const c = connect(which)
      const leases = [c.lease(3), c.lease(3)]
      const logs = leases.map(() => [])
      leases.forEach((l, i) => {
        for (const ev of ['keepaliveEstablished', 'keepaliveFired', 'keepaliveSucceeded', 'keepaliveFailed', 'lost']) l.on(ev, () => logs[i].push(ev))
      })
      await Promise.all(leases.map((l) => l.grant()))
      await until(() => logs.every((l) => l.filter((e) => e === 'keepaliveSucceeded').length >= 2), 8000, `${which}: keep-alives`)
      out[which] = logs.map((l) => l.slice(0, 5))
      await Promise.all(leases.map((l) => l.revoke()))
    }
    assert.deepEqual(out.ours, out.etcd3)
  })

  test('watch from a compacted revision: etcd3 EtcdError, ours EtcdCompactedError (an EtcdError) with compactRevision', async () => {
    const admin = connect('ours')
    const P = `compact-${Date.now()}/`
    const r0 = (await admin.put(`${P}k`).value('0')).header.revision
    const last = (await admin.put(`${P}k`).value('1')).header.revision
    await admin.kv.compact({ revision: last })
    const out = {}
    for (const which of ['etcd3', 'ours']) {
      const c = connect(which)
      const w = c.watch().prefix(P).startRevision(r0).watcher()
      const events = []
      for (const ev of ['connected', 'error', 'end']) w.on(ev, () => events.push(ev))
      const err = await new Promise((resolve) => w.once('error', resolve))
      // etcd3's cancel() right after such an error can stay pending forever (and holds nothing): race it.
      const cancelled = await Promise.race([w.cancel().then(() => true, () => true), sleep(1000).then(() => false)])
      out[which] = { cls: err.constructor.name, message: err.message, isEtcdError: err instanceof (which === 'etcd3' ? ref : ours).EtcdError, compactRevision: err.compactRevision, events, cancelled }
    }
    console.log(`# compacted watch: ${JSON.stringify(out)}`)
    assert.equal(out.etcd3.cls, 'EtcdError')
    assert.equal(out.ours.cls, 'EtcdCompactedError')
    assert.equal(out.etcd3.isEtcdError, true)
    assert.equal(out.ours.isEtcdError, true)
    assert.equal(out.etcd3.compactRevision, undefined)
    assert.equal(out.ours.compactRevision, last)
    assert.deepEqual(out.ours.events, out.etcd3.events)
    assert.equal(out.ours.cancelled, true)
    assert.match(out.etcd3.message, /^Watcher canceled: /)
    assert.match(out.ours.message, /^Watcher canceled: .*compacted/)
  })

  test('a read of a compacted revision: both GRPCOutOfRangeError; ours is also an EtcdCompactedError', async () => {
    const admin = connect('ours')
    const P = `compact-read-${Date.now()}/`
    const r0 = (await admin.put(`${P}k`).value('0')).header.revision
    const last = (await admin.put(`${P}k`).value('1')).header.revision
    await admin.kv.compact({ revision: last })
    const re = await connect('etcd3').get(`${P}k`).revision(r0).string().catch((e) => e)
    const oe = await connect('ours').get(`${P}k`).revision(r0).string().catch((e) => e)
    assert.ok(re instanceof ref.GRPCOutOfRangeError)
    assert.ok(oe instanceof ours.GRPCOutOfRangeError)
    assert.ok(oe instanceof ours.EtcdCompactedError)
    assert.equal(oe.message, re.message)
    assert.equal(re.constructor.name, 'GRPCOutOfRangeError')
    assert.equal(oe.constructor.name, 'EtcdCompactedRangeError') // a subclass; its `name` is 'EtcdCompactedError'
    assert.equal(oe.name, 'EtcdCompactedError')
  })

  test('an unreachable single host: both GRPCUnavailableError (recoverable); transport wording differs', async () => {
    const port = await refusedPort()
    const out = {}
    for (const which of ['etcd3', 'ours']) {
      const lib = which === 'etcd3' ? ref : ours
      const c = connect(which, { hosts: `127.0.0.1:${port}` })
      const t0 = Date.now()
      const e = await c.put('x').value('y').catch((err) => err)
      out[which] = { cls: e.constructor.name, recoverable: lib.isRecoverableError(e), message: e.message, ms: Date.now() - t0 }
    }
    console.log(`# unreachable host: ${JSON.stringify(out)}`)
    assert.equal(out.ours.cls, out.etcd3.cls)
    assert.equal(out.ours.recoverable, true)
    assert.equal(out.etcd3.recoverable, true)
    assert.match(out.ours.message, /^14 UNAVAILABLE: /)
    assert.match(out.etcd3.message, /^14 UNAVAILABLE: /)
  })

  test('a write whose answer is lost: etcd3 re-sends it (applied twice), ours fails it (applied once)', async (t) => {
    const admin = connect('ours')
    const out = {}
    for (const which of ['etcd3', 'ours']) {
      const proxy = await cutProxy(etcd.endpoints[0])
      t.after(() => proxy.close())
      const lib = which === 'etcd3' ? ref : ours
      const c = connect(which, { hosts: [proxy.url] })
      await c.get('warm-up').string() // the connection is up
      const key = `cut-write-${which}-${Date.now()}`
      proxy.cutNext()
      const res = await c.put(key).value('once').then(
        () => 'ok',
        (e) => e,
      )
      const kv = (await admin.get(key).exec()).kvs[0]
      out[which] = { result: res === 'ok' ? 'ok' : `${res.constructor.name} recoverable=${lib.isRecoverableError(res)}`, version: kv && kv.version, cuts: proxy.state.cuts }
    }
    console.log(`# lost write answer: ${JSON.stringify(out)}`)
    assert.equal(out.etcd3.cuts, 1)
    assert.equal(out.ours.cuts, 1)
    assert.deepEqual(out.etcd3, { result: 'ok', version: '2', cuts: 1 }, 'etcd3 retries non-idempotent writes')
    assert.equal(out.ours.version, '1', 'ours never re-sends a write that may have been applied')
    assert.match(out.ours.result, /recoverable=true$/)
  })

  test('a read whose answer is lost: both retry it and answer (reads are idempotent)', async (t) => {
    const admin = connect('ours')
    const key = `cut-read-${Date.now()}`
    await admin.put(key).value('v')
    const out = {}
    for (const which of ['etcd3', 'ours']) {
      const proxy = await cutProxy(etcd.endpoints[0])
      t.after(() => proxy.close())
      const c = connect(which, { hosts: [proxy.url] })
      await c.get('warm-up').string()
      proxy.cutNext()
      out[which] = await c.get(key).string().then(
        (v) => v,
        (e) => `${e.constructor.name}: ${e.message}`,
      )
    }
    assert.equal(out.etcd3, 'v')
    assert.equal(out.ours, 'v', 'Go clientv3 retries a read that failed with a broken connection')
  })

  test('a watch whose connection breaks: same events (disconnected, connecting, connected), the event once', async (t) => {
    const admin = connect('ours')
    const out = {}
    for (const which of ['etcd3', 'ours']) {
      const proxy = await cutProxy(etcd.endpoints[0])
      t.after(() => proxy.close())
      const c = connect(which, { hosts: [proxy.url] })
      const P = `cut-watch-${which}-${Date.now()}/`
      const w = await c.watch().prefix(P).create()
      const log = []
      for (const ev of ['connecting', 'connected', 'disconnected', 'error', 'end']) {
        w.on(ev, (x) => log.push(ev === 'disconnected' || ev === 'error' ? `${ev} ${x.constructor.name}` : ev))
      }
      w.on('put', (kv) => log.push(`put ${kv.value}`))
      proxy.cutNext() // the event's bytes are dropped and the connection reset
      await admin.put(`${P}k`).value('1')
      await until(() => log.includes('put 1'), 10_000, `${which}: the event after the reconnect`)
      await admin.put(`${P}k`).value('2')
      await until(() => log.includes('put 2'), 10_000, `${which}: the next event`)
      await sleep(200)
      out[which] = log
      await Promise.race([w.cancel(), sleep(1000)])
    }
    console.log(`# watch across a broken connection: ${JSON.stringify(out)}`)
    const rest = (log) => log.filter((e) => !e.startsWith('disconnected'))
    const disconnects = (log) => log.filter((e) => e.startsWith('disconnected'))
    assert.equal(out.ours.filter((e) => e === 'put 1').length, 1)
    assert.deepEqual(rest(out.ours), rest(out.etcd3))
    // etcd3 reports the broken stream twice: the raw grpc-js error (not cast), then EtcdWatchStreamEnded.
    // Ours reports it once, typed (a recoverable gRPC class).
    assert.deepEqual(disconnects(out.etcd3), ['disconnected Error', 'disconnected EtcdWatchStreamEnded'])
    assert.equal(disconnects(out.ours).length, 1)
    assert.match(disconnects(out.ours)[0], /^disconnected GRPC(Unknown|Unavailable|Cancelled|Internal)Error$/)
  })

  test('Role.revoke with an array: etcd3 grants (upstream bug), ours revokes', async () => {
    const out = {}
    for (const which of ['etcd3', 'ours']) {
      const c = connect(which)
      const role = await c.role(`rv-${which}`).create()
      await role.grant({ permission: 'Read', range: c.range({ prefix: 'a/' }) })
      await role.revoke([{ permission: 'Read', range: c.range({ prefix: 'a/' }) }]).catch(() => {})
      out[which] = (await role.permissions()).length
      await role.delete()
    }
    assert.equal(out.etcd3, 1, 'etcd3 1.1.2 grants instead of revoking')
    assert.equal(out.ours, 0)
  })

  test('extensions only ours has: lease.ttl(), or(); memberList() without a request', async () => {
    const r = connect('etcd3')
    const o = connect('ours')
    const rl = r.lease(5)
    assert.equal(typeof rl.ttl, 'number', "etcd3's (private) ttl field")
    await rl.revoke()
    const ol = o.lease(5)
    assert.equal(typeof ol.ttl, 'function')
    assert.ok((await ol.ttl()) > 0)
    await ol.revoke()
    assert.equal(typeof r.if('a', 'Value', '==', 'x').or, 'undefined')
    assert.equal(typeof o.if('a', 'Value', '==', 'x').or, 'function')
    // etcd3 can't encode a missing request object (and opens its circuit breaker); ours sends an empty one
    const lone = connect('etcd3')
    const re = await lone.cluster.memberList().catch((e) => e)
    assert.equal(re.constructor.name, 'GRPCInternalError')
    assert.equal((await o.cluster.memberList()).members.length, 1)
  })
})
