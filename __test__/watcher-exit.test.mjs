// Watcher and process lifetime (spec node-etcd.md section 9, "watcher" row: "a stopped watcher lets the
// process exit"): a running watcher keeps Node alive like an open socket, stop() releases it at once
// (also from inside a listener, during a backoff, or by breaking a for-await loop), unref() opts out
// and ref() opts back in. Each case is a child process against a real etcd; the child prints
// timestamped marks so we can see what it did and how long it lingered.
//
// Run: node --test __test__/watcher-exit.test.mjs

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { sleep, refusedUrl } from './helpers/common.mjs'

const require = createRequire(import.meta.url)
const Etcd = require('../index.js')
const { startEtcd } = require('../testing/index.js')
const ENTRY = fileURLToPath(new URL('../index.js', import.meta.url))

const cluster = await startEtcd()
after(() => cluster.stop())
const etcd = new Etcd(cluster.endpoints)

let seq = 0
const uniq = (prefix) => `${prefix}-${process.pid}-${++seq}`
// Exiting is prompt when it happens within this long after the child's last mark (2 shared cores).
const PROMPT_MS = 1500

// A fresh key and the index right after its first write: a watcher started there sees every later
// write, however long it takes to register.
async function freshKey(prefix) {
  const key = uniq(prefix)
  const b = await etcd.set(key, 'start')
  return { KEY: key, FROM: String(b.node.modifiedIndex + 1) }
}

// Starts `script` (CommonJS) in a child with `Etcd`, `etcd` (a client of the test member), `env(name)`,
// `sleep` and `mark(name, extra)` predefined. Marks ("name ms extra" lines) are parsed as they arrive.
function startChild(t, script, env = {}) {
  const prelude = `
    const Etcd = require(process.env.ENTRY)
    const etcd = new Etcd(process.env.ENDPOINT)
    const env = (name) => process.env[name]
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
    const mark = (name, extra = '') => console.log(name + ' ' + Date.now() + (extra === '' ? '' : ' ' + extra))
  `
  const childEnv = { ...process.env, ENTRY, ENDPOINT: cluster.endpoints[0], ...env }
  delete childEnv.RUNNING_UNIT_TESTS
  delete childEnv.NODE_TEST_CONTEXT
  const child = spawn(process.execPath, ['-e', prelude + script], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const marks = []
  let stdout = ''
  let stderr = ''
  let partial = ''
  child.stdout.on('data', (d) => {
    stdout += d
    partial += d
    const lines = partial.split('\n')
    partial = lines.pop()
    for (const line of lines) {
      const m = /^(\S+) (\d+)(?: (.*))?$/.exec(line)
      if (m) marks.push({ name: m[1], at: Number(m[2]), extra: m[3] })
    }
  })
  child.stderr.on('data', (d) => (stderr += d))
  const exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })))
  const mark = (name) => marks.find((m) => m.name === name)
  return {
    child,
    marks,
    mark,
    output: () => `stdout:\n${stdout}\nstderr:\n${stderr}`,
    stderr: () => stderr,
    // Resolves with the mark once the child printed it; rejects if it exits first or `ms` pass.
    async waitMark(name, ms = 15_000) {
      const end = Date.now() + ms
      while (!mark(name)) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`child exited before '${name}'\n${this.output()}`)
        if (Date.now() > end) throw new Error(`no '${name}' within ${ms} ms\n${this.output()}`)
        await sleep(10)
      }
      return mark(name)
    },
    // Resolves with the exit once the child has ended; kills it and rejects after `ms`.
    async exited(ms = 15_000) {
      let timer
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL')
          reject(new Error(`child still running after ${ms} ms\n${this.output()}`))
        }, ms)
      })
      try {
        return await Promise.race([exit, timeout])
      } finally {
        clearTimeout(timer)
      }
    },
  }
}

function assertPromptExit(c, exit, lastMark) {
  assert.equal(exit.signal, null, c.output())
  assert.equal(exit.code, 0, c.output())
  assert.equal(c.stderr(), '', 'no warnings or errors')
  const m = c.mark(lastMark)
  assert.ok(m, `the child reached '${lastMark}'\n${c.output()}`)
  const lag = exit.at - m.at
  assert.ok(lag < PROMPT_MS, `exited ${lag} ms after '${lastMark}'`)
  return lag
}

// The child must be alive and watching: still running 1.5 s after 'ready', and it sees a write
// the test makes then. Then the test kills it.
async function assertKeptAlive(t, c, key) {
  await c.waitMark('ready')
  await sleep(1500)
  assert.equal(c.child.exitCode, null, `the child exited while its watcher ran\n${c.output()}`)
  await etcd.set(key, 'ping')
  const m = await c.waitMark('change', 10_000)
  assert.equal(m.extra, 'ping')
  assert.equal(c.child.exitCode, null)
  c.child.kill('SIGTERM')
  const exit = await c.exited()
  assert.equal(exit.signal, 'SIGTERM', 'it only ended because we killed it')
}

test('an active watcher keeps the process alive', { timeout: 60_000 }, async (t) => {
  const env = await freshKey('/alive')
  const c = startChild(
    t,
    `
    const w = etcd.watcher(env('KEY'), Number(env('FROM')))
    w.on('change', (b) => mark('change', b.node.value))
    mark('ready')
  `,
    env,
  )
  await assertKeptAlive(t, c, env.KEY)
})

test('stop() lets the process exit promptly', { timeout: 60_000 }, async (t) => {
  const env = await freshKey('/stop')
  const c = startChild(
    t,
    `
    const w = etcd.watcher(env('KEY'), Number(env('FROM')))
    w.on('change', (b) => {
      mark('change', b.node.value)
      // The next long-poll is open by now: stop it from outside the listener.
      setTimeout(() => { w.stop(); mark('stopped') }, 300)
    })
    etcd.set(env('KEY'), 'x')
  `,
    env,
  )
  const exit = await c.exited()
  const lag = assertPromptExit(c, exit, 'stopped')
  assert.equal(c.mark('change').extra, 'x')
  t.diagnostic(`exited ${lag} ms after stop()`)
})

test('stop() inside a listener lets the process exit promptly', { timeout: 60_000 }, async (t) => {
  const env = await freshKey('/stopin')
  const c = startChild(
    t,
    `
    const w = etcd.watcher(env('KEY'), Number(env('FROM')))
    w.on('change', (b) => {
      mark('change', b.node.value)
      w.stop()
      mark('stopped')
    })
    etcd.set(env('KEY'), 'y')
  `,
    env,
  )
  const exit = await c.exited()
  const lag = assertPromptExit(c, exit, 'stopped')
  t.diagnostic(`exited ${lag} ms after stop() in a listener`)
})

test('unref() lets the process exit while the watcher is still watching', { timeout: 60_000 }, async (t) => {
  const env = await freshKey('/unref')
  const c = startChild(
    t,
    `
    const w = etcd.watcher(env('KEY'), Number(env('FROM')))
    if (w.unref() !== w) throw new Error('unref() should return the watcher')
    w.on('change', (b) => mark('change', b.node.value))
    // Events still arrive while something else keeps the process up.
    etcd.set(env('KEY'), 'u').then(() => setTimeout(() => mark('end', String(w.stopped)), 500))
  `,
    env,
  )
  const exit = await c.exited()
  const lag = assertPromptExit(c, exit, 'end')
  assert.equal(c.mark('change') && c.mark('change').extra, 'u', `the unref'd watcher delivered\n${c.output()}`)
  assert.equal(c.mark('end').extra, 'false', 'it exited with the watcher still running')
  t.diagnostic(`exited ${lag} ms after the last timer with an unref'd watcher running`)
})

test('ref() after unref() keeps the process alive again', { timeout: 60_000 }, async (t) => {
  const env = await freshKey('/reref')
  const c = startChild(
    t,
    `
    const w = etcd.watcher(env('KEY'), Number(env('FROM')))
    w.unref()
    if (w.ref() !== w) throw new Error('ref() should return the watcher')
    w.on('change', (b) => mark('change', b.node.value))
    mark('ready')
  `,
    env,
  )
  await assertKeptAlive(t, c, env.KEY)
})

test('a watcher reconnecting to an unreachable cluster keeps the process alive; stop() in the backoff releases it', { timeout: 60_000 }, async (t) => {
  const dead = await refusedUrl()
  const c = startChild(
    t,
    `
    const w = new Etcd(env('DEAD')).watcher('/k')
    let n = 0
    w.on('reconnect', (e) => {
      mark('reconnect' + ++n, String(e.reconnectCount))
      // After the second report, stop while the next backoff (600..1600 ms) runs.
      if (n === 2) setTimeout(() => { w.stop(); mark('stopped') }, 100)
    })
  `,
    { DEAD: dead },
  )
  await c.waitMark('reconnect1')
  assert.equal(c.child.exitCode, null, 'alive while reconnecting')
  const exit = await c.exited(20_000)
  const lag = assertPromptExit(c, exit, 'stopped')
  assert.deepEqual(
    c.marks.map((m) => m.name),
    ['reconnect1', 'reconnect2', 'stopped'],
  )
  t.diagnostic(`exited ${lag} ms after stop() during a backoff`)
})

test('breaking out of for await lets the process exit', { timeout: 60_000 }, async (t) => {
  const env = await freshKey('/iterexit')
  const c = startChild(
    t,
    `
    ;(async () => {
      setTimeout(() => etcd.set(env('KEY'), 'z'), 100)
      for await (const body of etcd.watcher(env('KEY'), Number(env('FROM')))) {
        mark('change', body.node.value)
        break
      }
      mark('after')
    })()
  `,
    env,
  )
  const exit = await c.exited()
  assertPromptExit(c, exit, 'after')
  assert.equal(c.mark('change').extra, 'z')
})
