#!/usr/bin/env node
'use strict'
/*
 * `npm run test:chaos`: one etcd-napi client (all three endpoints, constructor `timeout`) under a
 * bounded mixed load against a 3-member etcd cluster, while a seeded scheduler kills the leader,
 * kills a follower and SIGSTOPs a member, restarting/resuming each with pauses to recover.
 *
 * Env: CHAOS_SECONDS (30) load+fault phase; CHAOS_CONCURRENCY (32) calls in flight;
 *      CHAOS_SEED (1) fault order and durations; CHAOS_TIMEOUT_MS (2000) client timeout;
 *      CHAOS_MAX_WRITES (700) writes+CAS over the run, paced, so that the whole history stays
 *      inside etcd's 1000-event window and can be replayed with watchIndex at the end.
 *
 * Figures printed at the end (after the faults stopped and every member is healthy again):
 *   operations      calls attempted / succeeded / failed per kind; failures by err.code, and for
 *                   ETCD_ALL_SERVERS_FAILED by the codes of err.errors[] (httperror.code, or
 *                   "HTTP <status>/<etcd errorCode>"); failed attempts hidden by a later success.
 *   writes          set() outcomes: ack (answered), unknown (failed after an attempt that may have
 *                   reached a member: anything but a refused/timed-out connect), failed (provably
 *                   never reached a member, or an etcd error answer).
 *   history         etcd's own event log for the prefix, replayed with watchIndex from the first
 *                   index of the run (falls back to the recursive watcher's log if that fails).
 *   [must be 0] acked-missing: acknowledged writes not at their modifiedIndex in the history with
 *                   their key and value; final values that are neither initial, acknowledged nor
 *                   unknown-outcome writes of that key, or differ from the key's last event.
 *   [must be 0] watch missing / duplicated / out of order / mismatched, for the recursive watcher
 *                   (every history event under the prefix, acknowledged writes included) and for
 *                   the single-key watcher (events of that key), compared by modifiedIndex.
 *                   "Duplicated" counts both the same event delivered twice (a watcher fault) and
 *                   one set() delivered at two indexes (the write was applied twice).
 *   [must be 0] applied twice: values are unique per set(), so a value at two history indexes is
 *                   one write applied twice (acknowledged or unknown-outcome alike). The report
 *                   says whether the client had sent it to more than one member (its failover
 *                   re-sends a write whose first attempt timed out but may still commit).
 *   [must be 0] phantoms: history values never written, writes that provably never reached a member
 *                   but were applied, reads or answers holding a value never sent to that key.
 *   stale reads     (reported) non-quorum reads answered "key not found" for keys that exist since
 *                   the setup: a member serving local state older than the run's start.
 *   CAS counter     final − start must lie in [acked CAS, acked + unknown-outcome CAS] (a CAS that
 *                   got "compare failed" after an attempt that may have applied counts as unknown)
 *                   and equal the number of compareAndSwap events in the history.
 *   stall           the longest call (start to end) and the calls that caused it, against the
 *                   timeout and the leader-election waits (100 ms, 1.6 s, 25.6 s); a call must end
 *                   within attempts × timeout + its retry waits + 1 s, and none may still be open.
 *   post-recovery   calls started after the cluster was healthy again must all succeed.
 * The final line is `N passed, M failed` (one per property); the exit code is 1 when M > 0.
 */
const { performance } = require('node:perf_hooks')
const Etcd = require('../index.js')
const { startCluster } = require('../testing/index.js')
const { prng, shuffle, sleep, waitAllHealthy, table, countInto, checklist } = require('./chaos/util.js')
const verify = require('./chaos/verify.js')

function envNumber(name, fallback) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${raw}`)
  return n
}

const SECONDS = envNumber('CHAOS_SECONDS', 30)
const CONCURRENCY = Math.floor(envNumber('CHAOS_CONCURRENCY', 32))
const SEED = Math.floor(envNumber('CHAOS_SEED', 1))
const TIMEOUT = envNumber('CHAOS_TIMEOUT_MS', 2000)
const WRITE_BUDGET = Math.floor(envNumber('CHAOS_MAX_WRITES', 700))
const MAX_RETRIES = 3 // the client default
const RETRY_WAITS = [100, 1600, 25600] // cluster.rs: 100·16^n ms
const STALL_SLACK = 1000 // event-loop and scheduling delay on a busy 2-core machine
const THINK_MS = 2 // per worker between calls: keeps 32 loops from pinning a shared machine
const TAIL_MS = 3000 // healthy load after the last fault
const KEY_COUNT = 8
const PREFIX = '/chaos'
const KEYS = Array.from({ length: KEY_COUNT }, (_, i) => `${PREFIX}/k${i}`)
const COUNTER = `${PREFIX}/counter`
const WATCHED_KEY = KEYS[0]
// A call can take at most 4 rounds of 3 attempts of one timeout each, plus the three waits.
const WORST_CALL = (MAX_RETRIES + 1) * 3 * TIMEOUT + RETRY_WAITS.reduce((a, b) => a + b, 0)
const HARD_DEADLINE = SECONDS * 1000 + 4 * WORST_CALL + 120000

const t0 = performance.now()
const wallT0 = Date.now() // places attempt timestamps (wall clock) on the run's clock
const now = () => performance.now() - t0
const stamp = () => `t=${(now() / 1000).toFixed(1)}s`
const log = (msg) => console.log(`[${stamp()}] ${msg}`)

// ---------------------------------------------------------------------------------------- records

const kinds = new Map() // kind -> {attempted, succeeded, failed}
const failureCodes = new Map() // err.code -> count
const attemptCodes = new Map() // code of each err.errors[] entry of ETCD_ALL_SERVERS_FAILED
const hiddenAttemptCodes = new Map() // failed attempts of calls that then got an answer
const openCalls = new Set()
const retryRounds = new Map() // leader-election retry rounds (token.retries / err.retries) -> calls
const overTimeout = new Map() // floor(ms / timeout), capped at 4 -> calls longer than the timeout
const stallViolations = []
const longest = [] // the slowest calls, longest first
const writes = [] // see scripts/chaos/verify.js
const valuesByKey = new Map(KEYS.map((k) => [k, new Set()])) // every value ever sent to a key
const phantomReads = []
const staleReads = [] // reads answered "key not found" for keys that exist since the setup
const cas = { start: 0, final: 0, acked: 0, unknown: 0, conflicts: 0, failed: 0, ackIndexes: [] }
let recoveredAt = Infinity
const postRecoveryFailures = []

function attemptCode(a) {
  if (a.httperror) return a.httperror.code || 'UNKNOWN'
  const etcdCode = a.httpbody && typeof a.httpbody === 'object' && a.httpbody.errorCode !== undefined ? `/${a.httpbody.errorCode}` : ''
  return `HTTP ${a.httpstatus}${etcdCode}`
}

// A refused or timed-out connect never carried the request; everything else may have.
function maybeSent(a) {
  return !(a.httperror && (a.httperror.code === 'ECONNREFUSED' || a.httperror.code === 'ETIMEDOUT'))
}

function kindStats(kind) {
  let s = kinds.get(kind)
  if (!s) kinds.set(kind, (s = { attempted: 0, succeeded: 0, failed: 0 }))
  return s
}

/** Runs one awaited call and records its outcome, attempts and duration. */
async function call(kind, detail, make) {
  const s = kindStats(kind)
  s.attempted++
  const rec = { kind, detail, started: now() }
  openCalls.add(rec)
  let token = null
  let body
  let err = null
  try {
    token = make()
    body = await token
  } catch (e) {
    err = e
  }
  openCalls.delete(rec)
  const ms = now() - rec.started
  const allFailed = err !== null && err.code === 'ETCD_ALL_SERVERS_FAILED'
  const failedAttempts = allFailed ? err.errors : (token && token.errors) || []
  const retries = allFailed ? err.retries : (token && token.retries) || 0
  // Attempts that may have reached a member: the failed ones that may have been sent, plus the
  // one that answered (a success or an etcd error answer).
  const sends = failedAttempts.filter(maybeSent).length + (allFailed ? 0 : 1)
  if (err === null) s.succeeded++
  else {
    s.failed++
    countInto(failureCodes, err.code || err.name || 'UNKNOWN')
    if (allFailed) for (const a of err.errors) countInto(attemptCodes, attemptCode(a))
    // "compare failed" is the expected answer to a lost CAS race, not a failure of the cluster.
    if (rec.started >= recoveredAt && err.code !== 'ETCD_COMPARE_FAILED') postRecoveryFailures.push({ kind, detail, code: err.code, attempts: failedAttempts.map(attemptCode) })
  }
  if (!allFailed) for (const a of failedAttempts) countInto(hiddenAttemptCodes, attemptCode(a))
  countInto(retryRounds, retries)
  if (ms > TIMEOUT) countInto(overTimeout, Math.min(Math.floor(ms / TIMEOUT), 4))

  const attempts = failedAttempts.length + (allFailed ? 0 : 1)
  const waits = RETRY_WAITS.slice(0, retries).reduce((a, b) => a + b, 0)
  const bound = attempts * TIMEOUT + waits + STALL_SLACK
  const summary = { ms: Math.round(ms), kind, detail, outcome: err ? err.code : 'ok', retries, waits, attempts: failedAttempts.map(attemptCode), bound, at: Math.round(rec.started) }
  if (ms > bound) stallViolations.push(summary)
  if (longest.length < 5 || ms > longest[longest.length - 1].ms) {
    longest.push(summary)
    longest.sort((a, b) => b.ms - a.ms)
    longest.length = Math.min(longest.length, 5)
  }
  return { body, err, sends, failedAttempts, token, started: rec.started }
}

// ----------------------------------------------------------------------------------- operations

let writeSeq = 0
let writesIssued = 0 // sets + CAS attempts: each may add one event to etcd's history
let loadPhaseEnd = SECONDS * 1000

function writeAllowed() {
  // Paced over the fault phase (90 % of the budget), the rest for the healthy tail.
  const elapsed = now()
  const allowed = elapsed < loadPhaseEnd ? Math.floor(WRITE_BUDGET * 0.9 * (elapsed / loadPhaseEnd)) : WRITE_BUDGET
  return writesIssued < allowed
}

async function doSet(etcd, rnd) {
  writesIssued++
  const n = ++writeSeq
  const key = KEYS[Math.floor(rnd() * KEYS.length)]
  const w = { n, key, value: `w${n}`, status: 'pending', index: null, sends: 0, attempts: [], at: 0 }
  writes.push(w)
  valuesByKey.get(key).add(w.value)
  const r = await call('set', key, () => etcd.set(key, w.value))
  w.sends = r.sends
  // Kept for the report: where each failed attempt went and when (ms into the run).
  w.attempts = r.failedAttempts.map((a) => `${attemptCode(a)}@${a.server.replace('http://127.0.0.1:', ':')}+${Math.round(a.timestamp.getTime() - wallT0)}ms`)
  w.at = Math.round(r.started)
  if (r.err === null) {
    w.status = 'ack'
    w.index = r.body.node.modifiedIndex
    if (r.body.node.value !== w.value) phantomReads.push({ key, value: r.body.node.value, via: 'set answer' })
  } else {
    // An etcd error answer (below 500) is final for the member that gave it; only the attempts
    // before it may have applied the write.
    const earlier = r.err.code === 'ETCD_ALL_SERVERS_FAILED' ? r.sends : r.sends - 1
    w.status = earlier > 0 ? 'unknown' : 'failed'
  }
}

async function doGet(etcd, rnd) {
  const key = rnd() < 0.1 ? COUNTER : KEYS[Math.floor(rnd() * KEYS.length)]
  const quorum = rnd() < 0.3
  const r = await call(quorum ? 'get (quorum)' : 'get', key, () => etcd.get(key, quorum ? { quorum: true } : {}))
  // A read can only return a value some write sent to that key (values are unique).
  if (r.err === null && key !== COUNTER && !valuesByKey.get(key).has(r.body.node.value)) phantomReads.push({ key, value: r.body.node.value, via: 'get' })
  // Every key exists from the setup on: "not found" is a read of a state older than the setup.
  if (r.err !== null && r.err.code === 'ETCD_KEY_NOT_FOUND') {
    const h = r.token.headers || {}
    staleReads.push({ at: Math.round(r.started), ms: Math.round(now() - r.started), key, quorum, errorIndex: r.err.error && r.err.error.index, etcdIndex: h['x-etcd-index'], raftIndex: h['x-raft-index'], raftTerm: h['x-raft-term'], failedAttempts: r.failedAttempts.map(attemptCode) })
  }
}

async function doCas(etcd) {
  writesIssued++
  const cur = await call('cas: read', COUNTER, () => etcd.get(COUNTER, { quorum: true }))
  if (cur.err !== null) return
  const v = Number(cur.body.node.value)
  const r = await call('cas', COUNTER, () => etcd.compareAndSwap(COUNTER, String(v + 1), String(v)))
  if (r.err === null) {
    cas.acked++
    cas.ackIndexes.push(r.body.node.modifiedIndex)
  } else if (r.err.code === 'ETCD_COMPARE_FAILED' && r.sends <= 1) {
    cas.conflicts++ // answered by the only member that got it: provably not applied
  } else if (r.sends > 0) {
    cas.unknown++ // an earlier attempt may have applied it (then "compare failed" is our own write)
  } else {
    cas.failed++
  }
}

async function worker(etcd, id, stopAt) {
  const rnd = prng(SEED * 1000 + id)
  while (now() < stopAt()) {
    if (writeAllowed()) {
      if (rnd() < 0.75) await doSet(etcd, rnd)
      else await doCas(etcd)
    } else {
      await doGet(etcd, rnd)
    }
    await sleep(THINK_MS)
  }
}

// ----------------------------------------------------------------------------------- watchers

function watch(etcd, key, index, options, sink) {
  const w = etcd.watcher(key, index, options)
  w.on('change', (body) => {
    const n = body.node || {}
    sink.log.push({ index: n.modifiedIndex, key: n.key, action: body.action, value: n.value })
  })
  w.on('resync', () => sink.resyncs++)
  w.on('reconnect', (err) => countInto(sink.reconnects, err.code === 'ETCD_WATCH_RECONNECT' && err.error && err.error.errors ? `reconnect (${err.error.errors.map(attemptCode).join(',')})` : err.code))
  w.on('error', (err) => countInto(sink.reconnects, `error ${err.code}`))
  return w
}

// ------------------------------------------------------------------------------------- faults

const faultLog = []

async function scheduler(cluster, rnd, until) {
  await sleep(1500 + rnd() * 1000)
  let cycle = []
  // A fault takes up to ~4 s down plus a restart; start none that cannot finish near `until`.
  while (now() < until - 5000) {
    if (cycle.length === 0) cycle = shuffle(['kill-leader', 'kill-follower', 'pause'], rnd)
    const kind = cycle.shift()
    const down = Math.round(1500 + rnd() * 2500)
    const pickLeader = rnd() < 0.5
    const leader = await cluster.waitForLeader(20000)
    const followers = [0, 1, 2].filter((i) => i !== leader)
    const follower = followers[Math.floor(rnd() * followers.length)]
    const i = kind === 'kill-leader' ? leader : kind === 'kill-follower' ? follower : pickLeader ? leader : follower
    const role = i === leader ? 'leader' : 'follower'
    const entry = { kind, member: i, role, start: now(), down }
    faultLog.push(entry)
    if (kind === 'pause') {
      log(`fault: SIGSTOP ${role} etcd${i} for ${down} ms`)
      await cluster.pause(i)
      await sleep(down)
      await cluster.resume(i)
      log(`fault: SIGCONT etcd${i}`)
    } else {
      log(`fault: SIGKILL ${role} etcd${i}, restart in ${down} ms`)
      await cluster.kill(i)
      await sleep(down)
      await cluster.restart(i)
      log(`fault: etcd${i} restarted and healthy`)
    }
    await waitAllHealthy(cluster.endpoints, 30000)
    entry.end = now()
    const newLeader = await cluster.waitForLeader(20000)
    log(`cluster healthy, leader etcd${newLeader}`)
    await sleep(1500 + rnd() * 1500)
  }
}

// ------------------------------------------------------------------------------------- replay

/** etcd's history under the prefix, one event per watchIndex call, from `first` to `last`. */
async function replay(etcd, first, last) {
  const events = []
  let index = first
  while (index <= last) {
    let body
    try {
      body = await etcd.watchIndex(PREFIX, index, { recursive: true })
    } catch (err) {
      return { events: null, error: `${err.code}: ${err.message} (at index ${index})` }
    }
    const n = body.node
    events.push({ index: n.modifiedIndex, key: n.key, action: body.action, value: n.value })
    index = n.modifiedIndex + 1
  }
  return { events, error: null }
}

// --------------------------------------------------------------------------------------- main

async function main() {
  const hard = setTimeout(() => {
    console.error(`chaos: hard deadline of ${Math.round(HARD_DEADLINE / 1000)} s passed; open calls:`, [...openCalls].slice(0, 10))
    console.log('0 passed, 1 failed')
    process.exit(2) // the rig's exit hook kills the members
  }, HARD_DEADLINE)
  hard.unref()

  console.log(`chaos: ${SECONDS} s, ${CONCURRENCY} in flight, seed ${SEED}, timeout ${TIMEOUT} ms, write budget ${WRITE_BUDGET}`)
  const cluster = await startCluster({ size: 3 })
  log(`cluster up: etcd ${cluster.version}, ${cluster.endpoints.join(' ')}`)
  const etcd = new Etcd(cluster.endpoints, { timeout: TIMEOUT })

  // Initial values, then watchers from the next index so they see the whole run.
  const initial = new Map()
  let firstIndex = 0
  for (const k of KEYS) {
    const body = await etcd.set(k, `init-${k}`)
    initial.set(k, body.node.value)
    valuesByKey.get(k).add(body.node.value)
    firstIndex = Math.max(firstIndex, body.node.modifiedIndex)
  }
  const counterInit = await etcd.set(COUNTER, '0')
  firstIndex = Math.max(firstIndex, counterInit.node.modifiedIndex) + 1
  const rec = { log: [], resyncs: 0, reconnects: new Map() }
  const one = { log: [], resyncs: 0, reconnects: new Map() }
  const watchers = [watch(etcd, PREFIX, firstIndex, { recursive: true }, rec), watch(etcd, WATCHED_KEY, firstIndex, {}, one)]

  // Load and faults. Workers run until the faults are over and the cluster has had a healthy tail.
  let stopLoadAt = Infinity
  const workers = Array.from({ length: CONCURRENCY }, (_, id) => worker(etcd, id, () => stopLoadAt))
  let faultError = null
  try {
    await scheduler(cluster, prng(SEED), SECONDS * 1000)
  } catch (err) {
    faultError = err
    log(`fault scheduler failed: ${err.stack}`)
  }
  const untilEnd = SECONDS * 1000 - now()
  if (untilEnd > 0) await sleep(untilEnd)
  loadPhaseEnd = now()
  let recovered = true
  try {
    for (let i = 0; i < 3; i++) if (cluster.members[i].paused) await cluster.resume(i)
    for (let i = 0; i < 3; i++) if (!cluster.members[i].running) await cluster.restart(i)
    await waitAllHealthy(cluster.endpoints, 60000)
    await cluster.waitForLeader(20000)
  } catch (err) {
    recovered = false
    log(`cluster did not recover: ${err.message}`)
  }
  recoveredAt = now()
  log(`faults over, cluster healthy; ${TAIL_MS} ms of load on the healthy cluster`)
  stopLoadAt = now() + TAIL_MS
  // Every call ends within WORST_CALL; waiting longer means a hang, which the stall figure shows.
  const drained = await Promise.race([Promise.all(workers).then(() => true), sleep(WORST_CALL + 10000).then(() => false)])
  log(`load stopped (${drained ? 'all calls ended' : `${openCalls.size} calls still open`})`)

  // Final state through raft, then let the watchers catch up with it.
  const finals = new Map()
  let lastIndex = firstIndex - 1
  for (const k of KEYS) {
    const body = await etcd.get(k, { quorum: true })
    finals.set(k, body.node.value)
  }
  const tree = await etcd.get(PREFIX, { recursive: true, quorum: true })
  for (const n of tree.node.nodes || []) lastIndex = Math.max(lastIndex, n.modifiedIndex)
  cas.final = Number((await etcd.get(COUNTER, { quorum: true })).node.value)
  const lastOfKey = (await etcd.get(WATCHED_KEY, { quorum: true })).node.modifiedIndex
  const caughtUp = (sink, index) => sink.log.some((e) => e.index >= index)
  const catchUpDeadline = now() + 20000
  while (now() < catchUpDeadline && !(caughtUp(rec, lastIndex) && (lastOfKey < firstIndex || caughtUp(one, lastOfKey)))) await sleep(50)

  const replayed = await replay(etcd, firstIndex, lastIndex)
  for (const w of watchers) w.stop()
  etcd.close()
  await cluster.stop()

  // ---------------------------------------------------------------------------------- figures
  const verdict = checklist()
  const prop = verdict.prop

  console.log('\n== faults')
  console.log(table([['fault', 'member', 'role', 'start s', 'down ms', 'healthy again s'], ...faultLog.map((f) => [f.kind, `etcd${f.member}`, f.role, (f.start / 1000).toFixed(1), f.down, f.end === undefined ? '-' : (f.end / 1000).toFixed(1)])]))
  if (faultError) console.log(`scheduler error: ${faultError.message}`)

  console.log('\n== operations')
  const totals = [...kinds.values()].reduce((t, s) => ({ attempted: t.attempted + s.attempted, succeeded: t.succeeded + s.succeeded, failed: t.failed + s.failed }), { attempted: 0, succeeded: 0, failed: 0 })
  console.log(table([['kind', 'attempted', 'succeeded', 'failed'], ...[...kinds].map(([k, s]) => [k, s.attempted, s.succeeded, s.failed]), ['total', totals.attempted, totals.succeeded, totals.failed]]))
  const sorted = (m) => [...m].sort((a, b) => b[1] - a[1])
  console.log('\nfailed calls by err.code:')
  console.log(failureCodes.size ? table([['code', 'calls'], ...sorted(failureCodes)]) : '  (none)')
  console.log('\nETCD_ALL_SERVERS_FAILED: attempts by code (err.errors[]):')
  console.log(attemptCodes.size ? table([['attempt code', 'attempts'], ...sorted(attemptCodes)]) : '  (none)')
  console.log('\nfailed attempts of calls that then got an answer (token.errors):')
  console.log(hiddenAttemptCodes.size ? table([['attempt code', 'attempts'], ...sorted(hiddenAttemptCodes)]) : '  (none)')

  const ref = verify.referenceHistory(replayed.events, rec.log)
  const events = ref.events
  const ackN = writes.filter((w) => w.status === 'ack').length
  const unknownN = writes.filter((w) => w.status === 'unknown').length
  const failedN = writes.filter((w) => w.status === 'failed').length
  console.log(`\n== writes: ${writes.length} set() calls: ${ackN} acknowledged, ${unknownN} unknown outcome, ${failedN} failed (never reached a member)`)
  console.log(`acknowledged writes that failed over first (an attempt that may have reached a member failed): ${writes.filter((w) => w.status === 'ack' && w.sends > 1).length}`)
  console.log(`history: ${events.length} events under ${PREFIX} from index ${firstIndex} to ${lastIndex}, source: ${ref.source}${replayed.error ? ` (replay failed: ${replayed.error})` : ''}`)
  prop('history replayed from etcd (watchIndex, inside the 1000-event window)', replayed.events !== null, replayed.error ? replayed.error : `${replayed.events.length} events`)

  const missing = verify.ackedMissing(writes, events)
  const badFinals = verify.finalValueViolations(KEYS, finals, initial, writes, events)
  console.log(`acknowledged writes missing from the history: ${missing.length}`)
  for (const m of missing.slice(0, 10)) console.log(`  ${JSON.stringify(m)}`)
  console.log(`keys with an impossible final value: ${badFinals.length}`)
  for (const b of badFinals) console.log(`  ${JSON.stringify(b)}`)
  prop('acknowledged writes later missing = 0', missing.length === 0, `${missing.length} of ${ackN}`)
  prop('final values are acknowledged/unknown writes and match the history = 0 violations', badFinals.length === 0, `${badFinals.length} of ${KEYS.length} keys`)

  const apps = verify.applications(writes, events, initial, COUNTER)
  console.log(`unknown-outcome writes: ${apps.unknownApplied.applied} applied, ${apps.unknownApplied.notApplied} not applied`)
  const twice = [...apps.twiceExplained, ...apps.twiceUnexplained]
  console.log(`writes applied more than once: ${twice.length} (${apps.twiceExplained.length} re-sent by the client's failover after an attempt that may have committed, ${apps.twiceUnexplained.length} sent to one member only)`)
  for (const t of twice.slice(0, 10)) {
    // Acknowledged writes of the same key between the two applications: the late copy undid them.
    const [first, last] = [Math.min(...t.indexes), Math.max(...t.indexes)]
    const between = writes.filter((w) => w.key === t.write.key && w.status === 'ack' && w.index > first && w.index < last).length
    console.log(`  ${t.write.value} -> ${t.write.key}: ${t.write.status}${t.write.index ? ` at index ${t.write.index}` : ''}, started t=${(t.write.at / 1000).toFixed(2)}s, sent ${t.write.sends}x, failed attempts [${t.write.attempts.join(', ')}]; in the history at ${t.indexes.join(', ')}; ${between} later acknowledged writes of the key in between`)
  }
  const phantoms = apps.phantom.length + apps.failedButApplied.length + phantomReads.length
  console.log(`values never written ${apps.phantom.length}, never-sent writes applied ${apps.failedButApplied.length}, reads of values never written ${phantomReads.length}`)
  for (const x of [...apps.phantom, ...apps.failedButApplied, ...phantomReads].slice(0, 10)) console.log(`  ${JSON.stringify(x)}`)
  prop('no phantom values (history, answers and reads only hold values that were sent)', phantoms === 0, String(phantoms))
  prop('each write applied at most once (unknown-outcome writes included)', twice.length === 0, `${twice.length} applied twice (${apps.twiceExplained.length} by failover re-send)`)
  console.log(`reads answered "key not found" for a key that exists since the setup (stale local reads): ${staleReads.length}`)
  for (const x of staleReads.slice(0, 10)) console.log(`  ${JSON.stringify(x)}`)

  console.log('\n== watchers')
  const recCheck = verify.watcherCheck(rec.log, events, (k) => k === PREFIX || k.startsWith(PREFIX + '/'))
  const oneCheck = verify.watcherCheck(one.log, events, (k) => k === WATCHED_KEY)
  const ackedUndelivered = writes.filter((w) => w.status === 'ack' && !rec.log.some((e) => e.index === w.index)).length
  const rows = [['watcher', 'expected', 'delivered', 'missing', 'dup: event', 'dup: write', 'out of order', 'mismatched', 'resyncs']]
  for (const [name, c, s] of [[`recursive ${PREFIX}`, recCheck, rec], [`key ${WATCHED_KEY}`, oneCheck, one]]) {
    rows.push([name, c.expected, c.delivered, c.missing.length, c.duplicates.length, c.repeatedWrites.length, c.outOfOrder.length, c.mismatched.length, s.resyncs])
  }
  console.log('missing: history events not delivered; dup: event = the same modifiedIndex delivered twice; dup: write = one set() delivered at two indexes (applied twice)')
  console.log(table(rows))
  console.log(`acknowledged writes not delivered to the recursive watcher: ${ackedUndelivered}`)
  for (const [name, s] of [['recursive', rec], ['key', one]]) {
    if (s.reconnects.size) console.log(`${name} watcher reconnects: ${sorted(s.reconnects).map(([k, v]) => `${k} ×${v}`).join('; ')}`)
  }
  for (const c of [recCheck, oneCheck]) {
    for (const x of [...c.missing.slice(0, 5), ...c.duplicates.slice(0, 5), ...c.outOfOrder.slice(0, 5), ...c.mismatched.slice(0, 5)]) console.log(`  ${JSON.stringify(x)}`)
  }
  prop('recursive watcher: events missing = 0', recCheck.missing.length === 0 && ackedUndelivered === 0, `${recCheck.missing.length} (acked undelivered ${ackedUndelivered})`)
  const dupRec = recCheck.duplicates.length + recCheck.repeatedWrites.length
  prop('recursive watcher: duplicated compared with the write log = 0', dupRec === 0, `${dupRec} (same event twice ${recCheck.duplicates.length}, one write twice ${recCheck.repeatedWrites.length})`)
  prop('recursive watcher: out of order, mismatched = 0', recCheck.outOfOrder.length + recCheck.mismatched.length === 0, `${recCheck.outOfOrder.length}/${recCheck.mismatched.length}`)
  const badOne = oneCheck.missing.length + oneCheck.duplicates.length + oneCheck.repeatedWrites.length + oneCheck.outOfOrder.length + oneCheck.mismatched.length
  prop(`key watcher (${WATCHED_KEY}): missing, duplicated, out of order, mismatched = 0`, badOne === 0, `${oneCheck.missing.length}/${oneCheck.duplicates.length + oneCheck.repeatedWrites.length}/${oneCheck.outOfOrder.length}/${oneCheck.mismatched.length}`)

  console.log('\n== CAS counter')
  const c = verify.casCheck(cas, events, COUNTER)
  console.log(`successful CAS ${cas.acked}, unknown outcome ${cas.unknown}, compare failed (not applied) ${cas.conflicts}, failed unsent ${cas.failed}`)
  console.log(`counter ${cas.start} -> ${cas.final}: increase ${c.delta}, expected in [${c.lo}, ${c.hi}]; compareAndSwap events in history ${c.swapsInHistory}; acked CAS missing from history ${c.ackedMissing}`)
  prop('CAS increments consistent with the counter', c.ok, `${c.delta} in [${c.lo}, ${c.hi}]`)

  console.log('\n== stalls')
  console.log(`timeout ${TIMEOUT} ms; leader-election waits ${RETRY_WAITS.join(', ')} ms (max ${MAX_RETRIES} rounds); worst possible call ${WORST_CALL} ms`)
  console.log(table([['ms', 'started s', 'kind', 'key', 'outcome', 'retries', 'waits ms', 'bound ms', 'failed attempts'], ...longest.map((l) => [l.ms, (l.at / 1000).toFixed(1), l.kind, l.detail, l.outcome, l.retries, l.waits, l.bound, l.attempts.join(',') || '-'])]))
  console.log(`calls by leader-election retry rounds: ${sorted(retryRounds).map(([k, v]) => `${k} rounds: ${v}`).join(', ')}`)
  console.log(`calls longer than the timeout: ${overTimeout.size ? [...overTimeout].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}-${k + 1}× timeout${k === 4 ? '+' : ''}: ${v}`).join(', ') : 'none'}`)
  console.log(`calls over their bound (attempts × timeout + waits + ${STALL_SLACK} ms): ${stallViolations.length}; calls never ended: ${openCalls.size}`)
  for (const v of stallViolations.slice(0, 10)) console.log(`  ${JSON.stringify(v)}`)
  prop('every call ends within its timeout/retry bound, none hangs', stallViolations.length === 0 && openCalls.size === 0 && drained, `longest ${longest.length ? longest[0].ms : 0} ms, ${stallViolations.length} over bound, ${openCalls.size} open`)

  console.log('\n== recovery')
  console.log(`calls started after the cluster was healthy again that failed: ${postRecoveryFailures.length}`)
  for (const f of postRecoveryFailures.slice(0, 10)) console.log(`  ${JSON.stringify(f)}`)
  prop('cluster recovered and post-recovery calls all succeed', recovered && !faultError && postRecoveryFailures.length === 0, `${postRecoveryFailures.length} failed`)

  process.exit(verdict.report() ? 1 : 0)
}

main().catch((err) => {
  console.error(err)
  console.log('0 passed, 1 failed')
  process.exit(1)
})
