// Transport faults between the client and a real etcd 3.5, injected by a loopback TCP proxy
// (helpers/faultproxy.mjs): refused connects, resets mid-response, stalls, trickles and responses cut after
// their head. For each: failover to a healthy second host, the right error code when the proxy is the only
// host, timeouts, abort(), sockets left open, sync calls, and the watcher.
//
// Run: node --test __test__/faults.test.mjs

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { startFaultProxy } from './helpers/faultproxy.mjs'
import { sleep } from './helpers/common.mjs'

const require = createRequire(import.meta.url)
const Etcd = require('../index.js')
const { startEtcd } = require('../testing/index.js')

// Leader-election retries (refused/reset connects) wait 1 ms instead of 100·16^n ms; read at call time.
process.env.RUNNING_UNIT_TESTS = 'true'


let server
let etcdUrl
let direct // writes and checks that bypass the proxy
before(async () => {
  server = await startEtcd()
  etcdUrl = server.endpoints[0]
  direct = new Etcd(etcdUrl)
  await direct.set('faults/k', 'v')
  await direct.set('faults/long', 'v'.repeat(150))
})
after(async () => {
  if (direct) direct.close()
  if (server) await server.stop()
})

async function proxyFor(t, options) {
  const proxy = await startFaultProxy(etcdUrl, options)
  t.after(() => proxy.close())
  return proxy
}

function client(t, hosts, options) {
  const etcd = new Etcd(hosts, options)
  t.after(() => etcd.close())
  return etcd
}

/** A callback call as a promise; rejects if the callback has not run after `boundMs` (a hang). */
function call(etcd, method, args, boundMs = 10000) {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    let token
    const timer = setTimeout(() => {
      if (token) token.abort()
      reject(new Error(`${method}(${JSON.stringify(args)}) did not call back within ${boundMs} ms`))
    }, boundMs)
    token = etcd[method](...args, (err, body, headers) => {
      clearTimeout(timer)
      resolve({ err, body, headers, token, ms: Date.now() - started })
    })
  })
}

const attemptCodes = (list) => list.map((a) => (a.httperror ? a.httperror.code : a.httpstatus))

/**
 * No socket is left mid-exchange, at most `pooled` idle keep-alive sockets stay open while the client lives,
 * and none once it is closed.
 */
async function assertNoLeak(proxy, etcd, pooled) {
  await proxy.until(() => proxy.busy === 0 && proxy.open <= pooled, 2000, `no busy socket and at most ${pooled} idle (pooled) ones`)
  etcd.close()
  await proxy.until(() => proxy.open === 0, 2000, 'no open sockets after etcd.close()')
}

// --- the proxy as the only host: error codes and timing -----------------------------------------

const ONLY_HOST = [
  // [title, mode, mode options, client options, expected code, leader-election retries?]
  ['refuse (listener closed)', 'refuse', { how: 'close' }, {}, 'ECONNREFUSED', true],
  ['refuse (accept, then destroy)', 'refuse', { how: 'destroy' }, {}, 'ECONNRESET', true],
  ['reset (RST in the middle of the response)', 'reset', {}, {}, 'ECONNRESET', true],
  ['closeAfterHeaders (FIN after the head)', 'closeAfterHeaders', {}, {}, 'ECONNRESET', true],
  ['stall with timeout 300', 'stall', {}, { timeout: 300 }, 'ESOCKETTIMEDOUT', false],
]

for (const [title, mode, modeOptions, clientOptions, code, retried] of ONLY_HOST) {
  test(`only host, ${title}: every attempt fails with ${code}`, async (t) => {
    const proxy = await proxyFor(t, { mode, ...modeOptions })
    const etcd = client(t, proxy.url, clientOptions)
    const { err, token, ms } = await call(etcd, 'get', ['faults/k'])
    assert.ok(err, 'the call fails')
    assert.equal(err.code, 'ETCD_ALL_SERVERS_FAILED')
    assert.equal(err.message, 'All servers returned error')
    // ECONNREFUSED/ECONNRESET look like a leader election: maxRetries (3) more rounds; a timeout does not.
    const attempts = retried ? 4 : 1
    assert.deepEqual(attemptCodes(err.errors), new Array(attempts).fill(code))
    assert.equal(err.retries, attempts - 1)
    assert.deepEqual(attemptCodes(token.errors), attemptCodes(err.errors))
    for (const a of err.errors) assert.equal(a.server, proxy.url)
    if (mode === 'stall') {
      assert.ok(ms >= 280 && ms <= 1500, `a stalled attempt with timeout 300 fails in 300..1500 ms, took ${ms}`)
      // The timed-out socket is dropped by the client, not kept half-used.
      await proxy.until(() => proxy.open === 0, 1000, 'the stalled socket closed')
      assert.equal(proxy.log[0].closedBy, 'client')
    }
    if (mode === 'reset') assert.ok(proxy.log.every((r) => r.bytesOut > 0 && r.closedBy === 'proxy'), 'reset after part of the response')
    if (mode === 'refuse' && modeOptions.how === 'close') assert.equal(proxy.connections, 0)
    else assert.equal(proxy.connections, attempts, 'one connection per attempt')
    await assertNoLeak(proxy, etcd, 0)
  })
}

// --- timeouts are idle timeouts: bytes that keep flowing are not a timeout ---------------------

test('trickled response body (5 ms/byte) with timeout 400 succeeds: not a timeout', async (t) => {
  const proxy = await proxyFor(t, { mode: 'trickle', ms: 5, from: 'body' })
  const etcd = client(t, proxy.url, { timeout: 400 })
  const { err, body, ms } = await call(etcd, 'get', ['faults/long'])
  assert.equal(err, null, `no error expected, got ${err && err.code} ${err && JSON.stringify(attemptCodes(err.errors || []))}`)
  assert.equal(body.node.value, 'v'.repeat(150))
  assert.ok(ms > 800, `the body took longer than 2 timeouts to arrive (${ms} ms), so the timeout is per read`)
  await assertNoLeak(proxy, etcd, 1)
})

test('trickled response head: the head must arrive within timeout of sending the request', async (t) => {
  // Documented difference (README, "timeout"): node-etcd (request) reset an idle timer on every byte,
  // also before the response head; reqwest bounds the wait for the head as a whole and only the body
  // reads are idle-timed. A head trickling in slower than `timeout` therefore fails over, while a
  // trickled body (next test) does not.
  const proxy = await proxyFor(t, { mode: 'trickle', ms: 5 })
  const etcd = client(t, proxy.url, { timeout: 300, maxRetries: 0 })
  const { err, ms } = await call(etcd, 'get', ['faults/k'])
  assert.ok(err, 'a head slower than the timeout fails')
  assert.deepEqual(attemptCodes(err.errors), ['ESOCKETTIMEDOUT'])
  assert.ok(ms >= 250 && ms < 1500, `it fails after about one timeout (${ms} ms)`)
  // with a timeout longer than the whole head, the same trickle succeeds
  const patient = client(t, proxy.url, { timeout: 5000 })
  const ok = await call(patient, 'get', ['faults/k'])
  assert.equal(ok.err, null)
  assert.equal(ok.body.node.value, 'v')
})

// --- failover: the proxy first or second in a two-host client -----------------------------------

// [title, mode, modeOptions, clientOptions, code, beforeSend]: `beforeSend` means the request never
// left the client, so even a write may go to the next host.
const FAILOVER = [
  ['refuse (listener closed)', 'refuse', { how: 'close' }, {}, 'ECONNREFUSED', true],
  ['refuse (accept, then destroy)', 'refuse', { how: 'destroy' }, {}, 'ECONNRESET', false],
  ['reset', 'reset', {}, {}, 'ECONNRESET', false],
  ['closeAfterHeaders', 'closeAfterHeaders', {}, {}, 'ECONNRESET', false],
  ['stall', 'stall', {}, { timeout: 300 }, 'ESOCKETTIMEDOUT', false],
]

for (const [title, mode, modeOptions, clientOptions, code, beforeSend] of FAILOVER) {
  test(`two hosts, proxy in ${title} mode: reads fail over; writes only if never sent (else ETCD_OUTCOME_UNKNOWN)`, async (t) => {
    const proxy = await proxyFor(t, { mode, ...modeOptions })
    const etcd = client(t, [proxy.url, etcdUrl], clientOptions)
    const orders = new Set()
    // Each call shuffles the hosts; 20 calls see both orders except with probability 2^-19.
    for (let i = 0; i < 20; i++) {
      const write = i % 2 === 0
      const args = write ? [`faults/fo/${mode}`, String(i)] : ['faults/k']
      const { err, body, token } = await call(etcd, write ? 'set' : 'get', args)
      const proxyFirst = token.servers[0] === proxy.url
      orders.add(proxyFirst ? 'proxy first' : 'etcd first')
      if (write && proxyFirst && !beforeSend) {
        // The request reached the proxy (and maybe etcd behind it): sending it again could apply it twice.
        assert.equal(err && err.code, 'ETCD_OUTCOME_UNKNOWN', `call ${i}: ${err && err.code}`)
        assert.deepEqual(attemptCodes(err.errors), [code])
        assert.equal(err.errors, token.errors)
        continue
      }
      assert.equal(err, null, `call ${i} failed: ${err && err.code} ${err && JSON.stringify(attemptCodes(err.errors || []))}`)
      assert.equal(body.node.value, write ? String(i) : 'v')
      assert.equal(token.retries, 0, 'the healthy host answered in the first round')
      if (proxyFirst) {
        assert.deepEqual(attemptCodes(token.errors), [code])
        assert.equal(token.errors[0].server, proxy.url)
      } else {
        assert.deepEqual(token.errors, [])
      }
    }
    assert.deepEqual([...orders].sort(), ['etcd first', 'proxy first'])
    await assertNoLeak(proxy, etcd, 0)
  })
}

test('retryWrites: true restores node-etcd failover for writes (proxy resetting)', async (t) => {
  const proxy = await proxyFor(t, { mode: 'reset' })
  const etcd = client(t, [proxy.url, etcdUrl], { retryWrites: true })
  let proxyFirst = 0
  for (let i = 0; i < 12; i++) {
    const { err, body, token } = await call(etcd, 'set', ['faults/rw', String(i)])
    assert.equal(err, null, `call ${i}: ${err && err.code}`)
    assert.equal(body.node.value, String(i))
    if (token.servers[0] === proxy.url) {
      proxyFirst++
      assert.deepEqual(attemptCodes(token.errors), ['ECONNRESET'])
    }
  }
  assert.ok(proxyFirst > 0, 'some calls tried the proxy first')
  await assertNoLeak(proxy, etcd, 0)
})

test('two hosts, proxy trickling the body (3 ms/byte) with timeout 300: answers through the proxy, no failover', async (t) => {
  const proxy = await proxyFor(t, { mode: 'trickle', ms: 3, from: 'body' })
  const etcd = client(t, [proxy.url, etcdUrl], { timeout: 300 })
  let viaProxy = 0
  for (let i = 0; i < 8; i++) {
    const { err, body, token, ms } = await call(etcd, 'get', ['faults/long'])
    assert.equal(err, null, `call ${i}: ${err && JSON.stringify(attemptCodes(err.errors || []))}`)
    assert.equal(body.node.value, 'v'.repeat(150))
    assert.deepEqual(attemptCodes(token.errors), [], 'no timeout, no failover')
    if (token.servers[0] === proxy.url) {
      viaProxy++
      assert.ok(ms > 450, `the trickled body took longer than the timeout (${ms} ms)`)
    }
  }
  assert.equal(proxy.responseHeads, viaProxy, 'every proxy-first call was answered by the proxy')
  await assertNoLeak(proxy, etcd, 1)
})

// --- abort() while the proxy stalls ----------------------------------------------------------------

test('abort() mid-stall closes the proxied socket within 500 ms and no callback fires', async (t) => {
  const proxy = await proxyFor(t, { mode: 'stall' })
  const etcd = client(t, proxy.url) // no timeout: only abort() can end this call
  let calls = 0
  const token = etcd.get('faults/k', () => calls++)
  await proxy.until(() => proxy.requests === 1, 2000, 'the request reached the proxy')
  const abortedAt = Date.now()
  token.abort()
  await proxy.until(() => proxy.log[0].closedAt !== null, 500, 'the client closed the stalled socket within 500 ms of abort()')
  assert.equal(proxy.log[0].closedBy, 'client')
  assert.ok(proxy.log[0].closedAt - abortedAt <= 500)
  await sleep(300)
  assert.equal(calls, 0, 'no callback after abort()')
  assert.equal(token.isAborted(), true)

  // The awaited form and an AbortSignal: rejects with AbortError, and the socket closes too.
  const ac = new AbortController()
  const awaited = etcd.get('faults/k', { signal: ac.signal })
  await proxy.until(() => proxy.requests === 2, 2000, 'the second request reached the proxy')
  ac.abort()
  await assert.rejects(awaited, { name: 'AbortError', code: 'ABORT_ERR' })
  await proxy.until(() => proxy.log.length === 2 && proxy.log[1].closedAt !== null, 500, 'the second socket closed')
  assert.equal(proxy.log[1].closedBy, 'client')
  await assertNoLeak(proxy, etcd, 0)
})

// --- sync calls ------------------------------------------------------------------------------------
// The proxy runs on this JS thread, which a sync call blocks; stall and refuse need only the kernel.

test('getSync under stall returns ETIMEDOUT after syncTimeout, and the socket is closed', async (t) => {
  const proxy = await proxyFor(t, { mode: 'stall' })
  const etcd = client(t, proxy.url, { syncTimeout: 500 })
  const started = Date.now()
  const r = etcd.getSync('faults/k')
  const ms = Date.now() - started
  assert.ok(r.err, 'the sync call fails')
  assert.equal(r.err.code, 'ETIMEDOUT')
  assert.equal(r.body, undefined)
  assert.ok(ms >= 450 && ms <= 3000, `returned after ${ms} ms (syncTimeout 500)`)
  await proxy.until(() => proxy.connections === 1 && proxy.open === 0, 1000, 'the abandoned socket closed')
  assert.equal(proxy.log[0].closedBy, 'client')
  await assertNoLeak(proxy, etcd, 0)
})

test('getSync under refuse returns the all-servers error with ECONNREFUSED', async (t) => {
  const proxy = await proxyFor(t, { mode: 'refuse' })
  const etcd = client(t, proxy.url, { syncTimeout: 5000 })
  const r = etcd.getSync('faults/k')
  assert.ok(r.err)
  assert.equal(r.err.code, 'ETCD_ALL_SERVERS_FAILED')
  assert.equal(r.err.message, 'All servers returned error')
  assert.deepEqual(attemptCodes(r.err.errors), ['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED'])
  assert.equal(r.err.retries, 3)
  // and the two-host form answers from the healthy host
  const both = client(t, [proxy.url, etcdUrl], { syncTimeout: 5000 })
  for (let i = 0; i < 4; i++) {
    const ok = both.getSync('faults/k')
    assert.equal(ok.err, null)
    assert.equal(ok.body.node.value, 'v')
  }
})

// --- the watcher ---------------------------------------------------------------------------------

/** A watcher through the proxy that records changes (value@modifiedIndex) and reconnect events. */
function watchThrough(t, proxy, key, clientOptions) {
  const etcd = client(t, proxy.url, clientOptions)
  const baseHeads = proxy.responseHeads
  const w = etcd.watcher(key)
  const seen = { changes: [], reconnects: [], errors: [], baseHeads, etcd, w }
  w.on('change', (body) => seen.changes.push(`${body.node.value}@${body.node.modifiedIndex}`))
  w.on('reconnect', (err) => seen.reconnects.push(err))
  w.on('error', (err) => seen.errors.push(err))
  t.after(() => w.stop())
  return seen
}

const resetCodes = (seen) =>
  seen.reconnects.filter((e) => e.code === 'ETCD_WATCH_RECONNECT').map((e) => attemptCodes(e.error.errors).join(','))

async function write(log, key, value) {
  const body = await direct.set(key, value)
  log.push(`${value}@${body.node.modifiedIndex}`)
}

for (const [mode, modeOptions] of [['reset', {}], ['closeAfterHeaders', {}]]) {
  test(`watcher, ${mode} from the first poll: reconnects, then the next change after pass arrives exactly once`, async (t) => {
    const key = `faults/w0/${mode}`
    const proxy = await proxyFor(t, { mode, ...modeOptions })
    const seen = watchThrough(t, proxy, key)
    await proxy.until(() => resetCodes(seen).length >= 2, 8000, 'two reconnects')
    assert.ok(resetCodes(seen).every((c) => c === 'ECONNRESET'), JSON.stringify(resetCodes(seen)))
    await proxy.setMode('pass')
    const log = []
    await write(log, key, 'after')
    await proxy.until(() => seen.changes.length >= 1, 8000, 'the change after pass')
    await sleep(300) // room for a duplicate
    assert.deepEqual(seen.changes, log)
    assert.equal(seen.errors.length, 0)
    seen.w.stop()
    await assertNoLeak(proxy, seen.etcd, 2)
  })

  test(`watcher, ${mode} on a live poll with a write during the outage: every write delivered exactly once`, async (t) => {
    const key = `faults/w1/${mode}`
    const proxy = await proxyFor(t)
    const seen = watchThrough(t, proxy, key)
    const log = []
    await proxy.until(() => proxy.responseHeads >= seen.baseHeads + 1, 3000, 'the watch registered')
    await write(log, key, 'a')
    // a delivered, and the next poll (waitIndex = a + 1) registered: that is the poll the fault hits
    await proxy.until(() => seen.changes.length === 1 && proxy.responseHeads >= seen.baseHeads + 2, 3000, 'a delivered, next poll registered')
    await proxy.setMode(mode, modeOptions)
    await write(log, key, 'b') // its event is cut on the live poll; later polls in this mode are cut too
    await proxy.until(() => resetCodes(seen).length >= 2, 8000, 'two reconnects')
    await proxy.setMode('pass')
    await write(log, key, 'c')
    await proxy.until(() => seen.changes.some((c) => c.startsWith('c@')), 8000, 'c delivered').catch(() => {})
    await sleep(300)
    const requests = proxy.log.flatMap((r) => r.requests.map((line) => line.replace(/ HTTP\/1\.1$/, '')))
    t.diagnostic(`${mode}: writes ${JSON.stringify(log)}, changes ${JSON.stringify(seen.changes)}, polls ${JSON.stringify(requests)}`)
    assert.ok(resetCodes(seen).every((c) => c === 'ECONNRESET'), JSON.stringify(resetCodes(seen)))
    assert.equal(seen.changes.filter((c) => c === log[2]).length, 1, 'the change after pass arrives exactly once')
    assert.deepEqual(seen.changes, log, 'every write delivered exactly once, in order')
    seen.w.stop()
    await assertNoLeak(proxy, seen.etcd, 2)
  })
}

test('watcher, reset before the head is complete on a live poll with a write during the outage: no event lost', async (t) => {
  // The control for the test above: the fault hits before the head (X-Etcd-Index) reaches the client.
  const key = 'faults/w1/reset-head'
  const proxy = await proxyFor(t)
  const seen = watchThrough(t, proxy, key)
  const log = []
  await proxy.until(() => proxy.responseHeads >= seen.baseHeads + 1, 3000, 'the watch registered')
  await write(log, key, 'a')
  await proxy.until(() => seen.changes.length === 1 && proxy.responseHeads >= seen.baseHeads + 2, 3000, 'a delivered')
  await proxy.setMode('reset', { at: 'head' })
  await write(log, key, 'b')
  await proxy.until(() => resetCodes(seen).length >= 2, 8000, 'two reconnects')
  await proxy.setMode('pass')
  await write(log, key, 'c')
  await proxy.until(() => seen.changes.length >= 3, 8000, 'three changes')
  await sleep(300)
  assert.deepEqual(seen.changes, log)
  seen.w.stop()
  await assertNoLeak(proxy, seen.etcd, 2)
})

test('watcher, stall with a constructor timeout: keeps going and delivers later changes exactly once', async (t) => {
  const key = 'faults/w/stall'
  const proxy = await proxyFor(t)
  const seen = watchThrough(t, proxy, key, { timeout: 500 })
  const log = []
  await proxy.until(() => proxy.responseHeads >= seen.baseHeads + 1, 3000, 'the watch registered')
  await write(log, key, 'a')
  await proxy.until(() => seen.changes.length === 1, 3000, 'a delivered')
  await proxy.setMode('stall')
  await write(log, key, 'b') // dropped on the live poll, which then times out
  // a poll made while stalled gets no head: ESOCKETTIMEDOUT, reconnect
  await proxy.until(() => resetCodes(seen).includes('ESOCKETTIMEDOUT'), 8000, 'a reconnect after ESOCKETTIMEDOUT')
  await proxy.setMode('pass')
  await write(log, key, 'c')
  await proxy.until(() => seen.changes.length >= 3, 8000, 'b and c delivered')
  await write(log, key, 'd')
  await proxy.until(() => seen.changes.length >= 4, 3000, 'd delivered')
  await sleep(300)
  assert.deepEqual(seen.changes, log)
  assert.equal(seen.w.stopped, false)
  assert.equal(seen.errors.length, 0)
  seen.w.stop()
  await assertNoLeak(proxy, seen.etcd, 2)
})
