'use strict'
// `npm run bench`: etcd-napi vs node-etcd 7 (and wrk as the server's ceiling) on the v2 API, and
// etcd-napi's Etcd3 vs npm etcd3 1.1.2 on the v3 API, all against one local etcd.
// Every client round runs in its own child process (bench/client.js); rounds are interleaved between
// clients so background noise on this shared machine hits them alike, and medians are reported.
// Progress goes to stderr; the table goes to stdout and the data to bench/results.json.
//
// Env: BENCH_SECONDS (seconds per round, default 3), BENCH_ROUNDS (default 3, at least 3),
//      BENCH_QUICK=1 (1 round of 1 s, for development),
//      BENCH_ONLY=<prefix>[,<prefix>…] (only the rows whose id starts with one of them: row ids are
//        get-c1 … put-c64, getsync, watch-latency, watch-flood, idle-watchers, require, and
//        v3-get-c1, v3-get-c64, v3-put-c1, v3-put-c64, v3-txn-c16, v3-watch-latency; e.g. BENCH_ONLY=v3).

const { execFile } = require('node:child_process')
const fs = require('node:fs')
const http = require('node:http')
const os = require('node:os')
const path = require('node:path')
const wrk = require('./wrk')
const { nativeInfo } = require('./native-info')

const QUICK = process.env.BENCH_QUICK === '1'
const SECONDS = Math.max(1, Number(process.env.BENCH_SECONDS) || (QUICK ? 1 : 3))
const ROUNDS = QUICK ? 1 : Math.max(3, Math.floor(Number(process.env.BENCH_ROUNDS) || 3))
const WARMUP = QUICK ? 0.3 : 0.5 // seconds of warm-up inside each client process
const REQUIRE_RUNS = QUICK ? 3 : 7
const ONLY = (process.env.BENCH_ONLY || '').split(',').map((p) => p.trim()).filter(Boolean)
const selected = (id) => ONLY.length === 0 || ONLY.some((p) => id.startsWith(p))
const IDLE_WATCHERS = 1000
const CLIENT_JS = path.join(__dirname, 'client.js')
const RESULTS = path.join(__dirname, 'results.json')

const ETCD3_VERSION = (() => {
  try {
    return require('etcd3/package.json').version
  } catch {
    return '?'
  }
})()
const NAMES = { napi: 'etcd-napi', 'napi-promise': 'etcd-napi (Promise)', 'node-etcd': 'node-etcd 7', 'node-http': 'node:http keep-alive (ref.)', wrk: 'wrk', 'napi-v3': 'etcd-napi Etcd3', etcd3: `etcd3 ${ETCD3_VERSION}` }
// GET/PUT run etcd-napi in both API styles, so name the callback one there.
const clientName = (client, workload) => (client === 'napi' && (workload === 'get' || workload === 'put') ? 'etcd-napi (callback)' : NAMES[client] || client)
const log = (msg) => process.stderr.write(`[bench] ${msg}\n`)
const median = (xs) => {
  const a = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((p, q) => p - q)
  if (a.length === 0) return null
  const m = a.length >> 1
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2
}

// --- children ----------------------------------------------------------------------------------

let currentChild = null

/** Runs one client round; resolves to its JSON line (or `{ fatal }`). Bounded in time. */
function runClient(client, workload, concurrency, endpoint, { nodeArgs = [], seconds = SECONDS } = {}) {
  const timeout = 60000 + seconds * 3000
  const args = [...nodeArgs, CLIENT_JS, client, workload, String(concurrency), String(seconds), endpoint, String(WARMUP)]
  return new Promise((resolve) => {
    currentChild = execFile(process.execPath, args, { cwd: __dirname, timeout, killSignal: 'SIGKILL', maxBuffer: 8 * 2 ** 20 }, (err, stdout, stderr) => {
      currentChild = null
      const line = String(stdout).trim().split('\n').pop()
      let out = null
      try {
        out = JSON.parse(line)
      } catch {}
      if (out === null) {
        const why = err && err.killed ? `killed after ${timeout} ms` : `exit ${err ? err.code : 0}`
        out = { client, workload, concurrency, fatal: `${why}: ${String(stderr).trim().slice(-500)}` }
      }
      if (out.fatal) log(`${client} ${workload} c=${concurrency} failed: ${out.fatal.split('\n')[0]}`)
      resolve(out)
    })
  })
}

/** CPU seconds (user+system) etcd has used so far, from /proc; null elsewhere. */
function serverCpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) / 100 // utime, stime in clock ticks (USER_HZ = 100 on Linux)
  } catch {
    return null
  }
}

// --- etcd helpers ------------------------------------------------------------------------------

function put(endpoint, key, value) {
  const u = new URL(`/v2/keys/${key}`, endpoint)
  const body = `value=${encodeURIComponent(value)}`
  return new Promise((resolve, reject) => {
    const req = http.request(u, { method: 'PUT', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length } }, (res) => {
      res.resume()
      res.on('end', () => (res.statusCode < 300 ? resolve() : reject(new Error(`PUT ${key}: HTTP ${res.statusCode}`))))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** A v3 put through etcd's JSON gateway (same port), so setup needs neither client. */
function putV3(endpoint, key, value) {
  const b64 = (s) => Buffer.from(s).toString('base64')
  const body = JSON.stringify({ key: b64(key), value: b64(value) })
  return new Promise((resolve, reject) => {
    const req = http.request(new URL('/v3/kv/put', endpoint), { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume()
      res.on('end', () => (res.statusCode < 300 ? resolve() : reject(new Error(`v3 put ${key}: HTTP ${res.statusCode}`))))
    })
    req.on('error', reject)
    req.end(body)
  })
}

// --- plan --------------------------------------------------------------------------------------

function plan() {
  const items = []
  for (const c of [1, 16, 64]) {
    items.push({ id: `get-c${c}`, label: `GET c=${c}`, workload: 'get', concurrency: c, clients: ['napi', 'napi-promise', 'node-etcd', 'node-http'], wrk: { threads: c === 1 ? 1 : 2, connections: c, method: 'GET' } })
  }
  for (const c of [1, 16, 64]) {
    items.push({ id: `put-c${c}`, label: `PUT c=${c}`, workload: 'put', concurrency: c, clients: ['napi', 'node-etcd'], wrk: { threads: c === 1 ? 1 : 2, connections: c, method: 'PUT' } })
  }
  items.push({ id: 'getsync', label: 'getSync sequential', workload: 'getsync', concurrency: 1, clients: ['napi', 'node-etcd'] })
  items.push({ id: 'watch-latency', label: 'watch ping-pong (1 write in flight)', workload: 'watch-latency', concurrency: 1, clients: ['napi', 'node-etcd'] })
  items.push({ id: 'watch-flood', label: 'watch flood (2 writers, 500-write bursts)', workload: 'watch-flood', concurrency: 2, clients: ['napi', 'node-etcd'] })
  items.push({ id: 'idle-watchers', label: `${IDLE_WATCHERS} idle watchers`, workload: 'idle-watchers', concurrency: IDLE_WATCHERS, clients: ['napi', 'node-etcd'], nodeArgs: ['--expose-gc'] })
  // v3: etcd-napi's Etcd3 against npm etcd3, Promise API (etcd3 has no other), no wrk (it speaks no gRPC).
  const v3 = { clients: ['napi-v3', 'etcd3'], baseline: 'etcd3' }
  for (const c of [1, 64]) items.push({ id: `v3-get-c${c}`, label: `v3 GET c=${c}`, workload: 'v3-get', concurrency: c, ...v3 })
  for (const c of [1, 64]) items.push({ id: `v3-put-c${c}`, label: `v3 PUT c=${c}`, workload: 'v3-put', concurrency: c, ...v3 })
  items.push({ id: 'v3-txn-c16', label: 'v3 txn if/then(put) c=16', workload: 'v3-txn', concurrency: 16, ...v3 })
  items.push({ id: 'v3-watch-latency', label: 'v3 watch ping-pong (1 write in flight)', workload: 'v3-watch-latency', concurrency: 1, ...v3 })
  return items.filter((item) => selected(item.id))
}

// --- aggregation -------------------------------------------------------------------------------

function summarize(item, client, rounds) {
  const ok = rounds.filter((r) => !r.fatal && !r.na)
  const pick = (f) => median(ok.map(f))
  const s = {
    workload: item.id,
    kind: item.workload,
    label: item.label,
    client,
    baseline: item.baseline || 'node-etcd',
    rounds: rounds.length,
    okRounds: ok.length,
    errors: ok.reduce((n, r) => n + (r.errors || 0), 0),
    fatal: rounds.find((r) => r.fatal)?.fatal ?? null
  }
  if (item.workload === 'idle-watchers') {
    Object.assign(s, {
      rssGrowthMB: pick((r) => r.rssGrowthMB),
      heapGrowthMB: pick((r) => r.heapGrowthMB),
      registered: pick((r) => r.registered),
      registerMs: pick((r) => r.registerMs),
      rssPerRegisteredKB: pick((r) => (r.registered > 0 ? (r.rssGrowthMB * 1024) / r.registered : null))
    })
  } else {
    Object.assign(s, {
      opsPerSec: pick((r) => r.opsPerSec),
      p50Ms: pick((r) => r.latencyMs?.p50),
      p99Ms: pick((r) => r.latencyMs?.p99),
      cpuUsPerOp: pick((r) => r.cpuUsPerOp),
      serverCpuUsPerOp: pick((r) => r.serverCpuUsPerOp)
    })
    if (item.workload.endsWith('watch-latency')) {
      s.fromAckP50Ms = pick((r) => r.fromAckMs?.p50)
      s.eventBeforeAckShare = pick((r) => (r.ops ? r.eventBeforeAck / r.ops : null))
    }
    if (item.workload.includes('watch')) {
      s.lost = ok.reduce((n, r) => n + (r.lost || 0), 0)
      s.resyncs = ok.reduce((n, r) => n + (r.resync || 0), 0)
      s.reconnects = ok.reduce((n, r) => n + (r.reconnect || 0), 0)
    }
  }
  return s
}

// --- output ------------------------------------------------------------------------------------

const fmtInt = (x) => (x === null || x === undefined ? 'n/a' : Math.round(x).toLocaleString('en-US'))
const fmtMs = (x) => (x === null || x === undefined ? '' : x >= 100 ? `${x.toFixed(0)} ms` : x >= 10 ? `${x.toFixed(1)} ms` : `${x.toFixed(3)} ms`)
const fmtUs = (x) => (x === null || x === undefined ? '' : `${x.toFixed(1)} µs`)
const fmtRatio = (x) => (x === null || x === undefined ? '' : `${x.toFixed(2)}×`)

function table(rows, headers) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)))
  const line = (cells) => '| ' + cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ') + ' |'
  return [line(headers), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.map(line)].join('\n')
}

function resultRows(summaries) {
  const rows = []
  const byKey = new Map(summaries.map((s) => [`${s.workload}/${s.client}`, s]))
  for (const s of summaries) {
    // The baseline is node-etcd for the v2 rows and etcd3 for the v3 rows.
    const ne = byKey.get(`${s.workload}/${s.baseline}`)
    const isBase = s.client === s.baseline
    const w = byKey.get(`${s.workload}/wrk`)
    let value
    let vsNe = ''
    let vsWrk = ''
    if (s.na) {
      value = `n/a (${s.na})`
    } else if (s.workload === 'idle-watchers') {
      value = s.rssGrowthMB === null ? 'n/a' : `+${s.rssGrowthMB.toFixed(1)} MB RSS, ${fmtInt(s.registered)}/${IDLE_WATCHERS} registered`
      if (!isBase && ne?.rssGrowthMB) vsNe = `${fmtRatio(s.rssGrowthMB / ne.rssGrowthMB)} RSS`
    } else if (s.workload === 'require') {
      value = fmtMs(s.requireMs)
      if (!isBase && ne?.requireMs) vsNe = fmtRatio(s.requireMs / ne.requireMs)
    } else {
      value = s.opsPerSec === null ? 'n/a' : `${fmtInt(s.opsPerSec)} ${s.kind.includes('watch') ? 'events/s' : 'ops/s'}`
      if (!isBase && s.client !== 'wrk' && ne?.opsPerSec && s.opsPerSec !== null) vsNe = fmtRatio(s.opsPerSec / ne.opsPerSec)
      if (s.client !== 'wrk' && w?.opsPerSec && s.opsPerSec !== null) vsWrk = `${((100 * s.opsPerSec) / w.opsPerSec).toFixed(0)} %`
    }
    const notes = []
    if (s.errors) notes.push(`${s.errors} errors`)
    if (s.lost) notes.push(`${s.lost} lost`)
    if (s.resyncs) notes.push(`${s.resyncs} resyncs`)
    if (s.reconnects) notes.push(`${s.reconnects} reconnects`)
    if (s.fatal) notes.push(`failed round: ${s.fatal.split('\n')[0].slice(0, 60)}`)
    if (s.fromAckP50Ms !== undefined && s.fromAckP50Ms !== null) notes.push(`ack→event p50 ${fmtMs(s.fromAckP50Ms)}`)
    rows.push([
      s.label,
      clientName(s.client, s.kind),
      value,
      fmtMs(s.p50Ms),
      fmtMs(s.p99Ms),
      fmtUs(s.cpuUsPerOp),
      fmtUs(s.serverCpuUsPerOp),
      vsNe,
      vsWrk,
      `${s.okRounds}/${s.rounds}`,
      notes.join('; ')
    ])
  }
  return rows
}

function targets(summaries) {
  const get = (w, c) => summaries.find((s) => s.workload === w && s.client === c)
  const ratio = (a, b) => (a === null || a === undefined || !b ? null : a / b)
  const t = []
  // `row` is the workload id a line depends on: lines of rows left out by BENCH_ONLY are dropped.
  const add = (row, name, value, op, bound, note = '') => {
    const holds = value === null ? null : op === '>=' ? value >= bound : value <= bound
    t.push({ row, target: name, ratio: value, bound: `${op} ${bound}`, holds, note })
  }
  add('get-c64', 'GET c=64: etcd-napi ops/s ÷ node-etcd', ratio(get('get-c64', 'napi')?.opsPerSec, get('get-c64', 'node-etcd')?.opsPerSec), '>=', 6)
  add('get-c64', 'GET c=64: etcd-napi ops/s ÷ wrk', ratio(get('get-c64', 'napi')?.opsPerSec, get('get-c64', 'wrk')?.opsPerSec), '>=', 0.5, get('get-c64', 'wrk') ? '' : 'wrk not available')
  add('put-c64', 'PUT c=64: etcd-napi ops/s ÷ node-etcd', ratio(get('put-c64', 'napi')?.opsPerSec, get('put-c64', 'node-etcd')?.opsPerSec), '>=', 4)
  add('get-c1', 'GET c=1: etcd-napi median latency ÷ node-etcd', ratio(get('get-c1', 'napi')?.p50Ms, get('get-c1', 'node-etcd')?.p50Ms), '<=', 0.5)
  add('get-c1', 'GET c=1: client CPU per GET ÷ node-etcd', ratio(get('get-c1', 'napi')?.cpuUsPerOp, get('get-c1', 'node-etcd')?.cpuUsPerOp), '<=', 0.25)
  add('get-c64', 'GET c=64: client CPU per GET ÷ node-etcd', ratio(get('get-c64', 'napi')?.cpuUsPerOp, get('get-c64', 'node-etcd')?.cpuUsPerOp), '<=', 0.25)
  add('require', "require('etcd-napi') time ÷ require('node-etcd')", ratio(get('require', 'napi')?.requireMs, get('require', 'node-etcd')?.requireMs), '<=', 1)
  // Same ratios for the Promise API, for information (the targets are for the drop-in callback API).
  const info = [
    ['get-c64', '(info) GET c=64 Promise mode ÷ node-etcd', ratio(get('get-c64', 'napi-promise')?.opsPerSec, get('get-c64', 'node-etcd')?.opsPerSec)],
    ['get-c64', '(info) GET c=64 Promise mode ÷ wrk', ratio(get('get-c64', 'napi-promise')?.opsPerSec, get('get-c64', 'wrk')?.opsPerSec)],
    ['get-c1', '(info) GET c=1 Promise median latency ÷ node-etcd', ratio(get('get-c1', 'napi-promise')?.p50Ms, get('get-c1', 'node-etcd')?.p50Ms)],
    ['get-c1', '(info) GET c=1 etcd-napi median latency ÷ wrk', ratio(get('get-c1', 'napi')?.p50Ms, get('get-c1', 'wrk')?.p50Ms)]
  ]
  // v3: no targets set; etcd-napi's Etcd3 ÷ etcd3 in the same run.
  const v3 = (row, name, field) => info.push([row, name, ratio(get(row, 'napi-v3')?.[field], get(row, 'etcd3')?.[field])])
  v3('v3-get-c1', '(info) v3 GET c=1: Etcd3 ops/s ÷ etcd3', 'opsPerSec')
  v3('v3-get-c1', '(info) v3 GET c=1: Etcd3 median latency ÷ etcd3', 'p50Ms')
  v3('v3-get-c1', '(info) v3 GET c=1: client CPU per GET ÷ etcd3', 'cpuUsPerOp')
  v3('v3-get-c64', '(info) v3 GET c=64: Etcd3 ops/s ÷ etcd3', 'opsPerSec')
  v3('v3-get-c64', '(info) v3 GET c=64: client CPU per GET ÷ etcd3', 'cpuUsPerOp')
  v3('v3-put-c1', '(info) v3 PUT c=1: Etcd3 ops/s ÷ etcd3', 'opsPerSec')
  v3('v3-put-c1', '(info) v3 PUT c=1: client CPU per PUT ÷ etcd3', 'cpuUsPerOp')
  v3('v3-put-c64', '(info) v3 PUT c=64: Etcd3 ops/s ÷ etcd3', 'opsPerSec')
  v3('v3-put-c64', '(info) v3 PUT c=64: client CPU per PUT ÷ etcd3', 'cpuUsPerOp')
  v3('v3-txn-c16', '(info) v3 txn c=16: Etcd3 ops/s ÷ etcd3', 'opsPerSec')
  v3('v3-txn-c16', '(info) v3 txn c=16: client CPU per txn ÷ etcd3', 'cpuUsPerOp')
  v3('v3-watch-latency', '(info) v3 watch: Etcd3 events/s ÷ etcd3', 'opsPerSec')
  v3('v3-watch-latency', '(info) v3 watch: Etcd3 median write→event ÷ etcd3', 'p50Ms')
  v3('v3-watch-latency', '(info) v3 watch: client CPU per event ÷ etcd3', 'cpuUsPerOp')
  for (const [row, name, value] of info) t.push({ row, target: name, ratio: value, bound: '', holds: null, note: 'info' })
  return t.filter((x) => selected(x.row))
}

// --- main --------------------------------------------------------------------------------------

async function main() {
  const started = new Date()
  const cpus = os.cpus()
  const machine = {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    totalMemGB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAvgStart: os.loadavg().map((x) => +x.toFixed(2))
  }
  const config = { quick: QUICK, secondsPerRound: SECONDS, rounds: ROUNDS, warmupSeconds: WARMUP, requireRuns: REQUIRE_RUNS, idleWatchers: IDLE_WATCHERS, only: ONLY }
  log(`${ROUNDS} round(s) of ${SECONDS} s per client and workload${QUICK ? ' (quick mode)' : ''}`)
  const items = plan()
  if (ONLY.length) log(`BENCH_ONLY=${ONLY.join(',')}: ${[...items.map((i) => i.id), ...(selected('require') ? ['require'] : [])].join(', ') || 'no rows match'}`)

  // Only look for (or install) wrk when a selected row uses it.
  const wrkInfo = items.some((i) => i.wrk) ? wrk.ensure(log) : { available: false, unused: true }
  const { startEtcd } = require('../testing/index.js')
  log('starting etcd')
  const server = await startEtcd()
  const endpoint = server.endpoints[0]
  const etcdPid = server.members[0].pid
  const stopAll = async () => {
    if (currentChild) currentChild.kill('SIGKILL')
    wrk.killCurrent()
    await server.stop()
  }
  const onSignal = () => stopAll().finally(() => process.exit(130))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  const summaries = []
  const raw = []
  try {
    log(`etcd ${server.version} at ${endpoint}`)
    await put(endpoint, 'bench/get', 'bar')
    await put(endpoint, 'bench/put', 'bar')
    // The v3 GET reads this key and the v3 transaction compares on this value.
    await putV3(endpoint, 'bench/v3/get', 'bar')
    await putV3(endpoint, 'bench/v3/txn', 'bar')
    // Warm the server up (Go runtime, caches) before the first measured round, on the API that runs first.
    if (wrkInfo.available) await wrk.run({ url: `${endpoint}/v2/keys/bench/get`, threads: 2, connections: 16, seconds: 1, method: 'GET' })
    else if (items.length && items.every((i) => i.id.startsWith('v3-'))) await runClient('napi-v3', 'v3-get', 16, endpoint, { seconds: 1 })
    else await runClient('napi', 'get', 16, endpoint, { seconds: 1 })

    for (const item of items) {
      const clients = [...item.clients, ...(item.wrk && wrkInfo.available ? ['wrk'] : [])]
      const rounds = Object.fromEntries(clients.map((c) => [c, []]))
      for (let r = 0; r < ROUNDS; r++) {
        for (const client of clients) {
          log(`${item.label}: ${clientName(client, item.workload)} round ${r + 1}/${ROUNDS}`)
          const cpu0 = serverCpuSeconds(etcdPid)
          let res
          if (client === 'wrk') {
            const key = item.workload === 'put' ? 'bench/put' : 'bench/get'
            res = await wrk.run({ url: `${endpoint}/v2/keys/${key}`, seconds: SECONDS, ...item.wrk })
          } else {
            res = await runClient(client, item.workload, item.concurrency, endpoint, { nodeArgs: item.nodeArgs })
          }
          const cpu1 = serverCpuSeconds(etcdPid)
          // Server CPU per op includes the child's warm-up, so it is an upper bound; fine for comparing.
          if (cpu0 !== null && cpu1 !== null && res.ops > 0 && item.workload !== 'idle-watchers') {
            const warmOps = client === 'wrk' ? 0 : res.opsPerSec * WARMUP
            res.serverCpuUsPerOp = ((cpu1 - cpu0) * 1e6) / (res.ops + warmOps)
          }
          res.round = r + 1
          rounds[client].push(res)
          raw.push({ ...res, workload: item.id, kind: item.workload })
        }
      }
      for (const client of clients) summaries.push(summarize(item, client, rounds[client]))
    }

    // node-etcd's getSync relies on deasync; mark it n/a rather than failing the run if it breaks.
    const neSync = summaries.find((s) => s.workload === 'getsync' && s.client === 'node-etcd')
    if (neSync && neSync.okRounds === 0) neSync.na = 'deasync getSync did not run'

    // require() time: fresh processes, interleaved, one unmeasured run each first (file cache).
    const req = { napi: [], 'node-etcd': [] }
    for (let i = -1; i < REQUIRE_RUNS && selected('require'); i++) {
      for (const client of Object.keys(req)) {
        const r = await runClient(client, 'require', 1, endpoint, { seconds: 1 })
        if (i >= 0 && !r.fatal) req[client].push(r.requireMs)
      }
    }
    if (selected('require')) log(`require runs: ${JSON.stringify(req)}`)
    for (const client of selected('require') ? Object.keys(req) : []) {
      summaries.push({ workload: 'require', kind: 'require', label: `require() in a fresh process`, client, baseline: 'node-etcd', rounds: REQUIRE_RUNS, okRounds: req[client].length, errors: 0, requireMs: median(req[client]), runsMs: req[client] })
    }
  } finally {
    await stopAll()
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
  }

  machine.loadAvgEnd = os.loadavg().map((x) => +x.toFixed(2))
  // The addon that actually ran, and whether someone rebuilt it during the run.
  const seen = raw.filter((r) => r.native && r.native.path)
  const native = seen.length ? nativeInfo(seen[0].native.path) : { build: 'unknown (no etcd-napi round finished)' }
  native.changedDuringRun = new Set(seen.map((r) => `${r.native.path}@${r.native.mtimeMs}`)).size > 1
  const tg = targets(summaries)
  const finished = new Date()
  const out = []
  out.push(`etcd-napi benchmark — ${started.toISOString()} (took ${((finished - started) / 1000).toFixed(0)} s)`)
  out.push(`machine: ${machine.cpuCount} × ${machine.cpuModel}, ${machine.totalMemGB} GB RAM, ${machine.platform}, load avg ${machine.loadAvgStart.join(' ')} → ${machine.loadAvgEnd.join(' ')}`)
  out.push(`Node ${machine.node}, etcd ${server.version} (single member, --unsafe-no-fsync, loopback), wrk ${wrkInfo.available ? wrkInfo.version : wrkInfo.unused ? 'not used by the selected rows' : 'not available: wrk rows skipped'}, etcd3 ${ETCD3_VERSION}`)
  out.push(`etcd-napi addon: ${native.path ? path.relative(process.cwd(), native.path) || native.path : '?'}, ${native.build}${native.sizeMB ? `, ${native.sizeMB} MB, built ${native.mtime}` : ''}`)
  if (native.debugInfo) out.push('WARNING: the etcd-napi addon is a debug build: run `npm run build` (release) before benchmarking')
  if (native.changedDuringRun) out.push('WARNING: the etcd-napi addon was rebuilt during the run: rounds used different binaries')
  out.push(`method: ${ROUNDS} round(s) × ${SECONDS} s per client, interleaved, ${WARMUP} s warm-up per round, medians of rounds${QUICK ? ' (QUICK MODE: not for reporting)' : ''}${ONLY.length ? `; BENCH_ONLY=${ONLY.join(',')}` : ''}`)
  out.push('')
  out.push(table(resultRows(summaries), ['workload', 'client', 'result (median)', 'p50', 'p99', 'client CPU/op', 'etcd CPU/op', 'vs node-etcd / etcd3', 'vs wrk', 'rounds', 'notes']))
  out.push('')
  out.push(table(tg.map((t) => [t.target, t.ratio === null ? 'n/a' : t.ratio.toFixed(2), t.bound, t.holds === null ? (t.note === 'info' ? '' : `n/a${t.note ? ` (${t.note})` : ''}`) : t.holds ? 'HOLDS' : 'MISSES']), ['target', 'ratio', 'bound', 'result']))
  process.stdout.write(out.join('\n') + '\n')

  const json = { date: started.toISOString(), durationSeconds: (finished - started) / 1000, machine, config, native, etcd: { version: server.version, endpoint }, wrk: wrkInfo, summaries, targets: tg, rounds: raw }
  fs.writeFileSync(RESULTS, JSON.stringify(json, null, 2) + '\n')
  log(`wrote ${path.relative(process.cwd(), RESULTS) || RESULTS}`)
}

main().catch((err) => {
  process.stderr.write(`[bench] failed: ${(err && err.stack) || err}\n`)
  process.exit(1)
})
