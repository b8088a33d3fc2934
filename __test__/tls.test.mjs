// TLS against real etcd 3.5.1 members: server verification (CA, host name, validity), skipping verification,
// client certificates (PEM, encrypted PKCS#8, PKCS#12), bad TLS material, and that no secret leaks into errors.
//
// Run: node --test __test__/tls.test.mjs

import { test } from 'node:test'
import assert from 'node:assert/strict'
import https from 'node:https'
import util from 'node:util'
import { createRequire } from 'node:module'
import { makeCerts } from './helpers/certs.mjs'

const require = createRequire(import.meta.url)
const Etcd = require('../index.js')
const { startEtcd } = require('../testing/index.js')

// 1 ms between leader-election retry rounds: a failure wrongly treated as retryable costs no 27 s, and
// `retries` still shows it.
process.env.RUNNING_UNIT_TESTS = 'true'
// A proxy from the environment would change where TLS is spoken.
for (const k of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy']) delete process.env[k]

const T = { timeout: 120_000 }
const pki = makeCerts()
const { client } = pki

// ---- helpers ------------------------------------------------------------------------------------------------

/** Starts members in parallel; every one that started is stopped in `t.after`, even if another failed. */
async function startAll(t, configs) {
  const settled = await Promise.allSettled(configs.map((c) => startEtcd(c)))
  for (const s of settled) if (s.status === 'fulfilled') t.after(() => s.value.stop())
  const failed = settled.find((s) => s.status === 'rejected')
  if (failed) throw failed.reason
  return settled.map((s) => s.value)
}

const serverTls = (cert) => ({ tls: { certFile: cert.certFile, keyFile: cert.keyFile } })
// A member that also demands a client certificate from the test CA (--client-cert-auth); its own peer/probe
// connections use `client`'s certificate.
const clientCertTls = {
  tls: {
    certFile: pki.server.certFile,
    keyFile: pki.server.keyFile,
    caFile: pki.ca.certFile,
    clientCertAuth: true,
    clientCertFile: client.certFile,
    clientKeyFile: client.keyFile,
  },
}

/** Callback form: resolves with every argument the callback got (arity matters, spec 5.1/5.2). */
function cb(fn) {
  return new Promise((resolve) => fn((...args) => resolve(args)))
}

let seq = 0
const freshKey = (tag) => `/tls/${tag}-${process.pid}-${++seq}`

/** A write and a read through `etcd`, both callback-style; fails the test with the error if any. */
async function roundTrip(etcd, tag) {
  const key = freshKey(tag)
  const [setErr, setBody] = await cb((done) => etcd.set(key, `v-${tag}`, done))
  assert.ifError(setErr)
  assert.equal(setBody.action, 'set')
  const [getErr, getBody] = await cb((done) => etcd.get(key, done))
  assert.ifError(getErr)
  assert.equal(getBody.node.value, `v-${tag}`)
}

/**
 * The shape of a transport failure that must not be retried (TLS problems are not leader elections):
 * one attempt, no retry round, the expected code on httperror. Compared as one object so a failure shows
 * everything at once.
 */
function assertNotRetriedTransportFailure(err, server, code) {
  assert.ok(err instanceof Error, `expected an Error, got ${util.inspect(err)}`)
  const first = err.errors && err.errors[0]
  assert.deepEqual(
    {
      message: err.message,
      code: err.code,
      httperrorCode: first && first.httperror && first.httperror.code,
      retries: err.retries,
      attempts: err.errors && err.errors.length,
      server: first && first.server,
      httpstatus: first && first.httpstatus,
    },
    {
      message: 'All servers returned error',
      code: 'ETCD_ALL_SERVERS_FAILED',
      httperrorCode: code,
      retries: 0,
      attempts: 1,
      server,
      httpstatus: undefined,
    },
  )
  assert.ok(first.httperror instanceof Error)
}

function assertThrowsTls(fn, code) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof TypeError, `expected a TypeError, got ${util.inspect(e)}`)
    assert.equal(e.code, code, `message: ${e.message}`)
    return true
  })
}

// ---- (a) server authentication --------------------------------------------------------------------------------

test('server-auth TLS etcd', T, async (t) => {
  const [good, wrongName, expired, notYetValid] = await startAll(t, [
    serverTls(pki.server),
    serverTls(pki.wrongName),
    serverTls(pki.expired),
    serverTls(pki.notYetValid),
  ])
  const url = good.endpoints[0]
  const port = new URL(url).port

  await t.test('sanity: the launcher gave https URLs', () => {
    for (const c of [good, wrongName, expired, notYetValid]) assert.match(c.endpoints[0], /^https:\/\/127\.0\.0\.1:\d+$/)
  })

  await t.test('no ca: unknown issuer, one attempt, no retry, callback gets only err', async () => {
    const args = await cb((done) => new Etcd(url).get('/tls', done))
    assert.equal(args.length, 1, 'transport failures call back with exactly one argument')
    assertNotRetriedTransportFailure(args[0], url, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  })

  await t.test('ca as a PEM string', () => roundTrip(new Etcd(url, { ca: pki.ca.pem }), 'ca-string'))
  await t.test('ca as a Buffer', () => roundTrip(new Etcd(url, { ca: Buffer.from(pki.ca.pem) }), 'ca-buffer'))
  await t.test('ca as an array (unrelated CA first)', () =>
    roundTrip(new Etcd(url, { ca: [pki.otherCa.pem, Buffer.from(pki.ca.pem)] }), 'ca-array'))
  await t.test('ca via agentOptions', () => roundTrip(new Etcd(url, { agentOptions: { ca: pki.ca.pem } }), 'agent-ca'))
  await t.test('https://localhost matches the DNS SAN', () =>
    roundTrip(new Etcd(`https://localhost:${port}`, { ca: pki.ca.pem }), 'localhost'))
  await t.test('two https hosts in one client', () => roundTrip(new Etcd([url, `https://localhost:${port}`], { ca: pki.ca.pem }), 'two'))

  await t.test('wrong ca: unknown issuer', async () => {
    const [err] = await cb((done) => new Etcd(url, { ca: pki.otherCa.pem }).get('/tls', done))
    assertNotRetriedTransportFailure(err, url, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  })

  await t.test('certificate for another name: ERR_TLS_CERT_ALTNAME_INVALID', async () => {
    const u = wrongName.endpoints[0]
    const [err] = await cb((done) => new Etcd(u, { ca: pki.ca.pem }).get('/tls', done))
    assertNotRetriedTransportFailure(err, u, 'ERR_TLS_CERT_ALTNAME_INVALID')
  })

  await t.test('expired certificate: CERT_HAS_EXPIRED', async () => {
    const u = expired.endpoints[0]
    const [err] = await cb((done) => new Etcd(u, { ca: pki.ca.pem }).get('/tls', done))
    assertNotRetriedTransportFailure(err, u, 'CERT_HAS_EXPIRED')
  })

  await t.test('not yet valid certificate: CERT_NOT_YET_VALID', async () => {
    const u = notYetValid.endpoints[0]
    const [err] = await cb((done) => new Etcd(u, { ca: pki.ca.pem }).get('/tls', done))
    assertNotRetriedTransportFailure(err, u, 'CERT_NOT_YET_VALID')
  })

  // node-etcd users turn verification off three ways (#59); each must reach every bad server.
  const skipForms = {
    'rejectUnauthorized: false': { rejectUnauthorized: false },
    'strictSSL: false': { strictSSL: false },
    'agentOptions.rejectUnauthorized: false': { agentOptions: { rejectUnauthorized: false } },
  }
  for (const [name, opts] of Object.entries(skipForms)) {
    await t.test(`${name}: unknown CA, wrong name and expired servers all answer`, async () => {
      await roundTrip(new Etcd(url, opts), 'skip-unknown-ca')
      await roundTrip(new Etcd(url, { ...opts, ca: pki.otherCa.pem }), 'skip-wrong-ca')
      await roundTrip(new Etcd(wrongName.endpoints[0], opts), 'skip-wrong-name')
      await roundTrip(new Etcd(expired.endpoints[0], { ...opts, ca: pki.ca.pem }), 'skip-expired')
    })
  }

  await t.test('an explicit rejectUnauthorized: true still verifies', async () => {
    const [err] = await cb((done) => new Etcd(url, { rejectUnauthorized: true }).get('/tls', done))
    assertNotRetriedTransportFailure(err, url, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  })

  await t.test('a TLS failure is reported at once, not after the leader-election waits (100+1600+25600 ms)', async () => {
    // Real waits for this one call: the flag is read when the call starts.
    const saved = process.env.RUNNING_UNIT_TESTS
    delete process.env.RUNNING_UNIT_TESTS
    let token
    const done = new Promise((resolve) => {
      try {
        token = new Etcd(url).get('/tls', (...args) => resolve(args))
      } finally {
        process.env.RUNNING_UNIT_TESTS = saved
      }
    })
    let timer
    const late = new Promise((resolve) => (timer = setTimeout(resolve, 3000, 'late')))
    const first = await Promise.race([done, late])
    clearTimeout(timer)
    if (first === 'late') {
      token.abort() // do not leave a 27 s call behind
      assert.fail('no answer within 3 s: the TLS failure is being retried as if it were a leader election')
    }
    assertNotRetriedTransportFailure(first[0], url, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  })

  await t.test('http:// URL to the https port: a transport error', async () => {
    const plain = url.replace('https://', 'http://')
    const [err] = await cb((done) => new Etcd(plain).get('/tls', done))
    assert.ok(err instanceof Error)
    assert.equal(err.message, 'All servers returned error')
    // etcd closes the connection without an HTTP answer. node-etcd saw ECONNRESET, which its leader-election
    // predicate retries (spec 10.1): 1 + 3 attempts.
    const codes = err.errors.map((e) => e.httperror && e.httperror.code)
    assert.deepEqual({ codes, retries: err.retries }, { codes: Array(4).fill('ECONNRESET'), retries: 3 })
    for (const e of err.errors) {
      assert.equal(e.server, plain)
      assert.equal(e.httpstatus, undefined)
    }
  })

  await t.test('Promise form: rejects with the TLS error, resolves with the body when trusted', async () => {
    await assert.rejects(new Etcd(url).get('/tls'), (err) => {
      assertNotRetriedTransportFailure(err, url, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
      return true
    })
    await assert.rejects(new Etcd(wrongName.endpoints[0], { ca: pki.ca.pem }).set('/tls/p', 'x'), (err) => {
      assertNotRetriedTransportFailure(err, wrongName.endpoints[0], 'ERR_TLS_CERT_ALTNAME_INVALID')
      return true
    })
    const etcd = new Etcd(url, { ca: pki.ca.pem })
    const key = freshKey('promise')
    const set = await etcd.set(key, 'pv')
    assert.equal(set.action, 'set')
    assert.equal((await etcd.get(key)).node.value, 'pv')
    // wrongName is a separate etcd: write there before reading back
    const unverified = new Etcd(wrongName.endpoints[0], { strictSSL: false })
    await unverified.set(key, 'pv-unverified')
    assert.equal((await unverified.get(key)).node.value, 'pv-unverified')
  })

  await t.test('sync form: {err} with the TLS code, {body} when trusted', () => {
    const bad = new Etcd(expired.endpoints[0], { ca: pki.ca.pem }).getSync('/tls')
    assert.equal(bad.body, undefined)
    assertNotRetriedTransportFailure(bad.err, expired.endpoints[0], 'CERT_HAS_EXPIRED')
    const noCa = new Etcd(url).getSync('/tls')
    assertNotRetriedTransportFailure(noCa.err, url, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')

    const etcd = new Etcd(url, { ca: Buffer.from(pki.ca.pem) })
    const key = freshKey('sync')
    const set = etcd.setSync(key, 'sv')
    assert.ifError(set.err)
    assert.equal(set.body.action, 'set')
    const got = etcd.getSync(key)
    assert.ifError(got.err)
    assert.equal(got.body.node.value, 'sv')
    // wrongName is a separate etcd: write there before reading back
    const unverified = new Etcd(wrongName.endpoints[0], { rejectUnauthorized: false })
    assert.ifError(unverified.setSync(key, 'sv-unverified').err)
    const skipped = unverified.getSync(key)
    assert.ifError(skipped.err)
    assert.equal(skipped.body.node.value, 'sv-unverified')
  })
})

// ---- (b) client certificates -----------------------------------------------------------------------------------

test('client-cert TLS etcd (--client-cert-auth)', T, async (t) => {
  const [member] = await startAll(t, [
    clientCertTls,
  ])
  const url = member.endpoints[0]
  const ca = pki.ca.pem

  await t.test('no client certificate: the server refuses the handshake (not retried)', async () => {
    const [err] = await cb((done) => new Etcd(url, { ca }).get('/cc', done))
    // etcd answers with a bad_certificate alert; alerts map to EPROTO.
    assertNotRetriedTransportFailure(err, url, 'EPROTO')
  })

  await t.test('client certificate from an untrusted CA: refused', async () => {
    const [err] = await cb((done) => new Etcd(url, { ca, cert: pki.stranger.certPem, key: pki.stranger.keyPem }).get('/cc', done))
    assertNotRetriedTransportFailure(err, url, 'EPROTO')
  })

  await t.test('{ca, cert, key} as PEM strings', () => roundTrip(new Etcd(url, { ca, cert: client.certPem, key: client.keyPem }), 'pem'))
  await t.test('{ca, cert, key} as Buffers', () =>
    roundTrip(new Etcd(url, { ca: Buffer.from(ca), cert: Buffer.from(client.certPem), key: Buffer.from(client.keyPem) }), 'buf'))
  await t.test('PKCS#1 (BEGIN RSA PRIVATE KEY) key', () => roundTrip(new Etcd(url, { ca, cert: client.certPem, key: client.pkcs1KeyPem }), 'pkcs1'))
  await t.test('cert and key via agentOptions', () =>
    roundTrip(new Etcd(url, { agentOptions: { ca, cert: client.certPem, key: client.keyPem } }), 'agent'))

  await t.test('encrypted PKCS#8 key with the right passphrase', () =>
    roundTrip(new Etcd(url, { ca, cert: client.certPem, key: client.encKeyPem, passphrase: client.passphrase }), 'enc'))

  await t.test('encrypted key with a wrong or missing passphrase: constructor throws ERR_TLS_BAD_PASSPHRASE', () => {
    assertThrowsTls(() => new Etcd(url, { ca, cert: client.certPem, key: client.encKeyPem, passphrase: 'not-the-passphrase' }), 'ERR_TLS_BAD_PASSPHRASE')
    assertThrowsTls(() => new Etcd(url, { ca, cert: client.certPem, key: client.encKeyPem }), 'ERR_TLS_BAD_PASSPHRASE')
  })

  await t.test('certificate and key that do not belong together: ERR_TLS_INVALID_KEY', () => {
    assertThrowsTls(() => new Etcd(url, { ca, cert: client.certPem, key: pki.stranger.keyPem }), 'ERR_TLS_INVALID_KEY')
  })

  const pfxs = client.pfx
  for (const [flavour, label] of [['modern', 'AES-256/PBKDF2 (OpenSSL 3 default)'], ['tripleDes', 'PBE-SHA1-3DES, SHA-1 MAC'], ['legacy', '-legacy (RC2-40)']]) {
    const bundle = pfxs[flavour]
    await t.test(`pfx ${label} + passphrase`, { skip: Buffer.isBuffer(bundle) ? false : `openssl could not make it: ${bundle.unavailable}` }, () =>
      roundTrip(new Etcd(url, { ca, pfx: bundle, passphrase: pfxs.passphrase }), `pfx-${flavour}`))
  }

  await t.test('pfx with a wrong passphrase: constructor throws a TLS TypeError', () => {
    assert.throws(
      () => new Etcd(url, { ca, pfx: pfxs.modern, passphrase: 'not-the-passphrase' }),
      (e) => e instanceof TypeError && ['ERR_TLS_BAD_PASSPHRASE', 'ERR_TLS_INVALID_PFX'].includes(e.code),
    )
  })

  await t.test('Promise and sync forms with a client certificate', async () => {
    const etcd = new Etcd(url, { ca, pfx: pfxs.modern, passphrase: pfxs.passphrase })
    const key = freshKey('cc-forms')
    assert.equal((await etcd.set(key, 'a')).action, 'set')
    const got = etcd.getSync(key)
    assert.ifError(got.err)
    assert.equal(got.body.node.value, 'a')
    const refused = new Etcd(url, { ca }).getSync(key)
    assertNotRetriedTransportFailure(refused.err, url, 'EPROTO')
    await assert.rejects(new Etcd(url, { ca }).get(key), (err) => {
      assertNotRetriedTransportFailure(err, url, 'EPROTO')
      return true
    })
  })
})

// ---- bad TLS material: synchronous TypeErrors from the constructor, never a crash -------------------------------

const pemBlock = (label, body) => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`
// Valid base64 whose bytes are not a certificate/key (a DER SEQUENCE header followed by junk).
const junkDer = Buffer.from('3082' + 'ab'.repeat(40), 'hex')

function garbageCases(label) {
  return {
    'plain text': 'this is not PEM at all',
    'bad base64 in a PEM block': pemBlock(label, '!!!not base64!!!'),
    'valid base64, junk bytes': pemBlock(label, junkDer.toString('base64')),
    'unterminated PEM block': `-----BEGIN ${label}-----\nAAAA\n`,
    'DER-looking junk Buffer': junkDer,
    'empty string': '',
    'empty Buffer': Buffer.alloc(0),
  }
}

test('garbage TLS material: the constructor throws a TypeError with a TLS code', async (t) => {
  const url = 'https://127.0.0.1:2379'
  const groups = [
    ['ca', 'ERR_TLS_INVALID_CA', (v) => ({ ca: v })],
    ['ca in an array', 'ERR_TLS_INVALID_CA', (v) => ({ ca: [pki.ca.pem, v] })],
    ['cert', 'ERR_TLS_INVALID_CERT', (v) => ({ ca: pki.ca.pem, cert: v, key: client.keyPem })],
    ['key', 'ERR_TLS_INVALID_KEY', (v) => ({ ca: pki.ca.pem, cert: client.certPem, key: v })],
    ['pfx', 'ERR_TLS_INVALID_PFX', (v) => ({ ca: pki.ca.pem, pfx: v, passphrase: 'x' })],
  ]
  const labels = { ca: 'CERTIFICATE', 'ca in an array': 'CERTIFICATE', cert: 'CERTIFICATE', key: 'PRIVATE KEY', pfx: 'PKCS12' }
  for (const [what, code, options] of groups) {
    for (const [name, value] of Object.entries(garbageCases(labels[what]))) {
      await t.test(`${what}: ${name} -> ${code}`, () => assertThrowsTls(() => new Etcd(url, options(value)), code))
    }
  }
  await t.test('a PEM certificate given as pfx -> ERR_TLS_INVALID_PFX', () =>
    assertThrowsTls(() => new Etcd(url, { pfx: Buffer.from(client.certPem), passphrase: 'x' }), 'ERR_TLS_INVALID_PFX'))
  await t.test('junk inside an ENCRYPTED PRIVATE KEY block -> a key error', () => {
    assert.throws(
      () => new Etcd(url, { cert: client.certPem, key: pemBlock('ENCRYPTED PRIVATE KEY', junkDer.toString('base64')), passphrase: 'x' }),
      (e) => e instanceof TypeError && ['ERR_TLS_INVALID_KEY', 'ERR_TLS_BAD_PASSPHRASE'].includes(e.code),
    )
  })
  await t.test('garbage ca via agentOptions -> ERR_TLS_INVALID_CA', () =>
    assertThrowsTls(() => new Etcd(url, { agentOptions: { ca: 'garbage' } }), 'ERR_TLS_INVALID_CA'))
})

// ---- (c) secrets never reach error objects -------------------------------------------------------------------

/** Pieces of a PEM body / DER that would show if the material were echoed (base64, hex, or a byte list). */
function fingerprints(pemOrDer) {
  const out = []
  let der
  if (Buffer.isBuffer(pemOrDer)) {
    der = pemOrDer
    const b64 = der.toString('base64')
    for (let i = 40; i + 24 <= b64.length; i += 200) out.push(b64.slice(i, i + 24))
  } else {
    const lines = pemOrDer.split('\n').filter((l) => l && !l.startsWith('-----') && !l.includes(':'))
    for (const l of lines) out.push(l.slice(0, 24), l.slice(-24))
    der = Buffer.from(lines.join(''), 'base64')
  }
  // Skip the structural header bytes that every key shares.
  const mid = der.subarray(64, 80)
  out.push(mid.toString('hex'), Array.from(mid).join(', '), Array.from(mid).join(','))
  return out.filter((s) => s.length >= 12)
}

const SECRETS = [
  ['key passphrase', [client.passphrase]],
  ['pfx passphrase', [client.pfx.passphrase]],
  ['private key', fingerprints(client.keyPem)],
  ['encrypted private key', fingerprints(client.encKeyPem)],
  ['PKCS#1 private key', fingerprints(client.pkcs1KeyPem)],
  ['pfx', fingerprints(client.pfx.modern)],
  ['stranger key', fingerprints(pki.stranger.keyPem)],
]

function assertNoSecrets(err, context) {
  assert.ok(err, `${context}: expected an error`)
  const text = [util.inspect(err, { depth: 10, showHidden: true }), String(err && err.message), String(err && err.stack)].join('\n')
  const found = []
  for (const [what, needles] of SECRETS) {
    for (const n of needles) if (text.includes(n)) found.push(`${what} (${JSON.stringify(n)})`)
  }
  assert.deepEqual(found, [], `${context}: secret material in the error:\n${text}`)
}

test('the secret detector itself finds leaked material', () => {
  // Guards the test below against passing vacuously.
  for (const [what, needles] of SECRETS) {
    assert.throws(() => assertNoSecrets(new Error(`oops ${needles[0]}`), 'self-check'), /secret material/, what)
  }
  assert.throws(() => assertNoSecrets(new Error(`key: ${client.keyPem}`), 'self-check'), /secret material/)
  assert.throws(() => assertNoSecrets(new Error(`bytes ${Buffer.from(client.encKeyPem.split('\n').slice(1, -2).join(''), 'base64').toString('hex')}`), 'self-check'), /secret material/)
  assertNoSecrets(new Error('All servers returned error'), 'self-check')
})

test('errors never contain private keys or passphrases', T, async (t) => {
  const [ccMember, wrongName] = await startAll(t, [
    clientCertTls,
    serverTls(pki.wrongName),
  ])
  const ccUrl = ccMember.endpoints[0]
  const ca = pki.ca.pem
  const withEncKey = { ca, cert: client.certPem, key: client.encKeyPem, passphrase: client.passphrase }
  const withPfx = { ca, pfx: client.pfx.modern, passphrase: client.pfx.passphrase }

  const thrown = (fn) => {
    try {
      fn()
    } catch (e) {
      return e
    }
    return null
  }

  await t.test('constructor errors', () => {
    const cases = {
      'wrong key passphrase': { ca, cert: client.certPem, key: client.encKeyPem, passphrase: client.pfx.passphrase },
      'wrong pfx passphrase': { ca, pfx: client.pfx.modern, passphrase: client.passphrase },
      'key of another cert': { ca, cert: pki.stranger.certPem, key: client.keyPem, passphrase: client.passphrase },
      'key as cert': { ca, cert: client.keyPem, key: client.keyPem },
      'key as ca': { ca: client.keyPem },
      'pfx as key': { ca, cert: client.certPem, key: client.pfx.modern, passphrase: client.pfx.passphrase },
      // A key with one corrupted character: the decoder must not quote the surrounding text.
      'corrupted key': { ca, cert: client.certPem, key: client.keyPem.replace(/\n([A-Za-z0-9+/]{10})/, '\n$1!'), passphrase: client.passphrase },
      'corrupted encrypted key': { ca, cert: client.certPem, key: client.encKeyPem.replace(/\n([A-Za-z0-9+/]{10})/, '\n$1!'), passphrase: client.passphrase },
      'truncated pfx': { ca, pfx: client.pfx.modern.subarray(0, 600), passphrase: client.pfx.passphrase },
    }
    for (const [name, opts] of Object.entries(cases)) {
      const err = thrown(() => new Etcd(ccUrl, opts))
      assert.ok(err instanceof TypeError, `${name}: expected a TypeError, got ${util.inspect(err)}`)
      assert.match(String(err.code), /^ERR_TLS_/, `${name}: ${err.message}`)
      assertNoSecrets(err, name)
    }
  })

  await t.test('transport errors from clients that hold a key', async () => {
    const errs = {
      'handshake refused (wrong CA) with encrypted key': (await cb((d) => new Etcd(ccUrl, { ...withEncKey, ca: pki.otherCa.pem }).get('/s', d)))[0],
      'wrong host name with pfx': (await cb((d) => new Etcd(wrongName.endpoints[0], withPfx).get('/s', d)))[0],
      'client cert refused': (await cb((d) => new Etcd(ccUrl, { ca, cert: pki.stranger.certPem, key: pki.stranger.keyPem }).get('/s', d)))[0],
      'sync, wrong host name with encrypted key': new Etcd(wrongName.endpoints[0], withEncKey).getSync('/s').err,
    }
    for (const [name, err] of Object.entries(errs)) {
      assert.equal(err && err.message, 'All servers returned error', name)
      assertNoSecrets(err, name)
    }
    await assert.rejects(new Etcd(wrongName.endpoints[0], withEncKey).get('/s'), (err) => {
      assertNoSecrets(err, 'promise')
      return true
    })
  })

  await t.test('an etcd error through a client-cert connection', async () => {
    const [err] = await cb((d) => new Etcd(ccUrl, withEncKey).get(`/missing-${process.pid}`, d))
    assert.equal(err && err.errorCode, 100)
    assertNoSecrets(err, 'etcd error 100')
  })
})

// ---- (d) client certificate as the v2 auth identity -----------------------------------------------------------

/** Node's https with our client certificate: setup traffic independent of the client under test. */
function httpsJson(url, method, path, body, extraHeaders = {}) {
  return new Promise((resolve, reject) => {
    const headers = { ...extraHeaders }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const req = https.request(new URL(path, url), { method, headers, ca: pki.ca.pem, cert: client.certPem, key: client.keyPem, agent: false }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode, text }))
    })
    req.on('error', reject)
    req.end(body === undefined ? undefined : JSON.stringify(body))
  })
}

test('v2 auth through the client certificate CN (root)', T, async (t) => {
  const [member] = await startAll(t, [
    clientCertTls,
  ])
  const url = member.endpoints[0]
  const rootAuth = { authorization: 'Basic ' + Buffer.from('root:r00t-cc-pw').toString('base64') }
  const expectStatus = async (what, p, ok) => {
    const r = await p
    assert.ok(ok.includes(r.status), `setup ${what}: ${r.status} ${r.text}`)
  }
  await expectStatus('root user', httpsJson(url, 'PUT', '/v2/auth/users/root', { user: 'root', password: 'r00t-cc-pw' }), [200, 201])
  await expectStatus('enable', httpsJson(url, 'PUT', '/v2/auth/enable'), [200])
  await expectStatus('guest read-only', httpsJson(url, 'PUT', '/v2/auth/roles/guest', { role: 'guest', revoke: { kv: { write: ['/*'] } } }, rootAuth), [200])

  await t.test('setup took effect: a trusted certificate whose CN is no user cannot write', async () => {
    const etcd = new Etcd(url, { ca: pki.ca.pem, cert: pki.nobody.certPem, key: pki.nobody.keyPem })
    const args = await cb((d) => etcd.set('/anywhere/nobody', 'v', d))
    assert.equal(args[0] && args[0].errorCode, 110, util.inspect(args[0]))
  })

  await t.test('cert+key with CN=root and no auth option: writes succeed as root', async () => {
    const etcd = new Etcd(url, { ca: pki.ca.pem, cert: client.certPem, key: client.encKeyPem, passphrase: client.passphrase })
    const [err, body] = await cb((d) => etcd.set('/anywhere/cn', 'root-by-cert', d))
    assert.ifError(err)
    assert.equal(body.action, 'set')
  })

  await t.test('pfx with CN=root: writes succeed as root', async () => {
    const etcd = new Etcd(url, { ca: pki.ca.pem, pfx: client.pfx.modern, passphrase: client.pfx.passphrase })
    assert.equal((await etcd.set('/anywhere/pfx', 'v')).action, 'set')
  })

  await t.test('an explicit (wrong) Basic auth wins over the certificate: 110', async () => {
    const etcd = new Etcd(url, { ca: pki.ca.pem, cert: client.certPem, key: client.keyPem, auth: { user: 'root', pass: 'definitely-wrong' } })
    const args = await cb((d) => etcd.set('/anywhere/basic', 'v', d))
    assert.equal(args.length, 3)
    assert.equal(args[0] && args[0].errorCode, 110)
    assert.equal(args[0].code, 'ETCD_UNAUTHORIZED')
    assert.equal(args[1], '')
  })
})
