// close(): a client releases everything it owns (issue 6's lifecycle contract).
import test from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { once } from 'node:events'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const Etcd = require('../index.js')
const { startEtcd } = require('../testing/index.js')

let server
test.before(async () => {
  server = await startEtcd()
})
test.after(() => server && server.stop())

test('close() stops watchers, aborts pending calls, and later calls throw ERR_CLIENT_CLOSED', async () => {
  const etcd = new Etcd(server.endpoints)
  await etcd.set('close/a', '1')
  const watcher = etcd.watcher('close/a')
  const stopped = once(watcher, 'stop')
  const awaited = etcd.watch('close/a')
  let callbackCalls = 0
  const token = etcd.watch('close/a', () => callbackCalls++)
  assert.equal(etcd.getSync('close/a').body.node.value, '1')
  etcd.close()
  etcd.close() // idempotent
  await stopped
  await assert.rejects(awaited, (e) => e.name === 'AbortError' && e.code === 'ABORT_ERR')
  assert.equal(token.aborted, true)
  assert.throws(() => etcd.get('close/a'), { code: 'ERR_CLIENT_CLOSED' })
  assert.throws(() => etcd.getSync('close/a'), { code: 'ERR_CLIENT_CLOSED' })
  assert.throws(() => etcd.watcher('close/a'), { code: 'ERR_CLIENT_CLOSED' })
  // a write now must not wake the closed client's callback
  await new Etcd(server.endpoints).set('close/a', '2')
  await new Promise((r) => setTimeout(r, 100))
  assert.equal(callbackCalls, 0)
})

test('close() closes pooled connections (async and sync pools)', async (t) => {
  let open = 0
  let closed = 0
  const srv = http.createServer((req, res) => res.end('{"ok":true}'))
  srv.on('connection', (socket) => {
    open++
    socket.on('close', () => closed++)
  })
  srv.listen(0, '127.0.0.1')
  await once(srv, 'listening')
  t.after(() => {
    srv.closeAllConnections()
    srv.close()
  })
  const etcd = new Etcd(`127.0.0.1:${srv.address().port}`)
  await etcd.get('k')
  await etcd.get('k')
  assert.equal(open, 1, 'keep-alive reuses one connection')
  etcd.close()
  const deadline = Date.now() + 2000
  while (closed < open && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  assert.equal(closed, open, 'every pooled connection closed after close()')
})

test('Symbol.dispose closes the client', { skip: typeof Symbol.dispose !== 'symbol' }, () => {
  const etcd = new Etcd(server.endpoints)
  etcd[Symbol.dispose]()
  assert.throws(() => etcd.get('x'), { code: 'ERR_CLIENT_CLOSED' })
})
