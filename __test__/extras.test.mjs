// The methods node-etcd never had (lib/extras.js), against a real 3-member etcd cluster from the rig: key helpers
// (exists/insert/update/insertDir/updateDir/refresh) in callback, Promise and sync form, the members API, leader,
// store stats, per-endpoint health and versions, the v2 auth API, watchUntil, endpoint discovery (sync/autoSync)
// and clusterInfo. Expected values come from etcd-protocol.md 1.2, 1.3, 1.7, 1.8 and from etcd itself.
//
// Run: node --test __test__/extras.test.mjs            (ETCD_BIN=/path/to/etcd-3.4 for the 3.4 variant)

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { sleep, until as untilEvery } from './helpers/common.mjs'

const require = createRequire(import.meta.url)
const Etcd = require('../index.js')
const { startCluster } = require('../testing/index.js')

// Failover retries (refused connections, etcd's error 300) wait 1 ms instead of up to 25.6 s.
process.env.RUNNING_UNIT_TESTS = 'true'
for (const k of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy']) delete process.env[k]

const T = { timeout: 120_000 }
const FORMS = ['callback', 'promise', 'sync']
let seq = 0
const uniq = (name) => `xt-${process.pid}-${++seq}-${name}`

let cluster
// etcd 3.5 refuses member changes until the leader has been connected to every member for 5 s (ErrUnhealthy).
let quietSince = 0

before(async () => {
  cluster = await startCluster()
  quietSince = Date.now()
})

after(async () => {
  if (cluster) await cluster.stop()
})

const is35 = () => /^3\.5\./.test(cluster.version)

/** A client closed when the test ends. */
function client(t, hosts = cluster.endpoints, options) {
  const etcd = new Etcd(hosts, options)
  t.after(() => etcd.close())
  return etcd
}

// This suite's calls name what they wait for first.
const until = (what, fn, ms = 10_000, step = 25) => untilEvery(fn, ms, what, { every: step })

function withTimeout(promise, ms, what) {
  let timer
  return Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)))]).finally(() => clearTimeout(timer))
}

/**
 * One call in one calling convention, as `{err, body, headers}`. Also checks the convention itself: callback ->
 * a non-thenable token and node-etcd's argument shapes; Promise -> a thenable token with `headers` afterwards;
 * sync -> the `*Sync` twin (or `{synchronous: true}` for methods without one) returning exactly {err, body, headers}.
 */
async function inForm(form, etcd, method, args, options) {
  if (form === 'callback') {
    let ret
    const cbArgs = await new Promise((resolve) => {
      ret = options === undefined ? etcd[method](...args, (...a) => resolve(a)) : etcd[method](...args, options, (...a) => resolve(a))
    })
    assert.equal(typeof ret.abort, 'function', `${method}(cb) returns a token`)
    assert.equal(typeof ret.then, 'undefined', `${method}(cb) returns no thenable`)
    const [err, body, headers] = cbArgs
    if (err === null) assert.equal(cbArgs.length, 3, `${method}: success calls back with (null, body, headers)`)
    else if (err.errorCode !== undefined || err.status !== undefined) assert.deepEqual([cbArgs.length, body], [3, ''], `${method}: an answered error calls back with (err, '', headers)`)
    return { err, body, headers }
  }
  if (form === 'promise') {
    const token = options === undefined ? etcd[method](...args) : etcd[method](...args, options)
    assert.equal(typeof token.then, 'function', `${method}() returns a thenable`)
    assert.equal(typeof token.abort, 'function', `${method}() returns a token`)
    try {
      const body = await token
      return { err: null, body, headers: token.headers }
    } catch (err) {
      return { err, body: undefined, headers: token.headers, rejected: true }
    }
  }
  const twin = etcd[`${method}Sync`]
  const r = twin !== undefined ? twin.call(etcd, ...args, options) : etcd[method](...args, { ...options, synchronous: true })
  assert.deepEqual(Object.keys(r).sort(), ['body', 'err', 'headers'], `${method} sync result`)
  return r
}

function assertEtcdError(r, code, errorCode, context) {
  assert.ok(r.err instanceof Error, `${context}: expected an error, got body ${JSON.stringify(r.body)}`)
  assert.deepEqual({ code: r.err.code, errorCode: r.err.errorCode }, { code, errorCode }, `${context}: ${r.err.message}`)
  if (!r.rejected) assert.equal(r.body, '', `${context}: body of an etcd error`)
  assert.equal(typeof r.headers['x-etcd-index'], 'string', `${context}: headers of an etcd error`)
}

function assertHttpError(err, code, status, context) {
  assert.ok(err instanceof Error, `${context}: expected an error`)
  assert.deepEqual({ code: err.code, status: err.status }, { code, status }, `${context}: ${err.message}`)
  assert.equal(typeof err.body, 'object', `${context}: err.body is etcd's JSON`)
  assert.equal(err.message, err.body.message, `${context}: message taken from the body`)
}

async function rejects(promise) {
  try {
    const body = await promise
    assert.fail(`expected a rejection, got ${JSON.stringify(body)}`)
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err
    return err
  }
}

async function freePort() {
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000)
    const ok = await new Promise((resolve) => {
      const s = net.createServer()
      s.once('error', () => resolve(false))
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
    })
    if (ok) return port
  }
  throw new Error('no free port found')
}

/**
 * HTTP proxy in front of one member that records every request and how many are still open, to see what a
 * client sends (a watch long-poll's headers are passed on at once).
 */
async function countingProxy(t, target) {
  const up = new URL(target)
  const state = { requests: [], open: 0, url: '' }
  const sockets = new Set()
  const server = http.createServer((req, res) => {
    state.requests.push(`${req.method} ${req.url}`)
    state.open++
    res.once('close', () => state.open--)
    const out = http.request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode, ur.headers)
      res.flushHeaders()
      ur.pipe(res)
    })
    out.on('error', () => res.destroy())
    res.once('close', () => out.destroy())
    req.pipe(out)
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.url = `http://127.0.0.1:${server.address().port}`
  t.after(() => {
    for (const s of sockets) s.destroy()
    return new Promise((resolve) => server.close(() => resolve()))
  })
  return state
}

const isWatch = (line) => line.includes('wait=true')

// ------------------------------------------------------------------------------------------------ members

test('members: list, add an unstarted member, update its peer URLs, remove it; errors for unknown and removed ids', T, async (t) => {
  // One member: it answers a change once it has applied it, so its next answers include the change.
  const etcd = client(t, cluster.endpoints[0])
  const names = cluster.members.map((m) => m.name).sort()

  for (const form of FORMS) {
    const r = await inForm(form, etcd, 'members', [])
    assert.equal(r.err, null, `${form}: ${r.err && r.err.message}`)
    assert.ok(Array.isArray(r.body), `${form}: members() gives an array`)
    assert.deepEqual(r.body.map((m) => m.name).sort(), names, form)
    for (const m of r.body) {
      assert.match(m.id, /^[0-9a-f]+$/, `${form}: hex id`)
      const i = cluster.members.findIndex((x) => x.name === m.name)
      assert.deepEqual({ peerURLs: m.peerURLs, clientURLs: m.clientURLs }, { peerURLs: [cluster.members[i].peerUrl], clientURLs: [cluster.members[i].clientUrl] }, form)
    }
  }

  await sleep(Math.max(0, quietSince + 6000 - Date.now()))
  const peer = `http://127.0.0.1:${await freePort()}`
  const peer2 = `http://127.0.0.1:${await freePort()}`
  t.after(async () => {
    // A leftover member would cost later tests their quorum: remove whatever carries our URLs (a fresh client,
    // the test's own is closed by now; also covers an add that committed although its answer was an error).
    const c = new Etcd(cluster.endpoints)
    try {
      for (const m of await c.members()) if (m.peerURLs.some((u) => u === peer || u === peer2)) await c.removeMember(m.id).then(() => {}, () => {})
    } catch {}
    c.close()
  })
  let added
  // A 500 here is etcd's ErrUnhealthy (checked before anything is proposed), so trying again is safe; bounded.
  for (let attempt = 0; ; attempt++) {
    try {
      added = await etcd.addMember([peer])
      break
    } catch (err) {
      // A write answered with a 5xx is not re-sent by the client (ETCD_OUTCOME_UNKNOWN); here we know it is safe.
      if (attempt >= 10 || err.code !== 'ETCD_OUTCOME_UNKNOWN' || !err.errors.every((e) => e.httpstatus === 500)) throw err
      await sleep(1000)
    }
  }
  assert.match(added.id, /^[0-9a-f]+$/)
  assert.deepEqual({ peerURLs: added.peerURLs, name: added.name || '', clientURLs: added.clientURLs || [] }, { peerURLs: [peer], name: '', clientURLs: [] })

  let list = await etcd.members()
  assert.equal(list.length, 4)
  assert.deepEqual(list.find((m) => m.id === added.id).peerURLs, [peer])
  // Quorum is 3 of 4 with three running: writes still commit.
  const w = await etcd.set(uniq('after-add'), 'v')
  assert.equal(w.action, 'set')
  // The unstarted member has no client URLs, so discovery still finds the three.
  const one = client(t, cluster.endpoints[0])
  assert.deepEqual((await one.sync()).sort(), [...cluster.endpoints].sort())

  const u = await inForm('callback', etcd, 'updateMember', [added.id, [peer2]])
  assert.equal(u.err, null, u.err && u.err.message)
  list = etcd.membersSync().body
  assert.deepEqual(list.find((m) => m.id === added.id).peerURLs, [peer2])

  assertHttpError(await rejects(etcd.updateMember(added.id, [cluster.members[1].peerUrl])), 'ETCD_CONFLICT', 409, 'update to an existing peer URL')

  const rm = await inForm('promise', etcd, 'removeMember', [added.id])
  assert.equal(rm.err, null, rm.err && rm.err.message)
  list = await etcd.members()
  assert.deepEqual(list.map((m) => m.name).sort(), names)

  // Only now: with an unstarted member etcd 3.5 refuses every add as unhealthy (500) before looking at the URLs.
  assertHttpError(await rejects(etcd.addMember([cluster.members[0].peerUrl])), 'ETCD_CONFLICT', 409, 'add an existing peer URL')
  assertHttpError(await rejects(etcd.addMember(['not a url'])), 'ETCD_BAD_REQUEST', 400, 'add a malformed URL')
  assertHttpError(await rejects(etcd.removeMember(added.id)), 'ETCD_GONE', 410, 'remove a removed member')
  assertHttpError(await rejects(etcd.removeMember('deadbeefdeadbeef')), 'ETCD_NOT_FOUND', 404, 'remove an unknown id')
  assertHttpError(await rejects(etcd.updateMember('deadbeefdeadbeef', [peer2])), 'ETCD_NOT_FOUND', 404, 'update an unknown id')
  const cbErr = await inForm('callback', etcd, 'removeMember', ['deadbeefdeadbeef'])
  assertHttpError(cbErr.err, 'ETCD_NOT_FOUND', 404, 'callback form')
  const syncErr = etcd.removeMember('deadbeefdeadbeef', { synchronous: true })
  assertHttpError(syncErr.err, 'ETCD_NOT_FOUND', 404, 'sync form')
  assert.throws(() => etcd.addMember([]), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => etcd.removeMember(''), { code: 'ERR_INVALID_ARG_TYPE' })
})

// ------------------------------------------------------------------------------------------------ leader and stats

test('currentLeader() is the member leaderIndex() names, in every form; selfStats of each member agrees', T, async (t) => {
  const etcd = client(t)
  const li = await cluster.waitForLeader()
  const members = await etcd.members()
  const expected = members.find((m) => m.name === cluster.members[li].name)
  for (const form of FORMS) {
    const r = await inForm(form, etcd, 'currentLeader', [])
    assert.equal(r.err, null, `${form}: ${r.err && r.err.message}`)
    assert.deepEqual(r.body, expected, form)
  }
  const leaders = []
  for (let i = 0; i < cluster.endpoints.length; i++) {
    const self = await client(t, cluster.endpoints[i]).selfStats()
    assert.equal(self.name, cluster.members[i].name)
    assert.equal(self.leaderInfo.leader, expected.id, `member ${i} knows the leader`)
    if (self.state === 'StateLeader') leaders.push(i)
  }
  assert.deepEqual(leaders, [li])
})

test('storeStats() of each member, in every form; its counters move with writes', T, async (t) => {
  const KEYS = ['compareAndDeleteFail', 'compareAndDeleteSuccess', 'compareAndSwapFail', 'compareAndSwapSuccess', 'createFail', 'createSuccess', 'deleteFail', 'deleteSuccess', 'expireCount', 'getsFail', 'getsSuccess', 'setsFail', 'setsSuccess', 'updateFail', 'updateSuccess', 'watchers']
  for (let i = 0; i < cluster.endpoints.length; i++) {
    const etcd = client(t, cluster.endpoints[i])
    for (const form of FORMS) {
      const r = await inForm(form, etcd, 'storeStats', [])
      assert.equal(r.err, null, `member ${i} ${form}: ${r.err && r.err.message}`)
      assert.deepEqual(Object.keys(r.body).sort(), KEYS, `member ${i} ${form}`)
      for (const k of KEYS) assert.ok(Number.isInteger(r.body[k]) && r.body[k] >= 0, `member ${i} ${form} ${k}`)
    }
  }
  // Writes and reads of the stats on one member: its store has applied a write when the write is answered.
  const etcd = client(t, cluster.endpoints[1])
  const before = await etcd.storeStats()
  const k = uniq('stats')
  await etcd.set(`${k}/a`, '1')
  await etcd.set(`${k}/b`, '2')
  await etcd.insert(`${k}/c`, '3')
  await rejects(etcd.insert(`${k}/c`, '4'))
  await rejects(etcd.update(`${k}/missing`, '5'))
  const afterStats = etcd.storeStatsSync().body
  const delta = (name) => afterStats[name] - before[name]
  assert.deepEqual(
    { setsSuccess: delta('setsSuccess'), createSuccess: delta('createSuccess'), createFail: delta('createFail'), updateFail: delta('updateFail') },
    { setsSuccess: 2, createSuccess: 1, createFail: 1, updateFail: 1 },
  )
})

// ------------------------------------------------------------------------------------------------ key helpers

for (const [i, form] of FORMS.entries()) {
  test(`key helpers, ${form} form: exists, insert, update, insertDir, updateDir, refresh`, T, async (t) => {
    // One member per client: v2 reads are served locally, so another member may not have applied a write yet.
    const etcd = client(t, cluster.endpoints[i % cluster.endpoints.length])
    const p = uniq(form)
    const file = await etcd.set(`${p}/file`, 'v')

    // exists: true for a key and a directory, false (not an error) for a missing key
    let r = await inForm(form, etcd, 'exists', [`${p}/file`])
    assert.deepEqual([r.err, r.body], [null, true], 'exists(file)')
    assert.equal(Number(r.headers['x-etcd-index']) >= file.node.modifiedIndex, true)
    r = await inForm(form, etcd, 'exists', [p])
    assert.deepEqual([r.err, r.body], [null, true], 'exists(dir)')
    r = await inForm(form, etcd, 'exists', [`${p}/missing`])
    assert.deepEqual([r.err, r.body], [null, false], 'exists(missing)')
    assert.equal(typeof r.headers['x-etcd-index'], 'string', 'exists(missing) has headers')
    // other etcd errors stay errors
    r = await inForm(form, etcd, 'exists', [`${p}/file/sub`])
    assertEtcdError(r, 'ETCD_NOT_A_DIRECTORY', 104, 'exists below a file')

    // insert: create-only
    r = await inForm(form, etcd, 'insert', [`${p}/ins`, 'one'])
    assert.equal(r.err, null, r.err && r.err.message)
    assert.deepEqual([r.body.action, r.body.node.value], ['create', 'one'])
    const created = r.body.node.createdIndex
    r = await inForm(form, etcd, 'insert', [`${p}/ins`, 'two'])
    assertEtcdError(r, 'ETCD_KEY_EXISTS', 105, 'insert twice')
    assert.equal((await etcd.get(`${p}/ins`)).node.value, 'one', 'a failed insert changes nothing')

    // update: update-only, keeps createdIndex
    r = await inForm(form, etcd, 'update', [`${p}/missing`, 'x'])
    assertEtcdError(r, 'ETCD_KEY_NOT_FOUND', 100, 'update a missing key')
    assert.equal(await etcd.exists(`${p}/missing`), false, 'a failed update creates nothing')
    r = await inForm(form, etcd, 'update', [`${p}/ins`, 'three'])
    assert.equal(r.err, null, r.err && r.err.message)
    assert.equal(r.body.action, 'update')
    assert.deepEqual([r.body.node.value, r.body.node.createdIndex, r.body.prevNode.value], ['three', created, 'one'])
    assert.ok(r.body.node.modifiedIndex > created)

    // insertDir: create-only directory with a TTL
    r = await inForm(form, etcd, 'insertDir', [`${p}/dir`], { ttl: 30 })
    assert.equal(r.err, null, r.err && r.err.message)
    assert.deepEqual([r.body.action, r.body.node.dir], ['create', true])
    assert.ok(r.body.node.ttl > 0 && r.body.node.ttl <= 30, `ttl ${r.body.node.ttl}`)
    r = await inForm(form, etcd, 'insertDir', [`${p}/dir`], { ttl: 30 })
    assertEtcdError(r, 'ETCD_KEY_EXISTS', 105, 'insertDir twice')

    // updateDir: update-only directory
    r = await inForm(form, etcd, 'updateDir', [`${p}/nodir`], { ttl: 60 })
    assertEtcdError(r, 'ETCD_KEY_NOT_FOUND', 100, 'updateDir of a missing directory')
    r = await inForm(form, etcd, 'updateDir', [`${p}/dir`], { ttl: 60, maxRetries: 0 })
    if (is35()) {
      // etcd-io/etcd#13589: the member answers HTTP 500 with error 300. A 5xx to a write leaves its outcome
      // unknown to a client, so it is reported as such and not sent to another member.
      assert.ok(r.err instanceof Error, 'updateDir on 3.5 fails')
      assert.equal(r.err.code, 'ETCD_OUTCOME_UNKNOWN')
      assert.equal(r.err.errors.length, 1, 'one attempt, maxRetries: 0')
      for (const e of r.err.errors) {
        assert.equal(e.httpstatus, 500)
        assert.equal(e.httpbody.errorCode, 300)
        assert.match(e.httpbody.cause, /Not a file/)
      }
    } else {
      assert.equal(r.err, null, r.err && r.err.message)
      assert.deepEqual([r.body.action, r.body.node.dir], ['update', true])
      assert.ok(r.body.node.ttl > 30 && r.body.node.ttl <= 60, `ttl ${r.body.node.ttl}`)
    }

    // refresh: TTL reset, value kept, watchers not told. The watcher starts right after the set, so the refresh
    // is in its range whether its poll registers before or after it.
    const s = await etcd.set(`${p}/ttl`, 'keep', { ttl: 5 })
    const watcher = etcd.watcher(`${p}/ttl`, s.node.modifiedIndex + 1)
    t.after(() => watcher.stop())
    const firstEvent = new Promise((resolve) => watcher.once('change', resolve))
    r = await inForm(form, etcd, 'refresh', [`${p}/ttl`, 100])
    assert.equal(r.err, null, r.err && r.err.message)
    assert.deepEqual([r.body.node.value, r.body.node.createdIndex], ['keep', s.node.createdIndex])
    assert.ok(r.body.node.ttl > 90, `refreshed ttl ${r.body.node.ttl}`)
    assert.ok(Date.parse(r.body.node.expiration) > Date.parse(s.node.expiration) + 60_000, 'expiration moved')
    const g = await etcd.get(`${p}/ttl`)
    assert.equal(g.node.value, 'keep')
    assert.ok(g.node.ttl > 90, `ttl read back ${g.node.ttl}`)
    await etcd.set(`${p}/ttl`, 'after')
    const ev = await withTimeout(firstEvent, 10_000, 'watcher event')
    assert.deepEqual([ev.action, ev.node.value], ['set', 'after'], 'the first event is the set after the refresh')
    r = await inForm(form, etcd, 'refresh', [`${p}/gone`, 10])
    assertEtcdError(r, 'ETCD_KEY_NOT_FOUND', 100, 'refresh of a missing key')
    assert.throws(() => etcd.refresh(`${p}/ttl`, -1, () => {}), { code: 'ERR_INVALID_ARG_VALUE' })
  })
}

// ------------------------------------------------------------------------------------------------ clusterInfo

test('clusterInfo from the headers of callback, Promise and sync calls matches the raw headers', T, async (t) => {
  const etcd = client(t)
  const k = uniq('ci')
  const check = (info, headers, body, form) => {
    assert.deepEqual(
      info,
      { etcdIndex: Number(headers['x-etcd-index']), raftIndex: Number(headers['x-raft-index']), raftTerm: Number(headers['x-raft-term']), clusterId: headers['x-etcd-cluster-id'] },
      form,
    )
    for (const n of ['etcdIndex', 'raftIndex', 'raftTerm']) assert.ok(Number.isInteger(info[n]), `${form}: ${n} is a number`)
    assert.ok(info.raftTerm >= 1, `${form}: raftTerm ${info.raftTerm}`)
    assert.match(info.clusterId, /^[0-9a-f]+$/, form)
    assert.equal(info.etcdIndex, body.node.modifiedIndex, `${form}: X-Etcd-Index of a set is the written index`)
    assert.ok(info.raftIndex >= info.etcdIndex, form)
  }

  const [err, body, headers] = await new Promise((resolve) => etcd.set(k, 'cb', (...a) => resolve(a)))
  assert.equal(err, null)
  check(Etcd.clusterInfo(headers), headers, body, 'callback, Etcd.clusterInfo')
  check(etcd.clusterInfo(headers), headers, body, 'callback, etcd.clusterInfo')

  const token = etcd.set(k, 'promise')
  const pbody = await token
  check(etcd.clusterInfo(token.headers), token.headers, pbody, 'promise')

  const sr = etcd.setSync(k, 'sync')
  assert.equal(sr.err, null)
  check(Etcd.clusterInfo(sr.headers), sr.headers, sr.body, 'sync')

  assert.ok(pbody.node.modifiedIndex > body.node.modifiedIndex && sr.body.node.modifiedIndex > pbody.node.modifiedIndex)
  assert.equal(Etcd.clusterInfo(sr.headers).clusterId, Etcd.clusterInfo(headers).clusterId)
  assert.equal(Etcd.clusterInfo(undefined), undefined)
  assert.deepEqual(Etcd.clusterInfo({}), { etcdIndex: undefined, raftIndex: undefined, raftTerm: undefined, clusterId: undefined })
})

// ------------------------------------------------------------------------------------------------ watchUntil

test('watchUntil resolves on the first accepted change, after non-matching ones, and then stops polling', T, async (t) => {
  const proxy = await countingProxy(t, cluster.endpoints[0])
  const etcd = client(t, proxy.url)
  const writer = client(t)
  const k = uniq('wu')
  const seen = []
  const done = etcd.watchUntil(k, (body, headers) => {
    seen.push(body.node.value)
    assert.equal(typeof headers['x-etcd-index'], 'string')
    return body.node.value === 'go'
  })
  let settled = false
  done.then(() => (settled = true), () => (settled = true))
  await until('the watch poll', () => proxy.open > 0 && proxy.requests.some(isWatch))
  await writer.set(k, 'a')
  await writer.set(k, 'b')
  await sleep(300)
  assert.equal(settled, false, 'not resolved by non-matching changes')
  await writer.set(k, 'go')
  await writer.set(k, 'late')
  const body = await withTimeout(done, 10_000, 'watchUntil')
  assert.deepEqual([body.action, body.node.key, body.node.value], ['set', `/${k}`, 'go'])
  assert.deepEqual(seen, ['a', 'b', 'go'])
  await until('the poll to close', () => proxy.open === 0, 5000)
  const n = proxy.requests.length
  await writer.set(k, 'more')
  await sleep(500)
  assert.equal(proxy.requests.length, n, 'no request after it resolved')
})

test('watchUntil with index and recursive replays history; a throwing predicate rejects with its exception', T, async (t) => {
  const etcd = client(t)
  const d = uniq('wudir')
  const first = await etcd.set(`${d}/a`, '1')
  await etcd.set(`${d}/b`, '2')
  await etcd.set(`${d}/c`, '3')
  const keys = []
  const body = await withTimeout(
    etcd.watchUntil(d, (b) => (keys.push(b.node.key), b.node.key === `/${d}/b`), { recursive: true, index: first.node.modifiedIndex }),
    10_000,
    'watchUntil from history',
  )
  assert.deepEqual([body.node.key, body.node.value], [`/${d}/b`, '2'])
  assert.deepEqual(keys, [`/${d}/a`, `/${d}/b`])

  const proxy = await countingProxy(t, cluster.endpoints[1])
  const viaProxy = client(t, proxy.url)
  const boom = new Error('predicate failed')
  let calls = 0
  const p = viaProxy.watchUntil(`${d}/c`, () => {
    calls++
    if (calls === 2) throw boom
    return false
  })
  const outcome = rejects(p) // handled from the start: the rejection may come before we wait for it
  await until('the watch poll', () => proxy.open > 0 && proxy.requests.some(isWatch))
  await etcd.set(`${d}/c`, '4')
  await etcd.set(`${d}/c`, '5')
  await etcd.set(`${d}/c`, '6')
  const err = await withTimeout(outcome, 10_000, 'rejection')
  assert.equal(err, boom)
  assert.equal(calls, 2)
  await until('the poll to close', () => proxy.open === 0, 5000)
  assert.throws(() => etcd.watchUntil(d, 'not a function'), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('watchUntil rejects with AbortError on signal abort and sends nothing afterwards', T, async (t) => {
  const proxy = await countingProxy(t, cluster.endpoints[2])
  const etcd = client(t, proxy.url)
  const writer = client(t)
  const k = uniq('wuabort')
  const ac = new AbortController()
  let calls = 0
  const p = etcd.watchUntil(k, () => (calls++, true), { signal: ac.signal })
  const outcome = rejects(p)
  await until('the watch poll', () => proxy.open > 0 && proxy.requests.some(isWatch))
  const reason = new Error('stop now')
  ac.abort(reason)
  const err = await withTimeout(outcome, 5000, 'rejection after abort')
  assert.deepEqual({ name: err.name, code: err.code, cause: err.cause }, { name: 'AbortError', code: 'ABORT_ERR', cause: reason })
  await until('the poll to close', () => proxy.open === 0, 5000)
  const n = proxy.requests.length
  await writer.set(k, 'x')
  await sleep(1000)
  assert.equal(proxy.requests.length, n, `no request after abort: ${proxy.requests.slice(n).join(', ')}`)
  assert.equal(calls, 0, 'the predicate never ran')

  // An already aborted signal: no request at all.
  const before = proxy.requests.length
  const ac2 = new AbortController()
  ac2.abort()
  const err2 = await rejects(etcd.watchUntil(k, () => true, { signal: ac2.signal }))
  assert.equal(err2.name, 'AbortError')
  await sleep(300)
  assert.equal(proxy.requests.length, before)
})

// ------------------------------------------------------------------------------------------------ auth

test('v2 auth: root, roles and users, permissions and their changes, non-root refused, password change, disable', T, async (t) => {
  const ROOT = { user: 'root', pass: 'r00t-Xt-41' }
  const ALICE = { user: 'alice', pass: 'al1ce-Xt-17' }
  const ALICE2 = 'al1ce-Xt-new-88'
  const anon = client(t)
  const root = client(t, cluster.endpoints, { auth: ROOT })
  const perMember = cluster.endpoints.map((ep) => client(t, ep, { auth: ROOT }))
  // v2 auth reads users and roles from the member's local store; a quorum read on every member makes sure each
  // has applied the last change before it is tried on a shuffled member.
  const barrier = () => Promise.all(perMember.map((c) => c.get('/', { quorum: true })))
  t.after(async () => {
    // Leave the cluster as found even when an assertion failed half-way (fresh clients: the others are closed).
    const r = new Etcd(cluster.endpoints, { auth: ROOT })
    await r.disableAuth().then(() => {}, () => {})
    for (const u of ['alice', 'root']) await r.deleteUser(u).then(() => {}, () => {})
    await r.deleteRole('app').then(() => {}, () => {})
    r.close()
  })

  for (const form of FORMS) {
    const r = await inForm(form, anon, 'authStatus', [])
    assert.deepEqual([r.err, r.body], [null, { enabled: false }], form)
  }
  // etcd 3.4.23 and 3.5.1 answer 409 here (etcd-protocol.md 1.8 says 400).
  const noRoot = await rejects(anon.enableAuth())
  assertHttpError(noRoot, noRoot.status === 400 ? 'ETCD_BAD_REQUEST' : 'ETCD_CONFLICT', noRoot.status === 400 ? 400 : 409, 'enable without a root user')
  assert.match(noRoot.message, /root/)

  assert.deepEqual(await anon.createUser(ROOT.user, ROOT.pass), { user: 'root', roles: ['root'] })
  const PERMS = { read: ['/app/*'], write: ['/app/*'] }
  const role = await inForm('callback', anon, 'createRole', ['app', PERMS])
  assert.equal(role.err, null, role.err && role.err.message)
  assert.deepEqual(role.body, { role: 'app', permissions: { kv: PERMS } })
  assertHttpError(await rejects(anon.createRole('app', PERMS)), 'ETCD_CONFLICT', 409, 'duplicate role')
  const alice = await inForm('callback', anon, 'createUser', [ALICE.user, ALICE.pass, ['app']])
  assert.equal(alice.err, null, alice.err && alice.err.message)
  assert.deepEqual(alice.body, { user: 'alice', roles: ['app'] })
  assertHttpError(await rejects(anon.getUser('nobody')), 'ETCD_NOT_FOUND', 404, 'unknown user')

  assert.equal(await anon.enableAuth(), undefined)
  await barrier()
  for (const form of FORMS) {
    const r = await inForm(form, anon, 'authStatus', [])
    assert.deepEqual([r.err, r.body], [null, { enabled: true }], form)
  }

  const asAlice = client(t, cluster.endpoints, { auth: ALICE })
  assert.equal((await asAlice.set('app/x', '1')).action, 'set')
  const denied = await inForm('promise', asAlice, 'set', ['other', '1'])
  assertEtcdError(denied, 'ETCD_UNAUTHORIZED', 110, 'alice writes /other')

  // non-root (and anonymous) management is refused
  assertHttpError(await rejects(asAlice.users()), 'ETCD_UNAUTHORIZED', 401, 'alice lists users')
  assertHttpError(await rejects(asAlice.createUser('eve', 'x')), 'ETCD_UNAUTHORIZED', 401, 'alice creates a user')
  assertHttpError(await rejects(asAlice.createRole('evil', { write: ['/*'] })), 'ETCD_UNAUTHORIZED', 401, 'alice creates a role')
  assertHttpError(asAlice.rolesSync().err, 'ETCD_UNAUTHORIZED', 401, 'alice lists roles (sync)')
  assertHttpError(await rejects(anon.disableAuth()), 'ETCD_UNAUTHORIZED', 401, 'anonymous disable')

  // root manages
  const APP_ROLE = { role: 'app', permissions: { kv: PERMS } }
  const ROOT_ROLE = { role: 'root', permissions: { kv: { read: ['/*'], write: ['/*'] } } }
  for (const form of FORMS) {
    const u = await inForm(form, root, 'users', [])
    assert.equal(u.err, null, `${form}: ${u.err && u.err.message}`)
    assert.deepEqual([...u.body].sort((a, b) => a.user.localeCompare(b.user)), [{ user: 'alice', roles: [APP_ROLE] }, { user: 'root', roles: [ROOT_ROLE] }], form)
    const r = await inForm(form, root, 'roles', [])
    assert.equal(r.err, null, `${form}: ${r.err && r.err.message}`)
    const byName = Object.fromEntries(r.body.map((x) => [x.role, x]))
    assert.deepEqual([byName.app, byName.root], [APP_ROLE, ROOT_ROLE], form)
    assert.ok(byName.guest, `${form}: guest role listed`)
  }
  assert.deepEqual(await root.getRole('app'), APP_ROLE)
  assert.deepEqual(await root.getUser('alice'), { user: 'alice', roles: [APP_ROLE] })
  assertHttpError(await rejects(root.enableAuth()), 'ETCD_CONFLICT', 409, 'enable twice')
  assertHttpError(await rejects(root.deleteRole('root')), 'ETCD_FORBIDDEN', 403, 'delete the root role')
  assertHttpError(await rejects(root.revokeUserRoles('alice', ['root'])), 'ETCD_CONFLICT', 409, 'revoke a role not held')
  assertHttpError(await rejects(root.revokeRole('app', { read: ['/nothing/*'] })), 'ETCD_BAD_REQUEST', 400, 'revoke a permission not held')

  // role permissions take effect
  assert.deepEqual(await root.revokeRole('app', { write: ['/app/*'] }), { role: 'app', permissions: { kv: { read: ['/app/*'], write: [] } } })
  await barrier()
  assertEtcdError(await inForm('sync', asAlice, 'set', ['app/x', '2']), 'ETCD_UNAUTHORIZED', 110, 'write after revoking write')
  assert.equal((await asAlice.get('app/x')).node.value, '1', 'read still granted')
  assert.deepEqual(await root.grantRole('app', { write: ['/app/*'] }), APP_ROLE)
  await barrier()
  assert.equal((await asAlice.set('app/x', '3')).node.value, '3')

  // user roles take effect
  assert.deepEqual(await root.revokeUserRoles('alice', 'app'), { user: 'alice', roles: [] })
  await barrier()
  assertEtcdError(await inForm('promise', asAlice, 'set', ['app/x', '4']), 'ETCD_UNAUTHORIZED', 110, 'write without the role')
  assertEtcdError(await inForm('promise', asAlice, 'get', ['app/x']), 'ETCD_UNAUTHORIZED', 110, 'read without the role')
  assert.deepEqual(await root.grantUserRoles('alice', ['app']), { user: 'alice', roles: ['app'] })
  await barrier()
  assert.equal((await asAlice.set('app/x', '5')).node.value, '5')

  // password change
  assert.deepEqual(await root.changePassword('alice', ALICE2), { user: 'alice', roles: ['app'] })
  await barrier()
  assertEtcdError(await inForm('promise', asAlice, 'set', ['app/x', '6']), 'ETCD_UNAUTHORIZED', 110, 'old password')
  const asAlice2 = client(t, cluster.endpoints, { auth: { username: 'alice', password: ALICE2 } })
  assert.equal((await asAlice2.set('app/x', '7')).node.value, '7')

  // disable (root only) and clean up
  assert.equal(await root.disableAuth(), undefined)
  await barrier()
  assert.deepEqual(await anon.authStatus(), { enabled: false })
  assertHttpError(await rejects(root.disableAuth()), 'ETCD_CONFLICT', 409, 'disable twice')
  assert.equal((await anon.set(uniq('open'), '1')).action, 'set', 'anonymous writes again')
  await anon.deleteUser('alice')
  await anon.deleteUser('root')
  await anon.deleteRole('app')
  assertHttpError(await rejects(anon.deleteRole('app')), 'ETCD_NOT_FOUND', 404, 'deleted role')
  assert.deepEqual(await anon.users(), [])
  assert.deepEqual((await anon.roles()).map((r) => r.role).sort(), ['guest', 'root'])
})

// ------------------------------------------------------------------------------------------------ health and versions

test('health() and versions() ask every endpoint; a killed member is unhealthy with an error, the others healthy', T, async (t) => {
  const etcd = client(t)
  const hosts = etcd.getHosts()
  const healthIn = async (form) => {
    if (form === 'sync') return etcd.healthSync()
    if (form === 'promise') return etcd.health()
    return new Promise((resolve, reject) => etcd.health((err, list) => (err ? reject(err) : resolve(list))))
  }
  for (const form of FORMS) {
    const list = await healthIn(form)
    assert.deepEqual(list.map((h) => [h.endpoint, h.health, h.error]), hosts.map((h) => [h, true, undefined]), form)
  }
  for (const list of [await etcd.versions(), etcd.versionsSync()]) {
    assert.deepEqual(list.map((v) => [v.endpoint, v.server, v.error]), hosts.map((h) => [h, cluster.version, undefined]))
    for (const v of list) assert.match(v.cluster, /^3\.\d+\.\d+$/)
  }

  const k = ((await cluster.waitForLeader()) + 1) % cluster.members.length // a follower: the others keep their leader
  await cluster.kill(k)
  t.after(() => (cluster.members[k].running ? undefined : cluster.restart(k)))
  const down = cluster.endpoints[k]
  for (const form of FORMS) {
    const list = await healthIn(form)
    assert.deepEqual(list.map((h) => h.endpoint), hosts, form)
    for (const h of list) {
      if (h.endpoint === down) {
        assert.equal(h.health, false, `${form}: killed member`)
        assert.ok(h.error instanceof Error, `${form}: killed member has an error`)
        // refused, or reset when a pooled keep-alive connection to it is reused
        assert.ok(['ECONNREFUSED', 'ECONNRESET'].includes(h.error.errors[0].httperror.code), `${form}: ${h.error.errors[0].httperror.code}`)
      } else {
        assert.deepEqual([h.health, h.error], [true, undefined], `${form}: ${h.endpoint}`)
      }
    }
  }
  const v = await etcd.versions()
  const dv = v.find((x) => x.endpoint === down)
  assert.equal(dv.server, undefined)
  assert.ok(dv.error instanceof Error)
  assert.equal(v.filter((x) => x.server === cluster.version).length, cluster.endpoints.length - 1)

  await cluster.restart(k)
  quietSince = Date.now()
  const back = await until('every member healthy again', async () => {
    const list = await etcd.health()
    return list.every((h) => h.health === true) && list
  })
  assert.equal(back.length, hosts.length)
})

test("health() of a member without quorum reports health false with etcd's reason", T, async (t) => {
  const etcd = client(t)
  await cluster.kill(1)
  await cluster.kill(2)
  t.after(async () => {
    await Promise.all([1, 2].filter((i) => !cluster.members[i].running).map((i) => cluster.restart(i)))
    await cluster.waitForLeader(30_000)
    quietSince = Date.now()
  })
  // The survivor answers 503 {"health":"false","reason":"RAFT NO LEADER"} (3.4: no reason) once it lost its leader.
  const raw = await until('the survivor to answer 503', async () => {
    const res = await fetch(`${cluster.endpoints[0]}/health`)
    return res.status === 503 && res.json()
  })
  assert.equal(raw.health, 'false')
  for (const [form, list] of [['promise', await etcd.health()], ['sync', etcd.healthSync()]]) {
    const h = list[0]
    assert.deepEqual([h.endpoint, h.health], [cluster.endpoints[0], false], form)
    if (raw.reason) {
      // etcd said why (3.5); health() is documented to pass that on as `reason`.
      assert.equal(typeof h.reason, 'string', `${form}: reason from the 503 body; got ${JSON.stringify({ reason: h.reason, error: h.error && h.error.code, httpbody: h.error && h.error.errors && h.error.errors[0].httpbody })}`)
      assert.ok(h.reason.length > 0, form)
    }
  }
})

// ------------------------------------------------------------------------------------------------ discovery

test('sync(): a client given one endpoint learns all three and survives that member being killed', T, async (t) => {
  await cluster.waitForLeader(30_000)
  await until('every member healthy', async () => (await client(t).health()).every((h) => h.health))
  const k = ((await cluster.waitForLeader()) + 1) % cluster.members.length
  const etcd = client(t, cluster.endpoints[k])
  const control = client(t, cluster.endpoints[k])
  assert.deepEqual(etcd.getHosts(), [cluster.endpoints[k]])
  const hosts = await etcd.sync()
  assert.deepEqual([...hosts].sort(), [...cluster.endpoints].sort())
  assert.deepEqual([...etcd.getHosts()].sort(), [...cluster.endpoints].sort())
  assert.deepEqual(await etcd.sync(), etcd.getHosts(), 'a second sync keeps the list')

  await cluster.kill(k)
  t.after(() => (cluster.members[k].running ? undefined : cluster.restart(k).then(() => (quietSince = Date.now()))))
  await cluster.waitForLeader(30_000)
  const key = uniq('sync')
  for (let i = 0; i < 5; i++) {
    assert.equal((await etcd.set(key, String(i))).node.value, String(i))
    assert.equal((await etcd.get(key, { quorum: true })).node.value, String(i))
  }
  const err = await rejects(control.get(key, { quorum: true }))
  assert.equal(err.code, 'ETCD_ALL_SERVERS_FAILED', 'the unsynced client only knows the dead member')
})

test('autoSyncInterval learns the cluster on its own; close() stops it', T, async (t) => {
  await cluster.waitForLeader(30_000)
  const k = ((await cluster.waitForLeader()) + 1) % cluster.members.length
  const etcd = new Etcd(cluster.endpoints[k], { autoSyncInterval: 100 })
  t.after(() => etcd.close())
  let ticks = 0
  const sync = etcd.sync
  etcd.sync = function countedSync() {
    ticks++
    return sync.call(this)
  }
  await until('the host list to grow', () => etcd.getHosts().length === 3, 10_000)
  assert.deepEqual([...etcd.getHosts()].sort(), [...cluster.endpoints].sort())

  await cluster.kill(k)
  t.after(() => (cluster.members[k].running ? undefined : cluster.restart(k).then(() => (quietSince = Date.now()))))
  await cluster.waitForLeader(30_000)
  const key = uniq('autosync')
  assert.equal((await etcd.set(key, 'v')).node.value, 'v')
  assert.equal((await etcd.get(key, { quorum: true })).node.value, 'v')

  assert.ok(ticks > 0)
  etcd.close()
  const n = ticks
  await sleep(600)
  assert.equal(ticks, n, 'no sync after close()')
  assert.throws(() => etcd.autoSync(-5), { code: 'ERR_INVALID_ARG_VALUE' })
})

test('autoSyncInterval keeps no process alive: a script exits promptly, with and without close()', T, async () => {
  const script = `
    const Etcd = require(${JSON.stringify(require.resolve('../index.js'))})
    const etcd = new Etcd(process.env.EP, { autoSyncInterval: 50 })
    const deadline = Date.now() + 15000
    const poll = () => {
      if (etcd.getHosts().length === 3) {
        if (process.env.CLOSE === '1') etcd.close()
        console.log('done')
        return
      }
      if (Date.now() > deadline) { console.log('no sync'); process.exitCode = 3; return }
      setTimeout(poll, 20)
    }
    poll()
  `
  for (const close of ['1', '0']) {
    const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, EP: cluster.endpoints[0], CLOSE: close }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let errOut = ''
    let doneAt = 0
    child.stdout.on('data', (d) => {
      out += d
      if (!doneAt && out.includes('done')) doneAt = Date.now()
    })
    child.stderr.on('data', (d) => (errOut += d))
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    const [code, signal] = await new Promise((resolve) => child.once('exit', (c, s) => resolve([c, s])))
    clearTimeout(killer)
    const exitedAt = Date.now()
    assert.deepEqual({ code, signal, out: out.trim() }, { code: 0, signal: null, out: 'done' }, `close=${close}: ${errOut}`)
    assert.ok(exitedAt - doneAt < 5000, `close=${close}: exited ${exitedAt - doneAt} ms after its work`)
  }
})
