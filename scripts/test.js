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

process.exit(failed ? 1 : 0)
