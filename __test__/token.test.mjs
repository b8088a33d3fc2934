// The CancellationToken every async call returns: node-etcd's shape and aliases, abort semantics
// (no callback after abort, even during a retry wait; the native request is really cancelled), the
// lazy thenable used when no callback is given, and AbortSignal support.
//
// Run: node --test __test__/token.test.mjs

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { getEventListeners, setMaxListeners } from 'node:events'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { sleep, until, listen, closeServer, refusedPort } from './helpers/common.mjs'

const require = createRequire(import.meta.url)
const Etcd = require('../index.js')
const { startEtcd } = require('../testing/index.js')
const ENTRY = fileURLToPath(new URL('../index.js', import.meta.url))

// Real waits (100·16^n ms) unless a test sets the switch itself.
delete process.env.RUNNING_UNIT_TESTS

const waitFor = (what, fn, ms = 3000) => until(fn, ms, what, { every: 10 })

// HTTP server that records request targets, answers after `delayMs` (never if null), and reports
// when a client socket closes.
async function slowServer(t, { delayMs = null, body = '{"action":"get","node":{"key":"/k","value":"v"}}' } = {}) {
  const state = { requests: [], sockets: 0, closed: 0, onRequest: null }
  const server = http.createServer((req, res) => {
    state.requests.push(req.url)
    req.resume()
    if (state.onRequest) state.onRequest(req)
    if (delayMs !== null) {
      const timer = setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-etcd-index': '9' })
        res.end(body)
      }, delayMs)
      res.on('close', () => clearTimeout(timer))
    }
  })
  server.on('connection', (sock) => {
    state.sockets++
    sock.on('close', () => state.closed++)
  })
  const port = await listen(server)
  t.after(() => closeServer(server))
  return { url: `http://127.0.0.1:${port}`, state }
}

const cluster = await startEtcd()
after(() => cluster.stop())
const etcd = new Etcd(cluster.endpoints)
await etcd.set('token/k', 'v')

// ---- shape ---------------------------------------------------------------------------------------

test('token shape: own properties, bound abort/isAborted, unbound prototype aliases', async () => {
  let done
  const finished = new Promise((resolve) => (done = resolve))
  const token = etcd.get('token/k', () => done())
  assert.deepEqual(token.servers, cluster.endpoints)
  assert.equal(token.maxRetries, 3)
  assert.equal(token.retries, 0)
  assert.deepEqual(token.errors, [])
  assert.equal(token.aborted, false)
  assert.equal(typeof token.req.abort, 'function')
  for (const name of ['abort', 'isAborted']) {
    assert.ok(Object.hasOwn(token, name), `${name} is an own (bound) method`)
  }
  const proto = Object.getPrototypeOf(token)
  assert.equal(proto.cancel, proto.abort, 'cancel is the same function as abort')
  assert.equal(proto.wasAborted, proto.isAborted, 'wasAborted is the same function as isAborted')
  assert.equal(token.isAborted(), false)
  assert.equal(token.wasAborted(), false)
  await finished
  assert.equal(token.aborted, false)
  // Detached calls work because abort and isAborted are bound.
  const { abort, isAborted } = token
  assert.equal(abort(), undefined)
  assert.equal(isAborted(), true)
  assert.equal(token.aborted, true)
  assert.equal(token.wasAborted(), true)
})

test('maxRetries on the token follows the call option', () => {
  const token = etcd.get('token/k', { maxRetries: 1 }, () => {})
  token.abort()
  assert.equal(token.maxRetries, 1)
})

test('cancel() and req.abort() abort too', async () => {
  const calls = []
  const a = etcd.get('token/k', () => calls.push('a'))
  a.cancel()
  const b = etcd.get('token/k', () => calls.push('b'))
  b.req.abort()
  assert.equal(a.isAborted(), true)
  assert.equal(b.isAborted(), true)
  await sleep(300)
  assert.deepEqual(calls, [])
})

// ---- abort semantics ------------------------------------------------------------------------------

test('abort right after the call: the callback is never called', async () => {
  // Control: the same call without abort answers quickly.
  await new Promise((resolve, reject) => etcd.get('token/k', (err) => (err ? reject(err) : resolve())))
  const calls = []
  const token = etcd.get('token/k', (...args) => calls.push(args))
  token.abort()
  assert.equal(token.aborted, true)
  await sleep(500)
  assert.deepEqual(calls, [])
})

test('abort while the response is in flight: no callback, even after the server answers', async (t) => {
  const srv = await slowServer(t, { delayMs: 200 })
  const client = new Etcd(srv.url)
  const calls = []
  const token = client.get('k', (...args) => calls.push(args))
  await waitFor('the request to arrive', () => srv.state.requests.length === 1)
  token.abort()
  await sleep(600) // well past the 200 ms answer
  assert.deepEqual(calls, [])
  // Control: without abort the same server answers the callback.
  const body = await new Promise((resolve, reject) => client.get('k', (err, b) => (err ? reject(err) : resolve(b))))
  assert.equal(body.node.value, 'v')
})

test('abort cancels the native request: the stalled server sees its socket closed', async (t) => {
  const srv = await slowServer(t, { delayMs: null })
  const client = new Etcd(srv.url)
  const token = client.get('k', () => assert.fail('callback after abort'))
  await waitFor('the request to arrive', () => srv.state.requests.length === 1)
  await sleep(50)
  assert.equal(srv.state.closed, 0, 'socket still open before abort')
  token.abort()
  await waitFor('the socket to close after abort', () => srv.state.closed === 1, 2000)
})

// A server that resets every connection: ECONNRESET counts as a leader election, so the client
// waits 100 ms and retries. Counting accepted connections shows whether a retry happened.
async function resettingServer(t) {
  const state = { accepted: 0 }
  const server = net.createServer((sock) => {
    state.accepted++
    sock.resetAndDestroy()
  })
  const port = await listen(server)
  t.after(() => closeServer(server))
  return { url: `http://127.0.0.1:${port}`, state }
}

test('control: without abort, a reset connection is retried after the first wait', async (t) => {
  const srv = await resettingServer(t)
  const client = new Etcd(srv.url)
  const err = await new Promise((resolve) => client.get('k', { maxRetries: 1 }, (e) => resolve(e)))
  assert.equal(err.message, 'All servers returned error')
  assert.equal(err.errors.length, 2)
  assert.equal(srv.state.accepted, 2)
})

test('abort during a retry wait: no callback and no further attempt', async (t) => {
  const srv = await resettingServer(t)
  const client = new Etcd(srv.url)
  const calls = []
  const token = client.get('k', (...args) => calls.push(args))
  await waitFor('the first attempt', () => srv.state.accepted === 1)
  await sleep(30) // inside the 100 ms wait
  token.abort()
  const seen = srv.state.accepted
  await sleep(500) // the retry would have come at ~100 ms, the next at ~1.7 s
  assert.equal(seen, 1, 'the abort happened during the first wait')
  assert.equal(srv.state.accepted, 1, 'no attempt after abort')
  assert.deepEqual(calls, [])
})

test('abort during a retry wait on refused connections: no callback, awaited form rejects at once', async () => {
  const client = new Etcd(`127.0.0.1:${await refusedPort()}`)
  const calls = []
  const token = client.get('k', (...args) => calls.push(args))
  await sleep(30)
  token.abort()
  const p = client.get('k')
  await sleep(30)
  const t0 = Date.now()
  p.abort()
  await assert.rejects(p, { name: 'AbortError', code: 'ABORT_ERR' })
  assert.ok(Date.now() - t0 < 1000, 'rejected at abort, not after the retry schedule')
  await sleep(500)
  assert.deepEqual(calls, [])
})

test('double abort is harmless', async () => {
  const calls = []
  const token = etcd.get('token/k', () => calls.push(1))
  assert.equal(token.abort(), undefined)
  assert.equal(token.abort(), undefined)
  assert.equal(token.cancel(), undefined)
  assert.equal(token.isAborted(), true)
  const p = etcd.get('token/k')
  p.abort()
  p.abort()
  await assert.rejects(p, { name: 'AbortError' })
  await sleep(200)
  assert.deepEqual(calls, [])
})

// ---- thenable -------------------------------------------------------------------------------------

test('thenable: resolves to the body; headers are set once it settles', async () => {
  const token = etcd.get('token/k')
  assert.equal(typeof token.then, 'function')
  assert.equal(token.headers, undefined)
  const body = await token
  assert.equal(body.action, 'get')
  assert.equal(body.node.key, '/token/k')
  assert.equal(body.node.value, 'v')
  assert.equal(typeof token.headers, 'object')
  assert.match(token.headers['x-etcd-index'], /^\d+$/)
  // Awaiting again gives the same value.
  assert.equal(await token, body)
})

test('thenable: rejects with the same Error the callback gets', async () => {
  const cbErr = await new Promise((resolve) => etcd.get('token/missing', (err) => resolve(err)))
  const token = etcd.get('token/missing')
  const err = await token.then(
    () => assert.fail('should reject'),
    (e) => e,
  )
  assert.ok(err instanceof Error)
  for (const e of [cbErr, err]) {
    assert.equal(e.message, 'Key not found')
    assert.equal(e.errorCode, 100)
    assert.equal(e.code, 'ETCD_KEY_NOT_FOUND')
    assert.equal(e.error.cause, '/token/missing')
  }
  assert.match(token.headers['x-etcd-index'], /^\d+$/, 'headers of the error answer')
})

test('thenable: all-servers failure rejects with the cluster error', async (t) => {
  process.env.RUNNING_UNIT_TESTS = 'true'
  t.after(() => delete process.env.RUNNING_UNIT_TESTS)
  const client = new Etcd([`127.0.0.1:${await refusedPort()}`])
  await assert.rejects(client.get('k', { maxRetries: 1 }), (err) => {
    assert.equal(err.message, 'All servers returned error')
    assert.equal(err.code, 'ETCD_ALL_SERVERS_FAILED')
    assert.equal(err.errors.length, 2)
    assert.equal(err.retries, 1)
    return true
  })
})

test('thenable: .catch and .finally work', async () => {
  let finallyRan = 0
  const caught = await etcd.get('token/missing').catch((e) => e.errorCode)
  assert.equal(caught, 100)
  const v = await etcd.get('token/k').finally(() => finallyRan++)
  assert.equal(v.node.value, 'v')
  await assert.rejects(etcd.get('token/missing').finally(() => finallyRan++), { errorCode: 100 })
  assert.equal(finallyRan, 2)
  // .catch on a success passes the value through.
  assert.equal((await etcd.get('token/k').catch(() => 'nope')).node.value, 'v')
})

test('a call with a callback returns a token without then', async () => {
  let done
  const finished = new Promise((resolve) => (done = resolve))
  const token = etcd.get('token/k', () => done())
  assert.equal('then' in token, false)
  assert.equal(token.then, undefined)
  await finished
})

function runChild(script, extraArgs = []) {
  return spawnSync(process.execPath, [...extraArgs, '-e', script], {
    encoding: 'utf8',
    timeout: 15000,
    env: { ...process.env, ENTRY, RUNNING_UNIT_TESTS: 'true', ENDPOINT: cluster.endpoints[0] },
  })
}

test('a never-awaited failing call causes no unhandledRejection (strict mode)', async () => {
  const port = await refusedPort()
  const script = `
    const Etcd = require(process.env.ENTRY)
    const dead = new Etcd('127.0.0.1:${port}')
    const live = new Etcd(process.env.ENDPOINT)
    dead.get('k')                     // all servers fail
    live.get('token/missing')         // etcd error
    dead.get('k', { signal: AbortSignal.abort() }) // aborted before it starts
    const t = live.get('token/k'); t.abort()         // aborted by the token
    setTimeout(() => console.log('done'), 500)
  `
  const r = runChild(script, ['--unhandled-rejections=strict'])
  assert.equal(r.stderr, '')
  assert.equal(r.stdout.trim(), 'done')
  assert.equal(r.status, 0)
  // Control: the same harness does catch a rejection nobody handles.
  const bad = runChild(`const Etcd = require(process.env.ENTRY); new Etcd('127.0.0.1:${port}').get('k').then(() => {})`, [
    '--unhandled-rejections=strict',
  ])
  assert.notEqual(bad.status, 0)
  assert.match(bad.stderr, /All servers returned error/)
})

// ---- AbortSignal ----------------------------------------------------------------------------------

test('AbortSignal already aborted: rejects with AbortError (cause = reason), nothing is sent', async (t) => {
  const srv = await slowServer(t, { delayMs: 0 })
  const client = new Etcd(srv.url)
  const reason = new Error('stop now')
  const token = client.get('k', { signal: AbortSignal.abort(reason) })
  assert.equal(token.aborted, true)
  await assert.rejects(token, (err) => {
    assert.equal(err.name, 'AbortError')
    assert.equal(err.code, 'ABORT_ERR')
    assert.ok(err instanceof Error)
    assert.equal(err.cause, reason)
    return true
  })
  const calls = []
  const cbToken = client.get('k', { signal: AbortSignal.abort() }, (...a) => calls.push(a))
  assert.equal(cbToken.isAborted(), true)
  await sleep(300)
  assert.deepEqual(calls, [])
  assert.equal(srv.state.requests.length, 0)
})

test('AbortSignal aborted mid-flight: AbortError, the native request is cancelled', async (t) => {
  const srv = await slowServer(t, { delayMs: null })
  const client = new Etcd(srv.url)
  const ac = new AbortController()
  const token = client.get('k', { signal: ac.signal })
  await waitFor('the request to arrive', () => srv.state.requests.length === 1)
  const reason = new Error('user gave up')
  ac.abort(reason)
  assert.equal(token.aborted, true)
  await assert.rejects(token, (err) => err.name === 'AbortError' && err.code === 'ABORT_ERR' && err.cause === reason)
  await waitFor('the socket to close', () => srv.state.closed === 1, 2000)

  // With a callback: nothing is called after the signal fires.
  const ac2 = new AbortController()
  const calls = []
  client.get('k', { signal: ac2.signal }, (...a) => calls.push(a))
  await waitFor('the second request', () => srv.state.requests.length === 2)
  ac2.abort()
  await sleep(300)
  assert.deepEqual(calls, [])
})

test('a signal aborted after the call completed changes nothing', async () => {
  const ac = new AbortController()
  const token = etcd.get('token/k', { signal: ac.signal })
  const body = await token
  ac.abort()
  assert.equal(token.aborted, false)
  assert.equal(await token, body)
})

test('the signal option is never sent to etcd', async (t) => {
  const srv = await slowServer(t, { delayMs: 0 })
  const client = new Etcd(srv.url)
  const ac = new AbortController()
  await client.get('k', { signal: ac.signal, recursive: true })
  await new Promise((resolve, reject) => client.get('k', { signal: ac.signal }, (err) => (err ? reject(err) : resolve())))
  assert.deepEqual(srv.state.requests, ['/v2/keys/k?recursive=true', '/v2/keys/k'])
})

test('the abort listener is removed when a call completes (no leak with a long-lived signal)', { timeout: 60_000 }, async (t) => {
  const ac = new AbortController()
  const signal = ac.signal
  // 50 concurrent calls share it below; Node would warn about a possible leak at 11.
  setMaxListeners(100, signal)
  // While a call is pending, exactly one listener is registered.
  const srv = await slowServer(t, { delayMs: 150 })
  const pending = new Etcd(srv.url).get('k', { signal })
  assert.equal(getEventListeners(signal, 'abort').length, 1)
  await pending
  assert.equal(getEventListeners(signal, 'abort').length, 0)

  // 1000 successful calls in batches of 50 (bounded: each batch must finish in the test timeout).
  for (let batch = 0; batch < 20; batch++) {
    await Promise.all(Array.from({ length: 50 }, () => etcd.get('token/k', { signal })))
  }
  // Failing calls too (etcd errors, and refused connections with no retry).
  const dead = new Etcd(`127.0.0.1:${await refusedPort()}`)
  await Promise.all(Array.from({ length: 20 }, () => etcd.get('token/missing', { signal }).catch(() => {})))
  await Promise.all(Array.from({ length: 20 }, () => dead.get('k', { signal, maxRetries: 0 }).catch(() => {})))
  // And calls aborted through the token.
  for (let i = 0; i < 20; i++) {
    const tk = new Etcd(srv.url).get('k', { signal })
    tk.abort()
    await tk.catch(() => {})
  }
  await waitFor('listeners of token-aborted calls to go', () => getEventListeners(signal, 'abort').length === 0, 3000)
  assert.equal(signal.aborted, false)
})
