// Tests for the etcd launcher in testing/index.js, against real etcd processes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
// Through the package's own "exports" map, as users import it.
import testing from 'etcd-napi/testing'

const { findEtcd, installEtcd, startEtcd, startCluster, ETCD_VERSION } = testing
const launcherPath = fileURLToPath(new URL('../testing/index.js', import.meta.url))
const T = { timeout: 60_000 }

// Found (or installed) once, so child scripts below need no lookup.
const etcdBin = await findEtcd()

function pidAlive (pid) {
  try {
    process.kill(pid, 0)
  } catch (err) {
    if (err.code === 'ESRCH') return false
    throw err
  }
  // A grandchild killed after its parent exited can linger as a zombie when
  // PID 1 does not reap; a zombie is dead for our purposes.
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

async function eventually (what, fn, ms = 5000) {
  const deadline = Date.now() + ms
  for (;;) {
    if (await fn()) return
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

function portOf (url) {
  return Number(new URL(url).port)
}

async function v2put (endpoint, key, value) {
  const res = await fetch(`${endpoint}/v2/keys/${key}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ value }).toString()
  })
  const body = await res.json()
  assert.ok(res.status === 200 || res.status === 201, `PUT ${key}: ${res.status} ${JSON.stringify(body)}`)
  return body
}

async function v2get (endpoint, key) {
  const res = await fetch(`${endpoint}/v2/keys/${key}?quorum=true`)
  return { status: res.status, body: await res.json() }
}

async function health (endpoint) {
  const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(2000) })
  return (await res.json()).health
}

function assertLoopbackPortsOk (cluster) {
  for (const m of cluster.members) {
    for (const url of [m.clientUrl, m.peerUrl]) {
      const u = new URL(url)
      assert.equal(u.hostname, '127.0.0.1')
      assert.ok(Number(u.port) >= 1024 && Number(u.port) < 32768, `${url} is outside 1024-32767`)
    }
  }
}

test('findEtcd returns an executable etcd', T, () => {
  assert.equal(ETCD_VERSION, '3.5.1')
  assert.ok(path.isAbsolute(etcdBin), etcdBin)
  fs.accessSync(etcdBin, fs.constants.X_OK)
  const out = spawnSync(etcdBin, ['--version'], { encoding: 'utf8', timeout: 10_000 })
  assert.equal(out.status, 0, out.stderr)
  assert.match(out.stdout, /etcd Version: \d+\.\d+\.\d+/)
})

test('findEtcd honours ETCD_BIN and reports ETCD_NOT_FOUND', T, async (t) => {
  const saved = { ETCD_BIN: process.env.ETCD_BIN, PATH: process.env.PATH, ETCD_NAPI_CACHE: process.env.ETCD_NAPI_CACHE }
  const emptyCache = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-napi-test-cache-'))
  t.after(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
    fs.rmSync(emptyCache, { recursive: true, force: true })
  })

  process.env.ETCD_BIN = etcdBin
  assert.equal(await findEtcd({ install: false }), etcdBin)

  process.env.ETCD_BIN = path.join(emptyCache, 'no-such-etcd')
  await assert.rejects(findEtcd(), { code: 'ETCD_NOT_FOUND' })

  // Nothing on PATH, an empty cache, and no install allowed.
  delete process.env.ETCD_BIN
  process.env.PATH = path.join(emptyCache, 'bin')
  process.env.ETCD_NAPI_CACHE = emptyCache
  await assert.rejects(findEtcd({ install: false }), { code: 'ETCD_NOT_FOUND' })
})

test('installEtcd is idempotent on an installed cache', T, async (t) => {
  const cached = path.join(path.dirname(launcherPath), '..', '.etcd-cache', `etcd-v${ETCD_VERSION}`, 'etcd')
  if (process.env.ETCD_NAPI_CACHE || !fs.existsSync(cached)) {
    t.skip('etcd comes from elsewhere; not downloading it just for this test')
    return
  }
  const started = Date.now()
  const [a, b] = await Promise.all([installEtcd(), installEtcd()])
  assert.equal(a, path.resolve(cached))
  assert.equal(b, a)
  assert.ok(Date.now() - started < 1000, 'an installed cache must not be downloaded again')
})

// Downloads etcd twice, so only on request (ETCD_NAPI_TEST_INSTALL=1).
test('two processes installing at once both get a working etcd', { ...T, skip: !process.env.ETCD_NAPI_TEST_INSTALL && 'set ETCD_NAPI_TEST_INSTALL=1 to run (downloads etcd)' }, async (t) => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-napi-test-install-'))
  t.after(() => fs.rmSync(cacheDir, { recursive: true, force: true }))
  const script = `require(${JSON.stringify(launcherPath)}).installEtcd({ cacheDir: ${JSON.stringify(cacheDir)} }).then((p) => console.log(p))`
  const runOne = () => new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.on('exit', (code) => resolve({ code, out: out.trim() }))
  })
  const [a, b] = await Promise.all([runOne(), runOne()])
  assert.equal(a.code, 0)
  assert.equal(b.code, 0)
  assert.equal(a.out, path.join(cacheDir, `etcd-v${ETCD_VERSION}`, 'etcd'))
  assert.equal(b.out, a.out)
  assert.match(spawnSync(a.out, ['--version'], { encoding: 'utf8' }).stdout, /etcd Version: 3\.5\.1/)
  assert.deepEqual(fs.readdirSync(cacheDir), [`etcd-v${ETCD_VERSION}`], 'temp install dirs must be cleaned up')
})

test('single member: v2 PUT/GET over plain fetch', T, async (t) => {
  const etcd = await startEtcd()
  t.after(() => etcd.stop())

  assert.equal(etcd.endpoints.length, 1)
  assert.match(etcd.endpoints[0], /^http:\/\/127\.0\.0\.1:\d+$/)
  assert.equal(etcd.members[0].clientUrl, etcd.endpoints[0])
  assert.ok(etcd.members[0].running)
  assertLoopbackPortsOk(etcd)
  assert.match(etcd.version, /^\d+\.\d+\.\d+$/)
  if (etcd.etcdctl !== null) fs.accessSync(etcd.etcdctl, fs.constants.X_OK)

  const put = await v2put(etcd.endpoints[0], 'greeting', 'hello world')
  assert.equal(put.node.value, 'hello world')
  const got = await v2get(etcd.endpoints[0], 'greeting')
  assert.equal(got.status, 200)
  assert.equal(got.body.node.value, 'hello world')
  assert.equal((await v2get(etcd.endpoints[0], 'missing')).status, 404)
})

// A throw-away CA and one cert usable as server and client cert, or null
// without openssl.
function makeCerts (dir) {
  const ssl = (...args) => spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' })
  if (ssl('version').status !== 0) return null
  fs.writeFileSync(path.join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n')
  for (const args of [
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=etcd-napi test CA'],
    ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'node.key', '-out', 'node.csr', '-subj', '/CN=127.0.0.1'],
    ['x509', '-req', '-in', 'node.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'node.crt', '-days', '2', '-extfile', 'ext']
  ]) {
    const res = ssl(...args)
    assert.equal(res.status, 0, res.stderr)
  }
  const f = (name) => path.join(dir, name)
  return { caFile: f('ca.crt'), certFile: f('node.crt'), keyFile: f('node.key') }
}

function httpsGet (url, options) {
  return new Promise((resolve, reject) => {
    https.get(url, { agent: false, ...options }, (res) => {
      let body = ''
      res.on('data', (d) => { body += d })
      res.on('end', () => resolve({ status: res.statusCode, body }))
    }).on('error', reject)
  })
}

test('tls with client certificates: https endpoints that demand a client cert', T, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-napi-test-tls-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const certs = makeCerts(dir)
  if (!certs) {
    t.skip('no openssl to make certificates')
    return
  }
  const etcd = await startEtcd({ tls: { ...certs, clientCertAuth: true } })
  t.after(() => etcd.stop())
  assert.match(etcd.endpoints[0], /^https:\/\/127\.0\.0\.1:\d+$/)
  assert.match(etcd.members[0].peerUrl, /^http:\/\//)

  const ca = fs.readFileSync(certs.caFile)
  const withCert = await httpsGet(`${etcd.endpoints[0]}/health`, { ca, cert: fs.readFileSync(certs.certFile), key: fs.readFileSync(certs.keyFile) })
  assert.equal(JSON.parse(withCert.body).health, 'true')
  await assert.rejects(httpsGet(`${etcd.endpoints[0]}/health`, { ca }), 'no client cert must be refused')
  assert.equal(await etcd.leaderIndex(), 0)
})

test('stop() kills the process and removes the data dir', T, async (t) => {
  const etcd = await startEtcd()
  t.after(() => etcd.stop())
  const { pid, dataDir } = etcd.members[0]
  process.kill(pid, 0) // alive: does not throw
  assert.ok(fs.existsSync(dataDir))

  await etcd.stop()
  assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' })
  assert.equal(fs.existsSync(dataDir), false)
  assert.equal(etcd.members[0].running, false)
  await etcd.stop() // idempotent
  await assert.rejects(fetch(`${etcd.endpoints[0]}/health`))
})

test('pause() and resume() freeze and thaw a member', T, async (t) => {
  const etcd = await startEtcd()
  t.after(() => etcd.stop())
  await etcd.pause(0)
  assert.equal(etcd.members[0].paused, true)
  await assert.rejects(fetch(`${etcd.endpoints[0]}/health`, { signal: AbortSignal.timeout(300) }))
  await etcd.resume(0)
  assert.equal(await health(etcd.endpoints[0]), 'true')
})

test('a 3-member cluster elects a new leader when the leader dies, and the old one rejoins', T, async (t) => {
  const cl = await startCluster({ size: 3 })
  t.after(() => cl.stop())
  assert.equal(cl.endpoints.length, 3)
  assertLoopbackPortsOk(cl)

  // Every member answers and sees the same three members.
  for (const ep of cl.endpoints) {
    assert.equal(await health(ep), 'true')
    const { members } = await (await fetch(`${ep}/v2/members`)).json()
    assert.deepEqual(members.map((m) => m.peerURLs[0]).sort(), cl.members.map((m) => m.peerUrl).sort())
  }

  await v2put(cl.endpoints[0], 'k1', 'written on 0')
  assert.equal((await v2get(cl.endpoints[2], 'k1')).body.node.value, 'written on 0')

  const leader = await cl.leaderIndex()
  assert.ok(leader >= 0 && leader < 3, `leader ${leader}`)
  const oldPid = cl.members[leader].pid

  await cl.kill(leader)
  assert.equal(cl.members[leader].running, false)
  assert.throws(() => process.kill(oldPid, 0), { code: 'ESRCH' })
  assert.ok(fs.existsSync(cl.members[leader].dataDir), 'kill() keeps the data dir')

  const started = Date.now()
  const newLeader = await cl.waitForLeader(10_000)
  t.diagnostic(`new leader elected in ${Date.now() - started} ms`)
  assert.notEqual(newLeader, leader)
  const survivor = [0, 1, 2].find((i) => i !== leader && i !== newLeader)
  await v2put(cl.endpoints[survivor], 'k2', 'written while one was down')

  await cl.restart(leader)
  assert.equal(cl.members[leader].running, true)
  assert.notEqual(cl.members[leader].pid, oldPid)
  assert.equal(await health(cl.endpoints[leader]), 'true', 'restart() resolves once the member is healthy')
  // A quorum read on the restarted member sees what it missed: it rejoined.
  const got = await v2get(cl.endpoints[leader], 'k2')
  assert.equal(got.status, 200)
  assert.equal(got.body.node.value, 'written while one was down')
  assert.ok((await cl.leaderIndex()) >= 0)
})

test('restart() brings back a cluster whose members were all killed', T, async (t) => {
  const cl = await startCluster({ size: 3 })
  t.after(() => cl.stop())
  await v2put(cl.endpoints[0], 'k', 'kept on disk')
  for (const i of [0, 1, 2]) await cl.kill(i)
  assert.equal(await cl.leaderIndex(), -1)

  // The first restart has no quorum to join, so it must not wait for health.
  await cl.restart(0)
  await cl.restart(1)
  assert.equal(await health(cl.endpoints[0]), 'true')
  assert.equal(await health(cl.endpoints[1]), 'true')
  await cl.restart(2)
  assert.equal((await v2get(cl.endpoints[2], 'k')).body.node.value, 'kept on disk')
})

test('two clusters started concurrently do not collide', T, async (t) => {
  const results = await Promise.allSettled([startCluster({ size: 3 }), startCluster({ size: 3 })])
  t.after(() => Promise.all(results.filter((r) => r.status === 'fulfilled').map((r) => r.value.stop())))
  for (const r of results) assert.equal(r.status, 'fulfilled', r.reason && r.reason.message)
  const [a, b] = results.map((r) => r.value)

  const ports = [a, b].flatMap((c) => c.members.flatMap((m) => [portOf(m.clientUrl), portOf(m.peerUrl)]))
  assert.equal(new Set(ports).size, 12, `ports reused: ${ports}`)
  assert.notEqual(a.members[0].dataDir, b.members[0].dataDir)

  // Two separate clusters: each knows only its own members and data.
  for (const c of [a, b]) {
    const { members } = await (await fetch(`${c.endpoints[1]}/v2/members`)).json()
    assert.deepEqual(members.map((m) => m.peerURLs[0]).sort(), c.members.map((m) => m.peerUrl).sort())
  }
  await v2put(a.endpoints[0], 'only-in-a', 'a')
  assert.equal((await v2get(a.endpoints[2], 'only-in-a')).status, 200)
  assert.equal((await v2get(b.endpoints[0], 'only-in-a')).status, 404)
})

test('start and stop times', T, async (t) => {
  let started = Date.now()
  const one = await startEtcd()
  const single = Date.now() - started
  started = Date.now()
  await one.stop()
  const singleStop = Date.now() - started

  started = Date.now()
  const three = await startCluster({ size: 3 })
  const cluster = Date.now() - started
  started = Date.now()
  await three.stop()
  const clusterStop = Date.now() - started

  t.diagnostic(`single member: start ${single} ms, stop ${singleStop} ms`)
  t.diagnostic(`3-member cluster: start ${cluster} ms, stop ${clusterStop} ms`)
  // Loose on purpose: only catches the multi-second bootstrap stalls.
  assert.ok(single < 10_000, `single member took ${single} ms`)
  assert.ok(cluster < 10_000, `cluster took ${cluster} ms`)
  assert.ok(clusterStop < 10_000, `cluster stop took ${clusterStop} ms`)
})

function runScript (t, body) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-napi-test-script-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'script.cjs')
  fs.writeFileSync(file, `const { startEtcd } = require(${JSON.stringify(launcherPath)})\n${body}\n`)
  const started = Date.now()
  // The timeout is what makes a hang fail instead of stalling the suite.
  const res = spawnSync(process.execPath, [file], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, ETCD_BIN: etcdBin }
  })
  return { ...res, ms: Date.now() - started }
}

test('a script that starts and stops etcd exits promptly', T, async (t) => {
  const res = runScript(t, `
    startEtcd().then(async (etcd) => {
      console.log(JSON.stringify(etcd.members[0]))
      await etcd.stop()
    })`)
  t.diagnostic(`script ran ${res.ms} ms`)
  assert.equal(res.error, undefined, `script hung: ${res.error}`)
  assert.equal(res.signal, null)
  assert.equal(res.status, 0, res.stderr)
  assert.ok(res.ms < 10_000, `took ${res.ms} ms`)
  const member = JSON.parse(res.stdout)
  assert.equal(pidAlive(member.pid), false)
  assert.equal(fs.existsSync(member.dataDir), false)
})

test('a script that forgets stop() still exits and takes etcd with it', T, async (t) => {
  const res = runScript(t, `
    startEtcd().then((etcd) => console.log(JSON.stringify(etcd.members[0])))`)
  t.diagnostic(`script ran ${res.ms} ms`)
  assert.equal(res.error, undefined, `script hung: ${res.error}`)
  assert.equal(res.status, 0, res.stderr)
  const member = JSON.parse(res.stdout)
  t.after(() => { try { process.kill(member.pid, 'SIGKILL') } catch {} })
  await eventually('the orphaned etcd to die', () => !pidAlive(member.pid))
  assert.equal(fs.existsSync(member.dataDir), false)
})

test('command line: start --cluster prints endpoints and stops on SIGTERM', T, async (t) => {
  const child = spawn(process.execPath, [launcherPath, 'start', '--cluster', '3'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ETCD_BIN: etcdBin }
  })
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  t.after(() => child.kill('SIGKILL'))
  let stderr = ''
  child.stderr.on('data', (d) => { stderr += d })

  const line = await new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      if (out.includes('\n')) resolve(out.split('\n')[0])
    })
    exited.then(() => reject(new Error(`exited before printing endpoints: ${stderr}`)))
  })
  const endpoints = JSON.parse(line)
  assert.equal(endpoints.length, 3)
  for (const ep of endpoints) assert.equal(await health(ep), 'true')

  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  const { code, signal } = await exited
  clearTimeout(timer)
  assert.equal(signal, null, 'did not exit on its own after SIGTERM')
  assert.equal(code, 0, stderr)
  for (const ep of endpoints) await assert.rejects(fetch(`${ep}/health`))
})
