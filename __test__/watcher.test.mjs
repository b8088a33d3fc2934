// Watcher (spec node-etcd.md section 9, etcd-protocol.md section 2): node-etcd's events, payloads and
// index tracking against a real etcd 3.5.1, plus what etcd-napi fixes: prompt outage reports, no lost
// or duplicated events across member failures, no request after stop(), throwing listeners and
// missing 'error' listeners that do not break the loop, async iteration, many watchers per client.
// Loopback servers of our own stand in for etcd where we need exact control (request counts,
// malformed answers, a poll that dies after registration).
//
// Run: node --test __test__/watcher.test.mjs

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { EventEmitter } from 'node:events'
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { sleep, until as untilEvery, refusedUrl } from './helpers/common.mjs'

const require = createRequire(import.meta.url)
const Etcd = require('../index.js')
const { startEtcd, startCluster } = require('../testing/index.js')
const ENTRY = fileURLToPath(new URL('../index.js', import.meta.url))

// Client-level fast retries would change timings measured here.
delete process.env.RUNNING_UNIT_TESTS

const main = await startEtcd()
after(() => main.stop())

const ALL_EVENTS = ['change', 'set', 'update', 'create', 'delete', 'expire', 'compareAndSwap', 'compareAndDelete', 'reconnect', 'resync', 'error', 'stop']
let seq = 0
const uniq = (prefix) => `${prefix}-${process.pid}-${++seq}`

// Predicates here read in-process logs: poll every 10 ms.
const until = (pred, ms, what) => untilEvery(pred, ms, what, { every: 10 })

// Every event the watcher emits, in order, with its arguments and arrival time.
function record(w, names = ALL_EVENTS) {
  const log = []
  for (const name of names) w.on(name, (...args) => log.push({ name, args, at: Date.now() }))
  return log
}

const changes = (log) => log.filter((e) => e.name === 'change').map((e) => e.args[0])

function watcherFor(t, etcd, ...args) {
  const w = etcd.watcher(...args)
  t.after(() => {
    if (!w.stopped) w.stop()
  })
  return w
}

// etcd's v2 store stats count the watchers currently registered on that member.
async function watcherCount(etcd) {
  return (await etcd.raw('GET', '/v2/stats/store')).watchers
}

// Watchers started from `null` miss writes made before etcd registered them: wait for registration.
async function registered(etcd, count, ms = 10_000) {
  const end = Date.now() + ms
  for (;;) {
    const n = await watcherCount(etcd)
    if (n >= count) return
    if (Date.now() > end) throw new Error(`only ${n} of ${count} watchers registered after ${ms} ms`)
    await sleep(20)
  }
}

// --- a loopback server playing etcd ----------------------------------------------------------------

// `answer(req, res, n)` handles the n-th request (0-based); a request it leaves unanswered stays open,
// as a long-poll does. Every request is recorded with its arrival time.
async function fakeEtcd(t, answer) {
  const requests = []
  const sockets = new Set()
  const server = http.createServer((req, res) => {
    const n = requests.length
    requests.push({ method: req.method, target: req.url, at: Date.now() })
    answer(req, res, n)
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const url = `http://127.0.0.1:${server.address().port}`
  t.after(
    () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  )
  return { url, requests }
}

const JSON_HEADERS = { 'content-type': 'application/json' }

function reply(res, status, body, index = 4) {
  res.writeHead(status, { ...JSON_HEADERS, 'x-etcd-index': String(index) })
  res.end(typeof body === 'string' ? body : JSON.stringify(body))
}

// What etcd does on registration: headers at once, body only when an event happens.
function hold(res, index = 4) {
  res.writeHead(200, { ...JSON_HEADERS, 'x-etcd-index': String(index) })
  res.flushHeaders()
}

// --- child processes --------------------------------------------------------------------------------

// Runs `script` (CommonJS) in a child with `Etcd`, `env(name)`, `sleep` and `mark(name, extra)` ("name ms
// extra" on stdout) predefined. Asynchronous, so servers in this process keep answering the child.
function runChild(t, script, env = {}, timeout = 20_000, nodeArgs = []) {
  const prelude = `
    const Etcd = require(process.env.ENTRY)
    const env = (name) => process.env[name]
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
    const mark = (name, extra = '') => console.log(name + ' ' + Date.now() + (extra === '' ? '' : ' ' + extra))
  `
  const childEnv = { ...process.env, ENTRY, ...env }
  delete childEnv.RUNNING_UNIT_TESTS
  delete childEnv.NODE_TEST_CONTEXT
  const child = spawn(process.execPath, [...nodeArgs, '-e', prelude + script], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  return new Promise((resolve) => {
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeout)
    child.on('exit', (code, signal) => {
      const exited = Date.now()
      clearTimeout(timer)
      // Let the pipes drain.
      setTimeout(() => {
        const marks = {}
        const all = []
        for (const line of stdout.split('\n')) {
          const m = /^(\S+) (\d+)(?: (.*))?$/.exec(line)
          if (!m) continue
          const entry = { name: m[1], at: Number(m[2]), extra: m[3] }
          all.push(entry)
          if (!marks[m[1]]) marks[m[1]] = entry
        }
        resolve({ code, signal, timedOut, stdout, stderr, exited, marks, all })
      }, 50)
    })
  })
}

// --- basic shape ------------------------------------------------------------------------------------

test('watcher() returns an Etcd.Watcher EventEmitter; stop() emits the message, closes the poll and silences it', { timeout: 30_000 }, async (t) => {
  const etcd = new Etcd(main.endpoints)
  const key = uniq('/shape')
  const before = await watcherCount(etcd)
  const w = watcherFor(t, etcd, key)
  assert.ok(w instanceof Etcd.Watcher)
  assert.ok(w instanceof EventEmitter)
  assert.equal(w.key, key)
  assert.equal(w.index, null)
  assert.deepEqual(w.options, {})
  assert.equal(w.stopped, false)
  assert.equal(w.retryAttempts, 0)
  // `watcher` is bound to the instance (node-etcd hands it around as a function).
  const detached = etcd.watcher
  const w2 = detached(key)
  t.after(() => w2.stop())
  assert.ok(w2 instanceof Etcd.Watcher)
  await registered(etcd, before + 2)

  const log = record(w)
  assert.equal(w.stop(), true, "stop() returns emit()'s boolean (a listener exists)")
  assert.equal(w.stopped, true)
  assert.deepEqual(
    log.map((e) => [e.name, ...e.args]),
    [['stop', `Watcher for '${key}' aborted.`]],
  )
  // As in node-etcd, a second stop() emits 'stop' again.
  w.stop()
  assert.deepEqual(
    log.map((e) => e.name),
    ['stop', 'stop'],
  )
  w2.stop()
  // The long-poll is really closed: etcd drops both registrations.
  const end = Date.now() + 5000
  while ((await watcherCount(etcd)) > before && Date.now() < end) await sleep(20)
  assert.equal(await watcherCount(etcd), before, 'etcd still holds the stopped watchers')
  // Nothing but 'stop' after stop().
  await etcd.set(key, 'after-stop')
  await sleep(500)
  assert.deepEqual(
    log.map((e) => e.name),
    ['stop', 'stop'],
  )
})

// --- every action, live and replayed ---------------------------------------------------------------

// One of each v2 action on `key` (inside `dir`); returns what the writes answered, in order. The
// expiry has no write of its own: it is returned as null and checked separately.
async function everyAction(etcd, dir, key) {
  const writes = []
  writes.push(await etcd.set(key, 'a'))
  writes.push(await etcd.set(key, 'b', { prevExist: true }))
  writes.push(await etcd.compareAndSwap(key, 'c', 'b'))
  writes.push(await etcd.compareAndDelete(key, 'c'))
  writes.push(await etcd.set(key, 'd', { prevExist: false }))
  writes.push(await etcd.del(key))
  writes.push(await etcd.create(dir, 'queued'))
  writes.push(await etcd.set(key, 'e', { ttl: 1 }))
  return writes
}

const SINGLE_ACTIONS = ['set', 'update', 'compareAndSwap', 'compareAndDelete', 'create', 'delete', 'set', 'expire']
const TREE_ACTIONS = ['set', 'update', 'compareAndSwap', 'compareAndDelete', 'create', 'delete', 'create', 'set', 'expire']

// `log` must be change, <action>, change, <action>, ... with the same body and headers in each pair.
function assertPairs(log, actions, label) {
  const names = log.filter((e) => e.name !== 'stop').map((e) => e.name)
  assert.deepEqual(names, actions.flatMap((a) => ['change', a]), `${label}: event order`)
  for (let i = 0; i < log.length; i += 2) {
    const [change, action] = [log[i], log[i + 1]]
    assert.equal(action.args[0], change.args[0], `${label}: the action event carries the change body`)
    assert.equal(action.args[1], change.args[1], `${label}: the action event carries the change headers`)
    const headers = change.args[1]
    assert.equal(typeof headers, 'object', `${label}: headers object`)
    assert.match(headers['x-etcd-index'], /^\d+$/, `${label}: x-etcd-index header`)
    assert.match(headers['x-raft-term'], /^\d+$/, `${label}: x-raft-term header`)
    assert.match(headers['content-type'], /application\/json/)
  }
}

function assertBodies(bodies, writes, expireKey, label) {
  assert.equal(bodies.length, writes.length + 1, `${label}: number of changes`)
  writes.forEach((w, i) => assert.deepEqual(bodies[i], w, `${label}: change ${i} is what the write (${w.action}) answered`))
  const exp = bodies[writes.length]
  const last = writes[writes.length - 1]
  assert.equal(exp.action, 'expire')
  assert.equal(exp.node.key, expireKey)
  assert.ok(exp.node.modifiedIndex > last.node.modifiedIndex, `${label}: expiry after the TTL write`)
  assert.equal(exp.node.createdIndex, last.node.modifiedIndex)
  assert.equal(exp.prevNode.value, 'e')
  // Indexes strictly increase: each poll resumed at modifiedIndex + 1.
  for (let i = 1; i < bodies.length; i++) assert.ok(bodies[i].node.modifiedIndex > bodies[i - 1].node.modifiedIndex)
}

test('every action reaches single-key, recursive and #60 watchers (from null), then replays from an old index', { timeout: 60_000 }, async (t) => {
  const etcd = new Etcd(main.endpoints)
  const dir = uniq('/acts')
  const key = `${dir}/k`
  const base = await watcherCount(etcd)
  const single = watcherFor(t, etcd, key)
  const tree = watcherFor(t, etcd, dir, null, { recursive: true })
  // node-etcd #60: options in the index slot. node-etcd made this a non-recursive watch.
  const slot = watcherFor(t, etcd, dir, { recursive: true })
  assert.equal(slot.index, null)
  assert.deepEqual(slot.options, { recursive: true })
  const logs = { single: record(single), tree: record(tree), slot: record(slot) }
  await registered(etcd, base + 3)

  const writes = await everyAction(etcd, dir, key)
  const treeOnly = writes[6]
  assert.equal(treeOnly.action, 'create')
  assert.match(treeOnly.node.key, new RegExp(`^${dir}/\\d+$`))
  const singleWrites = writes.filter((w) => w !== treeOnly)

  // TTL 1 s: etcd expires keys on its leader's tick; allow plenty.
  await until(() => changes(logs.single).length >= SINGLE_ACTIONS.length && changes(logs.tree).length >= TREE_ACTIONS.length && changes(logs.slot).length >= TREE_ACTIONS.length, 15_000, 'all changes incl. the expiry')
  await sleep(300) // nothing extra may follow
  assertPairs(logs.single, SINGLE_ACTIONS, 'single')
  assertPairs(logs.tree, TREE_ACTIONS, 'recursive')
  assertPairs(logs.slot, TREE_ACTIONS, 'options in the index slot')
  assertBodies(changes(logs.single), singleWrites, key, 'single')
  assertBodies(changes(logs.tree), writes, key, 'recursive')
  assertBodies(changes(logs.slot), writes, key, 'options in the index slot')
  const lastIndex = changes(logs.single).at(-1).node.modifiedIndex
  for (const w of [single, tree, slot]) {
    assert.equal(w.index, lastIndex + 1, 'index = last modifiedIndex + 1')
    assert.equal(w.retryAttempts, 0)
  }

  // From an old index: history is replayed in order; every answer comes from history, so its
  // X-Etcd-Index is at or past the event (the headers are the ones of each poll).
  const from = writes[0].node.modifiedIndex
  const replaySingle = watcherFor(t, etcd, key, from)
  const replayTree = watcherFor(t, etcd, dir, from, { recursive: true })
  assert.equal(replaySingle.index, from)
  const rlogs = { single: record(replaySingle), tree: record(replayTree) }
  await until(() => changes(rlogs.single).length >= SINGLE_ACTIONS.length && changes(rlogs.tree).length >= TREE_ACTIONS.length, 10_000, 'replayed history')
  await sleep(300)
  assertPairs(rlogs.single, SINGLE_ACTIONS, 'replay single')
  assertPairs(rlogs.tree, TREE_ACTIONS, 'replay recursive')
  assert.deepEqual(changes(rlogs.single), changes(logs.single), 'replay equals the live single-key stream')
  assert.deepEqual(changes(rlogs.tree), changes(logs.tree), 'replay equals the live recursive stream')
  for (const e of rlogs.single.filter((x) => x.name === 'change')) {
    assert.ok(Number(e.args[1]['x-etcd-index']) >= e.args[0].node.modifiedIndex, 'replayed answer has X-Etcd-Index >= modifiedIndex')
  }
  assert.equal(replaySingle.index, lastIndex + 1)
})

test('a single watcher delivers each write promptly (delivery latency)', { timeout: 30_000 }, async (t) => {
  const etcd = new Etcd(main.endpoints)
  const key = uniq('/latency')
  const start = await etcd.set(key, 'start')
  const w = watcherFor(t, etcd, key, start.node.modifiedIndex + 1)
  const got = []
  w.on('change', (b) => got.push({ value: b.node.value, at: performance.now() }))
  const lat = []
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now()
    await etcd.set(key, String(i))
    await until(() => got.length > i, 5000, `change ${i}`)
    lat.push(got[i].at - t0)
  }
  assert.deepEqual(
    got.map((g) => g.value),
    Array.from({ length: 30 }, (_, i) => String(i)),
  )
  lat.sort((a, b) => a - b)
  const median = lat[15]
  t.diagnostic(`write-to-change latency over 30 writes: median ${median.toFixed(1)} ms, max ${lat.at(-1).toFixed(1)} ms`)
  assert.ok(median < 500, `median delivery latency ${median} ms`)
})

// --- resync ---------------------------------------------------------------------------------------------

test('an index outside the 1000-event window gives resync (etcd 401) and then the next change', { timeout: 120_000 }, async (t) => {
  const cluster = await startEtcd()
  t.after(() => cluster.stop())
  const etcd = new Etcd(cluster.endpoints)
  const old = await etcd.set('/resync/watched', 'old')
  const oldIndex = old.node.modifiedIndex
  // 1100 writes to another key push oldIndex out of the global 1000-event history.
  for (let i = 0; i < 1100; i += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, j) => etcd.set('/resync/noise', String(i + j))))
  }
  const w = watcherFor(t, etcd, '/resync/watched', oldIndex)
  const log = record(w)
  await until(() => log.length >= 1, 10_000, 'resync')
  const [first] = log
  assert.equal(first.name, 'resync')
  const err = first.args[0]
  assert.ok(err instanceof Error)
  assert.equal(err.errorCode, 401)
  assert.equal(err.code, 'ETCD_EVENT_INDEX_CLEARED')
  assert.equal(err.message, 'The event in requested index is outdated and cleared')
  assert.equal(err.error.errorCode, 401)
  assert.equal(typeof err.error.index, 'number')
  assert.ok(err.error.index >= oldIndex + 1100)
  // node-etcd resumes at etcd's current index (not + 1).
  assert.equal(w.index, err.error.index)
  assert.equal(w.retryAttempts, 0)

  const next = await etcd.set('/resync/watched', 'new')
  await until(() => log.some((e) => e.name === 'change'), 10_000, 'the change after resync')
  await sleep(200)
  assert.deepEqual(
    log.map((e) => e.name),
    ['resync', 'change', 'set'],
  )
  assert.deepEqual(log[1].args[0], next)
  assert.equal(w.index, next.node.modifiedIndex + 1)
})

// --- outages -------------------------------------------------------------------------------------------

test('single member killed under a watcher: reconnect within ~1 s, then every later change exactly once', { timeout: 120_000 }, async (t) => {
  const cluster = await startEtcd()
  t.after(() => cluster.stop())
  const etcd = new Etcd(cluster.endpoints)
  const key = '/outage/k'
  const first = await etcd.set(key, 'pre-0')
  const w = watcherFor(t, etcd, key, first.node.modifiedIndex)
  const log = record(w)
  const acked = [first]
  for (let i = 1; i < 5; i++) acked.push(await etcd.set(key, `pre-${i}`))
  await until(() => changes(log).length >= 5, 10_000, 'pre-outage changes')
  await sleep(200) // the watcher is now parked in a long-poll

  const killedAt = Date.now()
  await cluster.kill(0)
  await until(() => log.some((e) => e.name === 'reconnect'), 10_000, 'reconnect after the kill')
  const rc = log.find((e) => e.name === 'reconnect')
  const latency = rc.at - killedAt
  t.diagnostic(`first reconnect ${latency} ms after SIGKILL of the only member`)
  assert.ok(latency < 3000, `reconnect came ${latency} ms after the kill`)
  const err = rc.args[0]
  assert.equal(err.message, 'Connection error, reconnecting.')
  assert.equal(err.code, 'ETCD_WATCH_RECONNECT')
  assert.equal(err.reconnectCount, 0)
  assert.equal(err.error.message, 'All servers returned error')
  assert.ok(Array.isArray(err.error.errors) && err.error.errors.length === 1, 'one attempt per member')
  assert.equal(err.error.errors[0].server, cluster.endpoints[0])

  // Stay down long enough for a second reconnect (backoff 300..1300 ms), then come back.
  await until(() => log.filter((e) => e.name === 'reconnect').length >= 2, 10_000, 'second reconnect')
  assert.equal(log.filter((e) => e.name === 'reconnect')[1].args[0].reconnectCount, 1)
  await cluster.restart(0)
  const post = []
  for (let i = 0; i < 20; i++) {
    post.push(await etcd.set(key, `post-${i}`))
    await sleep(20)
  }
  acked.push(...post)
  const lastIndex = post.at(-1).node.modifiedIndex
  await until(() => changes(log).some((b) => b.node.modifiedIndex >= lastIndex), 30_000, 'the last post-restart change')
  await sleep(500) // duplicates would show up here
  const got = changes(log).map((b) => [b.node.modifiedIndex, b.node.value])
  const want = acked.map((b) => [b.node.modifiedIndex, b.node.value])
  assert.deepEqual(got, want, 'every acknowledged write exactly once, in order')
  assert.equal(w.index, lastIndex + 1)
  assert.equal(w.retryAttempts, 0)
  t.diagnostic(`reconnects during the outage: ${log.filter((e) => e.name === 'reconnect').length}`)
})

test('3-member cluster: killing the leader and the watcher\'s member under a steady writer loses and duplicates nothing', { timeout: 180_000 }, async (t) => {
  const cluster = await startCluster({ size: 3 })
  t.after(() => cluster.stop())
  const etcd = new Etcd(cluster.endpoints)
  const key = '/flow/k'
  const first = await etcd.set(key, 'start')
  const w = watcherFor(t, etcd, key, first.node.modifiedIndex + 1)
  const delivered = []
  const reconnects = []
  w.on('change', (b) => delivered.push(b))
  w.on('reconnect', (e) => reconnects.push(e))
  w.on('resync', (e) => reconnects.push(e))

  // Writer: one set every ~20 ms, bounded in count and time; only acknowledged writes are logged.
  const attempted = new Set()
  const acked = []
  let failures = 0
  const slow = [] // writes that took over a second: [value, ms, error?]
  const writeErrors = [] // [value, ms, message + per-member failures]
  let stopWriter = false
  let paused = false
  const writerDeadline = Date.now() + 90_000
  const writer = (async () => {
    for (let i = 0; i < 900 && !stopWriter && Date.now() < writerDeadline; i++) {
      while (paused && !stopWriter && Date.now() < writerDeadline) await sleep(5)
      const value = `v${i}`
      attempted.add(value)
      const t0 = Date.now()
      let error
      try {
        // One pass over the members per write: the client's own 1.6 s / 25.6 s retry waits would
        // stall the writer through every election.
        const b = await etcd.set(key, value, { maxRetries: 0 })
        acked.push(b)
      } catch (e) {
        failures++
        error = e
      }
      const took = Date.now() - t0
      if (error) writeErrors.push([value, took, `${error.message} ${JSON.stringify((error.errors || []).map((x) => [x.server, x.httperror && x.httperror.code, x.httpstatus, x.httpbody]))}`])
      if (took > 1000) slow.push([value, took, error ? 'failed' : 'ok'])
      await sleep(20)
    }
  })()

  // Which member holds the watcher's long-poll: each member's store stats count its own watchers.
  const perMember = cluster.endpoints.map((e) => new Etcd(e))
  const holders = async () => {
    const out = []
    for (let i = 0; i < perMember.length; i++) {
      try {
        const s = await perMember[i].raw('GET', '/v2/stats/store', null, { maxRetries: 0 })
        if (s.watchers > 0) out.push(i)
      } catch {}
    }
    return out
  }
  // Pauses the writer until the watcher has caught up and is parked on one member; returns it.
  const parkedOn = async () => {
    paused = true
    await sleep(100)
    const end = Date.now() + 10_000
    for (;;) {
      const last = acked.at(-1)
      const caughtUp = !last || delivered.some((b) => b.node.modifiedIndex >= last.node.modifiedIndex)
      const h = caughtUp ? await holders() : []
      if (h.length === 1) return h[0]
      if (Date.now() > end) {
        const lastDelivered = delivered.at(-1)
        throw new Error(`watcher not parked on exactly one member: holders ${JSON.stringify(h)}, caught up ${caughtUp} (last acked ${last && last.node.modifiedIndex}, last delivered ${lastDelivered && lastDelivered.node.modifiedIndex}, watcher.index ${w.index}), rounds so far ${JSON.stringify(rounds)}, reconnects ${reconnects.map((e) => e.message + '/' + (e.error && e.error.message)).join(', ')}`)
      }
      await sleep(20)
    }
  }

  // Round 1 kills the leader (an election under the writer); rounds 2-4 kill whichever member
  // the watcher's open poll is on, so its poll dies after registration every time.
  const rounds = []
  for (let round = 0; round < 4; round++) {
    await sleep(800)
    const holder = await parkedOn()
    const victim = round === 0 ? await cluster.waitForLeader(15_000) : holder
    await cluster.kill(victim)
    paused = false
    rounds.push(`${victim === holder ? 'watcher' : 'other'} member ${victim}${round === 0 ? ' (leader)' : ''}`)
    await sleep(1200)
    await cluster.restart(victim)
    await cluster.waitForLeader(15_000)
  }
  t.diagnostic(`killed: ${rounds.join('; ')}`)
  // A leader kill can hold one write for several seconds (election, then etcd's request timeout):
  // keep writing until the cluster has taken a good number of writes after the last kill.
  const afterKills = acked.length
  await until(() => acked.length >= afterKills + 50, 40_000, 'writes after the last restart')
  stopWriter = true
  await writer
  t.diagnostic(`slow writes: ${JSON.stringify(slow)}`)
  if (failures > 0) t.diagnostic(`failed writes: ${failures}; first ones: ${JSON.stringify(writeErrors.slice(0, 3))}`)
  const lastIndex = acked.at(-1).node.modifiedIndex
  await until(() => delivered.some((b) => b.node.modifiedIndex >= lastIndex), 30_000, 'the last acknowledged write')
  await sleep(500)

  const idx = delivered.map((b) => b.node.modifiedIndex)
  for (let i = 1; i < idx.length; i++) assert.ok(idx[i] > idx[i - 1], `out of order or duplicated at ${i}: ${idx[i - 1]} then ${idx[i]}`)
  const byIndex = new Map(delivered.map((b) => [b.node.modifiedIndex, b.node.value]))
  const missing = acked.filter((b) => byIndex.get(b.node.modifiedIndex) !== b.node.value)
  assert.deepEqual(
    missing.map((b) => b.node.modifiedIndex),
    [],
    'acknowledged writes never delivered',
  )
  // Events beyond the acknowledged log can only be writes whose answer was lost in a kill (a write
  // committed by a dying member may also be committed again by the member the client fails over to).
  const ackedIdx = new Set(acked.map((b) => b.node.modifiedIndex))
  const extra = delivered.filter((b) => !ackedIdx.has(b.node.modifiedIndex))
  for (const b of extra) assert.ok(attempted.has(b.node.value), `unexpected event ${JSON.stringify(b)}`)
  if (extra.length > 0) t.diagnostic(`committed but unacknowledged writes: ${extra.map((b) => `${b.node.value}@${b.node.modifiedIndex}`).join(', ')}`)
  assert.equal(reconnects.filter((e) => e.code === 'ETCD_EVENT_INDEX_CLEARED').length, 0, 'no resync')
  t.diagnostic(`writes acked ${acked.length}, failed ${failures}, delivered ${delivered.length}, reconnect events ${reconnects.length}${reconnects.map((e) => ` [${e.message} / ${e.error && e.error.message} ${JSON.stringify(((e.error && e.error.errors) || []).map((x) => (x.httperror && x.httperror.code) || x.httpstatus))}]`).join('')}`)
})

test('every member unreachable: one reconnect per pass over all members, promptly', { timeout: 30_000 }, async (t) => {
  const hosts = [await refusedUrl(), await refusedUrl(), await refusedUrl()]
  const etcd = new Etcd(hosts)
  const started = Date.now()
  const w = watcherFor(t, etcd, '/nowhere')
  const log = record(w)
  await until(() => log.some((e) => e.name === 'reconnect'), 5000, 'reconnect')
  const latency = log[0].at - started
  t.diagnostic(`first reconnect ${latency} ms after starting against 3 refused ports`)
  assert.ok(latency < 3000)
  const err = log[0].args[0]
  assert.equal(err.error.message, 'All servers returned error')
  assert.deepEqual(err.error.errors.map((e) => e.server).sort(), [...hosts].sort(), 'every member tried once')
  for (const e of err.error.errors) assert.equal(e.httperror.code, 'ECONNREFUSED')
})

test('a constructor timeout shorter than the quiet period: timeout reconnects without backoff, nothing lost', { timeout: 30_000 }, async (t) => {
  const etcd = new Etcd(main.endpoints, { timeout: 300 })
  const key = uniq('/quiet')
  const start = await etcd.set(key, 'start')
  const w = watcherFor(t, etcd, key, start.node.modifiedIndex + 1)
  const log = record(w)
  await sleep(2500)
  const t0 = Date.now()
  const b = await etcd.set(key, 'late')
  await until(() => changes(log).length >= 1, 10_000, 'the change after the quiet period')
  const lag = log.find((e) => e.name === 'change').at - t0
  const early = log.filter((e) => e.name === 'reconnect' && e.at < t0)
  t.diagnostic(`${early.length} timeout reconnects in 2.5 s; change delivered ${lag} ms after the write`)
  assert.ok(early.length >= 3, 'polls were cut by the timeout')
  for (const e of early) assert.equal(e.args[0].code, 'ETCD_WATCH_TIMEOUT')
  assert.equal(w.retryAttempts, 0, 'no backoff counter growth')
  assert.ok(lag < 1000, `change came ${lag} ms after the write (a backoff would delay it)`)
  assert.deepEqual(changes(log), [b])
})

test('a watcher nobody references keeps watching through garbage collection', { timeout: 30_000 }, async (t) => {
  const etcd = new Etcd(main.endpoints)
  const key = uniq('/gc')
  const start = await etcd.set(key, 'start')
  const r = await runChild(
    t,
    `
    const etcd = new Etcd(env('ENDPOINT'))
    let got = 0
    ;(() => {
      etcd.watcher(env('KEY'), Number(env('FROM'))).on('change', (b) => { got++; mark('change', b.node.value) })
    })()
    ;(async () => {
      for (let i = 0; i < 5; i++) { global.gc(); await sleep(50) }
      await etcd.set(env('KEY'), 'after-gc')
      const end = Date.now() + 5000
      while (got === 0 && Date.now() < end) await sleep(20)
      mark('end', String(got))
      process.exit(0)
    })()
  `,
    { ENDPOINT: main.endpoints[0], KEY: key, FROM: String(start.node.modifiedIndex + 1) },
    20_000,
    ['--expose-gc'],
  )
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.marks.change && r.marks.change.extra, 'after-gc', r.stdout)
})

// --- the loop, against a scripted server -------------------------------------------------------------

test('first request: wait=true, waitIndex only with an index, options travel along (#60 in the index slot)', { timeout: 30_000 }, async (t) => {
  const fake = await fakeEtcd(t, (req, res) => hold(res))
  const etcd = new Etcd(fake.url)
  watcherFor(t, etcd, '/a')
  watcherFor(t, etcd, '/b', 7)
  watcherFor(t, etcd, '/c', 0)
  watcherFor(t, etcd, '/d', { recursive: true })
  // The loop owns wait/waitIndex; the caller's object is left as it was (node-etcd mutated it).
  const opts = { recursive: true, waitIndex: 99, wait: false }
  watcherFor(t, etcd, '/e', null, opts)
  watcherFor(t, etcd, '/f g/ü?#', '12')
  await until(() => fake.requests.length >= 6, 5000, 'six requests')
  const targets = fake.requests.map((r) => r.target).sort()
  assert.deepEqual(targets, [
    '/v2/keys/a?wait=true',
    '/v2/keys/b?waitIndex=7&wait=true',
    '/v2/keys/c?waitIndex=0&wait=true',
    '/v2/keys/d?recursive=true&wait=true',
    '/v2/keys/e?recursive=true&wait=true',
    '/v2/keys/f%20g/%C3%BC%3F%23?waitIndex=12&wait=true',
  ])
  assert.deepEqual(opts, { recursive: true, waitIndex: 99, wait: false })
  assert.throws(() => etcd.watcher('/h', -1), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => etcd.watcher('/h', 1.5), { code: 'ERR_INVALID_ARG_VALUE' })
})

test('an empty 200 is a timeout: reconnect, immediate re-watch after its X-Etcd-Index', { timeout: 30_000 }, async (t) => {
  const fake = await fakeEtcd(t, (req, res, n) => {
    if (n === 0) reply(res, 200, '', 41)
    else hold(res, 42)
  })
  const w = watcherFor(t, new Etcd(fake.url), '/t', 5)
  const log = record(w)
  await until(() => fake.requests.length >= 2, 5000, 'the re-watch')
  assert.deepEqual(
    log.map((e) => e.name),
    ['reconnect'],
  )
  const err = log[0].args[0]
  assert.equal(err.message, 'Etcd timed out watcher, reconnecting.')
  assert.equal(err.code, 'ETCD_WATCH_TIMEOUT')
  assert.equal(err.headers['x-etcd-index'], '41')
  assert.equal(fake.requests[1].target, '/v2/keys/t?waitIndex=42&wait=true')
  const gap = fake.requests[1].at - fake.requests[0].at
  assert.ok(gap < 300, `re-watch came ${gap} ms later (no backoff expected)`)
  assert.equal(w.index, 42)
  assert.equal(w.retryAttempts, 0)
})

test('a poll that dies after registration: reconnect with the transport error, resume after its X-Etcd-Index, backoff', { timeout: 30_000 }, async (t) => {
  const fake = await fakeEtcd(t, (req, res, n) => {
    if (n === 0) {
      hold(res, 50)
      setTimeout(() => res.socket.destroy(), 100)
    } else hold(res, 51)
  })
  const w = watcherFor(t, new Etcd(fake.url), '/dies', 10)
  const log = record(w)
  await until(() => fake.requests.length >= 2, 5000, 'the re-watch')
  assert.deepEqual(
    log.map((e) => e.name),
    ['reconnect'],
  )
  const err = log[0].args[0]
  assert.equal(err.message, 'Connection error, reconnecting.')
  assert.equal(err.reconnectCount, 0)
  assert.equal(err.error.message, 'All servers returned error')
  assert.equal(err.error.errors.length, 1)
  assert.equal(err.error.errors[0].server, fake.url)
  assert.ok(err.error.errors[0].httperror, 'a transport error')
  // The poll asked for waitIndex=10 and etcd registered it at 50: etcd may have found an event in
  // 10..50 in its history and been sending it when the connection died, so the same index is
  // asked again (jumping to 51 could skip it).
  assert.equal(fake.requests[1].target, '/v2/keys/dies?waitIndex=10&wait=true')
  const gap = fake.requests[1].at - log[0].at
  assert.ok(gap >= 250 && gap <= 1300 + 400, `backoff of ${gap} ms, expected 300..1300`)
})

test('a poll without an index that dies after registration resumes after its X-Etcd-Index', { timeout: 30_000 }, async (t) => {
  const fake = await fakeEtcd(t, (req, res, n) => {
    if (n === 0) {
      hold(res, 50)
      setTimeout(() => res.socket.destroy(), 100)
    } else hold(res, 51)
  })
  const w = watcherFor(t, new Etcd(fake.url), '/dies-null', null)
  record(w)
  await until(() => fake.requests.length >= 2, 5000, 'the re-watch')
  // No waitIndex: etcd watched from its current index + 1, so nothing up to 50 can match.
  assert.equal(fake.requests[0].target, '/v2/keys/dies-null?wait=true')
  assert.equal(fake.requests[1].target, '/v2/keys/dies-null?waitIndex=51&wait=true')
})

test('an etcd error other than 401-with-index is a reconnect with backoff (real etcd, invalid field)', { timeout: 30_000 }, async (t) => {
  const w = watcherFor(t, new Etcd(main.endpoints), uniq('/bad'), null, { recursive: 'maybe' })
  const log = record(w)
  await until(() => log.filter((e) => e.name === 'reconnect').length >= 2, 10_000, 'two reconnects')
  const [a, b] = log.filter((e) => e.name === 'reconnect')
  assert.equal(a.args[0].message, 'Connection error, reconnecting.')
  assert.equal(a.args[0].error.errorCode, 209)
  assert.equal(a.args[0].error.code, 'ETCD_INVALID_FIELD')
  assert.deepEqual(
    [a.args[0].reconnectCount, b.args[0].reconnectCount],
    [0, 1],
  )
  const gap = b.at - a.at
  assert.ok(gap >= 250 && gap <= 1300 + 500, `first backoff ${gap} ms, expected 300..1300`)
  assert.equal(w.index, null)
})

test("unexpected answers emit 'error' (.response) and back off 2^n·300 + rand(0..1000) ms", { timeout: 30_000 }, async (t) => {
  const fake = await fakeEtcd(t, (req, res) => reply(res, 200, '{}'))
  const w = watcherFor(t, new Etcd(fake.url), '/odd')
  const errors = []
  w.on('error', (e) => errors.push({ e, retryAttempts: w.retryAttempts }))
  await until(() => fake.requests.length >= 3, 10_000, 'three requests')
  w.stop()
  const [r0, r1, r2] = fake.requests.map((r) => r.at)
  t.diagnostic(`backoffs ${r1 - r0} ms, ${r2 - r1} ms`)
  assert.ok(r1 - r0 >= 280 && r1 - r0 <= 1300 + 400, `first backoff ${r1 - r0} ms`)
  assert.ok(r2 - r1 >= 580 && r2 - r1 <= 1600 + 400, `second backoff ${r2 - r1} ms`)
  assert.ok(errors.length >= 2)
  assert.equal(errors[0].e.message, 'Received unexpected response')
  assert.equal(errors[0].e.code, 'ETCD_UNEXPECTED_RESPONSE')
  assert.deepEqual(errors[0].e.response, {})
  assert.deepEqual(
    errors.slice(0, 2).map((x) => x.retryAttempts),
    [0, 1],
  )
})

// --- stop() and listeners (child processes) -----------------------------------------------------------

test('stop() during the backoff: no further request, and the process exits', { timeout: 30_000 }, async (t) => {
  const fake = await fakeEtcd(t, (req, res, n) => {
    if (n === 0) reply(res, 400, { errorCode: 209, message: 'Invalid field', cause: 'x', index: 4 })
    else hold(res)
  })
  const r = await runChild(
    t,
    `
    const w = new Etcd(env('FAKE')).watcher('/bk')
    w.on('reconnect', () => {
      mark('reconnect')
      // Well inside the minimum 300 ms backoff.
      setTimeout(() => {
        w.stop()
        mark('stopped')
        setTimeout(() => mark('done'), 1500)
      }, 100)
    })
  `,
    { FAKE: fake.url },
  )
  assert.equal(r.timedOut, false, `child hung: ${r.stdout}${r.stderr}`)
  assert.equal(r.code, 0, r.stderr)
  assert.ok(r.marks.stopped && r.marks.done, r.stdout)
  assert.equal(fake.requests.length, 1, `requests after stop: ${JSON.stringify(fake.requests.slice(1))}`)
  const lag = r.exited - r.marks.done.at
  assert.ok(lag < 1500, `exited ${lag} ms after its last timer`)
})

test("stop() inside a 'change' listener: no action event, no further request, and the process exits", { timeout: 30_000 }, async (t) => {
  const fake = await fakeEtcd(t, (req, res, n) => {
    if (n === 0) reply(res, 200, { action: 'set', node: { key: '/ch', value: '1', modifiedIndex: 5, createdIndex: 5 } }, 4)
    else hold(res, 5)
  })
  const r = await runChild(
    t,
    `
    const w = new Etcd(env('FAKE')).watcher('/ch')
    w.on('change', (b) => {
      mark('change', b.node.value)
      w.stop()
      mark('stopped')
      setTimeout(() => mark('done'), 1500)
    })
    w.on('set', () => mark('set'))
    w.on('stop', (msg) => mark('stopEvent', JSON.stringify(msg)))
  `,
    { FAKE: fake.url },
  )
  assert.equal(r.timedOut, false, `child hung: ${r.stdout}${r.stderr}`)
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual(
    r.all.map((m) => m.name),
    ['change', 'stopEvent', 'stopped', 'done'],
  )
  assert.equal(r.marks.stopEvent.extra, JSON.stringify("Watcher for '/ch' aborted."))
  assert.equal(fake.requests.length, 1, `requests after stop: ${JSON.stringify(fake.requests.slice(1))}`)
  const lag = r.exited - r.marks.done.at
  assert.ok(lag < 1500, `exited ${lag} ms after its last timer`)
})

test('a throwing change listener: the exception is uncaught on a later tick and watching goes on', { timeout: 30_000 }, async (t) => {
  const etcd = new Etcd(main.endpoints)
  const key = uniq('/throws')
  const start = await etcd.set(key, 'start')
  const r = await runChild(
    t,
    `
    let uncaught = 0
    process.on('uncaughtException', (e) => { uncaught++; mark('uncaught', e.message) })
    const etcd = new Etcd(env('ENDPOINT'))
    const w = etcd.watcher(env('KEY'), Number(env('FROM')))
    let n = 0
    w.on('change', (b) => {
      n++
      mark('change', b.node.value)
      if (n === 1) throw new Error('boom')
    })
    w.on('set', (b) => mark('set', b.node.value))
    ;(async () => {
      for (const v of ['1', '2', '3']) { await etcd.set(env('KEY'), v); await sleep(50) }
      const end = Date.now() + 10000
      while (n < 3 && Date.now() < end) await sleep(20)
      await sleep(200)
      w.stop()
      mark('end', String(uncaught))
    })()
  `,
    { ENDPOINT: main.endpoints[0], KEY: key, FROM: String(start.node.modifiedIndex + 1) },
  )
  assert.equal(r.timedOut, false, `child hung: ${r.stdout}${r.stderr}`)
  assert.equal(r.code, 0, r.stderr)
  const values = (name) => r.all.filter((m) => m.name === name).map((m) => m.extra)
  assert.deepEqual(values('change'), ['1', '2', '3'])
  assert.deepEqual(values('uncaught'), ['boom'])
  assert.deepEqual(values('set').slice(-2), ['2', '3'])
  assert.equal(r.marks.end.extra, '1')
})

test("no 'error' listener and an unexpected answer: a warning, no crash, the loop goes on", { timeout: 30_000 }, async (t) => {
  const fake = await fakeEtcd(t, (req, res) => reply(res, 200, '{}'))
  const r = await runChild(
    t,
    `
    const w = new Etcd(env('FAKE')).watcher('/un')
    setTimeout(() => { w.stop(); mark('stopped') }, 2000)
  `,
    { FAKE: fake.url },
  )
  assert.equal(r.timedOut, false, `child hung: ${r.stdout}${r.stderr}`)
  assert.equal(r.signal, null)
  assert.equal(r.code, 0, `crashed: ${r.stderr}`)
  assert.ok(r.marks.stopped)
  assert.match(r.stderr, /Warning: .*Received unexpected response/)
  assert.ok(fake.requests.length >= 2, `the loop went on (${fake.requests.length} requests)`)
})

// --- async iteration -------------------------------------------------------------------------------------

// Iterates `w` into `out` with a deadline: a hung iterator fails the test instead of the run.
async function iterate(w, out, onBody, ms = 10_000) {
  const timer = setTimeout(() => w.stop(), ms)
  try {
    for await (const body of w) {
      out.push(body)
      if (onBody(body) === 'break') break
    }
  } finally {
    clearTimeout(timer)
  }
}

test('for await yields change bodies in order and break stops the watcher', { timeout: 30_000 }, async (t) => {
  const etcd = new Etcd(main.endpoints)
  const key = uniq('/iter')
  const writes = []
  for (let i = 0; i < 5; i++) writes.push(await etcd.set(key, String(i)))
  const w = watcherFor(t, etcd, key, writes[0].node.modifiedIndex)
  const stops = []
  w.on('stop', (m) => stops.push(m))
  const got = []
  await iterate(w, got, () => (got.length === 4 ? 'break' : undefined))
  assert.deepEqual(got, writes.slice(0, 4))
  assert.equal(w.stopped, true, 'break stopped the watcher')
  assert.equal(stops.length, 1)
})

test('for await ends when stop() is called', { timeout: 30_000 }, async (t) => {
  const etcd = new Etcd(main.endpoints)
  const key = uniq('/iterstop')
  const start = await etcd.set(key, 'start')
  const w = watcherFor(t, etcd, key, start.node.modifiedIndex + 1)
  const got = []
  setTimeout(() => etcd.set(key, 'a'), 100)
  const t0 = Date.now()
  await iterate(w, got, () => {
    setTimeout(() => w.stop(), 100)
  })
  assert.deepEqual(
    got.map((b) => b.node.value),
    ['a'],
  )
  assert.ok(Date.now() - t0 < 5000, 'ended by stop(), not by the test deadline')
})

test("for await throws on an 'error' event", { timeout: 30_000 }, async (t) => {
  const fake = await fakeEtcd(t, (req, res) => reply(res, 200, '"not an event"'))
  const w = watcherFor(t, new Etcd(fake.url), '/iterr')
  const got = []
  await assert.rejects(
    iterate(w, got, () => {}),
    (e) => e.message === 'Received unexpected response' && e.response === 'not an event',
  )
  assert.equal(w.stopped, true)
  assert.deepEqual(got, [])
})

// --- many watchers ----------------------------------------------------------------------------------------

test('1,000 concurrent watchers on one client, on distinct keys and on one shared key', { timeout: 180_000 }, async (t) => {
  const etcd = new Etcd(main.endpoints)
  const prefix = uniq('/many')
  const N = 1000
  const mb = (b) => (b / 1048576).toFixed(1)
  const rss0 = process.memoryUsage().rss
  const start = await etcd.set(`${prefix}/start`, 'x')
  const from = start.node.modifiedIndex + 1

  // Distinct keys. Starting at a known index means registration timing cannot lose a write.
  const got = new Array(N).fill(null).map(() => [])
  const distinct = []
  t.after(() => distinct.forEach((w) => w.stopped || w.stop()))
  for (let i = 0; i < N; i++) {
    const w = etcd.watcher(`${prefix}/k${i}`, from)
    w.on('change', (b) => got[i].push(b.node.value))
    distinct.push(w)
  }
  const t0 = Date.now()
  for (let i = 0; i < N; i += 25) {
    await Promise.all(Array.from({ length: 25 }, (_, j) => etcd.set(`${prefix}/k${i + j}`, `v${i + j}`)))
  }
  await until(() => got.every((g) => g.length >= 1), 60_000, `all ${N} distinct-key watchers (${got.filter((g) => g.length).length} done)`)
  const tDistinct = Date.now() - t0
  const rssDistinct = process.memoryUsage().rss
  await sleep(300)
  got.forEach((g, i) => assert.deepEqual(g, [`v${i}`], `watcher ${i}`))
  distinct.forEach((w) => w.stop())

  // One shared key.
  const shared = `${prefix}/shared`
  const s0 = await etcd.set(`${prefix}/s0`, 'x')
  const counts = new Array(N).fill(0)
  const many = []
  t.after(() => many.forEach((w) => w.stopped || w.stop()))
  for (let i = 0; i < N; i++) {
    const w = etcd.watcher(shared, s0.node.modifiedIndex + 1)
    w.on('change', (b) => {
      if (b.node.value === 'go') counts[i]++
    })
    many.push(w)
  }
  const t1 = Date.now()
  await etcd.set(shared, 'go')
  await until(() => counts.every((c) => c >= 1), 60_000, `all ${N} shared-key watchers (${counts.filter((c) => c).length} done)`)
  const tShared = Date.now() - t1
  const rssShared = process.memoryUsage().rss
  await sleep(300)
  assert.ok(
    counts.every((c) => c === 1),
    'each shared-key watcher got the event once',
  )
  many.forEach((w) => w.stop())
  await sleep(1000)
  const rssAfter = process.memoryUsage().rss
  t.diagnostic(`RSS: before ${mb(rss0)} MiB, 1000 distinct-key watchers ${mb(rssDistinct)} MiB, 1000 shared-key watchers ${mb(rssShared)} MiB, after stop ${mb(rssAfter)} MiB`)
  t.diagnostic(`delivery to all 1000: distinct keys ${tDistinct} ms (incl. 1000 writes), shared key ${tShared} ms`)
  // etcd drops the registrations once the polls are closed.
  const end = Date.now() + 10_000
  let left = await watcherCount(etcd)
  while (left > 0 && Date.now() < end) {
    await sleep(100)
    left = await watcherCount(etcd)
  }
  assert.equal(left, 0, 'stopped watchers left long-polls open')
})
