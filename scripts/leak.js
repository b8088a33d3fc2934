#!/usr/bin/env node
'use strict'
/*
 * `npm run test:leak`: memory growth of etcd-napi against a pure-JS control loop of the same shape.
 *
 * Scenarios (each in its own child process: `node --expose-gc`, MALLOC_ARENA_MAX=2, against a fresh
 * single-member etcd on 127.0.0.1), counts scaled by LEAK_SCALE (default 1):
 *   ops       10^6 `get` calls, 64 in flight
 *   watchers  10^4 `watcher(key)` start/stop cycles, 8 at a time: stop after 0-5 ms (before or
 *             around registration), and every 10th cycle after its first change event arrived
 *   clients   10^3 `new Etcd(endpoint)` + one `get` + `close()`
 * The control runs the same loop with plain objects, Promises, timers and an EventEmitter instead
 * of the addon (same iterations, same concurrency, similar allocations per iteration).
 *
 * Samples: the first 20 % of iterations are warm-up; then, at the baseline and after each of 20
 * equal segments, the loop drains (nothing in flight), `global.gc()` runs 4 times with turns of the
 * event loop between, and RSS, heapUsed and external are read.
 *
 * Growth criterion, for RSS and for heapUsed+external separately: a scenario fails only when the
 * addon's growth beyond the control's exceeds the margin BOTH as last−first (median of the last three
 * samples minus median of the first three) AND as the least-squares slope projected over the span. Requiring both ignores one-off steps (pools, arenas, JIT)
 * and noise in a single sample, and flags growth that continues through the run. Margins are a floor
 * (RSS 8 MB: glibc arenas, tokio worker stacks and V8 page retention move RSS by a few MB on their
 * own; heap+external 2 MB: the post-GC heap jitters by well under 1 MB) or a per-iteration rate
 * times the measured iterations, whichever is larger: ops 16 B / 4 B per call, watchers 1 KB /
 * 256 B per cycle, clients 16 KB / 2 KB per client. Anything retained per call (a token, a closure,
 * a Map entry: 50 B or more), per watcher or per client crosses these lines at full scale.
 *
 * Also: a FinalizationRegistry + WeakRef check that every closed client and every stopped watcher
 * is collected once the loop dropped them (gc() repeatedly, 30 s deadline).
 *
 * Env: LEAK_SCALE (1; e.g. 0.05 for a quick run), LEAK_SCENARIOS (comma list, default all),
 *      LEAK_CHILD_TIMEOUT_MS (360000 per child), LEAK_INJECT=1 (self-test of the criterion: the
 *      etcd-napi child keeps every token / watcher / client it made, so every check must fail).
 * Prints a table of the samples per scenario and a final `N passed, M failed` line; exit 1 on failure.
 */
const path = require('node:path')
const { spawn } = require('node:child_process')
const { checklist } = require('./chaos/util.js')

const MB = 1024 * 1024
const SEGMENTS = 20
const WARMUP = 0.2 // V8's young generation and glibc's arenas grow during the first ~15 % (seen in both loops)

const SCENARIOS = {
  ops: { count: 1e6, concurrency: 64, rss: [8 * MB, 16], heap: [2 * MB, 4], unit: 'calls' },
  watchers: { count: 1e4, concurrency: 8, rss: [8 * MB, 1024], heap: [2 * MB, 256], unit: 'cycles', collect: 'watchers' },
  clients: { count: 1e3, concurrency: 1, rss: [8 * MB, 16 * 1024], heap: [2 * MB, 2048], unit: 'clients', collect: 'clients' },
}

// ----------------------------------------------------------------------------------- parent

function scaledCount(name) {
  const scale = Number(process.env.LEAK_SCALE || 1)
  if (!(scale > 0)) throw new Error(`LEAK_SCALE must be a positive number, got ${process.env.LEAK_SCALE}`)
  return Math.max(SEGMENTS * 10, Math.round(SCENARIOS[name].count * scale))
}

function runChild(name, mode, endpoint) {
  const timeoutMs = Number(process.env.LEAK_CHILD_TIMEOUT_MS || 360000)
  return new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(process.execPath, ['--expose-gc', __filename], {
      env: { ...process.env, MALLOC_ARENA_MAX: '2', LEAK_CHILD: name, LEAK_MODE: mode, LEAK_ENDPOINT: endpoint, LEAK_COUNT: String(scaledCount(name)) },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (s) => (out += s))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      const line = out.split('\n').find((l) => l.startsWith('RESULT '))
      const seconds = (Date.now() - started) / 1000
      if (!line) return resolve({ error: `child ${name}/${mode} exited (code ${code}, signal ${signal}) after ${seconds.toFixed(0)} s without a result${signal === 'SIGKILL' ? ` (timeout ${timeoutMs} ms)` : ''}` })
      resolve({ ...JSON.parse(line.slice(7)), seconds })
    })
  })
}

/** Least-squares slope of y over x. */
function slope(xs, ys) {
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my)
    den += (xs[i] - mx) ** 2
  }
  return den === 0 ? 0 : num / den
}

const median3 = (a, b, c) => a + b + c - Math.min(a, b, c) - Math.max(a, b, c)

/**
 * Growth of one series over the measured span: last−first (each end the median of its three
 * samples, so one noisy sample cannot decide) and the least-squares slope × span.
 */
function growth(samples, pick) {
  const xs = samples.map((s) => s.iter)
  const ys = samples.map(pick)
  const n = ys.length
  const span = xs[n - 1] - xs[0]
  const delta = median3(ys[n - 1], ys[n - 2], ys[n - 3]) - median3(ys[0], ys[1], ys[2])
  return { delta, projected: slope(xs, ys) * span, span }
}

const fmt = (b) => (b / MB).toFixed(1)
const signed = (b) => `${b >= 0 ? '+' : ''}${fmt(b)}`

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)))
  return rows.map((r) => r.map((v, c) => (c === 0 ? String(v).padEnd(widths[c]) : String(v).padStart(widths[c]))).join('  ')).join('\n')
}

async function parent() {
  const { startEtcd } = require('../testing/index.js')
  const only = (process.env.LEAK_SCENARIOS || '').split(',').map((s) => s.trim()).filter(Boolean)
  const names = Object.keys(SCENARIOS).filter((n) => only.length === 0 || only.includes(n))
  console.log(`leak: scale ${process.env.LEAK_SCALE || 1}, scenarios ${names.join(', ')}; node ${process.version}, MALLOC_ARENA_MAX=2, --expose-gc`)
  const verdict = checklist()
  const prop = verdict.prop

  for (const name of names) {
    const sc = SCENARIOS[name]
    const server = await startEtcd()
    let control
    let napi
    try {
      control = await runChild(name, 'control', server.endpoints[0])
      napi = await runChild(name, 'napi', server.endpoints[0])
    } finally {
      await server.stop()
    }
    console.log(`\n== ${name}: ${scaledCount(name)} ${sc.unit}, ${sc.concurrency} in flight`)
    if (control.error || napi.error) {
      for (const r of [control, napi]) if (r.error) console.log(r.error)
      prop(`${name}: runs completed`, false, control.error || napi.error)
      continue
    }
    console.log(`control ${control.seconds.toFixed(1)} s (${Math.round(control.count / control.loopSeconds)} ${sc.unit}/s), etcd-napi ${napi.seconds.toFixed(1)} s (${Math.round(napi.count / napi.loopSeconds)} ${sc.unit}/s); MB after forced GC; sample 0 is the post-warm-up baseline`)
    const rows = [['sample', `${sc.unit} done`, 'ctl rss', 'ctl heap', 'ctl ext', 'napi rss', 'napi heap', 'napi ext']]
    for (let i = 0; i < napi.samples.length; i++) {
      const c = control.samples[i]
      const n = napi.samples[i]
      rows.push([String(i), n.iter, fmt(c.rss), fmt(c.heapUsed), fmt(c.external), fmt(n.rss), fmt(n.heapUsed), fmt(n.external)])
    }
    console.log(table(rows))

    const measured = napi.samples[napi.samples.length - 1].iter - napi.samples[0].iter
    for (const [label, pick, [floor, perIter]] of [
      ['rss', (s) => s.rss, sc.rss],
      ['heap+external', (s) => s.heapUsed + s.external, sc.heap],
    ]) {
      const margin = Math.max(floor, perIter * measured)
      const g = growth(napi.samples, pick)
      const gc = growth(control.samples, pick)
      const excessDelta = g.delta - gc.delta
      const excessProjected = g.projected - gc.projected
      const ok = !(excessDelta > margin && excessProjected > margin)
      const perOp = (excessProjected / measured).toFixed(1)
      const figure = `napi ${signed(g.delta)} MB (slope ${signed(g.projected)}), control ${signed(gc.delta)} MB (slope ${signed(gc.projected)}); excess ${signed(excessDelta)} / ${signed(excessProjected)} MB (${perOp} B per ${sc.unit.replace(/s$/, '')}), margin ${fmt(margin)} MB`
      console.log(`${label}: ${figure}`)
      prop(`${name}: ${label} growth within margin of the control`, ok, figure)
    }
    if (sc.collect) {
      for (const [mode, r] of [['control', control], ['etcd-napi', napi]]) {
        const c = r.collection
        console.log(`${mode}: ${c.collected}/${c.registered} ${sc.collect} collected after ${c.ms} ms of forced GC; last one's WeakRef ${c.weakRefCleared ? 'cleared' : 'still alive'}`)
      }
      const c = napi.collection
      prop(`${name}: every ${sc.collect === 'clients' ? 'closed client' : 'stopped watcher'} is garbage-collected`, c.collected === c.registered && c.weakRefCleared, `${c.collected}/${c.registered}, WeakRef ${c.weakRefCleared ? 'cleared' : 'alive'}`)
    }
  }

  process.exit(verdict.report() ? 1 : 0)
}

// ------------------------------------------------------------------------------------ child

const turn = () => new Promise((resolve) => setImmediate(resolve))
const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function sample(iter) {
  for (let i = 0; i < 4; i++) {
    global.gc()
    await turn()
  }
  const m = process.memoryUsage()
  return { iter, rss: m.rss, heapUsed: m.heapUsed, external: m.external }
}

/**
 * Runs `step(i, worker)` for i in [0, count) with `concurrency` loops; drains and samples after the
 * warm-up and after each segment.
 */
async function drive(count, concurrency, step) {
  const warm = Math.round(count * WARMUP)
  const marks = [warm]
  for (let s = 1; s <= SEGMENTS; s++) marks.push(warm + Math.round(((count - warm) * s) / SEGMENTS))
  const samples = []
  let next = 0
  const started = Date.now()
  for (const mark of marks) {
    const loop = async (worker) => {
      while (next < mark) await step(next++, worker)
    }
    await Promise.all(Array.from({ length: concurrency }, (_, w) => loop(w)))
    samples.push(await sample(mark))
  }
  return { samples, loopSeconds: (Date.now() - started) / 1000 }
}

/** Registers objects that must be collected; `check()` forces GC until all were, or 30 s passed. */
function collector() {
  let registered = 0
  let collected = 0
  let lastRef = null
  const registry = new FinalizationRegistry(() => collected++)
  return {
    track(obj) {
      registered++
      registry.register(obj, null)
      lastRef = new WeakRef(obj)
    },
    async check() {
      const started = Date.now()
      while ((collected < registered || lastRef.deref() !== undefined) && Date.now() - started < 30000) {
        global.gc()
        await delay(20) // finalization callbacks run as tasks after the GC
      }
      return { registered, collected, weakRefCleared: lastRef === null || lastRef.deref() === undefined, ms: Date.now() - started }
    },
  }
}

// The control's stand-ins: what a call or a watcher allocates, without the addon.
const BODY = JSON.stringify({ action: 'get', node: { key: '/leak/k', value: 'v'.repeat(32), modifiedIndex: 4, createdIndex: 4 } })
const HEADERS = ['content-type', 'application/json', 'x-etcd-cluster-id', 'cdf818194e3a8c32', 'x-etcd-index', '4', 'x-raft-index', '5', 'x-raft-term', '2', 'date', new Date().toUTCString(), 'content-length', String(BODY.length)]

function fakeCall() {
  // Like a PromiseToken settled from a completion callback: a token object, parsed body and headers.
  const token = { servers: ['http://127.0.0.1:2379'], errors: [], retries: 0, aborted: false, headers: undefined }
  return new Promise((resolve) =>
    setImmediate(() => {
      const headers = {}
      for (let i = 0; i < HEADERS.length; i += 2) headers[HEADERS[i]] = HEADERS[i + 1]
      token.headers = headers
      resolve(JSON.parse(BODY))
    }),
  )
}

class FakeWatcher extends require('node:events').EventEmitter {
  constructor(key) {
    super()
    this.key = key
    this.stopped = false
    this._keepAlive = setInterval(() => {}, 2 ** 31 - 1)
    this._poll = setTimeout(() => {
      if (!this.stopped) this.emit('change', JSON.parse(BODY), {})
    }, 1)
  }

  stop() {
    this.stopped = true
    clearInterval(this._keepAlive)
    clearTimeout(this._poll)
    this.emit('stop')
  }
}

class FakeClient {
  constructor(hosts) {
    this.hosts = [hosts]
    this._watchers = new Set()
    this._pending = new Set()
  }

  get() {
    const p = fakeCall()
    this._pending.add(p)
    return p.finally(() => this._pending.delete(p))
  }

  close() {
    this._pending.clear()
  }
}

function onceChange(w, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no change event within ${ms} ms`)), ms)
    w.once('change', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

async function child(name, mode) {
  const count = Number(process.env.LEAK_COUNT)
  const endpoint = process.env.LEAK_ENDPOINT
  const sc = SCENARIOS[name]
  const napi = mode === 'napi'
  const Etcd = napi ? require(path.join(__dirname, '..', 'index.js')) : null
  const result = { name, mode, count }
  // LEAK_INJECT=1: a deliberate leak in the addon's loop, to show the criterion catches one.
  const kept = []
  const keep = napi && process.env.LEAK_INJECT === '1' ? (x) => (kept.push(x), x) : (x) => x

  if (name === 'ops') {
    const etcd = napi ? new Etcd(endpoint) : new FakeClient(endpoint)
    if (napi) await etcd.set('leak/k', 'v'.repeat(32))
    Object.assign(result, await drive(count, sc.concurrency, () => keep(etcd.get('leak/k'))))
    etcd.close()
  } else if (name === 'watchers') {
    const etcd = napi ? new Etcd(endpoint) : null
    const col = collector()
    const waits = [0, 1, 2, 5]
    Object.assign(
      result,
      await drive(count, sc.concurrency, async (i, worker) => {
        const key = `leak/w${worker}`
        if (i % 10 === 0) {
          // Full cycle: a change that is certainly delivered (the watch starts at the write's index).
          const body = napi ? await etcd.set(key, `v${i}`) : await fakeCall()
          const w = keep(napi ? etcd.watcher(key, body.node.modifiedIndex) : new FakeWatcher(key))
          col.track(w)
          await onceChange(w, 10000)
          w.stop()
        } else {
          const w = keep(napi ? etcd.watcher(key) : new FakeWatcher(key))
          col.track(w)
          await delay(waits[i % waits.length])
          w.stop()
        }
      }),
    )
    if (napi) etcd.close()
    result.collection = await col.check()
  } else if (name === 'clients') {
    const col = collector()
    if (napi) {
      const setup = new Etcd(endpoint)
      await setup.set('leak/c', 'v')
      setup.close()
    }
    Object.assign(
      result,
      await drive(count, sc.concurrency, async () => {
        const etcd = keep(napi ? new Etcd(endpoint) : new FakeClient(endpoint))
        col.track(etcd)
        await etcd.get('leak/c')
        etcd.close()
      }),
    )
    result.collection = await col.check()
  } else {
    throw new Error(`unknown scenario ${name}`)
  }
  console.log(`RESULT ${JSON.stringify(result)}`)
  process.exit(0)
}

// Last, so that every class and constant above is initialised.
if (process.env.LEAK_CHILD) {
  child(process.env.LEAK_CHILD, process.env.LEAK_MODE).catch((err) => {
    console.error(err)
    process.exit(1)
  })
} else {
  parent().catch((err) => {
    console.error(err)
    console.log('0 passed, 1 failed')
    process.exit(1)
  })
}
