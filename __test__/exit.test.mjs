// Process lifetime: the native core must not keep Node alive when nothing is pending (no lingering
// pool, runtime or threadsafe-function references), must keep it alive while a call is pending (a
// retry wait behaves like a timer), and must let go at once when that call is aborted. Each case runs
// in a child process; the child prints timestamps so we can measure how long it lingered.
//
// Run: node --test __test__/exit.test.mjs

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { refusedUrl } from './helpers/common.mjs'

const require = createRequire(import.meta.url)
const { startEtcd } = require('../testing/index.js')
const ENTRY = fileURLToPath(new URL('../index.js', import.meta.url))

const cluster = await startEtcd()
after(() => cluster.stop())

// Runs `script` (CommonJS) in a child; `Etcd`, `ENDPOINT`, `DEAD` and `mark(name)` (prints
// "name <ms since epoch>") are predefined. Returns the result plus the time it exited.
function runChild(script, { env = {}, timeout = 20_000 } = {}) {
  const prelude = `
    const Etcd = require(process.env.ENTRY)
    const ENDPOINT = process.env.ENDPOINT
    const DEAD = process.env.DEAD
    const mark = (name, extra = '') => console.log(name + ' ' + Date.now() + (extra === '' ? '' : ' ' + extra))
  `
  const childEnv = { ...process.env, ENTRY, ENDPOINT: cluster.endpoints[0], ...env }
  if (!('RUNNING_UNIT_TESTS' in env)) delete childEnv.RUNNING_UNIT_TESTS
  const started = Date.now()
  const r = spawnSync(process.execPath, ['-e', prelude + script], { encoding: 'utf8', timeout, env: childEnv })
  const exited = Date.now()
  const marks = {}
  for (const line of r.stdout.split('\n')) {
    const m = /^(\S+) (\d+)(?: (.*))?$/.exec(line)
    if (m) marks[m[1]] = { at: Number(m[2]), extra: m[3] }
  }
  return { ...r, started, exited, marks }
}

function assertCleanExit(r) {
  assert.equal(r.error, undefined, `child did not finish: ${r.error && r.error.message}`)
  assert.equal(r.signal, null)
  assert.equal(r.stderr, '')
  assert.equal(r.status, 0)
}

test('a script making callback, promise and sync calls exits promptly', async () => {
  const r = runChild(`
    const etcd = new Etcd(ENDPOINT)
    const s = etcd.setSync('exit/k', 'v')
    if (s.err) throw s.err
    etcd.get('exit/k', (err, body) => {
      if (err) throw err
      etcd.get('exit/k').then((b) => {
        if (b.node.value !== 'v') throw new Error('bad value')
        return etcd.get('exit/missing').catch((e) => e.errorCode)
      }).then((code) => mark('END', String(code)))
    })
  `)
  assertCleanExit(r)
  assert.ok(r.marks.END, `the script ran to its end: ${r.stdout}`)
  assert.equal(r.marks.END.extra, '100')
  const lag = r.exited - r.marks.END.at
  assert.ok(lag < 2000, `exited ${lag} ms after its last call`)
})

test('a fire-and-forget failing call neither crashes the process nor keeps it alive', async () => {
  const dead = await refusedUrl()
  const r = runChild(
    `
    const etcd = new Etcd(DEAD)
    etcd.get('k')                        // default retries, 1 ms waits
    etcd.get('k', { maxRetries: 0 })
    new Etcd(ENDPOINT).get('exit/missing') // an etcd error nobody looks at
    mark('END')
  `,
    { env: { DEAD: dead, RUNNING_UNIT_TESTS: 'true' } },
  )
  assertCleanExit(r)
  assert.ok(r.marks.END)
  const lag = r.exited - r.marks.END.at
  assert.ok(lag < 2000, `exited ${lag} ms after the script ended`)
})

test('an idle client lets the process exit', async () => {
  const r = runChild(`
    new Etcd(ENDPOINT)
    new Etcd(['127.0.0.1:1', '127.0.0.1:2'], { timeout: 1000, maxRetries: 1 })
    mark('END')
  `)
  assertCleanExit(r)
  assert.ok(r.marks.END)
  const lag = r.exited - r.marks.END.at
  assert.ok(lag < 2000, `exited ${lag} ms after the script ended`)
})

test('a call pending in a retry wait keeps the process alive until it finishes', async () => {
  const dead = await refusedUrl()
  // maxRetries 2: waits of 100 and 1600 ms, so the callback comes ~1.7 s after the call.
  const r = runChild(
    `
    const etcd = new Etcd(DEAD)
    mark('START')
    etcd.get('k', { maxRetries: 2 }, (err) => mark('CB', String(err.errors.length)))
    etcd.get('k', { maxRetries: 2 }).catch((err) => mark('PROMISE', String(err.retries)))
  `,
    { env: { DEAD: dead } },
  )
  assertCleanExit(r)
  assert.ok(r.marks.CB, `the callback ran: ${r.stdout}`)
  assert.equal(r.marks.CB.extra, '3')
  assert.ok(r.marks.PROMISE, `the promise settled: ${r.stdout}`)
  assert.equal(r.marks.PROMISE.extra, '2')
  const waited = r.marks.CB.at - r.marks.START.at
  assert.ok(waited >= 1500, `callback after ${waited} ms`)
})

test('an aborted call in a retry wait lets the process exit at once', async () => {
  const dead = await refusedUrl()
  // Default maxRetries (3): left alone this would take ~27 s. Abort at 200 ms, in the 1600 ms wait.
  const r = runChild(
    `
    const etcd = new Etcd(DEAD)
    const ac = new AbortController()
    const tok = etcd.get('k', () => mark('CB'))
    etcd.get('k', { signal: ac.signal }).then(() => mark('RESOLVED'), (e) => mark('REJECTED', e.name))
    setTimeout(() => {
      tok.abort()
      ac.abort()
      mark('ABORT')
    }, 200)
  `,
    { env: { DEAD: dead }, timeout: 40_000 },
  )
  assertCleanExit(r)
  assert.ok(r.marks.ABORT, r.stdout)
  assert.equal(r.marks.CB, undefined, 'no callback after abort')
  assert.equal(r.marks.RESOLVED, undefined)
  assert.equal(r.marks.REJECTED?.extra, 'AbortError')
  const lag = r.exited - r.marks.ABORT.at
  // The pending wait would otherwise have lasted until ~1.7 s (then 25.6 s more).
  assert.ok(lag < 1200, `exited ${lag} ms after abort`)
})
