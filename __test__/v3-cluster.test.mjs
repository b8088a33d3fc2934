// The v3 client (`Etcd3`) against a real 3-member etcd cluster with members killed under it:
// - a prefix watcher keeps delivering across the kill of every member in turn, and its log matches the
//   writer's acknowledged log exactly (none missing, none duplicated, in revision order);
// - reads keep working with a member down;
// - writes fail over only when they provably never reached a server (connection refused), and are
//   never applied twice (one unique key per write: a second apply would show as version 2);
// - dialTimeout bounds the time spent on a member that accepts TCP connections but never answers.
//
// Run: node --test __test__/v3-cluster.test.mjs

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { sleep, until as untilEvery, cutProxy, stallServer } from './helpers/common.mjs'

const require = createRequire(import.meta.url)
const { startCluster } = require('../testing/index.js')
const { Etcd3, isRecoverableError } = require('../lib/v3/etcd3.js')

// Polls are calls to etcd members: every 50 ms is plenty.
const until = (fn, ms, what) => untilEvery(fn, ms, what, { every: 50 })

const describeError = (e) => `${e && e.constructor && e.constructor.name}: ${e && e.message}`

/** Settles with { ok, value | error, ms }, giving up (error 'no answer') after `limit` ms. */
async function timed(fn, limit) {
  const started = Date.now()
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(), limit)
  try {
    const value = await fn(ac.signal)
    return { ok: true, value, ms: Date.now() - started }
  } catch (error) {
    return { ok: false, error: ac.signal.aborted ? new Error(`no answer within ${limit} ms`) : error, ms: Date.now() - started }
  } finally {
    clearTimeout(timer)
  }
}


let cluster
const clients = []
/** A client that is closed after the file's tests. */
const makeClient = (options) => {
  const c = new Etcd3(options)
  clients.push(c)
  return c
}

before(async () => {
  cluster = await startCluster({ v2: false, size: 3, timeout: 30_000 })
})

after(async () => {
  for (const c of clients) c.close()
  if (cluster) await cluster.stop()
})

/** Restarts every member that is not running and waits for a leader. */
async function healAll() {
  for (let i = 0; i < cluster.members.length; i++) {
    if (!cluster.members[i].running) await cluster.restart(i)
  }
  await cluster.waitForLeader(15_000)
}

test('a prefix watcher across the kill of every member in turn delivers the writer log exactly', { timeout: 240_000 }, async () => {
  const p = `cluster-watch/${Date.now()}/`
  const writer = makeClient({ hosts: cluster.endpoints })
  const watching = makeClient({ hosts: cluster.endpoints })

  // The watcher's log: one entry per event, with when it arrived.
  const seen = []
  const timeline = []
  const w = await watching.watch().prefix(p).create()
  w.on('put', (kv) => seen.push({ key: kv.key.toString(), value: kv.value.toString(), rev: BigInt(kv.mod_revision), version: kv.version, at: Date.now() }))
  w.on('delete', (kv) => seen.push({ key: kv.key.toString(), deleted: true, rev: BigInt(kv.mod_revision), at: Date.now() }))
  w.on('disconnected', (err) => timeline.push({ at: Date.now(), what: `disconnected ${describeError(err)}` }))
  w.on('connected', () => timeline.push({ at: Date.now(), what: 'connected' }))
  let fatal = null
  w.on('error', (err) => (fatal = err))

  // The writers: three lanes of one put at a time (a put stuck on a dying leader must not stop the others),
  // a unique key and value per put, each lane about every 30 ms.
  const writes = [] // { n, key, value, ok, rev, error, at }
  let writing = true
  let next = 0
  const lane = async () => {
    while (writing && next < 6000) {
      const n = next++
      const key = `${p}${String(n).padStart(5, '0')}`
      const value = `w${n}`
      const r = await timed((signal) => writer.put(key).value(value).options({ signal }), 15_000)
      writes.push({ n, key, value, ok: r.ok, rev: r.ok ? BigInt(r.value.header.revision) : null, error: r.ok ? null : r.error, at: Date.now() })
      await sleep(r.ok ? 30 : 100)
    }
  }
  const writersDone = Promise.all([lane(), lane(), lane()])

  await sleep(1000)
  const kills = []
  for (let i = 0; i < cluster.members.length; i++) {
    const before = writes.filter((x) => x.ok).length
    const disconnectsBefore = timeline.filter((x) => x.what.startsWith('disconnected')).length
    const leader = await cluster.leaderIndex()
    const killedAt = Date.now()
    await cluster.kill(i)
    timeline.push({ at: killedAt, what: `kill ${i}${i === leader ? ' (leader)' : ''}` })
    await sleep(2500)
    const ackedWhileDown = writes.filter((x) => x.ok).length - before
    await cluster.restart(i)
    timeline.push({ at: Date.now(), what: `restarted ${i}` })
    await cluster.waitForLeader(15_000)
    await sleep(1500)
    kills.push({ member: i, leader: i === leader, ackedWhileDown, watcherDisconnected: timeline.filter((x) => x.what.startsWith('disconnected')).length > disconnectsBefore })
  }
  await sleep(2000)
  writing = false
  await writersDone
  writes.sort((a, b) => a.n - b.n)
  timeline.sort((a, b) => a.at - b.at)

  const acked = writes.filter((x) => x.ok)
  const failed = writes.filter((x) => !x.ok)
  // Everything acknowledged must arrive; give the watcher time to catch up.
  await until(() => acked.every((x) => seen.some((e) => e.value === x.value)), 30_000, 'every acknowledged write at the watcher').catch(() => {})
  await sleep(500)
  await w.cancel()

  const counts = new Map()
  for (const e of seen) counts.set(e.value, (counts.get(e.value) || 0) + 1)
  const duplicated = [...counts].filter(([, c]) => c > 1).map(([v, c]) => `${v} x${c}`)
  const missing = acked.filter((x) => !counts.has(x.value)).map((x) => `${x.value}@${x.rev}`)
  const attempted = new Set(writes.map((x) => x.value))
  const unexpected = seen.filter((e) => !attempted.has(e.value)).map((e) => `${e.key}=${e.value}`)
  const outOfOrder = []
  for (let i = 1; i < seen.length; i++) if (seen[i].rev <= seen[i - 1].rev) outOfOrder.push(`${seen[i - 1].value}@${seen[i - 1].rev} then ${seen[i].value}@${seen[i].rev}`)
  const wrongRevision = acked.filter((x) => seen.some((e) => e.value === x.value && e.rev !== x.rev)).map((x) => x.value)
  const notRecoverable = failed.filter((x) => !isRecoverableError(x.error)).map((x) => `${x.value}: ${describeError(x.error)}`)
  // Unknown-outcome writes may have been applied, but at most once (also covered by `duplicated`).
  const failedApplied = failed.filter((x) => counts.has(x.value)).length

  // Delivery delay: acknowledgement → watcher, per write; the worst is the gap a kill caused.
  const delays = acked
    .map((x) => {
      const e = seen.find((s) => s.value === x.value)
      return e ? e.at - x.at : null
    })
    .filter((d) => d !== null)
  const maxDelay = Math.max(0, ...delays)
  const disconnects = timeline.filter((x) => x.what.startsWith('disconnected'))

  console.log(
    `# watch across kills: writes=${writes.length} acked=${acked.length} failed=${failed.length} (applied anyway: ${failedApplied}) ` +
      `events=${seen.length} disconnects=${disconnects.length} max ack->event delay=${maxDelay} ms ` +
      `kills=${JSON.stringify(kills)}`,
  )
  for (const x of failed) console.log(`#   failed write ${x.value}: ${describeError(x.error)}`)
  for (const x of timeline) console.log(`#   +${x.at - timeline[0].at} ms ${x.what}`)

  assert.equal(fatal, null, `the watcher failed: ${describeError(fatal)}`)
  assert.ok(acked.length > 100, `too few acknowledged writes (${acked.length}) to prove anything`)
  assert.ok(disconnects.length >= 1, 'the watcher was never disconnected: no kill hit its stream')
  assert.deepEqual(duplicated, [], 'events delivered twice')
  assert.deepEqual(missing, [], 'acknowledged writes never delivered')
  assert.deepEqual(unexpected, [])
  assert.deepEqual(outOfOrder, [], 'events out of revision order')
  assert.deepEqual(wrongRevision, [], 'an event whose revision differs from the acknowledged one')
  assert.deepEqual(notRecoverable, [], 'a write failed with a non-recoverable error class')

  // Never applied twice: every key was written once, so every key must be at version 1.
  const reader = makeClient({ hosts: cluster.endpoints })
  const stored = await reader.getAll().prefix(p).exec()
  const twice = stored.kvs.filter((kv) => kv.version !== '1').map((kv) => `${kv.key}@v${kv.version}`)
  assert.deepEqual(twice, [], 'a write applied more than once')
  assert.equal(stored.kvs.length, acked.length + failedApplied)
})

test('reads keep working while one member is down (clients connected before and after the kill)', { timeout: 120_000 }, async () => {
  await healAll()
  const p = `cluster-reads/${Date.now()}/`
  const early = makeClient({ hosts: cluster.endpoints })
  await early.put(`${p}k`).value('v')
  for (let i = 0; i < 6; i++) assert.equal(await early.get(`${p}k`).string(), 'v') // touches every member
  const victim = 1
  await cluster.kill(victim)
  try {
    await cluster.waitForLeader(15_000) // if it was the leader: reads during the election are etcd's business
    const late = makeClient({ hosts: cluster.endpoints })
    const results = []
    for (const [name, c] of [
      ['early', early],
      ['late', late],
    ]) {
      for (let i = 0; i < 15; i++) {
        const r = await timed((signal) => c.get(`${p}k`).options({ signal }).string(), 10_000)
        results.push({ name, i, ...r })
        const s = await timed((signal) => c.get(`${p}k`).serializable(true).options({ signal }).string(), 10_000)
        results.push({ name: `${name}/serializable`, i, ...s })
      }
    }
    const bad = results.filter((r) => !r.ok || r.value !== 'v').map((r) => `${r.name}#${r.i}: ${r.ok ? r.value : describeError(r.error)} (${r.ms} ms)`)
    const slowest = Math.max(...results.map((r) => r.ms))
    console.log(`# reads with member ${victim} down: ${results.length} reads, slowest ${slowest} ms`)
    assert.deepEqual(bad, [])
  } finally {
    await cluster.restart(victim)
  }
})

test('writes with a member down: refused connections fail over; none is applied twice', { timeout: 120_000 }, async () => {
  await healAll()
  const p = `cluster-writes/${Date.now()}/`
  const early = makeClient({ hosts: cluster.endpoints })
  for (let i = 0; i < 6; i++) await early.put(`${p}warm${i}`).value('x') // a connection to every member
  // A follower: killing the leader makes etcd itself fail in-flight writes ('request timed out'), which is
  // not what this test is about (the watch test above kills leaders).
  const leader = await cluster.waitForLeader(15_000)
  const victim = leader === 0 ? 1 : 0
  await cluster.kill(victim)
  try {
    // Listed first, the dead member refuses every connection: the write never left, so it must move on.
    const late = makeClient({ hosts: [cluster.endpoints[victim], ...cluster.endpoints.filter((_, i) => i !== victim)] })
    const lateResults = []
    for (let i = 0; i < 12; i++) {
      lateResults.push(await timed((signal) => late.put(`${p}late/${i}`).value(`late${i}`).options({ signal }), 10_000))
    }
    const lateBad = lateResults.map((r, i) => (r.ok ? null : `late/${i}: ${describeError(r.error)}`)).filter(Boolean)

    // A client whose connection to the victim was live: a write in flight there may fail (unknown outcome),
    // later ones reconnect, are refused and fail over.
    const earlyResults = []
    for (let i = 0; i < 12; i++) {
      earlyResults.push(await timed((signal) => early.put(`${p}early/${i}`).value(`early${i}`).options({ signal }), 10_000))
    }
    const earlyBadClass = earlyResults.filter((r) => !r.ok && !isRecoverableError(r.error)).map((r) => describeError(r.error))
    const earlyFailed = earlyResults.filter((r) => !r.ok).length

    // Only the dead member: a recoverable error, quickly.
    const lonely = makeClient({ hosts: [cluster.endpoints[victim]] })
    const alone = await timed((signal) => lonely.put(`${p}alone`).value('x').options({ signal }), 10_000)

    console.log(`# writes with member ${victim} down: new client ${lateResults.length - lateBad.length}/${lateResults.length} ok; connected client ${earlyResults.length - earlyFailed}/${earlyResults.length} ok`)
    assert.deepEqual(lateBad, [], 'writes to a refusing member must fail over to a live one')
    assert.deepEqual(earlyBadClass, [])
    assert.equal(alone.ok, false)
    assert.ok(isRecoverableError(alone.error), describeError(alone.error))
    assert.equal(alone.error.constructor.name, 'GRPCUnavailableError')
    assert.ok(alone.ms < 5000, `a refused single-host write took ${alone.ms} ms`)

    const reader = makeClient({ hosts: cluster.endpoints.filter((_, i) => i !== victim) })
    const stored = await reader.getAll().prefix(`${p}`).exec()
    assert.deepEqual(
      stored.kvs.filter((kv) => kv.version !== '1').map((kv) => kv.key.toString()),
      [],
      'a write applied twice',
    )
    assert.equal(await reader.getAll().prefix(`${p}late/`).count(), 12)
    assert.equal(await reader.get(`${p}alone`).exists(), false)
  } finally {
    await cluster.restart(victim)
  }
})

test('a broken connection mid-call: a read is retried on another member, a write is not re-sent', { timeout: 120_000 }, async (t) => {
  await healAll()
  const proxy = await cutProxy(cluster.endpoints[0])
  t.after(() => proxy.close())
  const c = makeClient({ hosts: [proxy.url, cluster.endpoints[1], cluster.endpoints[2]] })
  const p = `cluster-cut/${Date.now()}/`
  const admin = makeClient({ hosts: cluster.endpoints })
  await admin.put(`${p}r`).value('v')
  for (let i = 0; i < 3; i++) await c.get(`${p}r`).string() // a connection to every member, the proxy's too

  // Round-robin decides which member a call starts on: arm the cut and call until one went through the proxy.
  const reads = []
  for (let i = 0; i < 6 && proxy.state.cuts === 0; i++) {
    proxy.cutNext()
    const before = proxy.state.cuts
    const r = await timed((signal) => c.get(`${p}r`).options({ signal }).string(), 10_000)
    reads.push({ cut: proxy.state.cuts > before, ...r })
  }
  proxy.state.cutting = false
  const cutRead = reads.find((r) => r.cut)
  assert.ok(cutRead, 'no read went through the proxy')
  console.log(`# read through a broken connection: ${cutRead.ok ? `answered '${cutRead.value}'` : describeError(cutRead.error)} after ${cutRead.ms} ms`)

  const writes = []
  const cutsBefore = proxy.state.cuts
  for (let i = 0; i < 6 && proxy.state.cuts === cutsBefore; i++) {
    proxy.cutNext()
    const before = proxy.state.cuts
    const key = `${p}w${i}`
    const r = await timed((signal) => c.put(key).value('once').options({ signal }), 10_000)
    writes.push({ key, cut: proxy.state.cuts > before, ...r })
  }
  proxy.state.cutting = false
  const cutWrite = writes.find((w) => w.cut)
  assert.ok(cutWrite, 'no write went through the proxy')
  const stored = (await admin.get(cutWrite.key).exec()).kvs[0]
  console.log(`# write through a broken connection: ${cutWrite.ok ? 'ok' : describeError(cutWrite.error)}; stored version ${stored && stored.version}`)

  assert.equal(stored && stored.version, '1', 'the write was applied exactly once (it reached etcd before the cut)')
  assert.ok(cutWrite.ok || isRecoverableError(cutWrite.error), describeError(cutWrite.error))
  assert.ok(cutRead.ok, `the read must be retried on another member: ${describeError(cutRead.error)}`)
  assert.equal(cutRead.value, 'v')
})

test('dialTimeout: a member that accepts TCP but never answers costs about dialTimeout, then calls fail over', { timeout: 180_000 }, async (t) => {
  await healAll()
  // Accepts connections (the kernel completes the handshake) and never reads or writes a byte.
  const stall = await stallServer({ pauseOnConnect: true })
  t.after(() => stall.close())
  const dialTimeout = 1000
  const c = makeClient({ hosts: [stall.url, ...cluster.endpoints], dialTimeout })
  const p = `cluster-dial/${Date.now()}/`
  const limit = dialTimeout + 4000 // generous: 2 shared cores
  const results = []
  for (let i = 0; i < 4; i++) {
    results.push({ what: `get#${i}`, ...(await timed((signal) => c.get(`${p}k`).options({ signal }).string(), limit)) })
  }
  for (let i = 0; i < 4; i++) {
    results.push({ what: `put#${i}`, ...(await timed((signal) => c.put(`${p}k${i}`).value(String(i)).options({ signal }), limit)) })
  }
  console.log(`# dialTimeout ${dialTimeout} ms with a silent member: ${results.map((r) => `${r.what} ${r.ok ? 'ok' : describeError(r.error)} ${r.ms} ms`).join('; ')}`)
  const reads = results.filter((r) => r.what.startsWith('get'))
  const puts = results.filter((r) => r.what.startsWith('put'))
  assert.deepEqual(
    reads.filter((r) => !r.ok).map((r) => `${r.what}: ${describeError(r.error)} after ${r.ms} ms`),
    [],
    'reads must fail over from the silent member within about dialTimeout',
  )
  // A write may not be re-sent if it could have reached the member; then it fails, but within about dialTimeout.
  assert.deepEqual(
    puts.filter((r) => !r.ok && !(isRecoverableError(r.error) && r.ms < limit)).map((r) => `${r.what}: ${describeError(r.error)} after ${r.ms} ms`),
    [],
  )
  const reader = makeClient({ hosts: cluster.endpoints })
  const stored = await reader.getAll().prefix(p).exec()
  assert.ok(stored.kvs.every((kv) => kv.version === '1'))
})
