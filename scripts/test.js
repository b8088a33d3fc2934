#!/usr/bin/env node
'use strict'
// `npm test`: Rust unit tests, then etcd (fetched once if missing), then every node:test suite.
// Each suite starts its own etcd members on free loopback ports through `etcd-napi/testing`.
const { spawnSync } = require('node:child_process')
const path = require('node:path')
const fs = require('node:fs')

const root = path.join(__dirname, '..')
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts })
  if (r.error) throw r.error
  return r.status === null ? 1 : r.status
}

let failed = 0

/** The named suites' files (`__test__/<name>.test.mjs`) that exist. */
const suites = (names) => names.map((n) => path.join('__test__', `${n}.test.mjs`)).filter((f) => fs.existsSync(path.join(root, f)))

if (process.env.SKIP_CARGO_TEST !== '1') {
  console.log('# cargo test')
  failed |= run('cargo', ['test', '--quiet'])
}

console.log('# etcd for the tests')
const install = spawnSync(process.execPath, [path.join(root, 'testing', 'index.js'), 'install'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
if (install.status !== 0) {
  console.error('could not find or install etcd; set ETCD_BIN to an etcd 3.4/3.5 binary')
  process.exit(1)
}
console.log(`# etcd: ${install.stdout.trim()}`)

const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : fs.readdirSync(path.join(root, '__test__')).filter((f) => /\.test\.(mjs|cjs|js)$/.test(f)).sort().map((f) => path.join('__test__', f))
console.log(`# node --test (${files.length} files)`)
failed |= run(process.execPath, ['--test', '--test-concurrency=2', ...files])

// A second pass, against Debian's etcd 3.4.23, of the suites that talk to etcd: v2 API, then v3 API.
// (v3-builders and v3-protobuf never start etcd, so a second pass would test nothing new.)
// v2 async calls run on the JS thread's loop where libuv is reachable; elsewhere (Windows, runtimes without
// libuv) on the shared tokio runtime. The suites that make async calls run once more on that fallback.
const FALLBACK = suites(['api', 'auth', 'close', 'cluster', 'differential', 'engine', 'exit', 'extras', 'faults', 'keys', 'security', 'tls', 'token', 'wire'])
if (process.argv.slice(2).length === 0 && process.platform !== 'win32') {
  console.log(`# node --test on the shared-runtime engine, ETCD_NAPI_V2_ENGINE=tokio (${FALLBACK.length} files)`)
  failed |= run(process.execPath, ['--test', '--test-concurrency=2', ...FALLBACK], { env: { ...process.env, ETCD_NAPI_V2_ENGINE: 'tokio' } })
}

const COMPAT_34 = suites(['keys', 'differential', 'watcher', 'auth', 'tls', 'sync', 'v3', 'v3-cluster', 'v3-auth', 'v3-differential'])
if (process.argv.slice(2).length === 0 && process.env.SKIP_ETCD34 !== '1') {
  const e34 = spawnSync(process.execPath, [path.join(root, 'scripts', 'etcd34.js')], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  if (e34.status === 0) {
    console.log(`# node --test against etcd 3.4.23 (${COMPAT_34.length} files): ${e34.stdout.trim()}`)
    failed |= run(process.execPath, ['--test', '--test-concurrency=2', ...COMPAT_34], { env: { ...process.env, ETCD_BIN: e34.stdout.trim() } })
  } else {
    console.log('# etcd 3.4.23 pass skipped (Debian package unavailable here)')
  }
}

process.exit(failed ? 1 : 0)
