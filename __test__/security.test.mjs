// Proxies and credentials: what goes to a proxy, what never leaks into errors (issue 6).
import test from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import util from 'node:util'
import { once } from 'node:events'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const Etcd = require('../index.js')
const { startEtcd } = require('../testing/index.js')

const SECRET = 'pr0xy-s3cret-Pa55'

let etcd
test.before(async () => {
  etcd = await startEtcd()
})
test.after(() => etcd && etcd.stop())

/** A forward proxy for plain http: records each request line and headers, then relays it. */
async function recordingProxy(t) {
  const seen = []
  const proxy = http.createServer((req, res) => {
    seen.push({ url: req.url, headers: req.headers })
    const target = new URL(req.url)
    const headers = { ...req.headers }
    delete headers['proxy-authorization']
    const upstream = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode, up.headers)
      up.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  proxy.listen(0, '127.0.0.1')
  await once(proxy, 'listening')
  t.after(() => {
    proxy.closeAllConnections()
    proxy.close()
  })
  return { url: `http://127.0.0.1:${proxy.address().port}`, seen }
}

test('proxy credentials go to the proxy as Proxy-Authorization, never to etcd', async (t) => {
  const proxy = await recordingProxy(t)
  const port = new URL(proxy.url).port
  const client = new Etcd(etcd.endpoints, { proxy: `http://user:${SECRET}@127.0.0.1:${port}` })
  t.after(() => client.close())
  const body = await client.set('security/p', 'via proxy')
  assert.equal(body.node.value, 'via proxy')
  assert.equal(proxy.seen.length, 1)
  // plain http through a proxy uses the absolute-URI request line, as node-etcd (request) did
  assert.equal(proxy.seen[0].url, `${etcd.endpoints[0]}/v2/keys/security/p`)
  assert.equal(proxy.seen[0].headers['proxy-authorization'], `Basic ${Buffer.from(`user:${SECRET}`).toString('base64')}`)
  assert.equal(proxy.seen[0].headers.authorization, undefined)
})

test('proxy: false ignores HTTP_PROXY; without it the environment proxy is used', async (t) => {
  const proxy = await recordingProxy(t)
  const saved = process.env.HTTP_PROXY
  process.env.HTTP_PROXY = proxy.url
  t.after(() => {
    if (saved === undefined) delete process.env.HTTP_PROXY
    else process.env.HTTP_PROXY = saved
  })
  // The environment is read when a client is created.
  const direct = new Etcd(etcd.endpoints, { proxy: false })
  const viaEnv = new Etcd(etcd.endpoints)
  t.after(() => {
    direct.close()
    viaEnv.close()
  })
  await direct.get('security/p')
  assert.equal(proxy.seen.length, 0, 'proxy: false goes direct')
  await viaEnv.get('security/p')
  assert.equal(proxy.seen.length, 1, 'HTTP_PROXY is honoured')
})

test('no credential ever appears in an error: refused proxy, refused host, auth failures', async (t) => {
  const closed = net.createServer()
  closed.listen(0, '127.0.0.1')
  await once(closed, 'listening')
  const deadPort = closed.address().port
  closed.close()
  const cases = [
    new Etcd(etcd.endpoints, { proxy: `http://user:${SECRET}@127.0.0.1:${deadPort}`, maxRetries: 0 }),
    new Etcd(`http://root:${SECRET}@127.0.0.1:${deadPort}`, { maxRetries: 0 }),
    new Etcd(`127.0.0.1:${deadPort}`, { auth: { user: 'root', pass: SECRET }, maxRetries: 0 }),
  ]
  for (const client of cases) {
    t.after(() => client.close())
    const token = client.get('security/p')
    const err = await token.then(
      () => assert.fail('expected a failure'),
      (e) => e,
    )
    assert.equal(err.code, 'ETCD_ALL_SERVERS_FAILED')
    const everything = util.inspect(err, { depth: 10, showHidden: true }) + util.inspect(token.errors, { depth: 10 }) + JSON.stringify(err.errors)
    assert.ok(!everything.includes(SECRET), `the secret leaked: ${everything.slice(0, 400)}`)
    const basic = Buffer.from(`root:${SECRET}`).toString('base64')
    assert.ok(!everything.includes(basic), 'the Authorization header value leaked')
    const sync = client.getSync('security/p')
    assert.ok(!util.inspect(sync, { depth: 10 }).includes(SECRET))
  }
})

test('a proxy URL with another scheme is refused at construction', () => {
  assert.throws(() => new Etcd('h:1', { proxy: 'ftp://127.0.0.1:21' }), { code: 'ERR_INVALID_URL' })
  assert.throws(() => new Etcd('h:1', { proxy: 'http://' }), { code: 'ERR_INVALID_URL' })
})
