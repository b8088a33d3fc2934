// Cluster behaviour (spec section 6): per-call shuffle, failover on transport errors and status >= 500,
// leader-election retries with 100·16^n ms waits (1 ms under RUNNING_UNIT_TESTS=true), maxRetries per call
// and per client, the "All servers returned error" error, the per-attempt timeout, and a real 3-member
// cluster losing a member and its leader. Loopback servers of our own only inject faults (500s, stalls,
// refused ports); etcd's own answers come from real etcd.
//
// Run: node --test __test__/cluster.test.mjs

import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { createRequire } from 'node:module'
import { listen, closeServer, refusedUrl } from './helpers/common.mjs'

const require = createRequire(import.meta.url)
const Etcd = require('../index.js')
const { startEtcd, startCluster } = require('../testing/index.js')

// Each test sets the switch it needs; the client reads it at call time.
delete process.env.RUNNING_UNIT_TESTS
function fastRetries(t, on = true) {
  if (on) process.env.RUNNING_UNIT_TESTS = 'true'
  else delete process.env.RUNNING_UNIT_TESTS
  t.after(() => delete process.env.RUNNING_UNIT_TESTS)
}

// HTTP server answering every request with `status` and `body`; counts requests.
async function statusServer(t, status, body, contentType = 'application/json') {
  const state = { requests: 0 }
  const server = http.createServer((req, res) => {
    state.requests++
    req.resume()
    res.writeHead(status, { 'content-type': contentType })
    res.end(body)
  })
  const port = await listen(server)
  t.after(() => closeServer(server))
  return { url: `http://127.0.0.1:${port}`, state }
}

// TCP server that accepts connections and never answers.
async function stallServer(t) {
  const sockets = new Set()
  const state = { accepted: 0 }
  const server = net.createServer((sock) => {
    state.accepted++
    sockets.add(sock)
    sock.on('close', () => sockets.delete(sock))
    sock.resume()
  })
  const port = await listen(server)
  t.after(() => {
    for (const s of sockets) s.destroy()
    return closeServer(server)
  })
  return { url: `http://127.0.0.1:${port}`, state }
}

// Calls with a callback; resolves to { args, token, ms } once the callback runs.
function call(fn) {
  return new Promise((resolve) => {
    const t0 = Date.now()
    let token
    token = fn((...args) => resolve({ args, token, ms: Date.now() - t0 }))
  })
}

const ENTRY_KEYS = ['server', 'httperror', 'httpstatus', 'httpbody', 'response', 'timestamp']

function assertAllFailed(args, { attempts, retries }) {
  assert.equal(args.length, 1, 'the callback gets one argument')
  const [err] = args
  assert.ok(err instanceof Error)
  assert.equal(err.message, 'All servers returned error')
  assert.equal(err.code, 'ETCD_ALL_SERVERS_FAILED')
  assert.equal(err.errors.length, attempts)
  assert.equal(err.retries, retries)
  return err
}

const single = await startEtcd()
after(() => single.stop())
const live = single.endpoints[0]
await new Etcd(live).set('cluster/k', 'v')

// ---- failover -------------------------------------------------------------------------------------

for (const order of ['dead first', 'live first']) {
  test(`dead host + live etcd (${order} in the host list): every call succeeds, the shuffle is per call`, async () => {
    const dead = await refusedUrl()
    const hosts = order === 'dead first' ? [dead, live] : [live, dead]
    const etcd = new Etcd(hosts)
    const seen = { deadFirst: 0, liveFirst: 0 }
    // Bounded: 40 calls; missing one order by chance has probability 2^-39.
    for (let i = 0; i < 40; i++) {
      const { args, token } = await call((cb) => etcd.get('cluster/k', cb))
      assert.equal(args[0], null)
      assert.equal(args[1].node.value, 'v')
      assert.deepEqual([...token.servers].sort(), [...hosts].sort(), 'token.servers lists both hosts')
      assert.equal(token.retries, 0)
      if (token.servers[0] === dead) {
        seen.deadFirst++
        assert.equal(token.errors.length, 1, 'the dead host is recorded when it was tried first')
        assert.equal(token.errors[0].server, dead)
        assert.equal(token.errors[0].httperror.code, 'ECONNREFUSED')
      } else {
        seen.liveFirst++
        assert.deepEqual(token.errors, [])
      }
    }
    assert.ok(seen.deadFirst > 0 && seen.liveFirst > 0, `both orders seen: ${JSON.stringify(seen)}`)
  })
}

test('a 500 then real etcd: failover succeeds and the 500 is on token.errors', async (t) => {
  const bad = await statusServer(t, 500, '{"message":"boom","detail":[1,2]}')
  const etcd = new Etcd([bad.url, live])
  let checked = false
  // Bounded: until the 500 host happened to come first (p = 1/2 per call).
  for (let i = 0; i < 40 && !checked; i++) {
    const { args, token } = await call((cb) => etcd.get('cluster/k', cb))
    assert.equal(args[0], null)
    assert.equal(args[1].node.value, 'v')
    if (token.servers[0] !== bad.url) continue
    assert.equal(token.errors.length, 1)
    const e = token.errors[0]
    assert.deepEqual(Object.keys(e), ENTRY_KEYS)
    assert.equal(e.server, bad.url)
    assert.equal(e.httperror, null)
    assert.equal(e.httpstatus, 500)
    assert.deepEqual(e.httpbody, { message: 'boom', detail: [1, 2] })
    assert.equal(e.response.statusCode, 500)
    assert.ok(e.timestamp instanceof Date)
    assert.equal(token.retries, 0)
    checked = true
  }
  assert.ok(checked, 'the 500 host came first at least once')
})

// ---- all hosts dead -------------------------------------------------------------------------------

test('three refused hosts, default retries (RUNNING_UNIT_TESTS=true): 12 errors, retries 3', async (t) => {
  fastRetries(t)
  const hosts = [await refusedUrl(), await refusedUrl(), await refusedUrl()]
  const etcd = new Etcd(hosts)
  const { args, token } = await call((cb) => etcd.get('k', cb))
  const err = assertAllFailed(args, { attempts: 12, retries: 3 })
  assert.equal(token.retries, 3)
  assert.equal(token.errors.length, 12)
  assert.equal(token.errors, err.errors, 'the same array as in node-etcd')
  for (const [i, e] of err.errors.entries()) {
    assert.deepEqual(Object.keys(e), ENTRY_KEYS)
    // Retry rounds reuse the call's shuffled order.
    assert.equal(e.server, token.servers[i % 3])
    assert.equal(e.httperror.code, 'ECONNREFUSED')
    assert.equal(e.httpstatus, undefined)
    assert.equal(e.httpbody, undefined)
    assert.equal(e.response, undefined)
    assert.ok(e.timestamp instanceof Date)
    if (i > 0) assert.ok(e.timestamp >= err.errors[i - 1].timestamp, 'chronological')
  }
  // The promise form rejects with the same shape.
  await assert.rejects(etcd.get('k'), (e) => e.errors.length === 12 && e.retries === 3)
})

test('{maxRetries: 1} per call: 6 errors for 3 refused hosts', async (t) => {
  fastRetries(t)
  const etcd = new Etcd([await refusedUrl(), await refusedUrl(), await refusedUrl()])
  const { args, token } = await call((cb) => etcd.get('k', { maxRetries: 1 }, cb))
  assertAllFailed(args, { attempts: 6, retries: 1 })
  assert.equal(token.maxRetries, 1)
})

test('constructor maxRetries: 0 -> 3 errors and no retry round; a per-call value overrides it', async (t) => {
  // Real waits: a retry round would show up as more attempts after >= 100 ms.
  fastRetries(t, false)
  const etcd = new Etcd([await refusedUrl(), await refusedUrl(), await refusedUrl()], { maxRetries: 0 })
  const first = await call((cb) => etcd.get('k', cb))
  assertAllFailed(first.args, { attempts: 3, retries: 0 })
  assert.equal(first.token.maxRetries, 0)
  const second = await call((cb) => etcd.get('k', { maxRetries: 1 }, cb))
  assertAllFailed(second.args, { attempts: 6, retries: 1 })
})

test('without RUNNING_UNIT_TESTS the first retry waits ~100 ms', async (t) => {
  fastRetries(t, false)
  const etcd = new Etcd(await refusedUrl())
  const { args, ms } = await call((cb) => etcd.get('k', { maxRetries: 1 }, cb))
  const err = assertAllFailed(args, { attempts: 2, retries: 1 })
  assert.ok(ms >= 90, `waited ${ms} ms`)
  assert.ok(ms < 1500, `waited ${ms} ms`)
  const gap = err.errors[1].timestamp - err.errors[0].timestamp
  assert.ok(gap >= 90, `attempts ${gap} ms apart`)
})

test('mixed failures (refused + 500 text) are not retried', async (t) => {
  fastRetries(t)
  const bad = await statusServer(t, 500, 'Internal Server Error', 'text/plain')
  const etcd = new Etcd([await refusedUrl(), bad.url])
  const { args } = await call((cb) => etcd.get('k', cb))
  const err = assertAllFailed(args, { attempts: 2, retries: 0 })
  assert.equal(bad.state.requests, 1)
  const status = err.errors.find((e) => e.httpstatus === 500)
  assert.equal(status.httpbody, 'Internal Server Error')
  assert.equal(status.httperror, null)
  assert.equal(err.errors.find((e) => e.httperror !== null).httperror.code, 'ECONNREFUSED')
})

for (const code of [300, 301]) {
  test(`status 500 with errorCode ${code} counts as a leader election (retried)`, async (t) => {
    fastRetries(t)
    const bad = await statusServer(t, 500, JSON.stringify({ errorCode: code, message: 'Raft Internal Error' }))
    const etcd = new Etcd(bad.url)
    const { args } = await call((cb) => etcd.get('k', { maxRetries: 2 }, cb))
    const err = assertAllFailed(args, { attempts: 3, retries: 2 })
    assert.equal(bad.state.requests, 3)
    assert.equal(err.errors[0].httpbody.errorCode, code)
  })
}

test('a plain 500 is not retried', async (t) => {
  fastRetries(t)
  const bad = await statusServer(t, 500, '{"message":"boom"}')
  const etcd = new Etcd(bad.url)
  const { args } = await call((cb) => etcd.get('k', { maxRetries: 2 }, cb))
  assertAllFailed(args, { attempts: 1, retries: 0 })
  assert.equal(bad.state.requests, 1)
})

test('a leader-election 500 once, then success: retried, the first failure stays on the token', async (t) => {
  fastRetries(t)
  let n = 0
  const server = http.createServer((req, res) => {
    req.resume()
    if (n++ === 0) {
      res.writeHead(500, { 'content-type': 'application/json' })
      res.end('{"errorCode":301,"message":"During Leader Election"}')
    } else {
      res.writeHead(200, { 'content-type': 'application/json', 'x-etcd-index': '3' })
      res.end('{"action":"get","node":{"key":"/k","value":"ok"}}')
    }
  })
  const port = await listen(server)
  t.after(() => closeServer(server))
  const etcd = new Etcd(`127.0.0.1:${port}`)
  const { args, token } = await call((cb) => etcd.get('k', cb))
  assert.equal(args[0], null)
  assert.equal(args[1].node.value, 'ok')
  assert.equal(args[2]['x-etcd-index'], '3')
  assert.equal(token.retries, 1)
  assert.equal(token.errors.length, 1)
  assert.equal(token.errors[0].httpbody.errorCode, 301)
})

// ---- timeout --------------------------------------------------------------------------------------

test('timeout: a server that never answers -> ESOCKETTIMEDOUT after ~timeout, no retry', async (t) => {
  fastRetries(t, false)
  const stall = await stallServer(t)
  const etcd = new Etcd(stall.url, { timeout: 300 })
  const { args, ms } = await call((cb) => etcd.get('k', cb))
  const err = assertAllFailed(args, { attempts: 1, retries: 0 })
  assert.equal(err.errors[0].httperror.code, 'ESOCKETTIMEDOUT')
  assert.ok(ms >= 250, `failed after ${ms} ms`)
  assert.ok(ms < 3000, `failed after ${ms} ms`)
  assert.equal(stall.state.accepted, 1)
})

test('timeout: a stalled host fails over to the next one', async (t) => {
  fastRetries(t, false)
  const stall = await stallServer(t)
  const etcd = new Etcd([stall.url, live], { timeout: 300 })
  let checked = false
  for (let i = 0; i < 30 && !checked; i++) {
    const { args, token, ms } = await call((cb) => etcd.get('cluster/k', cb))
    assert.equal(args[0], null)
    assert.equal(args[1].node.value, 'v')
    if (token.servers[0] !== stall.url) continue
    assert.equal(token.errors.length, 1)
    assert.equal(token.errors[0].httperror.code, 'ESOCKETTIMEDOUT')
    assert.ok(ms >= 250 && ms < 3000, `answered after ${ms} ms`)
    checked = true
  }
  assert.ok(checked, 'the stalled host came first at least once')
})

// Writes the status line, headers and the first `first` bytes of a `total`-byte body, then
// sends `chunk` bytes every `everyMs` ms (never if null).
async function trickleServer(t, { total, first, everyMs, chunk = 1 }) {
  const sockets = new Set()
  const timers = new Set()
  const server = net.createServer((sock) => {
    sockets.add(sock)
    sock.on('close', () => sockets.delete(sock))
    sock.once('data', () => {
      sock.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${total}\r\n\r\n`)
      const body = Buffer.from(`{"v":"${'x'.repeat(total - 8)}"}`)
      let sent = first
      sock.write(body.subarray(0, sent))
      if (everyMs === null) return
      const timer = setInterval(() => {
        if (sent >= total || sock.destroyed) return clearInterval(timer)
        sock.write(body.subarray(sent, sent + chunk))
        sent += chunk
      }, everyMs)
      timers.add(timer)
    })
  })
  const port = await listen(server)
  t.after(() => {
    for (const tm of timers) clearInterval(tm)
    for (const s of sockets) s.destroy()
    return closeServer(server)
  })
  return { url: `http://127.0.0.1:${port}` }
}

test('timeout: a body that stalls after the headers -> ESOCKETTIMEDOUT', async (t) => {
  fastRetries(t, false)
  const srv = await trickleServer(t, { total: 100, first: 10, everyMs: null })
  const etcd = new Etcd(srv.url, { timeout: 300 })
  const { args, ms } = await call((cb) => etcd.get('k', cb))
  const err = assertAllFailed(args, { attempts: 1, retries: 0 })
  assert.equal(err.errors[0].httperror.code, 'ESOCKETTIMEDOUT')
  assert.ok(ms >= 250 && ms < 3000, `failed after ${ms} ms`)
})

test('timeout is an idle timeout, not a deadline: a slow but steady body succeeds', async (t) => {
  fastRetries(t, false)
  // 10 chunks of 10 bytes every 100 ms: ~1 s in total, never idle for 400 ms.
  const srv = await trickleServer(t, { total: 110, first: 10, everyMs: 100, chunk: 10 })
  const etcd = new Etcd(srv.url, { timeout: 400 })
  const { args, ms } = await call((cb) => etcd.get('k', cb))
  assert.equal(args[0], null, args[0] && JSON.stringify(args[0].errors?.map((e) => e.httperror?.code)))
  assert.equal(args[1].v.length, 102)
  assert.ok(ms >= 800, `the body took ${ms} ms, longer than the timeout`)
})

// ---- empty host list ------------------------------------------------------------------------------

test('new Etcd([]): error with errors [] and retries 3', async (t) => {
  fastRetries(t)
  const etcd = new Etcd([])
  const { args, token } = await call((cb) => etcd.get('k', cb))
  const err = assertAllFailed(args, { attempts: 0, retries: 3 })
  assert.deepEqual(err.errors, [])
  assert.deepEqual(token.servers, [])
  await assert.rejects(etcd.get('k'), (e) => e.message === 'All servers returned error' && e.retries === 3)
})

// ---- a real 3-member cluster ----------------------------------------------------------------------

test('3-member cluster: losing a follower, then the leader', { timeout: 120_000 }, async (t) => {
  fastRetries(t, false) // real waits give the cluster time to elect
  const cluster = await startCluster()
  t.after(() => cluster.stop())
  const etcd = new Etcd(cluster.endpoints)
  await etcd.set('cluster/x', '0')

  const leader = await cluster.waitForLeader()
  const follower = (leader + 1) % 3
  await cluster.kill(follower)
  for (let i = 0; i < 10; i++) {
    assert.equal((await etcd.set('cluster/x', `f${i}`)).node.value, `f${i}`)
    // a plain v2 read is served by whichever member answers and may lag: read-your-writes needs quorum
    assert.equal((await etcd.get('cluster/x', { quorum: true })).node.value, `f${i}`)
  }
  await cluster.restart(follower)

  const leader2 = await cluster.waitForLeader()
  await cluster.kill(leader2)
  // A write during the election may reach a member that is waiting for a leader (500, errorCode 300:
  // it may still commit): the default client reports ETCD_OUTCOME_UNKNOWN rather than risk applying it
  // twice. Refused connections (the dead member) are failed over. With retryWrites: true the write
  // is retried as node-etcd did and succeeds within the retry budget.
  const token = etcd.set('cluster/x', 'after')
  const outcome = await token.then(
    (body) => ({ body }),
    (err) => ({ err }),
  )
  if (outcome.err) {
    assert.equal(outcome.err.code, 'ETCD_OUTCOME_UNKNOWN', `unexpected ${outcome.err.code}: ${outcome.err.message}`)
    const last = outcome.err.errors.at(-1)
    assert.ok(last.httperror?.code === 'ECONNRESET' || last.httpstatus >= 500, `the last attempt may have reached a server: ${JSON.stringify(last.httpbody ?? last.httperror?.code)}`)
  } else {
    assert.equal(outcome.body.node.value, 'after')
  }
  for (const e of token.errors.slice(0, -1)) assert.equal(e.httperror?.code, 'ECONNREFUSED', 'only never-delivered attempts were failed over')
  const retrying = new Etcd(cluster.endpoints, { retryWrites: true })
  t.after(() => retrying.close())
  assert.equal((await retrying.set('cluster/x', 'after2')).node.value, 'after2')
  const leader3 = await cluster.waitForLeader()
  assert.notEqual(leader3, leader2)
  for (let i = 0; i < 5; i++) {
    assert.equal((await etcd.set('cluster/x', `l${i}`)).node.value, `l${i}`)
  }
})
