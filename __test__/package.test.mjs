// The package as npm ships it: what `npm pack` takes from this checkout, and (scripts/pack-test.js) the publish
// flow replayed for this machine's target: pack the platform package and the main package, install both
// tarballs into a fresh project with no Rust toolchain on PATH, run an example there against a real etcd.
//
// Run: node --test __test__/package.test.mjs

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const { mainPackageProblems, packInfo } = require('../scripts/pack-test.js')
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))

const kB = (n) => `${(n / 1024).toFixed(0)} kB`

test('npm pack --dry-run: everything users need, no tests, sources or build output', (t) => {
  const listing = packInfo(ROOT, ['--dry-run'])
  const files = listing.files.map((f) => f.path)
  assert.deepEqual(mainPackageProblems(files, pkg), [])
  // The checker itself must see what it is meant to refuse.
  assert.deepEqual(mainPackageProblems([...files, '__test__/api.test.mjs', 'target/release/x', 'src/lib.rs'], pkg),
    ['ships __test__/api.test.mjs', 'ships target/release/x', 'ships src/lib.rs'])
  assert.deepEqual(mainPackageProblems(files.filter((f) => f !== 'binding.js'), pkg), ['lacks binding.js'])

  // A local build's binary is in the listing (git installs need it, see README "Installation"); the published
  // main package is the rest, so that is the size that matters.
  const native = listing.files.filter((f) => f.path.endsWith('.node'))
  const jsBytes = listing.files.filter((f) => !f.path.endsWith('.node')).reduce((n, f) => n + f.size, 0)
  t.diagnostic(`npm pack: ${listing.files.length} files, ${kB(listing.size)} packed, ${kB(listing.unpackedSize)} unpacked`)
  t.diagnostic(`without the local binary (${native.map((f) => `${f.path} ${kB(f.size)}`).join(', ') || 'none'}): ` +
    `${listing.files.length - native.length} files, ${kB(jsBytes)} unpacked`)
  assert.ok(native.every((f) => !f.path.includes('/')), 'only a root-level local build may be listed')
  // Generous bound: catches a data file or a vendored directory slipping in, not ordinary growth.
  assert.ok(jsBytes < 2 * 1024 * 1024, `main package without binaries is ${kB(jsBytes)}`)
})

test('pack both packages, install the tarballs without Rust, run an example against etcd', (t) => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'pack-test.js')], {
    cwd: ROOT, encoding: 'utf8', timeout: 240_000
  })
  for (const line of r.stdout.split('\n')) if (line.startsWith('# ')) t.diagnostic(line.slice(2))
  assert.equal(r.signal, null, `pack-test.js still running after 240 s:\n${r.stdout}\n${r.stderr}`)
  assert.equal(r.status, 0, `pack-test.js failed:\n${r.stdout}\n${r.stderr}`)
})
