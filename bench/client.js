'use strict'
// One benchmark round in its own process (one client, one event loop):
//   node bench/client.js <client> <workload> <concurrency> <seconds> <endpoint> [warmupSeconds]
// client:   napi | napi-promise | node-etcd | node-http (reference: Node's own keep-alive http, GET only)
//           v3: napi-v3 (etcd-napi's Etcd3) | etcd3 (npm etcd3)
// workload: get | put | getsync | watch-latency | watch-flood | idle-watchers | require (v2 clients)
//           v3-get | v3-put | v3-txn | v3-watch-latency (v3 clients)
// Prints one JSON line on stdout: ops, errors, elapsed, ops/s, latency percentiles (ms), CPU (µs).
// The package is required only inside the workload, so `require` timing starts from a clean process.

const http = require('node:http')
const path = require('node:path')
const { performance } = require('node:perf_hooks')

const [clientName, workload, concArg, secondsArg, endpoint, warmupArg] = process.argv.slice(2)
const concurrency = Math.max(1, Number(concArg) || 1)
const seconds = Math.max(0.1, Number(secondsArg) || 3)
const warmupSeconds = warmupArg === undefined ? 0.5 : Math.max(0, Number(warmupArg))
const now = () => performance.now()
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const GET_KEY = 'bench/get'
const PUT_KEY = 'bench/put'
// v3 keys live in etcd's mvcc store, apart from v2's; run.js sets V3_GET_KEY and V3_TXN_KEY to 'bar'.
const V3_GET_KEY = 'bench/v3/get'
const V3_PUT_KEY = 'bench/v3/put'
const V3_TXN_KEY = 'bench/v3/txn'
const MAX_ERRORS = 1000 // a broken setup should fail fast, not spin for the whole round
const WATCH_MAX_EVENTS = 50000 // bound on writes per watch round
const WATCH_EVENT_TIMEOUT_MS = 2000
const WATCH_BURST = 500 // writes per flood burst: well inside etcd's 1000-event window

/** The floor for a pure-JS client: node:http with a keep-alive agent, parsing the JSON body. */
class NodeHttpClient {
  constructor(url) {
    this.base = new URL(url)
    this.agent = new http.Agent({ keepAlive: true })
  }

  get(key, cb) {
    const req = http.get({ host: this.base.hostname, port: this.base.port, path: `/v2/keys/${key}`, agent: this.agent, headers: { accept: 'application/json' } }, (res) => {
      let data = ''
      res.setEncoding('utf8')
      res.on('data', (c) => { data += c })
      res.on('end', () => {
        let body
        try { body = JSON.parse(data) } catch (err) { return cb(err) }
        cb(res.statusCode < 300 ? null : new Error(`HTTP ${res.statusCode}`), body)
      })
    })
    req.on('error', cb)
  }
}

function loadClient() {
  if (clientName === 'node-http') return { Etcd: NodeHttpClient, requireMs: 0 }
  const t0 = now()
  let Etcd
  if (clientName === 'node-etcd') Etcd = require('node-etcd')
  else if (clientName === 'etcd3') Etcd = require('etcd3').Etcd3
  else if (clientName === 'napi-v3') Etcd = require(path.join(__dirname, '..')).Etcd3 // loads lib/v3 on access
  else Etcd = require(path.join(__dirname, '..'))
  const requireMs = now() - t0
  // Which addon binary ran (others may rebuild it, e.g. as a debug build, while the bench runs).
  const native = Object.keys(require.cache).find((k) => k.endsWith('.node') && !k.includes('deasync'))
  let nativeMtimeMs = null
  if (native) try { nativeMtimeMs = require('node:fs').statSync(native).mtimeMs } catch {}
  return { Etcd, requireMs, native: native ? { path: native, mtimeMs: nativeMtimeMs } : undefined }
}

function percentiles(values) {
  if (values.length === 0) return { p50: null, p90: null, p99: null, max: null }
  const a = Float64Array.from(values).sort()
  const at = (q) => a[Math.min(a.length - 1, Math.floor(q * a.length))]
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: a[a.length - 1] }
}

function cpuSince(start) {
  const d = process.cpuUsage(start)
  return d.user + d.system
}

// --- closed-loop request workloads -------------------------------------------------------------

/** `op(done)` issues one request and calls done(err) once; runs `concurrency` loops for `secs`. */
function closedLoop(op, secs) {
  return new Promise((resolve) => {
    const lat = []
    let ops = 0
    let errors = 0
    let firstError = null
    let running = concurrency
    const start = now()
    const deadline = start + secs * 1000
    const loop = () => {
      const t0 = now()
      op((err) => {
        const t1 = now()
        if (err) {
          errors++
          if (firstError === null) firstError = String(err.message || err)
        } else {
          ops++
          lat.push(t1 - t0)
        }
        // Starting the next request from the completion keeps exactly `concurrency` in flight.
        if (t1 < deadline && errors < MAX_ERRORS) loop()
        else if (--running === 0) resolve({ ops, errors, firstError, lat, elapsed: now() - start })
      })
    }
    for (let i = 0; i < concurrency; i++) loop()
  })
}

/** Same as closedLoop with `await op()` (the Promise API). */
async function promiseLoop(op, secs) {
  const lat = []
  let ops = 0
  let errors = 0
  let firstError = null
  const start = now()
  const deadline = start + secs * 1000
  const worker = async () => {
    while (now() < deadline && errors < MAX_ERRORS) {
      const t0 = now()
      try {
        await op()
        ops++
        lat.push(now() - t0)
      } catch (err) {
        errors++
        if (firstError === null) firstError = String(err.message || err)
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { ops, errors, firstError, lat, elapsed: now() - start }
}

function syncLoop(op, secs) {
  const lat = []
  let ops = 0
  let errors = 0
  let firstError = null
  const start = now()
  const deadline = start + secs * 1000
  while (now() < deadline && errors < MAX_ERRORS) {
    const t0 = now()
    const r = op()
    if (r.err) {
      errors++
      if (firstError === null) firstError = String(r.err.message || r.err)
    } else {
      ops++
      lat.push(now() - t0)
    }
  }
  return { ops, errors, firstError, lat, elapsed: now() - start }
}

async function requestWorkload(etcd) {
  let run
  if (workload === 'getsync') {
    if (typeof etcd.getSync !== 'function') return { na: 'no getSync' }
    run = (secs) => syncLoop(() => etcd.getSync(GET_KEY), secs)
  } else if (clientName === 'napi-promise') {
    run = workload === 'get'
      ? (secs) => promiseLoop(() => etcd.get(GET_KEY), secs)
      : (secs) => promiseLoop(() => etcd.set(PUT_KEY, 'bar'), secs)
  } else {
    run = workload === 'get'
      ? (secs) => closedLoop((done) => etcd.get(GET_KEY, (err) => done(err)), secs)
      : (secs) => closedLoop((done) => etcd.set(PUT_KEY, 'bar', (err) => done(err)), secs)
  }
  return measureLoop(run)
}

/** Runs `run(secs)` for the warm-up (JIT, connections), then measures it with a fresh CPU baseline. */
async function measureLoop(run) {
  if (warmupSeconds > 0) await run(warmupSeconds)
  const cpu0 = process.cpuUsage()
  const r = await run(seconds)
  const cpuUs = cpuSince(cpu0)
  return {
    ops: r.ops,
    errors: r.errors,
    firstError: r.firstError,
    elapsedMs: r.elapsed,
    opsPerSec: (r.ops / r.elapsed) * 1000,
    latencyMs: percentiles(r.lat),
    cpuUs,
    cpuUsPerOp: r.ops > 0 ? cpuUs / r.ops : null,
    cpuUtil: cpuUs / 1000 / r.elapsed // cores busy on average
  }
}

/**
 * v3 requests through the Promise API, which is etcd3's only one. Each op checks its answer, so a
 * missing key or a failed compare counts as an error instead of passing as a fast round.
 */
async function v3RequestWorkload(client) {
  const ops = {
    'v3-get': () => client.get(V3_GET_KEY).string().then((v) => {
      if (v !== 'bar') throw new Error(`${V3_GET_KEY} is ${JSON.stringify(v)}, expected "bar"`)
    }),
    'v3-put': () => client.put(V3_PUT_KEY).value('bar'),
    'v3-txn': () => client.if(V3_TXN_KEY, 'Value', '==', 'bar').then(client.put(V3_TXN_KEY).value('bar')).commit().then((r) => {
      if (!r.succeeded) throw new Error(`transaction compare on ${V3_TXN_KEY} failed`)
    })
  }
  const op = ops[workload]
  return measureLoop((secs) => promiseLoop(op, secs))
}

// --- watcher workloads -----------------------------------------------------------------------

// The writer and the stats probe use plain Node http (keep-alive), identical for both clients, so
// only the watcher side differs between them.
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 })
const base = new URL(endpoint)

function httpRequest(method, urlPath, body, contentType = 'application/x-www-form-urlencoded') {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(body) }
    const req = http.request({ host: base.hostname, port: base.port, method, path: urlPath, agent, headers, timeout: 10000 }, (res) => {
      let data = ''
      res.setEncoding('utf8')
      res.on('data', (c) => { data += c })
      res.on('end', () => {
        if (res.statusCode >= 300) reject(new Error(`${method} ${urlPath}: HTTP ${res.statusCode} ${data}`))
        else resolve(JSON.parse(data))
      })
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end(body)
  })
}

const putValue = (key, value) => httpRequest('PUT', `/v2/keys/${key}`, `value=${encodeURIComponent(value)}`)
// v3 writes go through etcd's JSON gateway on the same port: one writer for both v3 clients, as for v2.
const b64 = (s) => Buffer.from(s).toString('base64')
const putV3Value = (key, value) => httpRequest('POST', '/v3/kv/put', JSON.stringify({ key: b64(key), value: b64(value) }), 'application/json')

function attachProblemCounters(w, counts) {
  w.on('reconnect', () => counts.reconnect++)
  w.on('resync', () => counts.resync++)
  w.on('error', () => counts.error++)
}

/**
 * Ping-pong: write value i, wait for its event, then write i+1. Latency is measured from just before
 * the write (so it includes the write's round trip) and, separately, from the write's
 * acknowledgement (negative when the event arrived before the write's answer).
 * `write(value)` resolves on the answer; `listen(hit)` makes the watcher call `hit(value, time)`.
 */
async function pingPong(write, listen) {
  let waiting = null // { value, resolve }
  listen((value, t) => {
    if (waiting && value === waiting.value) waiting.resolve(t)
  })
  const lat = []
  const fromAck = []
  let eventBeforeAck = 0
  let lost = 0
  let i = 0
  const phase = async (secs, record) => {
    const start = now()
    const deadline = start + secs * 1000
    let n = 0
    while (now() < deadline && i < WATCH_MAX_EVENTS && lost < 10) {
      const value = `v${++i}`
      let timer
      const event = new Promise((resolve) => {
        waiting = { value, resolve }
        timer = setTimeout(() => resolve(null), WATCH_EVENT_TIMEOUT_MS)
      })
      const t0 = now()
      await write(value)
      const tAck = now()
      const tEvent = await event
      clearTimeout(timer)
      waiting = null
      if (!record) continue
      if (tEvent === null) { lost++; continue }
      n++
      lat.push(tEvent - t0)
      fromAck.push(tEvent - tAck)
      if (tEvent < tAck) eventBeforeAck++
    }
    return { n, elapsed: now() - start }
  }
  if (warmupSeconds > 0) await phase(warmupSeconds, false)
  const cpu0 = process.cpuUsage()
  const r = await phase(seconds, true)
  const cpuUs = cpuSince(cpu0)
  return {
    ops: r.n,
    errors: lost,
    elapsedMs: r.elapsed,
    opsPerSec: (r.n / r.elapsed) * 1000,
    latencyMs: percentiles(lat),
    fromAckMs: percentiles(fromAck),
    eventBeforeAck,
    lost,
    cpuUs,
    cpuUsPerOp: r.n > 0 ? cpuUs / r.n : null
  }
}

/** A v2 watcher on a fresh key under `prefix`, with its problem counters. */
async function v2Watcher(Etcd, prefix) {
  const etcd = new Etcd(endpoint)
  const key = `${prefix}/${process.pid}-${Math.random().toString(36).slice(2)}`
  const first = await putValue(key, 'start')
  // Start from the next index so no write is missed while the first long-poll registers.
  const w = etcd.watcher(key, first.node.modifiedIndex + 1)
  const counts = { reconnect: 0, resync: 0, error: 0 }
  attachProblemCounters(w, counts)
  return { key, w, counts }
}

/** v2 ping-pong: a `watcher(key)` and its `change` events; the writer is plain node:http. */
async function watchLatency(Etcd) {
  const { key, w, counts } = await v2Watcher(Etcd, 'bench/watch')
  const r = await pingPong(
    (value) => putValue(key, value),
    (hit) => w.on('change', (body) => {
      const t = now()
      if (body.node) hit(body.node.value, t)
    })
  )
  w.stop()
  return { ...r, ...counts }
}

/**
 * v3 ping-pong: `client.watch().key(key).create()` and its `put` events; the writer is etcd's JSON
 * gateway through plain node:http, the same for both clients. create() resolves once etcd has
 * confirmed the watch, so no write is missed.
 */
async function v3WatchLatency(Etcd3) {
  const client = new Etcd3({ hosts: endpoint })
  const key = `bench/v3/watch/${process.pid}-${Math.random().toString(36).slice(2)}`
  const w = await client.watch().key(key).create()
  const counts = { reconnect: 0, error: 0 }
  w.on('disconnected', () => counts.reconnect++)
  w.on('error', () => counts.error++)
  const r = await pingPong(
    (value) => putV3Value(key, value),
    (hit) => w.on('put', (kv) => {
      const t = now()
      hit(kv.value.toString(), t)
    })
  )
  await w.cancel()
  client.close()
  return { ...r, ...counts }
}

/**
 * Flood: bursts of at most WATCH_BURST writes, `concurrency` writers back to back (not waiting for
 * events), each burst followed by waiting for its events; repeated for the round's duration.
 * Bursts stay under etcd's 1000-event history window, so a watcher that falls behind the writers
 * still catches up instead of getting a resync. Counts events delivered per second (first write of
 * a burst to its last event), latency from just before each write, and events that never arrived.
 */
async function watchFlood(Etcd) {
  const { key, w, counts } = await v2Watcher(Etcd, 'bench/flood')
  const sentAt = new Map() // value -> time just before its write
  let lat = []
  let received = 0
  let lastEventAt = 0
  let burstDone = null
  let writing = false
  w.on('change', (body) => {
    const t = now()
    const t0 = body.node && sentAt.get(body.node.value)
    if (t0 === undefined) return
    sentAt.delete(body.node.value)
    received++
    lastEventAt = t
    lat.push(t - t0)
    if (!writing && sentAt.size === 0 && burstDone) burstDone()
  })
  let seq = 0
  const burst = async (deadline) => {
    let written = 0
    const start = now()
    writing = true
    const writer = async () => {
      while (written < WATCH_BURST && now() < deadline) {
        const value = `f${++seq}`
        written++
        sentAt.set(value, now())
        await putValue(key, value)
      }
    }
    await Promise.all(Array.from({ length: concurrency }, writer))
    writing = false
    if (sentAt.size > 0) {
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, WATCH_EVENT_TIMEOUT_MS)
        burstDone = () => { clearTimeout(timer); resolve() }
      })
      burstDone = null
    }
    const lost = sentAt.size
    sentAt.clear()
    return { written, lost, elapsed: (lastEventAt > start ? lastEventAt : now()) - start }
  }
  const phase = async (secs) => {
    const deadline = now() + secs * 1000
    const tot = { written: 0, lost: 0, elapsed: 0, bursts: 0 }
    received = 0
    lat = []
    while (now() < deadline && tot.written < WATCH_MAX_EVENTS) {
      const b = await burst(deadline)
      tot.written += b.written
      tot.lost += b.lost
      tot.elapsed += b.elapsed
      tot.bursts++
    }
    return tot
  }
  if (warmupSeconds > 0) await phase(warmupSeconds)
  const cpu0 = process.cpuUsage()
  const r = await phase(seconds)
  const cpuUs = cpuSince(cpu0)
  w.stop()
  return {
    ops: received,
    errors: r.lost,
    written: r.written,
    bursts: r.bursts,
    elapsedMs: r.elapsed,
    opsPerSec: (received / r.elapsed) * 1000,
    latencyMs: percentiles(lat),
    lost: r.lost,
    cpuUs,
    cpuUsPerOp: received > 0 ? cpuUs / received : null,
    ...counts
  }
}

// --- idle watchers -----------------------------------------------------------------------------

async function etcdWatcherCount() {
  return (await httpRequest('GET', '/v2/stats/store')).watchers
}

/** RSS growth after `concurrency` idle watchers are registered at etcd (counted by /v2/stats/store). */
async function idleWatchers(Etcd) {
  const n = concurrency
  const etcd = new Etcd(endpoint)
  // Prime everything that is not per-watcher: the client's pool/runtime, our stats agent, JIT.
  await new Promise((resolve) => etcd.get(GET_KEY, () => resolve()))
  let w0 = await etcdWatcherCount()
  for (let t = 0; t < 40 && w0 > 0; t++) { await sleep(50); w0 = await etcdWatcherCount() } // last round's watchers leaving
  if (global.gc) global.gc()
  await sleep(200)
  if (global.gc) global.gc()
  const before = process.memoryUsage()
  const prefix = `bench/idle/${process.pid}`
  const counts = { reconnect: 0, resync: 0, error: 0 }
  const watchers = []
  const t0 = now()
  for (let i = 0; i < n; i++) {
    const w = etcd.watcher(`${prefix}/${i}`)
    w.on('change', () => {})
    attachProblemCounters(w, counts)
    watchers.push(w)
  }
  // Wait until etcd holds all of them, or until the count stops growing for 2 s (node-etcd's pool
  // caps open sockets, so it never gets there), bounded by 20 s.
  let registered = 0
  let lastChange = now()
  const limit = now() + 20000
  while (now() < limit) {
    const c = (await etcdWatcherCount()) - w0
    if (c !== registered) { registered = c; lastChange = now() }
    if (registered >= n || now() - lastChange > 2000) break
    await sleep(50)
  }
  const registerMs = now() - t0
  await sleep(300)
  if (global.gc) global.gc()
  await sleep(100)
  const after = process.memoryUsage()
  for (const w of watchers) w.stop()
  return {
    ops: registered,
    errors: counts.error,
    watchers: n,
    registered,
    registerMs,
    rssBeforeMB: before.rss / 2 ** 20,
    rssAfterMB: after.rss / 2 ** 20,
    rssGrowthMB: (after.rss - before.rss) / 2 ** 20,
    heapGrowthMB: (after.heapUsed - before.heapUsed) / 2 ** 20,
    rssPerWatcherKB: (after.rss - before.rss) / 1024 / n,
    ...counts
  }
}

// --- main --------------------------------------------------------------------------------------

async function main() {
  if (workload === 'require') {
    const { requireMs, native } = loadClient()
    return { requireMs, native }
  }
  const { Etcd, requireMs, native } = loadClient()
  let result
  switch (workload) {
    case 'get':
    case 'put':
    case 'getsync':
      result = await requestWorkload(new Etcd(endpoint))
      break
    case 'watch-latency':
      result = await watchLatency(Etcd)
      break
    case 'watch-flood':
      result = await watchFlood(Etcd)
      break
    case 'idle-watchers':
      result = await idleWatchers(Etcd)
      break
    case 'v3-get':
    case 'v3-put':
    case 'v3-txn': {
      const client = new Etcd({ hosts: endpoint })
      result = await v3RequestWorkload(client)
      client.close()
      break
    }
    case 'v3-watch-latency':
      result = await v3WatchLatency(Etcd)
      break
    default:
      throw new Error(`unknown workload ${workload}`)
  }
  return { requireMs, native, ...result }
}

main().then(
  (r) => {
    process.stdout.write(JSON.stringify({ client: clientName, workload, concurrency, seconds, ...r }) + '\n')
    // Watchers, pools and deasync leftovers must not keep the round alive.
    process.exit(0)
  },
  (err) => {
    process.stdout.write(JSON.stringify({ client: clientName, workload, concurrency, seconds, fatal: String((err && err.stack) || err) }) + '\n')
    process.exit(1)
  }
)
