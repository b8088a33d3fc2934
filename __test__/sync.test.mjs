// Synchronous calls (spec section 8): the five *Sync methods and {synchronous: true}, the three
// {err, body, headers} shapes, callbacks ignored, options never mutated, a truly blocked JS thread
// (timers wait), and the syncTimeout bound. etcd runs in its own process; our fault-injection servers
// run in worker threads, since a server on this (blocked) thread could never answer.
//
// Run: node --test __test__/sync.test.mjs

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { Worker } from 'node:worker_threads'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { sleep, refusedUrl } from './helpers/common.mjs'

const require = createRequire(import.meta.url)
const Etcd = require('../index.js')
const { startEtcd } = require('../testing/index.js')

delete process.env.RUNNING_UNIT_TESTS

// An HTTP server in a worker thread: answers after `delayMs` (never if null) and reports
// 'request' and 'close' (client socket closed) events to the main thread.
const WORKER_SERVER = `
  const http = require('node:http')
  const { parentPort, workerData } = require('node:worker_threads')
  const server = http.createServer((req, res) => {
    req.resume()
    parentPort.postMessage({ event: 'request', url: req.url, at: Date.now() })
    if (workerData.delayMs === null) return
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-etcd-index': '5' })
      res.end('{"action":"get","node":{"key":"/slow","value":"late"}}')
      parentPort.postMessage({ event: 'answered', at: Date.now() })
    }, workerData.delayMs)
  })
  server.on('connection', (s) => s.on('close', () => parentPort.postMessage({ event: 'close', at: Date.now() })))
  server.listen(0, '127.0.0.1', () => parentPort.postMessage({ event: 'listening', port: server.address().port }))
`

async function workerServer(t, delayMs) {
  const worker = new Worker(WORKER_SERVER, { eval: true, workerData: { delayMs } })
  const events = []
  worker.on('message', (m) => events.push(m))
  t.after(() => worker.terminate())
  const [first] = await once(worker, 'message')
  assert.equal(first.event, 'listening')
  return { url: `http://127.0.0.1:${first.port}`, events }
}

function assertSuccess(r) {
  assert.deepEqual(Object.keys(r).sort(), ['body', 'err', 'headers'])
  assert.equal(r.err, null, r.err && r.err.message)
  assert.equal(typeof r.body, 'object')
  assert.match(r.headers['x-etcd-index'], /^\d+$/)
  return r.body
}

const cluster = await startEtcd()
after(() => cluster.stop())
const etcd = new Etcd(cluster.endpoints)

// ---- the *Sync methods ----------------------------------------------------------------------------

test('setSync / getSync / delSync', () => {
  const set = assertSuccess(etcd.setSync('sync/a', 'one'))
  assert.equal(set.action, 'set')
  assert.equal(set.node.key, '/sync/a')
  assert.equal(set.node.value, 'one')
  const got = assertSuccess(etcd.getSync('sync/a'))
  assert.equal(got.action, 'get')
  assert.equal(got.node.value, 'one')
  assert.equal(got.node.modifiedIndex, set.node.modifiedIndex)
  const ttl = assertSuccess(etcd.setSync('sync/ttl', 'x', { ttl: 60 }))
  assert.equal(ttl.node.ttl, 60)
  const del = assertSuccess(etcd.delSync('sync/a'))
  assert.equal(del.action, 'delete')
  assert.equal(etcd.getSync('sync/a').err.errorCode, 100)
})

test('mkdirSync / rmdirSync', () => {
  const mk = assertSuccess(etcd.mkdirSync('sync/dir'))
  assert.equal(mk.node.dir, true)
  assert.equal(mk.node.key, '/sync/dir')
  assert.equal(etcd.getSync('sync/dir').body.node.dir, true)
  const rm = assertSuccess(etcd.rmdirSync('sync/dir'))
  assert.equal(rm.action, 'delete')
  assert.equal(etcd.getSync('sync/dir').err.errorCode, 100)
  // Recursive removal through options.
  assertSuccess(etcd.setSync('sync/tree/leaf', 'x'))
  assert.equal(etcd.rmdirSync('sync/tree').err.errorCode, 108)
  assertSuccess(etcd.rmdirSync('sync/tree', { recursive: true }))
})

test('{synchronous: true} on get, create, compareAndSwap, compareAndDelete, raw', () => {
  assertSuccess(etcd.setSync('sync/cas', 'old'))
  const got = assertSuccess(etcd.get('sync/cas', { synchronous: true }))
  assert.equal(got.node.value, 'old')

  const created = assertSuccess(etcd.create('sync/queue', 'item', { synchronous: true }))
  assert.equal(created.action, 'create')
  assert.match(created.node.key, /^\/sync\/queue\/\d+$/)

  const swapped = assertSuccess(etcd.compareAndSwap('sync/cas', 'new', 'old', { synchronous: true }))
  assert.equal(swapped.action, 'compareAndSwap')
  assert.equal(swapped.node.value, 'new')
  const failedSwap = etcd.compareAndSwap('sync/cas', 'x', 'old', { synchronous: true })
  assert.equal(failedSwap.err.errorCode, 101)

  const cad = assertSuccess(etcd.compareAndDelete('sync/cas', 'new', { synchronous: true }))
  assert.equal(cad.action, 'compareAndDelete')

  const raw = assertSuccess(etcd.raw('PUT', 'v2/keys/sync/raw', 'rv', { synchronous: true }))
  assert.equal(raw.node.value, 'rv')
  const rawGet = etcd.raw('GET', 'version', null, { synchronous: true })
  assert.equal(rawGet.err, null)
  assert.equal(typeof rawGet.body.etcdserver, 'string')
})

// ---- result shapes --------------------------------------------------------------------------------

test('etcd error shape: {err, body: "", headers}', () => {
  const r = etcd.getSync('sync/missing')
  assert.deepEqual(Object.keys(r).sort(), ['body', 'err', 'headers'])
  assert.ok(r.err instanceof Error)
  assert.equal(r.err.message, 'Key not found')
  assert.equal(r.err.errorCode, 100)
  assert.equal(r.err.code, 'ETCD_KEY_NOT_FOUND')
  assert.equal(r.err.error.cause, '/sync/missing')
  assert.equal(r.body, '')
  assert.match(r.headers['x-etcd-index'], /^\d+$/)
})

test('all servers failed shape: {err, body: undefined, headers: undefined}', async (t) => {
  process.env.RUNNING_UNIT_TESTS = 'true'
  t.after(() => delete process.env.RUNNING_UNIT_TESTS)
  const dead = new Etcd([await refusedUrl(), await refusedUrl()])
  const r = dead.getSync('k')
  assert.deepEqual(Object.keys(r).sort(), ['body', 'err', 'headers'])
  assert.equal(r.err.message, 'All servers returned error')
  assert.equal(r.err.code, 'ETCD_ALL_SERVERS_FAILED')
  assert.equal(r.err.errors.length, 8, '2 hosts x (1 + 3 retries)')
  assert.equal(r.err.retries, 3)
  assert.equal(r.err.errors[0].httperror.code, 'ECONNREFUSED')
  assert.equal(r.body, undefined)
  assert.equal(r.headers, undefined)
  // Per-call maxRetries applies to sync calls too.
  assert.equal(dead.getSync('k', { maxRetries: 0 }).err.errors.length, 2)
  // An empty host list gives the same shape (node-etcd returned a Timeout object here).
  const none = new Etcd([]).getSync('k')
  assert.deepEqual(Object.keys(none).sort(), ['body', 'err', 'headers'])
  assert.equal(none.err.message, 'All servers returned error')
  assert.deepEqual(none.err.errors, [])
  assert.equal(none.err.retries, 3)
  assert.equal(none.body, undefined)
})

test('the callback is ignored in sync mode', async () => {
  const calls = []
  const r = etcd.get('sync/cb', { synchronous: true }, (...a) => calls.push(a))
  assert.equal(r.err.errorCode, 100)
  assert.equal(typeof r.abort, 'undefined', 'a sync result, not a token')
  const r2 = etcd.set('sync/cb', 'v', { synchronous: true }, (...a) => calls.push(a))
  assert.equal(r2.err, null)
  await sleep(300)
  assert.deepEqual(calls, [])
})

test("the caller's options object is not mutated", () => {
  const o1 = { ttl: 30 }
  assertSuccess(etcd.setSync('sync/opts', 'v', o1))
  assert.deepEqual(o1, { ttl: 30 })
  const o2 = { recursive: true }
  assertSuccess(etcd.getSync('sync/opts', o2))
  assert.deepEqual(o2, { recursive: true })
  const o3 = {}
  assertSuccess(etcd.mkdirSync('sync/optdir', o3))
  assert.deepEqual(o3, {})
  const o4 = { synchronous: true }
  assertSuccess(etcd.compareAndSwap('sync/opts', 'w', 'v', o4))
  assert.deepEqual(o4, { synchronous: true })
  const o5 = { synchronous: true }
  assertSuccess(etcd.rmdir('sync/optdir', o5))
  assert.deepEqual(o5, { synchronous: true })
  const o6 = Object.freeze({ recursive: true })
  assertSuccess(etcd.delSync('sync/opts', o6))
})

// ---- blocking -------------------------------------------------------------------------------------

test('the JS thread is blocked: a timer scheduled before a sync call fires after it', async (t) => {
  const slow = await workerServer(t, 300)
  const client = new Etcd(slow.url)
  const order = []
  const timer = new Promise((resolve) =>
    setTimeout(() => {
      order.push('timer')
      resolve()
    }, 0),
  )
  setImmediate(() => order.push('immediate'))
  const t0 = Date.now()
  const r = client.getSync('slow')
  const ms = Date.now() - t0
  order.push('sync returned')
  assert.equal(r.err, null)
  assert.equal(r.body.node.value, 'late')
  assert.ok(ms >= 250, `the call took ${ms} ms (the server answers after 300)`)
  await timer
  await sleep(20)
  assert.equal(order[0], 'sync returned')
  assert.deepEqual(order.slice(1).sort(), ['immediate', 'timer'])
})

test('syncTimeout bounds a stalled sync call (err.code ETIMEDOUT)', async (t) => {
  const stall = await workerServer(t, null)
  const client = new Etcd(stall.url, { syncTimeout: 500 })
  const t0 = Date.now()
  const r = client.getSync('k')
  const ms = Date.now() - t0
  assert.deepEqual(Object.keys(r).sort(), ['body', 'err', 'headers'])
  assert.ok(r.err instanceof Error)
  assert.equal(r.err.code, 'ETIMEDOUT')
  assert.equal(r.body, undefined)
  assert.equal(r.headers, undefined)
  assert.ok(ms >= 450, `returned after ${ms} ms`)
  assert.ok(ms < 5000, `returned after ${ms} ms`)
  // The worker's messages arrive once this thread runs its event loop again.
  // The abandoned request does not linger: the server sees its socket closed.
  const end = Date.now() + 2000
  while (!stall.events.some((e) => e.event === 'close') && Date.now() < end) await sleep(20)
  assert.equal(stall.events.filter((e) => e.event === 'request').length, 1)
  assert.ok(stall.events.some((e) => e.event === 'close'), 'socket closed after the sync timeout')
})

test('the constructor timeout applies to sync calls (fails over before syncTimeout)', async (t) => {
  const stall = await workerServer(t, null)
  const client = new Etcd(stall.url, { timeout: 300, syncTimeout: 10_000 })
  const t0 = Date.now()
  const r = client.getSync('k')
  const ms = Date.now() - t0
  assert.equal(r.err.message, 'All servers returned error')
  assert.equal(r.err.errors.length, 1, 'a timeout is not retried')
  assert.equal(r.err.errors[0].httperror.code, 'ESOCKETTIMEDOUT')
  assert.ok(ms >= 250 && ms < 5000, `returned after ${ms} ms`)
})

test('the client still works asynchronously after sync calls', async () => {
  assertSuccess(etcd.setSync('sync/mixed', 'm'))
  assert.equal((await etcd.get('sync/mixed')).node.value, 'm')
  assert.equal(etcd.getSync('sync/mixed').body.node.value, 'm')
})

test('a sync call with an already aborted signal is not sent and returns an AbortError', async (t) => {
  const http = await import('node:http')
  let requests = 0
  const server = http.createServer((req, res) => {
    requests++
    res.end('{}')
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => server.close())
  const etcd = new Etcd(`127.0.0.1:${server.address().port}`)
  const ac = new AbortController()
  ac.abort(new Error('gone'))
  const r = etcd.getSync('k', { signal: ac.signal })
  assert.equal(r.err.name, 'AbortError')
  assert.equal(r.err.code, 'ABORT_ERR')
  assert.equal(r.err.cause.message, 'gone')
  assert.equal(r.body, undefined)
  // the same call without the signal would reach the server (proves the check above can fail)
  await new Promise((resolve) => etcd.get('k', resolve))
  assert.equal(requests, 1)
})
