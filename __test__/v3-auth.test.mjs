// v3 auth with the `Etcd3` client on a real etcd 3.5, and 3.4 in `npm test`'s second pass (simple tokens that
// expire after 2 idle seconds):
// users and roles set up through the client, allowed and denied operations per role, wrong credentials,
// and token refresh: after the token expired, calls, watchers and leases still work (the engine
// re-authenticates on 'invalid auth token').
//
// Run: node --test __test__/v3-auth.test.mjs

import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import http2 from 'node:http2'
import { sleep, until, failure } from './helpers/common.mjs'

const require = createRequire(import.meta.url)
const { startEtcd } = require('../testing/index.js')
const { Etcd3, Range, EtcdPermissionDeniedError, EtcdAuthenticationFailedError, EtcdUserNotFoundError, EtcdRoleNotGrantedError } = require('../lib/v3/etcd3.js')
const messages = require('../lib/v3/messages.js')

const TOKEN_TTL = 2 // seconds, etcd's --auth-token-ttl
/** One raw gRPC unary call over node:http2 (for proving what etcd does with a stale token). */
function rawGrpc(endpoint, path, body, metadata = {}) {
  return new Promise((resolve, reject) => {
    const session = http2.connect(endpoint)
    session.on('error', reject)
    const frame = Buffer.alloc(5 + body.length)
    frame.writeUInt32BE(body.length, 1)
    body.copy(frame, 5)
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...metadata })
    let status = null
    let message = ''
    const onMeta = (h) => {
      if (h['grpc-status'] !== undefined) {
        status = Number(h['grpc-status'])
        message = decodeURIComponent(h['grpc-message'] || '')
      }
    }
    req.on('response', onMeta)
    req.on('trailers', onMeta)
    req.resume()
    req.on('end', () => {
      session.close()
      resolve({ status, message })
    })
    req.on('error', reject)
    req.end(frame)
  })
}

let etcd
const clients = []
const connect = (auth) => {
  const c = new Etcd3({ hosts: etcd.endpoints, ...(auth ? { auth } : {}) })
  clients.push(c)
  return c
}
const ROOT = { username: 'root', password: 'rootpw' }
const ALICE = { username: 'alice', password: 'alice-pw' } // readwrite on app/
const BOB = { username: 'bob', password: 'bob-pw' } // read on app/
// `npm test` runs this suite a second time against etcd 3.4.23 (scripts/test.js).
const isEtcd34 = () => /^3\.4\./.test(etcd.version)

before(async () => {
  etcd = await startEtcd({ v2: false, args: ['--auth-token', 'simple', '--auth-token-ttl', String(TOKEN_TTL)] })
  const admin = connect()
  await admin.user('root').create(ROOT.password)
  await admin.role('root').create()
  await admin.user('root').addRole('root')
  const app = await admin.role('app').create()
  await app.grant({ permission: 'Readwrite', range: Range.prefix('app/') })
  await admin.user('alice').create(ALICE.password)
  await admin.user('alice').addRole('app')
  const ro = await admin.role('app-ro').create()
  await ro.grant({ permission: 'Read', range: Range.prefix('app/') })
  await admin.user('bob').create(BOB.password)
  await ro.addUser('bob')
  await admin.put('other/secret').value('s')
  await admin.auth.authEnable()
  admin.close()
})

after(async () => {
  for (const c of clients) c.close()
  if (etcd) await etcd.stop()
})

describe('roles and permissions', () => {
  test('the setup reads back through the client', async () => {
    const root = connect(ROOT)
    assert.deepEqual((await root.getUsers()).map((u) => u.name).sort(), ['alice', 'bob', 'root'])
    assert.deepEqual((await root.getRoles()).map((r) => r.name).sort(), ['app', 'app-ro', 'root'])
    assert.deepEqual(
      (await root.user('alice').roles()).map((r) => r.name),
      ['app'],
    )
    const perms = await root.role('app').permissions()
    assert.equal(perms.length, 1)
    assert.equal(perms[0].permission, 'Readwrite')
    assert.deepEqual(perms[0].range.start, Buffer.from('app/'))
    assert.deepEqual(perms[0].range.end, Buffer.from('app0'))
    if (isEtcd34()) {
      // AuthStatus arrived in etcd 3.5; 3.4 answers UNIMPLEMENTED, which must keep etcd3's class.
      const err = await failure(root.auth.authStatus())
      assert.equal(err.constructor.name, 'GRPCNotImplementedError')
      assert.equal(err.code, 'ETCD3_GRPC_UNIMPLEMENTED')
    } else {
      assert.equal((await root.auth.authStatus()).enabled, true)
    }
  })

  test('a readwrite user: allowed inside its prefix, EtcdPermissionDeniedError outside', async () => {
    const alice = connect(ALICE)
    await alice.put('app/a').value('1')
    assert.equal(await alice.get('app/a').string(), '1')
    assert.deepEqual(await alice.getAll().prefix('app/').strings(), { 'app/a': '1' })
    const txn = await alice.if('app/a', 'Value', '==', '1').then(alice.put('app/b').value('2')).commit()
    assert.equal(txn.succeeded, true)
    assert.equal((await alice.delete().key('app/b')).deleted, '1')

    for (const [what, call] of [
      ['put', () => alice.put('other/x').value('no')],
      ['get', () => alice.get('other/secret').string()],
      ['getAll', () => alice.getAll().prefix('other/').strings()],
      ['delete', () => alice.delete().key('other/secret')],
      ['txn', () => alice.if('other/secret', 'Value', '==', 's').then(alice.put('app/c').value('3')).commit()],
      ['user admin', () => alice.user('mallory').create('pw')],
    ]) {
      const err = await failure(call())
      assert.ok(err instanceof EtcdPermissionDeniedError, `${what}: ${err.constructor.name}: ${err.message}`)
      assert.equal(err.constructor.name, 'EtcdPermissionDeniedError', what)
      assert.equal(err.code, 'ETCD3_PERMISSION_DENIED', what)
    }
    const root = connect(ROOT)
    assert.equal(await root.get('other/secret').string(), 's', 'nothing outside app/ changed')
    assert.equal(await root.get('app/c').exists(), false)
  })

  test('a read-only user can read but not write its prefix', async () => {
    const bob = connect(BOB)
    await connect(ALICE).put('app/r').value('readable')
    assert.equal(await bob.get('app/r').string(), 'readable')
    const err = await failure(bob.put('app/r').value('no'))
    assert.ok(err instanceof EtcdPermissionDeniedError, String(err))
  })

  test('a watch on a denied range ends with EtcdPermissionDeniedError; an allowed one delivers', async (t) => {
    const alice = connect(ALICE)
    const denied = alice.watch().prefix('other/').watcher()
    t.after(() => denied.cancel())
    const err = await new Promise((resolve, reject) => {
      denied.on('error', resolve)
      setTimeout(() => reject(new Error('no error event for a denied watch')), 10_000)
    })
    assert.ok(err instanceof EtcdPermissionDeniedError, `${err.constructor.name}: ${err.message}`)
    await assert.rejects(alice.watch().prefix('other/').create(), EtcdPermissionDeniedError)

    const ok = await alice.watch().prefix('app/w').create()
    t.after(() => ok.cancel())
    const got = new Promise((resolve) => ok.once('put', (kv) => resolve(kv.value.toString())))
    await alice.put('app/w').value('seen')
    assert.equal(await got, 'seen')
  })

  test('leases as a restricted user: keys in its prefix, denied outside', async (t) => {
    const alice = connect(ALICE)
    const lease = alice.lease(10)
    t.after(() => lease.revoke())
    await lease.put('app/leased').value('x')
    assert.equal((await alice.get('app/leased').exec()).kvs[0].lease, await lease.grant())
    const err = await failure(lease.put('other/leased').value('x'))
    assert.ok(err instanceof EtcdPermissionDeniedError, String(err))
  })

  test('role and user errors have their classes', async () => {
    const root = connect(ROOT)
    assert.ok((await failure(root.user('nobody').roles())) instanceof EtcdUserNotFoundError)
    assert.ok((await failure(root.user('bob').removeRole('app'))) instanceof EtcdRoleNotGrantedError)
  })
})

describe('credentials', () => {
  test('a wrong password and an unknown user fail with EtcdAuthenticationFailedError', async () => {
    for (const auth of [
      { username: 'alice', password: 'wrong' },
      { username: 'nobody', password: 'x' },
    ]) {
      const c = connect(auth)
      const err = await failure(c.get('app/a').string())
      assert.ok(err instanceof EtcdAuthenticationFailedError, `${auth.username}: ${err.constructor.name}: ${err.message}`)
      assert.equal(err.constructor.name, 'EtcdAuthenticationFailedError')
      assert.equal(err.code, 'ETCD3_AUTH_FAILED')
      // a watch with them never connects and reports why on 'disconnected' (as etcd3, which keeps retrying)
      const w = c.watch().key('app/a').watcher()
      const outcome = await new Promise((resolve) => {
        const timer = setTimeout(() => resolve('no outcome within 5 s'), 5000)
        const done = (x) => {
          clearTimeout(timer)
          resolve(x)
        }
        w.on('connected', () => done('connected'))
        w.on('disconnected', done)
        w.on('error', done)
      })
      await w.cancel()
      assert.ok(outcome instanceof EtcdAuthenticationFailedError, `watch with bad credentials: ${outcome instanceof Error ? `${outcome.constructor.name}: ${outcome.message}` : outcome}`)
    }
  })

  test('no credentials against an auth-enabled etcd: the call is refused', async () => {
    const anon = connect()
    const err = await failure(anon.get('app/a').string())
    assert.match(err.message, /user name is empty|permission denied/, `${err.constructor.name}: ${err.message}`)
  })
})

describe('token refresh', () => {
  test(`a stale token is refused by etcd after ${TOKEN_TTL} idle seconds (the premise of the next tests)`, async () => {
    const root = connect(ROOT)
    const { token } = await root.auth.authenticate({ name: ALICE.username, password: ALICE.password })
    const body = messages.types.RangeRequest.encode({ key: Buffer.from('app/a') })
    const fresh = await rawGrpc(etcd.endpoints[0], '/etcdserverpb.KV/Range', body, { token })
    assert.equal(fresh.status, 0, fresh.message)
    await sleep(TOKEN_TTL * 1000 + 1500)
    const stale = await rawGrpc(etcd.endpoints[0], '/etcdserverpb.KV/Range', body, { token })
    assert.notEqual(stale.status, 0)
    assert.match(stale.message, /invalid auth token/)
  })

  test('unary calls keep working after the token expired (re-authenticated)', async () => {
    const alice = connect(ALICE)
    await alice.put('app/refresh').value('0')
    for (let i = 1; i <= 3; i++) {
      await sleep(TOKEN_TTL * 1000 + 1500)
      await alice.put('app/refresh').value(String(i))
      assert.equal(await alice.get('app/refresh').string(), String(i))
    }
  })

  // etcd ≤ 3.5.7 cancels a watch create carrying a stale token with 'permission denied', not 'invalid auth
  // token' (etcd-io/etcd#12385); the engine must still re-authenticate and create the watch.
  test('a watcher created after the token expired connects and delivers', async (t) => {
    // etcd 3.4 cancels it with 'invalid auth token' instead, which src/v3/watch.rs does not yet take as a
    // stale token: a known gap, so on 3.4 the result is reported but does not fail the run.
    const alice = connect(ALICE)
    await alice.get('app/x').string() // a token is cached now
    await sleep(TOKEN_TTL * 1000 + 1500)
    const started = Date.now()
    const w = alice.watch().prefix('app/stale').watcher()
    t.after(() => w.cancel())
    let fatal = null
    w.on('error', (e) => (fatal = e))
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('not connected after 10 s')), 10_000)
      w.once('connected', () => {
        clearTimeout(timer)
        resolve()
      })
      w.once('error', (e) => {
        clearTimeout(timer)
        reject(new Error(`the watch failed instead of re-authenticating: ${e.constructor.name}: ${e.message}`))
      })
    })
    const ms = Date.now() - started
    const got = new Promise((resolve) => w.once('put', (kv) => resolve(kv.value.toString())))
    await alice.put('app/stale').value('v')
    assert.equal(await got, 'v')
    assert.equal(fatal, null)
    console.log(`# watcher with an expired cached token connected after ${ms} ms`)
  })

  test('a lease granted and kept alive across token expiry stays alive', async (t) => {
    const alice = connect(ALICE)
    await alice.get('app/x').string()
    await sleep(TOKEN_TTL * 1000 + 1500)
    const lease = alice.lease(3)
    t.after(() => lease.revoke())
    let lost = null
    lease.on('lost', (e) => (lost = e))
    await lease.put('app/leased-refresh').value('x')
    let ok = 0
    lease.on('keepaliveSucceeded', () => ok++)
    await until(() => ok >= 3 || lost, 10_000, 'three keep-alives')
    assert.equal(lost, null, `lost: ${lost && lost.message}`)
    assert.equal(await alice.get('app/leased-refresh').string(), 'x')
  })

  test('an etcd3@1.1.2 client with the same credentials sees the same results (sanity of the setup)', async (t) => {
    const { Etcd3: Reference } = require('etcd3')
    const ref = new Reference({ hosts: etcd.endpoints, auth: ALICE })
    t.after(() => ref.close())
    await ref.put('app/ref').value('r')
    assert.equal(await connect(ALICE).get('app/ref').string(), 'r')
    const err = await failure(ref.put('other/ref').value('x'))
    assert.equal(err.constructor.name, 'EtcdPermissionDeniedError')
  })
})
