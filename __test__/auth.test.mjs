// v2 Basic auth against a real etcd 3.5.1 (plain http), set up as in etcd-protocol.md 1.8: a root user, auth
// enabled, guest reduced to read-only, a role `app` with read/write on /app/*, and users holding that role.
// Then the three ways node-etcd users pass credentials, etcd error 110 in every call form, and that
// credentials never reach error objects. A last part checks redirect wiring with two tiny local HTTP servers.
//
// Run: node --test __test__/auth.test.mjs

import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import util from 'node:util'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const Etcd = require('../index.js')
const { startEtcd } = require('../testing/index.js')

// Refused connections are retried as leader elections; 1 ms waits keep that quick.
process.env.RUNNING_UNIT_TESTS = 'true'
for (const k of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy']) delete process.env[k]

const T = { timeout: 120_000 }
const ROOT = { user: 'root', pass: 'r00t-Pw-9f2c' }
const ALICE = { user: 'alice', pass: 'al1ce-Pw-7d41' }
// Characters that must be percent-encoded in URL userinfo, to check the decoding.
const CAROL = { user: 'carol', pass: 'c@r:ol/P%w 3' }
const WRONG = 'wr0ng-Pw-55e0'
const ALL_PASSWORDS = [ROOT.pass, ALICE.pass, CAROL.pass, WRONG]

const basic = (u, p) => 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64')

/** Callback form: every argument the callback got (node-etcd's arity is part of the API). */
function cb(fn) {
  return new Promise((resolve) => fn((...args) => resolve(args)))
}

/** Credentials in any printable form: passwords, Basic tokens, `user:pass` and URL-encoded userinfo. */
function assertNoCredentials(err, context) {
  assert.ok(err, `${context}: expected an error`)
  const text = [util.inspect(err, { depth: 10, showHidden: true }), String(err.message), String(err.stack)].join('\n')
  const needles = []
  for (const [u, p] of [[ROOT.user, ROOT.pass], [ALICE.user, ALICE.pass], [CAROL.user, CAROL.pass], [ALICE.user, WRONG]]) {
    needles.push(p, encodeURIComponent(p), `${u}:${p}`, basic(u, p).slice(6))
  }
  const found = needles.filter((n) => text.includes(n))
  assert.deepEqual(found, [], `${context}: credentials in the error:\n${text}`)
}

/** The node-etcd shape of etcd error 110: callback(err, '', headers). */
function assertUnauthorized(args, context) {
  const [err, body, headers] = args
  assert.equal(args.length, 3, `${context}: etcd errors call back with (err, '', headers)`)
  assert.ok(err instanceof Error, `${context}: expected an Error, got ${util.inspect(err)}`)
  assert.deepEqual(
    { errorCode: err.errorCode, code: err.code, message: err.message, cause: err.error && err.error.cause, body },
    { errorCode: 110, code: 'ETCD_UNAUTHORIZED', message: 'The request requires user authentication', cause: 'Insufficient credentials', body: '' },
    context,
  )
  assert.equal(typeof headers, 'object')
  assert.ok(headers !== null)
  return err
}

// ---- etcd setup over plain fetch (etcd-protocol.md 1.8) ---------------------------------------------------------

async function v2(base, method, path, body, auth) {
  const headers = {}
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (auth) headers.authorization = basic(auth.user, auth.pass)
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, text, json: text ? JSON.parse(text) : undefined }
}

async function setUpAuth(base) {
  const expect = async (what, call, statuses) => {
    const r = await call
    assert.ok(statuses.includes(r.status), `setup: ${what} answered ${r.status} ${r.text}`)
    return r
  }
  await expect('create root', v2(base, 'PUT', '/v2/auth/users/root', { user: 'root', password: ROOT.pass }), [200, 201])
  await expect('enable auth', v2(base, 'PUT', '/v2/auth/enable'), [200])
  await expect('guest read-only', v2(base, 'PUT', '/v2/auth/roles/guest', { role: 'guest', revoke: { kv: { write: ['/*'] } } }, ROOT), [200])
  await expect('role app', v2(base, 'PUT', '/v2/auth/roles/app', { role: 'app', permissions: { kv: { read: ['/app/*'], write: ['/app/*'] } } }, ROOT), [200, 201])
  for (const u of [ALICE, CAROL]) {
    await expect(`user ${u.user}`, v2(base, 'PUT', `/v2/auth/users/${u.user}`, { user: u.user, password: u.pass, roles: ['app'] }, ROOT), [200, 201])
  }
  // A value outside /app that guests may read and alice may not write.
  await expect('seed /other/seed', v2(base, 'PUT', '/v2/keys/other/seed?value=s0', undefined, ROOT), [200, 201])
}

/** A port nothing listens on (bound, then released). */
function closedPort() {
  return new Promise((resolve, reject) => {
    const s = http.createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

// ---- real etcd --------------------------------------------------------------------------------------------------

test('etcd v2 auth', T, async (t) => {
  const cluster = await startEtcd()
  t.after(() => cluster.stop())
  const base = cluster.endpoints[0]
  const hostPort = new URL(base).host
  await setUpAuth(base)

  await t.test('setup took effect: auth on, anonymous writes refused by etcd itself', async () => {
    assert.deepEqual((await v2(base, 'GET', '/v2/auth/enable')).json, { enabled: true })
    const r = await v2(base, 'PUT', '/v2/keys/app/raw?value=1')
    assert.equal(r.status, 401)
    assert.equal(r.json.errorCode, 110)
  })

  const credentialForms = {
    'auth: {user, pass}': () => new Etcd(base, { auth: { user: ALICE.user, pass: ALICE.pass } }),
    'auth: {username, password}': () => new Etcd(base, { auth: { username: ALICE.user, password: ALICE.pass } }),
    'URL userinfo': () => new Etcd(`http://${ALICE.user}:${ALICE.pass}@${hostPort}`),
    'URL userinfo, percent-encoded password': () => new Etcd(`http://${CAROL.user}:${encodeURIComponent(CAROL.pass)}@${hostPort}`),
    'URL userinfo in a host list': () => new Etcd([`http://${ALICE.user}:${ALICE.pass}@${hostPort}`]),
  }
  let n = 0
  for (const [name, make] of Object.entries(credentialForms)) {
    const tag = ++n
    await t.test(`${name}: writes under /app succeed, a write outside fails with 110`, async () => {
      const etcd = make()
      const key = `/app/k${tag}`
      const [setErr, setBody] = await cb((d) => etcd.set(key, `v${tag}`, d))
      assert.ifError(setErr)
      assert.equal(setBody.action, 'set')
      const [getErr, getBody] = await cb((d) => etcd.get(key, d))
      assert.ifError(getErr)
      assert.equal(getBody.node.value, `v${tag}`)
      const [mkErr] = await cb((d) => etcd.mkdir(`/app/dir${tag}`, d))
      assert.ifError(mkErr)

      const outside = `/other/k${tag}`
      const err = assertUnauthorized(await cb((d) => etcd.set(outside, 'x', d)), `${name} write outside /app`)
      assertNoCredentials(err, name)
      // The refused write did not happen (checked as root, bypassing the client under test).
      assert.equal((await v2(base, 'GET', `/v2/keys${outside}`, undefined, ROOT)).status, 404)
    })
  }

  await t.test('no credentials: writes fail with 110, reads succeed as guest', async () => {
    const etcd = new Etcd(base)
    assertUnauthorized(await cb((d) => etcd.set('/app/anon', 'x', d)), 'anonymous set')
    assertUnauthorized(await cb((d) => etcd.del('/app/k1', d)), 'anonymous del')
    const [err, body] = await cb((d) => etcd.get('/other/seed', d))
    assert.ifError(err)
    assert.equal(body.node.value, 's0')
    const [err2, body2] = await cb((d) => etcd.get('/app/k1', d))
    assert.ifError(err2)
    assert.equal(body2.node.value, 'v1')
  })

  await t.test('wrong password: refused with 110 for writes and reads', async () => {
    for (const etcd of [
      new Etcd(base, { auth: { user: ALICE.user, pass: WRONG } }),
      new Etcd(`http://${ALICE.user}:${WRONG}@${hostPort}`),
    ]) {
      const setErr = assertUnauthorized(await cb((d) => etcd.set('/app/k1', 'x', d)), 'wrong password set')
      assertNoCredentials(setErr, 'wrong password set')
      // etcd does not fall back to guest when credentials are present but wrong.
      const getErr = assertUnauthorized(await cb((d) => etcd.get('/app/k1', d)), 'wrong password get')
      assertNoCredentials(getErr, 'wrong password get')
    }
    // Unknown user: same answer.
    assertUnauthorized(await cb((d) => new Etcd(base, { auth: { user: 'mallory', pass: WRONG } }).set('/app/m', 'x', d)), 'unknown user')
  })

  await t.test('Promise form: resolves for allowed writes, rejects with 110 otherwise', async () => {
    const etcd = new Etcd(base, { auth: { user: ALICE.user, pass: ALICE.pass } })
    assert.equal((await etcd.set('/app/p', 'pv')).action, 'set')
    assert.equal((await etcd.get('/app/p')).node.value, 'pv')
    await assert.rejects(etcd.set('/other/p', 'x'), (err) => {
      assert.equal(err.errorCode, 110)
      assert.equal(err.code, 'ETCD_UNAUTHORIZED')
      assertNoCredentials(err, 'promise')
      return true
    })
    await assert.rejects(new Etcd(base).set('/app/p', 'x'), (err) => err.code === 'ETCD_UNAUTHORIZED')
  })

  await t.test('sync form: {err, body: "", headers} on 110, {body} when allowed', () => {
    const etcd = new Etcd(`http://${ALICE.user}:${ALICE.pass}@${hostPort}`)
    const ok = etcd.setSync('/app/s', 'sv')
    assert.ifError(ok.err)
    assert.equal(ok.body.action, 'set')
    const refused = etcd.setSync('/other/s', 'x')
    assert.equal(refused.err && refused.err.errorCode, 110)
    assert.equal(refused.err.code, 'ETCD_UNAUTHORIZED')
    assert.equal(refused.body, '')
    assert.equal(typeof refused.headers, 'object')
    assertNoCredentials(refused.err, 'sync')
    const anon = new Etcd(base).setSync('/app/s', 'x')
    assert.equal(anon.err && anon.err.errorCode, 110)
    const read = new Etcd(base).getSync('/app/s')
    assert.ifError(read.err)
    assert.equal(read.body.node.value, 'sv')
  })

  await t.test('transport errors with credentials configured do not show them', async () => {
    const port = await closedPort()
    const clients = {
      'auth option': new Etcd(`http://127.0.0.1:${port}`, { auth: { user: ALICE.user, pass: ALICE.pass } }),
      'URL userinfo': new Etcd(`http://${ALICE.user}:${ALICE.pass}@127.0.0.1:${port}`),
      'URL userinfo, encoded': new Etcd(`http://${CAROL.user}:${encodeURIComponent(CAROL.pass)}@127.0.0.1:${port}`),
    }
    for (const [name, etcd] of Object.entries(clients)) {
      const [err] = await cb((d) => etcd.set('/app/x', 'v', d))
      assert.equal(err && err.message, 'All servers returned error', name)
      assert.equal(err.errors[0].httperror.code, 'ECONNREFUSED', name)
      // The server named in errors[] is the bare base URL.
      assert.equal(err.errors[0].server, `http://127.0.0.1:${port}`, name)
      assertNoCredentials(err, `${name} (callback)`)
      assertNoCredentials(etcd.getSync('/app/x').err, `${name} (sync)`)
      await assert.rejects(etcd.get('/app/x'), (e) => {
        assertNoCredentials(e, `${name} (promise)`)
        return true
      })
    }
  })
})

// ---- redirect wiring (own servers; etcd does not redirect clients) -----------------------------------------------

/** A loopback HTTP server that records each request and answers with `handler(req) -> {status, headers, body}`. */
async function recorder(t, handler) {
  const seen = []
  const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const rec = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() }
      seen.push(rec)
      const out = handler(rec)
      res.writeHead(out.status, out.headers || {})
      res.end(out.body || '')
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise((resolve) => {
    server.closeAllConnections()
    server.close(resolve)
  }))
  return { seen, port: server.address().port }
}

const SET_BODY = JSON.stringify({ action: 'set', node: { key: '/x', value: 'v', modifiedIndex: 5, createdIndex: 5 } })
const okJson = () => ({ status: 200, headers: { 'content-type': 'application/json', 'x-etcd-index': '5' }, body: SET_BODY })

test('Authorization and redirects', T, async (t) => {
  // B is reached as `localhost`: another host name than A's 127.0.0.1.
  const b = await recorder(t, okJson)
  const a = await recorder(t, (req) => {
    if (req.url.startsWith('/v2/keys/cross302')) return { status: 302, headers: { location: `http://localhost:${b.port}/v2/keys/x` } }
    if (req.url.startsWith('/v2/keys/cross')) return { status: 307, headers: { location: `http://localhost:${b.port}/v2/keys/x` } }
    if (req.url.startsWith('/v2/keys/same-source')) return { status: 307, headers: { location: '/v2/keys/same-target' } }
    return okJson()
  })
  const A = `http://127.0.0.1:${a.port}`
  const aliceAuth = basic(ALICE.user, ALICE.pass)
  const clients = {
    'auth option': () => new Etcd(A, { auth: { user: ALICE.user, pass: ALICE.pass } }),
    'URL userinfo': () => new Etcd(`http://${ALICE.user}:${ALICE.pass}@127.0.0.1:${a.port}`),
  }

  for (const [name, make] of Object.entries(clients)) {
    await t.test(`${name}: a 307 to another host does not carry Authorization; method and body kept`, async () => {
      a.seen.length = 0
      b.seen.length = 0
      const [err, body] = await cb((d) => make().set('/cross', 'v', d))
      assert.ifError(err)
      assert.equal(body.action, 'set')
      assert.equal(a.seen.length, 1)
      assert.equal(a.seen[0].headers.authorization, aliceAuth, 'the first host gets the credentials')
      assert.equal(b.seen.length, 1, 'the redirect was followed to B')
      assert.equal(b.seen[0].headers.authorization, undefined, 'credentials leaked to another host')
      assert.deepEqual({ method: b.seen[0].method, url: b.seen[0].url, body: b.seen[0].body }, { method: 'PUT', url: '/v2/keys/x', body: 'value=v' })
    })

    await t.test(`${name}: a same-host 307 keeps Authorization`, async () => {
      a.seen.length = 0
      const [err] = await cb((d) => make().set('/same-source', 'v', d))
      assert.ifError(err)
      assert.deepEqual(a.seen.map((r) => [r.method, r.url, r.headers.authorization]), [
        ['PUT', '/v2/keys/same-source', aliceAuth],
        ['PUT', '/v2/keys/same-target', aliceAuth],
      ])
    })
  }

  await t.test('a 302 to another host: GET without Authorization', async () => {
    a.seen.length = 0
    b.seen.length = 0
    const [err] = await cb((d) => clients['auth option']().set('/cross302', 'v', d))
    assert.ifError(err)
    assert.equal(b.seen.length, 1)
    assert.equal(b.seen[0].method, 'GET')
    assert.equal(b.seen[0].headers.authorization, undefined)
  })
})
