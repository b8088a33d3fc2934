// Module formats: require() and import give the same constructor, with named ESM exports,
// resolved through package.json "exports" from a separate project (as a user installs it).
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')

function project(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-napi-modules-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.mkdirSync(path.join(dir, 'node_modules'))
  fs.symlinkSync(root, path.join(dir, 'node_modules', 'etcd-napi'), 'dir')
  return dir
}

const run = (dir, file, code) => {
  fs.writeFileSync(path.join(dir, file), code)
  return spawnSync(process.execPath, [path.join(dir, file)], { cwd: dir, encoding: 'utf8', timeout: 20_000 })
}

test('import default and named exports, and require, are the same objects', (t) => {
  const dir = project(t)
  const r = run(
    dir,
    'main.mjs',
    `import Etcd, { Etcd as Named, Watcher, CancellationToken, AbortError, ETCD_ERROR_CODES, clusterInfo } from 'etcd-napi'
import testing from 'etcd-napi/testing'
import { createRequire } from 'node:module'
const require = createRequire(import.meta.url)
const Cjs = require('etcd-napi')
console.log(JSON.stringify([Etcd === Cjs, Named === Cjs, Watcher === Cjs.Watcher, CancellationToken === Cjs.CancellationToken,
  AbortError === Cjs.AbortError, ETCD_ERROR_CODES[100], typeof clusterInfo, typeof testing.startEtcd, new Etcd().getHosts()[0]]))`,
  )
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout), [true, true, true, true, true, 'ETCD_KEY_NOT_FOUND', 'function', 'function', 'http://127.0.0.1:2379'])
})

test('require from CommonJS, and deep paths outside "exports" are closed', (t) => {
  const dir = project(t)
  const r = run(
    dir,
    'main.cjs',
    `const Etcd = require('etcd-napi')
const { startEtcd } = require('etcd-napi/testing')
let deep = 'open'
try { require('etcd-napi/lib/etcd.js') } catch (e) { deep = e.code }
console.log(JSON.stringify([typeof Etcd, Etcd.name, typeof startEtcd, deep]))`,
  )
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(JSON.parse(r.stdout), ['function', 'Etcd', 'function', 'ERR_PACKAGE_PATH_NOT_EXPORTED'])
})
