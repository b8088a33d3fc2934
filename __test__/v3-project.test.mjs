// The etcd3 drop-in on a real project: scripts/etcd3-project.js installs @hkube/etcd (an etcd3-based
// package whose tarball ships its mocha suite) from the npm registry, runs that suite against a real etcd
// with npm etcd3 and then with `etcd3` resolved to etcd-napi, and compares the outcomes test by test.
// Skipped (the script exits 3 and names the reason) only when the npm registry cannot be reached, or when port
// 4001, which the suite hard-codes, is taken and no private network namespace (unshare -n) is available.
//
// Run: node --test __test__/v3-project.test.mjs   (about 40 s; the install is most of it)

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const SCRIPT = path.join(ROOT, 'scripts', 'etcd3-project.js')
const SKIPPED = 3

function runScript() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (s) => (stdout += s))
    child.stderr.setEncoding('utf8').on('data', (s) => (stderr = (stderr + s).slice(-20_000)))
    // The script bounds its own install and runs; this is a backstop.
    const timer = setTimeout(() => child.kill('SIGKILL'), 570_000)
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

test('@hkube/etcd\'s own suite: every test that passes with etcd3 passes with etcd-napi', { timeout: 600_000 }, async (t) => {
  const r = await runScript()
  const tail = `\n--- script output (tail) ---\n${r.stderr.slice(-6000)}`
  if (r.code === SKIPPED) {
    let reason
    try {
      reason = JSON.parse(r.stdout).skipped
    } catch {}
    assert.ok(reason, `exit 3 (skip) without a {"skipped": reason} on stdout: ${r.stdout}${tail}`)
    t.skip(reason)
    return
  }
  assert.ok(r.stdout.trim(), `the script printed no summary (${r.signal || `exit ${r.code}`})${tail}`)
  const summary = JSON.parse(r.stdout)
  const [reference, ours] = summary.runs
  for (const run of summary.runs) console.log(`# ${run.label}: ${run.passed} passed, ${run.failed} failed, ${run.pending} pending in ${(run.ms / 1000).toFixed(1)} s`)
  for (const d of summary.differences) console.log(`# differs: ${d.title}: etcd3 ${d.etcd3}, etcd-napi ${d.etcdNapi}${d.error ? ` (${d.error})` : ''}${d.flaky ? ' [known flaky]' : ''}`)

  // The comparison means something only if the project's suite really ran against etcd with etcd3.
  assert.equal(reference.label, 'etcd3')
  assert.ok(reference.passed >= 200, `only ${reference.passed} tests passed with etcd3: the set-up is broken${tail}`)
  assert.equal(ours.label, 'etcd-napi')
  const regressions = summary.differences.filter((d) => d.etcd3 === 'passed' && !d.flaky)
  assert.deepEqual(regressions.map((d) => `${d.title}: ${d.error}`), [], tail)
  assert.equal(summary.ok, true)
  assert.equal(r.code, 0, tail)
})
