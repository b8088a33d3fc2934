// The scripts in examples/ run as users run them: `node examples/<name>.js` in a child process, against one
// etcd given in ETCD_HOSTS, and `npm run example` (examples/quickstart.js) with no ETCD_HOSTS, starting and
// stopping an etcd of its own. Each must exit 0, write nothing to stderr and print exactly its expected lines.
//
// Run: node --test __test__/examples.test.mjs

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { startEtcd } = require('../testing/index.js')

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const EXAMPLES = path.join(ROOT, 'examples')
const RUN_TIMEOUT = 30_000

// Every line each example prints, in order: a string matches exactly, a RegExp matches the whole line.
const EXPECTED = {
  'v2-callbacks': [
    /^set \/examples\/v2-callbacks\/answer = 42 \(etcd index \d+\)$/,
    'get /examples/v2-callbacks/answer = 42',
    'get a missing key: Key not found (errorCode 100, code ETCD_KEY_NOT_FOUND)',
    'compareAndSwap: 42 -> 43',
    'compareAndSwap with a stale value: Compare failed (errorCode 101)',
    /^create queued job 1 as \/examples\/v2-callbacks\/jobs\/\d{20}$/,
    'listing /examples/v2-callbacks: answer, jobs/',
    'removed the example directory',
  ],
  'v2-promises': [
    'set /examples/v2-promises/config/answer = 42 (ttl 60)',
    /^get \/examples\/v2-promises\/config\/answer = 42 \(etcd index \d+\)$/,
    'get a missing key rejects: Key not found (errorCode 100, code ETCD_KEY_NOT_FOUND)',
    'config keys: a, answer, b, c',
    'watch saw set /examples/v2-promises/config/answer = 43',
    'watch with a 200 ms signal: AbortError (code ABORT_ERR)',
    'watchUntil resolved with status = ready',
    'removed the example directory',
  ],
  'v2-sync': [
    /^setSync \/examples\/v2-sync\/answer = 42 \(etcd index \d+\)$/,
    'getSync /examples/v2-sync/answer = 42',
    'getSync a missing key: Key not found (errorCode 100), body ""',
    'compareAndSwap (synchronous) 42 -> 43',
    'create (synchronous) queued job 1',
    'a timer ran during the sync call: false',
    'removed the example directory',
  ],
  'v2-watcher': [
    "'delete' event for /examples/v2-watcher/a",
    'changes: set a, set a, delete a',
    "stopped: Watcher for 'examples/v2-watcher' aborted.",
    'job set = queued',
    'job set = done',
    'job delete',
    'the loop stopped the watcher: true',
  ],
  'v3-quickstart': [
    'answer = 42 (as a number: 42)',
    'limits.rps = 100',
    'missing key = null',
    'config: config/answer, config/limits, config/name',
    'count under config/: 3',
    'txn succeeded: true; answer = 43',
    'the same txn again succeeded: false',
    /^lease \d+ has \d+ s left; workers: workers\/w1$/,
    'after revoke, workers: []',
    'watch events: put jobs/1 = queued; put jobs/1 = done (was queued); delete jobs/1',
    'iterated Put jobs/2',
    'iterated Delete jobs/2',
    'removed the example keys; left under examples/v3-quickstart/: 0',
  ],
  'v3-lock-election': [
    'counter = 15 (3 workers x 5 increments under one lock)',
    'second acquire while held: EtcdLockFailedError (code ETCD3_LOCK_FAILED)',
    'waiting at most 300 ms: EtcdLockTimeoutError (code ETCD3_LOCK_TIMEOUT)',
    'the waiting client got the lock once it was released',
    'elected: node-a; leader() says node-a',
    'after proclaim, leader() says node-a (v2)',
    'after node-a resigned, leader() says node-b',
    'the observer saw: node-a -> node-a (v2) -> node-b',
  ],
}
// What quickstart.js runs, in order (the v2 and v3 quick starts).
const QUICK_STARTS = ['v2-callbacks', 'v2-promises', 'v2-sync', 'v2-watcher', 'v3-quickstart']
const HELPERS = new Set(['etcd-server.js', 'quickstart.js'])

/** Runs `node examples/<file>` from a directory outside the repository; resolves with what happened. */
function runExample(file, env) {
  return new Promise((resolve, reject) => {
    const childEnv = { ...process.env, ...env }
    if (env.ETCD_HOSTS === undefined) delete childEnv.ETCD_HOSTS
    const child = spawn(process.execPath, [path.join(EXAMPLES, file)], { cwd: os.tmpdir(), env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

function assertLines(actual, expected, label) {
  const lines = actual.split('\n')
  if (lines.at(-1) === '') lines.pop()
  assert.equal(lines.length, expected.length, `${label}: ${lines.length} lines, expected ${expected.length}:\n${actual}`)
  expected.forEach((want, i) => {
    if (want instanceof RegExp) assert.match(lines[i], want, `${label}, line ${i + 1}`)
    else assert.equal(lines[i], want, `${label}, line ${i + 1}`)
  })
}

function assertClean(r, label) {
  assert.equal(r.signal, null, `${label} was killed (${r.signal}): no exit within ${RUN_TIMEOUT} ms\n${r.stdout}\n${r.stderr}`)
  assert.equal(r.stderr, '', `${label} wrote to stderr`)
  assert.equal(r.code, 0, `${label} exited with ${r.code}`)
}

/** quickstart.js's output: the etcd line, then "# <name>" and each quick start's lines, then the end line. */
function quickstartLines(hostsPattern) {
  const lines = [new RegExp(`^etcd at ${hostsPattern}$`)]
  for (const name of QUICK_STARTS) lines.push('', `# ${name}`, ...EXPECTED[name])
  lines.push('', 'quick start done')
  return lines
}

function refused(url) {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) })
    socket.once('connect', () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('error', (err) => resolve(err.code === 'ECONNREFUSED'))
  })
}

test('every example is covered here and requires etcd-napi by its name only', () => {
  const files = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.js'))
  const examples = files.filter((f) => !HELPERS.has(f)).map((f) => f.slice(0, -3)).sort()
  assert.deepEqual(examples, Object.keys(EXPECTED).sort(), 'examples/ and EXPECTED list the same scripts')
  for (const name of QUICK_STARTS) assert.ok(examples.includes(name), `quickstart.js runs ${name}`)
  // So that a script copied into a user's project works there: the package by name, Node's modules, siblings.
  for (const file of files) {
    const source = fs.readFileSync(path.join(EXAMPLES, file), 'utf8').replace(/(^|\s)\/\/.*$/gm, '$1') // code, not comments
    const required = [...source.matchAll(/require\(\s*[`'"]([^`'"]+)[`'"]/g)].map((m) => m[1])
    assert.ok(required.length > 0, `${file} requires something`)
    for (const spec of required) {
      const sibling = spec.startsWith('./') && !spec.slice(2).includes('/')
      assert.ok(spec === 'etcd-napi' || spec.startsWith('etcd-napi/') || spec.startsWith('node:') || sibling, `${file}: require('${spec}')`)
    }
  }
  const quickstart = fs.readFileSync(path.join(EXAMPLES, 'quickstart.js'), 'utf8')
  const list = /const QUICK_STARTS = (\[[^\]]*\])/.exec(quickstart)
  assert.ok(list, 'quickstart.js names its QUICK_STARTS')
  assert.deepEqual(JSON.parse(list[1].replaceAll("'", '"')), QUICK_STARTS)
})

test('`npm run example` runs examples/quickstart.js', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
  assert.equal(pkg.scripts.example, 'node examples/quickstart.js')
})

test('each example against one etcd given in ETCD_HOSTS', { timeout: 180_000 }, async (t) => {
  const etcd = await startEtcd()
  t.after(() => etcd.stop())
  const env = { ETCD_HOSTS: etcd.endpoints.join(',') }
  for (const name of Object.keys(EXPECTED)) {
    await t.test(name, async () => {
      const r = await runExample(`${name}.js`, env)
      assertClean(r, name)
      assertLines(r.stdout, EXPECTED[name], name)
    })
  }
  // A second run over the same etcd: the examples clean up after themselves and before they start.
  await t.test('quickstart.js with ETCD_HOSTS, after the examples ran there', async () => {
    const r = await runExample('quickstart.js', env)
    assertClean(r, 'quickstart.js')
    assertLines(r.stdout, quickstartLines(etcd.endpoints[0].replace(/[.]/g, '\\.')), 'quickstart.js')
  })
})

test('quickstart.js without ETCD_HOSTS starts an etcd, runs the quick starts and stops it', { timeout: 120_000 }, async () => {
  const r = await runExample('quickstart.js', { ETCD_HOSTS: undefined })
  assertClean(r, 'quickstart.js')
  assertLines(r.stdout, quickstartLines('http://127\\.0\\.0\\.1:\\d+'), 'quickstart.js')
  const url = r.stdout.split('\n')[0].slice('etcd at '.length)
  assert.equal(await refused(url), true, `the etcd at ${url} was stopped`)
})
