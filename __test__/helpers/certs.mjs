// Test PKI made at test time with the openssl CLI, in a temp dir that is removed after the tests.
//
//   const pki = makeCerts()          // registers its own cleanup with node:test's `after`
//   pki.ca.pem, pki.server.certFile, pki.client.encKeyPem, pki.client.pfx.modern, ...
//
// Everything is signed by a private CA unless noted; the second CA (`otherCa`) signs nothing we serve.

import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after } from 'node:test'

const OPENSSL = fs.existsSync('/usr/bin/openssl') ? '/usr/bin/openssl' : 'openssl'

// Distinctive so that a leak into an error message cannot be a coincidence.
export const KEY_PASSPHRASE = 'kp-Zq8v!tls-passphrase'
export const PFX_PASSPHRASE = 'pfx-Wm3x#bundle-secret'

function openssl(dir, args) {
  // OPENSSL_CONF unset: a system config must not change what we generate.
  const env = { ...process.env }
  delete env.OPENSSL_CONF
  return execFileSync(OPENSSL, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
}

/**
 * Builds the whole PKI synchronously. `register` decides how cleanup is hooked (default: node:test's
 * top-level `after`); pass `(fn) => t.after(fn)` to tie it to one test.
 */
export function makeCerts({ register = after } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-napi-certs-'))
  register(() => fs.rmSync(dir, { recursive: true, force: true }))
  const p = (name) => path.join(dir, name)
  const read = (name) => fs.readFileSync(p(name), 'utf8')
  const write = (name, text) => fs.writeFileSync(p(name), text)

  write(
    'req.cnf',
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      'CN = unused',
      '[v3_ca]',
      'basicConstraints = critical,CA:TRUE',
      'keyUsage = critical,keyCertSign,cRLSign',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  )
  // `openssl ca` is the only 3.0 command that takes arbitrary start/end dates (expired, not yet valid).
  fs.mkdirSync(p('ca-db'))
  write('ca-db/index.txt', '')
  write('ca-db/serial', '1000\n')
  write(
    'ca.cnf',
    [
      '[ca]',
      'default_ca = test_ca',
      '[test_ca]',
      `database = ${p('ca-db/index.txt')}`,
      `new_certs_dir = ${p('ca-db')}`,
      `serial = ${p('ca-db/serial')}`,
      'default_md = sha256',
      'policy = any',
      'unique_subject = no',
      'copy_extensions = none',
      '[any]',
      'commonName = supplied',
      '',
    ].join('\n'),
  )

  const ecKey = (name) => openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', p(name)])
  const makeCa = (name, cn) => {
    ecKey(`${name}.key`)
    openssl(dir, ['req', '-x509', '-new', '-key', p(`${name}.key`), '-subj', `/CN=${cn}`, '-days', '3650', '-sha256',
      '-config', p('req.cnf'), '-extensions', 'v3_ca', '-out', p(`${name}.crt`)])
  }
  const ext = (name, lines) => write(`${name}.ext`, lines.join('\n') + '\n')
  const leafExt = (name, eku, san) =>
    ext(name, [
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage = ${eku}`,
      ...(san ? [`subjectAltName = ${san}`] : []),
      'authorityKeyIdentifier = keyid',
    ])
  const csr = (name, key, cn) => openssl(dir, ['req', '-new', '-key', p(key), '-subj', `/CN=${cn}`, '-config', p('req.cnf'), '-out', p(`${name}.csr`)])
  const sign = (name, ca) =>
    openssl(dir, ['x509', '-req', '-in', p(`${name}.csr`), '-CA', p(`${ca}.crt`), '-CAkey', p(`${ca}.key`), '-CAcreateserial',
      '-days', '825', '-sha256', '-extfile', p(`${name}.ext`), '-out', p(`${name}.crt`)])
  const signDated = (name, start, end) =>
    openssl(dir, ['ca', '-batch', '-notext', '-config', p('ca.cnf'), '-cert', p('ca.crt'), '-keyfile', p('ca.key'),
      '-in', p(`${name}.csr`), '-startdate', start, '-enddate', end, '-extfile', p(`${name}.ext`), '-out', p(`${name}.crt`)])

  makeCa('ca', 'etcd-napi test CA')
  makeCa('other-ca', 'etcd-napi unrelated CA')

  // One server key for every server certificate; clientAuth too, because etcd's own probes may reuse it.
  ecKey('server.key')
  const GOOD_SAN = 'IP:127.0.0.1,DNS:localhost'
  const serverCert = (name, san, dates) => {
    leafExt(name, 'serverAuth,clientAuth', san)
    csr(name, 'server.key', name === 'server' ? 'localhost' : name)
    if (dates) signDated(name, dates[0], dates[1])
    else sign(name, 'ca')
  }
  serverCert('server', GOOD_SAN)
  serverCert('wrong-name', 'DNS:example.invalid')
  serverCert('expired', GOOD_SAN, ['20200101000000Z', '20200201000000Z'])
  serverCert('not-yet-valid', GOOD_SAN, ['20990101000000Z', '20991231000000Z'])

  // Client: RSA, CN root (etcd v2 auth maps a client certificate's CN to a user).
  openssl(dir, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', p('client.key')])
  leafExt('client', 'clientAuth', null)
  csr('client', 'client.key', 'root')
  sign('client', 'ca')
  openssl(dir, ['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-in', p('client.key'), '-passout', `pass:${KEY_PASSPHRASE}`, '-out', p('client.enc.key')])
  openssl(dir, ['rsa', '-in', p('client.key'), '-traditional', '-out', p('client.pkcs1.key')])
  // Trusted, but its CN is no etcd user (v2 auth then treats the request as guest or refuses it).
  ecKey('nobody.key')
  leafExt('nobody', 'clientAuth', null)
  csr('nobody', 'nobody.key', 'nobody')
  sign('nobody', 'ca')
  // A client certificate from a CA etcd does not trust.
  ecKey('stranger.key')
  leafExt('stranger', 'clientAuth', null)
  csr('stranger', 'stranger.key', 'root')
  sign('stranger', 'other-ca')

  const p12 = (name, extra) => {
    try {
      openssl(dir, ['pkcs12', '-export', '-in', p('client.crt'), '-inkey', p('client.key'), '-certfile', p('ca.crt'),
        '-name', 'client', '-passout', `pass:${PFX_PASSPHRASE}`, ...extra, '-out', p(name)])
      return fs.readFileSync(p(name))
    } catch (e) {
      return { unavailable: String(e.stderr || e.message).trim() }
    }
  }
  // OpenSSL 3 default: AES-256-CBC + PBKDF2, SHA-256 MAC.
  const pfxModern = p12('client.p12', [])
  // The pre-3.0 default algorithms spelled out (no legacy provider needed).
  const pfx3des = p12('client-3des.p12', ['-certpbe', 'PBE-SHA1-3DES', '-keypbe', 'PBE-SHA1-3DES', '-macalg', 'sha1'])
  // `-legacy`: RC2-40 for the certificates (needs OpenSSL's legacy provider).
  const pfxLegacy = p12('client-legacy.p12', ['-legacy'])

  const files = (name) => ({ certFile: p(`${name}.crt`), keyFile: p(name === 'client' || name === 'stranger' ? `${name}.key` : 'server.key') })
  const serverEntry = (name) => ({ ...files(name), certPem: read(`${name}.crt`), keyPem: read('server.key') })

  return {
    dir,
    ca: { certFile: p('ca.crt'), pem: read('ca.crt') },
    otherCa: { certFile: p('other-ca.crt'), pem: read('other-ca.crt') },
    server: serverEntry('server'),
    wrongName: serverEntry('wrong-name'),
    expired: serverEntry('expired'),
    notYetValid: serverEntry('not-yet-valid'),
    client: {
      certFile: p('client.crt'),
      keyFile: p('client.key'),
      certPem: read('client.crt'),
      keyPem: read('client.key'),
      encKeyFile: p('client.enc.key'),
      encKeyPem: read('client.enc.key'),
      pkcs1KeyPem: read('client.pkcs1.key'),
      passphrase: KEY_PASSPHRASE,
      pfx: { modern: pfxModern, tripleDes: pfx3des, legacy: pfxLegacy, passphrase: PFX_PASSPHRASE },
    },
    stranger: { certPem: read('stranger.crt'), keyPem: read('stranger.key') },
    nobody: { certPem: read('nobody.crt'), keyPem: read('nobody.key') },
  }
}
