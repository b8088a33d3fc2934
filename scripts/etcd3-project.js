#!/usr/bin/env node
'use strict'
// Drop-in proof for `etcd-napi/v3`: a real etcd3-based project runs its own test suite twice against a
// throw-away etcd, once with npm etcd3 and once with `etcd3` resolved to etcd-napi, and the results are
// compared test by test. Nothing of the project is committed here: it comes from the npm registry at run time.
//
// The project is @hkube/etcd (HKube's etcd state layer; its tarball ships its mocha suite, which drives KV,
// prefix reads with sort/limit, leases, watches, locks and STM transactions through etcd3's API).
//
//   node scripts/etcd3-project.js            live mocha output, then a summary
//   node scripts/etcd3-project.js --json     only a JSON summary on stdout (the project's output on stderr)
//   ETCD3_PROJECT_KEEP=1                     keep the temp dir (project, per-test results-*.json) for a look
//
// Exit codes: 0 every test that passes with etcd3 passes with etcd-napi; 1 some do not (or a run broke);
// 3 skipped, nothing was tested: the npm registry could not be reached, or port 4001 is taken and no private
// network namespace is available (with --json, stdout is then {"skipped": reason}).
const { spawn, execFileSync } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const { startEtcd } = require('../testing/index.js')

const root = path.join(__dirname, '..')
const PROJECT = '@hkube/etcd'
const VERSION = '5.1.11'
// Its devDependencies that the suite needs, at the versions its ranges resolved to when this was written.
const TEST_DEPS = { mocha: '6.2.3', chai: '4.5.0', sinon: '7.5.0', 'await-delay': '1.0.0', 'await-done': '1.0.10' }
// The project's `npm test`, which is checked against its package.json below; run with our reporter added.
const TEST_SCRIPT = 'NODE_ENV=test ./node_modules/mocha/bin/_mocha tests --colors --recursive --exit'
const MOCHA_ARGS = ['tests', '--colors', '--recursive', '--exit']
// Its suite connects to this fixed address; a forwarder there leads to the etcd on its free port.
const PROJECT_PORT = 4001
// Tests of the project whose outcome is chance, with why; a difference there is reported but not counted.
const KNOWN_FLAKY = {
  // Reads Date.now(), then calls its own defaultCallOptions(), which adds 20 s to a second Date.now(), and
  // expects at most +20 s: it fails whenever a millisecond ticks in between. No etcd call is involved.
  'Tests Init should set timeout timeout': 'a millisecond race inside the test itself'
}
const PROBE_TIMEOUT_MS = 30_000
const INSTALL_TIMEOUT_MS = 240_000
const RUN_TIMEOUT_MS = 120_000
// How long a SIGTERM'd run-phase child gets to stop its etcd before SIGKILL.
const TERM_GRACE_MS = 10_000
const SKIPPED = 3
const NETWORK_ERROR = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|network/i

const json = process.argv.includes('--json')
// Set in the child that runs inside the private network namespace.
const runPhase = process.argv.indexOf('--run-phase')
const log = (...a) => (json ? console.error : console.log)(...a)

// Nothing was tested, for a reason outside this repo; `reason` is one line for the test report.
class Skipped extends Error {
  constructor (reason, detail) {
    super(detail ? `${reason}:\n${detail}` : reason)
    this.reason = reason
  }
}
const REGISTRY_UNREACHABLE = 'the npm registry is unreachable, so the project could not be installed'

// What a SIGTERM must undo before this process exits: children, the etcd and forwarder of a running suite.
const cleanups = new Set()
let terminating = false
process.on('SIGTERM', () => {
  if (terminating) return
  terminating = true
  log('# SIGTERM: stopping what is running')
  setTimeout(() => process.exit(1), TERM_GRACE_MS - 2000).unref()
  Promise.allSettled([...cleanups].map((f) => f())).then(() => process.exit(1))
})

function exec (cmd, args, { cwd, env, timeout, echo }) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    const keep = (s) => {
      out = (out + s).slice(-200_000)
      if (echo) process.stderr.write(s)
    }
    child.stdout.setEncoding('utf8').on('data', keep)
    child.stderr.setEncoding('utf8').on('data', keep)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout)
    const kill = () => child.kill('SIGKILL')
    cleanups.add(kill)
    child.on('error', (err) => {
      clearTimeout(timer)
      cleanups.delete(kill)
      reject(err)
    })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      cleanups.delete(kill)
      resolve({ code, signal, out })
    })
  })
}

async function install (dir) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  // One quick look-up without retries first: npm retries an unreachable registry for minutes.
  const probe = await exec(npm, ['view', `${PROJECT}@${VERSION}`, 'version', '--fetch-retries=0', `--fetch-timeout=${PROBE_TIMEOUT_MS}`], { cwd: dir, env: process.env, timeout: PROBE_TIMEOUT_MS + 10_000 })
  if (probe.code !== 0) {
    const msg = `npm view ${PROJECT}@${VERSION} failed (${probe.signal || `exit ${probe.code}`}):\n${probe.out.trim().slice(-2000)}`
    if (probe.signal || NETWORK_ERROR.test(probe.out)) throw new Skipped(REGISTRY_UNREACHABLE, msg)
    throw new Error(msg)
  }
  const pkg = { name: 'etcd3-project-harness', private: true, dependencies: { [PROJECT]: VERSION, ...TEST_DEPS } }
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg, null, 2))
  // --ignore-scripts: nothing of theirs runs but the test suite itself.
  const r = await exec(npm, ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, env: process.env, timeout: INSTALL_TIMEOUT_MS })
  if (r.code !== 0) {
    const msg = `npm install ${PROJECT}@${VERSION} failed (${r.signal || `exit ${r.code}`}):\n${r.out.trim().slice(-3000)}`
    if (NETWORK_ERROR.test(r.out)) throw new Skipped(REGISTRY_UNREACHABLE, msg)
    throw new Error(msg)
  }
  const projectDir = path.join(dir, 'node_modules', ...PROJECT.split('/'))
  const projectPkg = JSON.parse(fs.readFileSync(path.join(projectDir, 'package.json'), 'utf8'))
  if (projectPkg.scripts.test !== TEST_SCRIPT) throw new Error(`${PROJECT}'s test script is now ${JSON.stringify(projectPkg.scripts.test)}; update TEST_SCRIPT`)
  return projectDir
}

// A mocha reporter: the project's spec output as usual, plus every test's outcome written to a JSON file.
const REPORTER = `'use strict'
const fs = require('fs')
const Mocha = require('mocha')
class Recorder extends Mocha.reporters.Spec {
  constructor (runner, options) {
    super(runner, options)
    const results = []
    const record = (state) => (test, err) => results.push({ title: test.fullTitle(), state, ms: test.duration, error: err ? String(err.message).split('\\n')[0] : undefined })
    runner.on('pass', record('passed'))
    runner.on('fail', record('failed'))
    runner.on('pending', record('pending'))
    runner.on('end', () => fs.writeFileSync(process.env.ETCD3_PROJECT_RESULTS, JSON.stringify(results)))
  }
}
module.exports = Recorder
`

// Forwards 127.0.0.1:PROJECT_PORT (inside our own network namespace when unshare works) (and [::1] where there is IPv6 loopback, since the suite says 'localhost').
async function forwarder (target) {
  const sockets = new Set()
  const onConnection = (client) => {
    const upstream = net.connect(target.port, target.hostname)
    // Without this, Nagle holds back a client's second small write (HTTP/2 headers, then data) until etcd's
    // delayed ACK, about 40 ms a call.
    client.setNoDelay(true)
    upstream.setNoDelay(true)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream).pipe(client)
  }
  const listen = (host) => new Promise((resolve, reject) => {
    const server = net.createServer(onConnection)
    server.once('error', reject)
    server.listen({ host, port: PROJECT_PORT, exclusive: true }, () => resolve(server))
  })
  const servers = []
  try {
    servers.push(await listen('127.0.0.1'))
  } catch (err) {
    const msg = `${PROJECT}'s suite needs 127.0.0.1:${PROJECT_PORT}, which is taken (${err.code})`
    // Outside a namespace of our own the port is the machine's: someone else's listener is not our failure.
    if (err.code === 'EADDRINUSE' && runPhase === -1) throw new Skipped(`${msg} and no private network namespace (unshare -n) is available`)
    throw new Error(msg)
  }
  try {
    servers.push(await listen('::1'))
  } catch {
    // no IPv6 loopback here: 'localhost' then means 127.0.0.1 only
  }
  return () => {
    for (const s of sockets) s.destroy()
    return Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  }
}

async function runSuite (label, harness, projectDir) {
  const etcd = await startEtcd({ v2: false })
  let closeForwarder = null
  const stop = async () => {
    if (closeForwarder) await closeForwarder()
    await etcd.stop()
  }
  cleanups.add(stop)
  try {
    closeForwarder = await forwarder(new URL(etcd.endpoints[0]))
    const resultsFile = path.join(harness, `results-${label}.json`)
    const reporter = path.join(harness, 'recorder-reporter.js')
    fs.writeFileSync(reporter, REPORTER)
    const env = { ...process.env, NODE_ENV: 'test', ETCD3_PROJECT_RESULTS: resultsFile }
    const mocha = path.join(harness, 'node_modules', 'mocha', 'bin', '_mocha')
    log(`\n# ${label}: ${PROJECT}@${VERSION} \`npm test\` with etcd3 = ${resolveEtcd3(projectDir)}`)
    const started = Date.now()
    const r = await exec(process.execPath, [mocha, ...MOCHA_ARGS, '--reporter', reporter], { cwd: projectDir, env, timeout: RUN_TIMEOUT_MS, echo: !json || process.env.ETCD3_PROJECT_ECHO === '1' })
    const ms = Date.now() - started
    if (!fs.existsSync(resultsFile)) throw new Error(`${label}: mocha ended (${r.signal || `exit ${r.code}`}) without results:\n${r.out.trim().slice(-3000)}`)
    const tests = JSON.parse(fs.readFileSync(resultsFile, 'utf8'))
    const count = (state) => tests.filter((t) => t.state === state).length
    return { label, exitCode: r.code, ms, passed: count('passed'), failed: count('failed'), pending: count('pending'), tests, output: r.out }
  } finally {
    cleanups.delete(stop)
    await stop()
  }
}

// What `require('etcd3')` means inside the project, asked of a fresh process (this one caches package.json).
function resolveEtcd3 (projectDir) {
  return execFileSync(process.execPath, ['-p', "require.resolve('etcd3')"], { cwd: projectDir, encoding: 'utf8' }).trim()
}

// `etcd3` as a package directory whose entry point is etcd-napi's `require('etcd3')` stand-in.
function swapInEtcdNapi (harness) {
  const dir = path.join(harness, 'node_modules', 'etcd3')
  fs.renameSync(dir, path.join(harness, 'node_modules', '.etcd3-npm'))
  fs.mkdirSync(dir)
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'etcd3', version: '1.1.2', main: path.join(root, 'v3', 'index.js') }))
}

function byTitle (tests) {
  // Titles can repeat in a suite; number repeats so each outcome is compared with its twin.
  const seen = new Map()
  const out = new Map()
  for (const t of tests) {
    const n = (seen.get(t.title) || 0) + 1
    seen.set(t.title, n)
    out.set(n === 1 ? t.title : `${t.title} #${n}`, t)
  }
  return out
}

async function main () {
  const harness = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd3-project-'))
  try {
    const isolate = canIsolate()
    // Before the long install: without a namespace, a taken port means a skip.
    if (!isolate) await (await forwarder(null))()
    log(`# installing ${PROJECT}@${VERSION} and its test tools into ${harness}`)
    const installStarted = Date.now()
    const projectDir = await install(harness)
    const installMs = Date.now() - installStarted
    const nested = path.join(projectDir, 'node_modules', 'etcd3')
    if (fs.existsSync(nested)) throw new Error(`npm nested a copy of etcd3 in ${nested}; the swap below would not reach it`)

    if (isolate) {
      // The suite's port is fixed (4001, a common etcd port): run both suites, their etcd and the forwarder in a
      // network namespace of our own, whose loopback nobody else uses.
      log('# running both suites in a private network namespace (unshare -n)')
      const script = 'ip link set lo up && exec "$0" "$@"'
      process.env.ETCD3_PROJECT_INSTALL_MS = String(installMs)
      const child = spawn('unshare', ['-n', 'sh', '-c', script, process.execPath, __filename, '--run-phase', harness, projectDir, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' })
      // SIGTERM first: the child then stops its etcd (see the SIGTERM handler); SIGKILL if it does not go.
      const exited = new Promise((resolve) => child.on('exit', (c) => resolve(c === null ? 1 : c)))
      let killTimer = null
      const terminate = () => {
        child.kill('SIGTERM')
        killTimer = killTimer || setTimeout(() => child.kill('SIGKILL'), TERM_GRACE_MS)
        return exited
      }
      cleanups.add(terminate)
      const timer = setTimeout(() => {
        log(`# the suites are still running after ${(2 * RUN_TIMEOUT_MS + 60_000) / 1000} s; stopping them`)
        terminate()
      }, 2 * RUN_TIMEOUT_MS + 60_000)
      const code = await exited
      clearTimeout(timer)
      clearTimeout(killTimer)
      cleanups.delete(terminate)
      return code
    }
    process.env.ETCD3_PROJECT_INSTALL_MS = String(installMs)
    return await compare(harness, projectDir)
  } finally {
    if (process.env.ETCD3_PROJECT_KEEP === '1') log(`# kept ${harness}`)
    else fs.rmSync(harness, { recursive: true, force: true })
  }
}

/** `unshare -n` works here (root, or unprivileged user namespaces) and `ip` can bring its loopback up. */
function canIsolate () {
  if (process.env.ETCD3_PROJECT_NO_NETNS === '1') return false
  try {
    execFileSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up'], { stdio: 'ignore', timeout: 5000 })
    return true
  } catch {
    return false
  }
}

/** Runs the suite with etcd3, then with etcd-napi in its place, and compares every test's outcome. */
async function compare (harness, projectDir) {
  {
    const reference = await runSuite('etcd3', harness, projectDir)
    swapInEtcdNapi(harness)
    const resolved = resolveEtcd3(projectDir)
    if (resolved !== path.join(root, 'v3', 'index.js')) throw new Error(`etcd3 resolves to ${resolved}, not etcd-napi`)
    const ours = await runSuite('etcd-napi', harness, projectDir)

    const refTests = byTitle(reference.tests)
    const ourTests = byTitle(ours.tests)
    const differences = []
    for (const [title, ref] of refTests) {
      const our = ourTests.get(title)
      const state = our ? our.state : 'missing'
      if (state !== ref.state) differences.push({ title, etcd3: ref.state, etcdNapi: state, error: our && our.error, etcd3Error: ref.error, flaky: KNOWN_FLAKY[title] })
    }
    for (const [title, our] of ourTests) {
      if (!refTests.has(title)) differences.push({ title, etcd3: 'missing', etcdNapi: our.state, error: our.error, flaky: KNOWN_FLAKY[title] })
    }
    const regressions = differences.filter((d) => d.etcd3 === 'passed' && !d.flaky)
    const summary = {
      project: `${PROJECT}@${VERSION}`,
      installMs: Number(process.env.ETCD3_PROJECT_INSTALL_MS) || undefined,
      runs: [reference, ours].map(({ label, exitCode, ms, passed, failed, pending, tests }) => ({
        label, exitCode, ms, passed, failed, pending, failures: tests.filter((t) => t.state === 'failed').map((t) => ({ title: t.title, error: t.error }))
      })),
      differences,
      regressions: regressions.length,
      ok: regressions.length === 0
    }
    if (json) {
      console.log(JSON.stringify(summary))
    } else {
      log('\n# summary')
      for (const r of summary.runs) log(`#   ${r.label.padEnd(9)} ${r.passed} passed, ${r.failed} failed, ${r.pending} pending (${(r.ms / 1000).toFixed(1)} s)`)
      for (const r of summary.runs) for (const f of r.failures) log(`#   ${r.label} failed: ${f.title}: ${f.error}`)
      for (const d of differences) log(`#   differs: ${d.title}: etcd3 ${d.etcd3}, etcd-napi ${d.etcdNapi}${d.error ? ` (${d.error})` : ''}${d.flaky ? ` [known flaky: ${d.flaky}]` : ''}`)
      log(summary.ok ? '# every test that passes with etcd3 passes with etcd-napi' : `# ${regressions.length} test(s) pass with etcd3 but not with etcd-napi`)
    }
    return summary.ok ? 0 : 1
  }
}

const entry = runPhase === -1 ? main : () => compare(process.argv[runPhase + 1], process.argv[runPhase + 2])
entry().then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof Skipped) {
      console.error(`etcd3-project: skipped: ${err.message}`)
      if (json) console.log(JSON.stringify({ skipped: err.reason }))
      process.exit(SKIPPED)
    }
    console.error(`etcd3-project: ${err.stack || err.message}`)
    process.exit(1)
  }
)
