// v3 administration on real etcd 3.5 members: cluster membership (a learner added, started for real,
// promoted once synced, its peer URLs updated, removed), per-endpoint maintenance (status, defragment,
// hashKV), moveLeader, alarms (a member filled up to NOSPACE, freed and disarmed), snapshots (to a file
// restored with etcdutl and served by a new etcd; a stream with backpressure; a stream destroyed midway
// lets the process exit), the auth admin helpers end to end, and mirror (base copy, updates, resume).
//
// Run: node --test __test__/v3-admin.test.mjs

import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { sleep, until as untilEvery, failure, runProcess } from './helpers/common.mjs'

const require = createRequire(import.meta.url)
const { startCluster, startEtcd, memberUrls, startJoiningMember } = require('../testing/index.js')
const v3 = require('../lib/v3/etcd3.js')
const { Etcd3, Range, EtcdPermissionDeniedError, EtcdAuthenticationFailedError, EtcdCompactedError, ClientClosedError, GRPCUnavailableError } = v3

const ETCD3_LIB = fileURLToPath(new URL('../lib/v3/etcd3.js', import.meta.url))
// Polls are calls to etcd members: every 50 ms is plenty.
const until = (fn, ms, what) => untilEvery(fn, ms, what, { every: 50 })

/** Runs `fn` again while it fails with one of `codes` (etcd's reconfiguration checks), up to `ms`. */
async function retrying(fn, codes, ms) {
  const end = Date.now() + ms
  for (;;) {
    try {
      return await fn()
    } catch (err) {
      if (!codes.includes(err.code) || Date.now() > end) throw err
      await sleep(100)
    }
  }
}

function tmpDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-napi-admin-'))
}

function etcdutl(bin) {
  const file = path.join(path.dirname(bin), 'etcdutl')
  return fs.existsSync(file) ? file : null
}

function run(file, args) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(String(stdout))))
  })
}

/** Puts `n` values of `size` bytes under `prefix`, 20 at a time. */
async function fill(client, prefix, n, size) {
  const value = Buffer.alloc(size, 0x61)
  for (let i = 0; i < n; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, n - i) }, (_, j) => client.put(`${prefix}${String(i + j).padStart(4, '0')}`).value(value)))
  }
}

describe('a 3-member cluster', () => {
  let cluster
  let client

  before(async () => {
    cluster = await startCluster({ size: 3, v2: false })
    client = new Etcd3({ hosts: cluster.endpoints })
  })

  after(async () => {
    if (client) client.close()
    if (cluster) await cluster.stop()
  })

  test('memberList: exact 64-bit ids as decimal strings; ids are checked before anything is sent', async () => {
    const { members } = await client.memberList()
    assert.equal(members.length, 3)
    for (const m of members) {
      assert.match(m.ID, /^[1-9][0-9]*$/)
      assert.equal(m.isLearner, false)
      assert.equal(m.clientURLs.length, 1)
    }
    // Every member's own header names it with the same id (no precision lost on the way).
    const ids = await Promise.all(cluster.endpoints.map(async (ep) => (await client.status(ep)).header.member_id))
    assert.deepEqual([...ids].sort(), members.map((m) => m.ID).sort())
    for (const bad of [1.5, -1, 'abc', '0x10', null, {}, 0, (2n ** 64n).toString()]) {
      const err = await failure(client.memberRemove(bad))
      assert.equal(err.name, 'TypeError', String(bad))
      assert.match(err.code, /^ERR_INVALID_ARG_(TYPE|VALUE)$/)
    }
    assert.equal((await client.memberList()).members.length, 3)
  })

  test('status(endpoint) answers for that member only, also one outside the host list; no failover', async () => {
    const one = new Etcd3({ hosts: cluster.endpoints[0] })
    try {
      const { members } = await one.memberList()
      const statuses = []
      for (const ep of cluster.endpoints) {
        const s = await one.status(ep.replace(/^http:\/\//, '')) // host:port, as hosts are given
        const self = members.find((m) => m.ID === s.header.member_id)
        assert.ok(self, `status of ${ep} comes from a member`)
        assert.deepEqual(self.clientURLs, [ep])
        statuses.push(s)
      }
      assert.equal(new Set(statuses.map((s) => s.leader)).size, 1, 'all members agree on the leader')
      assert.ok(members.some((m) => m.ID === statuses[0].leader))
      assert.ok(statuses.every((s) => /^3\.5\./.test(s.version) && Number(s.dbSize) > 0))

      // A member that does not answer fails the call, even though others would.
      const { port } = new URL((await memberUrls()).clientUrl)
      const err = await failure(one.status(`127.0.0.1:${port}`))
      assert.ok(err instanceof GRPCUnavailableError, `${err.constructor.name}: ${err.message}`)
      const bad = await failure(one.status('ftp://127.0.0.1:1'))
      assert.equal(bad.code, 'ERR_INVALID_URL')
    } finally {
      one.close()
    }
  })

  test('hashKV at one revision is equal on every member; defragment runs on each', async () => {
    await fill(client, 'hash/', 40, 100)
    await client.delete().prefix('hash/0001')
    const rev = (await client.put('hash/last').value('x')).header.revision
    // Members apply the revision at slightly different times: ask until each has it.
    const hashes = []
    for (const ep of cluster.endpoints) {
      const h = await retrying(() => client.hashKV(ep, rev), ['ETCD3_FUTURE_REVISION'], 10_000)
      hashes.push(h)
    }
    assert.equal(new Set(hashes.map((h) => h.hash)).size, 1, JSON.stringify(hashes.map((h) => h.hash)))
    assert.ok(hashes.every((h) => BigInt(h.header.revision) >= BigInt(rev)))
    const ids = new Set(hashes.map((h) => h.header.member_id))
    assert.equal(ids.size, 3, 'three different members answered')

    for (const ep of cluster.endpoints) {
      await client.defragment(ep)
      assert.equal((await client.status(ep)).errors.length, 0)
    }
    assert.equal(await client.get('hash/last').string(), 'x')
  })

  test('moveLeader hands leadership to a follower', async () => {
    const { members } = await client.memberList()
    const { leader } = await client.status()
    const follower = members.find((m) => m.ID !== leader)
    await client.moveLeader(follower.ID)
    await until(async () => (await client.status(follower.clientURLs[0])).leader === follower.ID, 5000, 'the follower to lead')
    assert.equal(cluster.endpoints[await cluster.waitForLeader()], follower.clientURLs[0])
    // Moving it to itself is accepted too; an id no member has is refused by etcd.
    await client.moveLeader(BigInt(follower.ID))
    const err = await failure(client.moveLeader('12345'))
    assert.match(err.message, /bad leader transferee|not found|member/i)
  })

  test('snapshotToFile, then etcdutl snapshot restore: a new etcd serves the keys', async (t) => {
    const util = etcdutl(cluster.bin)
    if (!util) return t.skip('no etcdutl next to etcd')
    await fill(client, 'snap/', 60, 2000)
    const rev = (await client.put('snap/marker').value('restored')).header.revision
    const dir = tmpDir()
    let restored = null
    try {
      const file = path.join(dir, 'backup.db')
      const saved = await client.snapshotToFile(file, { endpoint: cluster.endpoints[1] })
      assert.equal(saved.path, file)
      assert.equal(saved.size, fs.statSync(file).size)
      assert.equal(fs.existsSync(`${file}.part`), false)
      const status = JSON.parse(await run(util, ['snapshot', 'status', file, '-w', 'json']))
      assert.ok(status.revision >= Number(rev), `snapshot revision ${status.revision} ≥ ${rev}`)

      const { peerUrl } = await memberUrls()
      const data = path.join(dir, 'restored')
      await run(util, ['snapshot', 'restore', file, '--data-dir', data, '--name', 'etcd0', '--initial-cluster', `etcd0=${peerUrl}`, '--initial-advertise-peer-urls', peerUrl])
      restored = await startEtcd({ v2: false, args: ['--data-dir', data] })
      const fresh = new Etcd3({ hosts: restored.endpoints })
      try {
        assert.equal(await fresh.get('snap/marker').string(), 'restored')
        assert.equal(await fresh.getAll().prefix('snap/').count(), 61)
      } finally {
        fresh.close()
      }
    } finally {
      if (restored) await restored.stop()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  test('snapshot(): a Readable that reads from etcd only as fast as it is consumed', async () => {
    await fill(client, 'big/', 200, 4000) // ~1 MB: about 30 chunks of 32 KiB
    const stream = client.snapshot()
    let first = null
    stream.once('data', (chunk) => {
      first = chunk
      stream.pause()
    })
    await until(() => first !== null, 5000, 'the first chunk')
    await sleep(300)
    // Paused: at most what the Readable buffers plus the one message in flight, not the whole database.
    assert.ok(stream.readableLength <= stream.readableHighWaterMark + 64 * 1024, `buffered ${stream.readableLength}`)
    let size = first.length
    stream.on('data', (chunk) => (size += chunk.length))
    const ended = new Promise((resolve, reject) => {
      stream.once('end', resolve)
      stream.once('error', reject)
    })
    stream.resume()
    await ended
    assert.ok(size > 1_000_000, `${size} bytes`)
  })

  test('maintenance.snapshot() (etcd3 API): a stream of SnapshotResponse messages', async () => {
    const stream = await client.maintenance.snapshot()
    const messages = []
    await new Promise((resolve, reject) => {
      stream.on('data', (m) => messages.push(m))
      stream.on('end', resolve)
      stream.on('error', reject)
    })
    assert.ok(messages.length > 2)
    assert.ok(messages.every((m) => Buffer.isBuffer(m.blob) && typeof m.remaining_bytes === 'string'))
    const last = messages[messages.length - 1]
    assert.equal(last.remaining_bytes, '0')
    assert.equal(last.blob.length, 32, 'etcd ends with the sha256 of the database')
  })

  test('snapshotToFile: an abort or a failed write leaves no file behind', async () => {
    const dir = tmpDir()
    try {
      const file = path.join(dir, 'aborted.db')
      const ac = new AbortController()
      const pending = client.snapshotToFile(file, { signal: ac.signal })
      setImmediate(() => ac.abort())
      const err = await failure(pending)
      assert.equal(err.name, 'AbortError')
      assert.deepEqual(fs.readdirSync(dir), [])

      const missing = await failure(client.snapshotToFile(path.join(dir, 'no', 'such', 'dir.db')))
      assert.equal(missing.code, 'ENOENT')
      assert.deepEqual(fs.readdirSync(dir), [])

      const closed = new Etcd3({ hosts: cluster.endpoints })
      closed.close()
      const err2 = await failure(closed.snapshotToFile(path.join(dir, 'closed.db')))
      assert.ok(err2 instanceof ClientClosedError)
      assert.deepEqual(fs.readdirSync(dir), [])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  test('mirror: a paged base copy at one revision, then every update; resumed with no gap or repeat', async () => {
    for (let i = 0; i < 25; i++) await client.put(`mir/k${String(i).padStart(2, '0')}`).value(`v${i}`)
    await client.put('mis').value('outside') // next to the prefix, not under it
    const mirror = client.mirror('mir/', { pageSize: 10 })
    assert.throws(() => mirror.syncUpdates(), { code: 'ETCD3_MIRROR_NOT_SYNCED' })

    const copy = new Map()
    const apply = (batch) => {
      for (const ev of batch.events) {
        if (ev.type === 'Put') copy.set(ev.kv.key.toString(), ev.kv.value.toString())
        else copy.delete(ev.kv.key.toString())
      }
    }
    const written = [] // revisions of the writes made after the base revision
    const pages = []
    for await (const page of mirror.syncBase()) {
      pages.push(page)
      for (const kv of page.kvs) copy.set(kv.key.toString(), kv.value.toString())
      if (pages.length === 1) {
        // Changes made while the base is copied are not in it: they come as updates.
        written.push((await client.put('mir/k24').value('changed')).header.revision)
        written.push((await client.put('mir/a-new').value('new')).header.revision)
      }
    }
    assert.deepEqual(pages.map((p) => p.kvs.length), [10, 10, 5])
    assert.equal(new Set(pages.map((p) => p.revision)).size, 1)
    assert.equal(mirror.revision, pages[0].revision)
    assert.equal(copy.get('mir/k24'), 'v24')
    assert.equal(copy.has('mir/a-new'), false)

    const seen = []
    const updates = mirror.syncUpdates()
    written.push((await client.delete().key('mir/k03')).header.revision)
    const txn = await client.if('mir/k00', 'Value', '==', 'v0').then(client.put('mir/k00').value('t0'), client.put('mir/k01').value('t1')).commit()
    written.push(txn.header.revision)
    written.push((await client.put('mis').value('still outside')).header.revision) // no event for the mirror
    for await (const batch of updates) {
      seen.push(batch)
      apply(batch)
      if (batch.revision === txn.header.revision) break
    }
    assert.deepEqual(seen.map((b) => b.revision), written.slice(0, 4))
    assert.equal(seen[3].events.length, 2, "a transaction's changes come as one batch")
    assert.equal(mirror.revision, txn.header.revision)
    assert.equal(mirror.following, null, 'breaking out stopped the watch')

    // Later changes, followed by a new mirror resumed from the saved revision, through its events.
    const resumedFrom = mirror.revision
    const more = []
    more.push((await client.put('mir/k05').value('late')).header.revision)
    more.push((await client.delete().key('mir/a-new')).header.revision)
    const resumed = client.mirror('mir/', { revision: resumedFrom })
    const revisions = []
    resumed.on('revision', (batch) => {
      revisions.push(batch.revision)
      apply(batch)
    })
    resumed.syncUpdates({ iterator: false })
    await until(() => resumed.revision === more[1], 5000, 'the resumed mirror to catch up')
    await resumed.stop()
    assert.deepEqual(revisions, more)

    const truth = new Map((await client.getAll().prefix('mir/').exec()).kvs.map((kv) => [kv.key.toString(), kv.value.toString()]))
    assert.deepEqual(new Map([...copy].sort()), new Map([...truth].sort()))

    // Resuming from a compacted revision fails: the copy must be made again.
    await client.kv.compact({ revision: more[1] })
    const stale = client.mirror('mir/', { revision: Number(resumedFrom) })
    const iterator = stale.syncUpdates()[Symbol.asyncIterator]()
    const err = await failure(iterator.next())
    assert.ok(err instanceof EtcdCompactedError, `${err.constructor.name}: ${err.message}`)
  })

  // Last here: etcd refuses membership changes until its members have been connected for 5 s.
  test('a learner is added, started, promoted once synced, given new peer URLs and removed', async () => {
    const first = await memberUrls()
    const second = await memberUrls()
    const unhealthy = ['ETCD3_UNHEALTHY_CLUSTER']
    const added = await retrying(() => client.memberAdd(first.peerUrl, { learner: true }), unhealthy, 15_000)
    const id = added.member.ID
    assert.equal(added.member.isLearner, true)
    assert.deepEqual(added.member.peerURLs, [first.peerUrl])
    assert.equal(added.members.length, 4)

    const { members } = await client.memberList()
    const initialCluster = members.map((m) => `${m.ID === id ? 'learner' : m.name}=${m.peerURLs[0]}`).join(',')
    // It listens on a second peer URL too, so that updating its URLs to that one keeps it reachable.
    const learner = await startJoiningMember({
      name: 'learner',
      clientUrl: first.clientUrl,
      peerUrl: first.peerUrl,
      initialCluster,
      args: ['--listen-peer-urls', `${first.peerUrl},${second.peerUrl}`],
    })
    try {
      // Synced: the learner (not in the client's hosts) has applied what the leader had committed.
      const target = (await client.status()).raftIndex
      const synced = await until(async () => {
        const s = await client.status(first.clientUrl)
        return BigInt(s.raftAppliedIndex) >= BigInt(target) && s
      }, 10_000, 'the learner to catch up')
      assert.equal(synced.isLearner, true)
      assert.equal(synced.header.member_id, id)

      await retrying(() => client.memberPromote(id), ['ETCD3_GRPC_FAILED_PRECONDITION', ...unhealthy], 10_000)
      const promoted = (await client.memberList()).members.find((m) => m.ID === id)
      assert.equal(promoted.isLearner, false)
      assert.equal(promoted.name, 'learner')

      const both = await retrying(() => client.memberUpdate(id, [first.peerUrl, second.peerUrl]), unhealthy, 10_000)
      assert.deepEqual(both.members.find((m) => m.ID === id).peerURLs, [first.peerUrl, second.peerUrl])
      await client.memberUpdate(BigInt(id), second.peerUrl)
      assert.deepEqual((await client.memberList()).members.find((m) => m.ID === id).peerURLs, [second.peerUrl])
      // Still a working member of the cluster: it serves a write made after the update.
      const rev = (await client.put('after-update').value('ok')).header.revision
      const onMember = new Etcd3({ hosts: first.clientUrl })
      try {
        await until(async () => (await onMember.get('after-update').serializable(true).string()) === 'ok', 5000, 'the write on the member')
        assert.ok(BigInt((await onMember.status()).header.revision) >= BigInt(rev))
      } finally {
        onMember.close()
      }

      const removed = await retrying(() => client.memberRemove(id), unhealthy, 10_000)
      assert.equal(removed.members.length, 3)
      assert.equal(removed.members.some((m) => m.ID === id), false)
    } finally {
      await learner.stop()
    }
    assert.equal(await client.get('after-update').string(), 'ok')
  })
})

describe('alarms', () => {
  let etcd
  let client

  before(async () => {
    etcd = await startEtcd({ v2: false, args: ['--quota-backend-bytes', String(512 * 1024)] })
    client = new Etcd3({ hosts: etcd.endpoints })
  })

  after(async () => {
    if (client) client.close()
    if (etcd) await etcd.stop()
  })

  test('NOSPACE: raised by a full backend, listed, then freed (compact + defragment) and disarmed', async () => {
    assert.deepEqual((await client.alarmList()).alarms, [])
    const big = Buffer.alloc(64 * 1024, 7)
    let full = null
    for (let i = 0; i < 200 && !full; i++) {
      try {
        await client.put('fill').value(big)
      } catch (err) {
        full = err
      }
    }
    assert.ok(full, 'the quota was reached')
    assert.equal(full.code, 'ETCD3_NO_SPACE')
    const { alarms } = await client.alarmList()
    const { header } = await client.status(etcd.endpoints[0])
    assert.deepEqual(alarms, [{ memberID: header.member_id, alarm: 'Nospace' }])

    await client.kv.compact({ revision: header.revision, physical: true })
    await client.defragment(etcd.endpoints[0])
    // Space is free, but the alarm stays until disarmed.
    assert.equal((await failure(client.put('small').value('1'))).code, 'ETCD3_NO_SPACE')
    const disarmed = await client.alarmDisarm()
    assert.deepEqual(disarmed.alarms, alarms)
    assert.deepEqual((await client.alarmList()).alarms, [])
    await client.put('small').value('1')
    assert.equal(await client.get('small').string(), '1')
    // Disarming one named alarm that is not raised is a no-op.
    assert.deepEqual((await client.alarmDisarm({ memberID: header.member_id, alarm: 'Nospace' })).alarms, [])
  })
})

describe('auth administration', () => {
  let etcd
  let root

  before(async () => {
    etcd = await startEtcd({ v2: false })
    root = new Etcd3({ hosts: etcd.endpoints, auth: { username: 'root', password: 'rootpw' } })
  })

  after(async () => {
    if (root) root.close()
    if (etcd) await etcd.stop()
  })

  const as = (username, password) => new Etcd3({ hosts: etcd.endpoints, auth: { username, password } })

  test('users and roles end to end: read-only prefix, one key, one range; passwords; revocation', async () => {
    const open = new Etcd3({ hosts: etcd.endpoints })
    try {
      assert.equal((await open.authStatus()).enabled, false)
      await open.put('app/a').value('1')
      await open.put('single').value('s')
      await open.put('r/b').value('in range')
      await open.put('r/c').value('past the range')
      await open.put('other').value('secret')

      await open.user('root').create('rootpw')
      await open.role('root').create()
      await open.user('root').addRole('root')
      const reader = await open.role('reader').create()
      await reader.grant({ permission: 'Read', range: Range.prefix('app/') })
      await reader.grant({ permission: 'Write', key: 'single' })
      await reader.grant({ permission: 'Read', range: new Range('r/a', 'r/c') })
      const perms = await reader.permissions()
      assert.deepEqual(perms.map((p) => [p.permission, p.range.start.toString(), p.range.end.toString()]).sort(), [
        ['Read', 'app/', 'app0'],
        ['Read', 'r/a', 'r/c'],
        ['Write', 'single', ''],
      ])
      const alice = await open.user('alice').create('pw1')
      await alice.addRole(reader)
      assert.deepEqual((await alice.roles()).map((r) => r.name), ['reader'])
      assert.deepEqual((await open.getUsers()).map((u) => u.name).sort(), ['alice', 'root'])
      assert.deepEqual((await open.getRoles()).map((r) => r.name).sort(), ['reader', 'root'])

      await open.enableAuth()
    } finally {
      open.close()
    }
    assert.deepEqual(await root.authStatus().then((s) => [s.enabled, typeof s.authRevision]), [true, 'string'])

    let alice = as('alice', 'pw1')
    try {
      assert.equal(await alice.get('app/a').string(), '1')
      assert.ok((await failure(alice.put('app/a').value('2'))) instanceof EtcdPermissionDeniedError)
      assert.ok((await failure(alice.get('other').string())) instanceof EtcdPermissionDeniedError)
      await alice.put('single').value('written')
      assert.ok((await failure(alice.get('single').string())) instanceof EtcdPermissionDeniedError, 'write-only key')
      assert.ok((await failure(alice.put('single2').value('x'))) instanceof EtcdPermissionDeniedError)
      assert.equal(await alice.get('r/b').string(), 'in range')
      assert.ok((await failure(alice.get('r/c').string())) instanceof EtcdPermissionDeniedError, 'range end is exclusive')
    } finally {
      alice.close()
    }

    await root.user('alice').setPassword('pw2')
    const old = as('alice', 'pw1')
    try {
      assert.ok((await failure(old.get('app/a').string())) instanceof EtcdAuthenticationFailedError)
    } finally {
      old.close()
    }
    alice = as('alice', 'pw2')
    try {
      assert.equal(await alice.get('app/a').string(), '1')
      await root.role('reader').revoke({ permission: 'Read', range: Range.prefix('app/') })
      assert.ok((await failure(alice.get('app/a').string())) instanceof EtcdPermissionDeniedError, 'permission revoked')
      assert.equal(await alice.get('r/b').string(), 'in range')
      await root.user('alice').removeRole('reader')
      assert.ok((await failure(alice.get('r/b').string())) instanceof EtcdPermissionDeniedError, 'role removed')
    } finally {
      alice.close()
    }

    await root.user('alice').delete()
    await root.role('reader').delete()
    assert.deepEqual((await root.getUsers()).map((u) => u.name), ['root'])
    await root.disableAuth()
    const after = new Etcd3({ hosts: etcd.endpoints })
    try {
      assert.equal((await after.authStatus()).enabled, false)
      assert.equal(await after.get('single').string(), 'written')
    } finally {
      after.close()
    }
  })
})

/** Runs `source` in a child Node process; resolves with its exit and output, or rejects after `ms`. */
async function child(source, env, ms = 15_000) {
  const r = await runProcess(process.execPath, ['-e', source], { env: { ...process.env, ...env }, timeoutMs: ms })
  if (r.timedOut) throw new Error(`the child did not exit within ${ms} ms\n${r.stdout}\n${r.stderr}`)
  return { code: r.code, signal: r.signal, out: r.stdout, err: r.stderr }
}

describe('process lifetime', () => {
  let etcd

  before(async () => {
    etcd = await startEtcd({ v2: false })
    const client = new Etcd3({ hosts: etcd.endpoints })
    try {
      await fill(client, 'big/', 100, 4000)
    } finally {
      client.close()
    }
  })

  after(async () => {
    if (etcd) await etcd.stop()
  })

  // The children never close their clients: only the streams' own ends may let them exit.
  const prelude = `
    const { Etcd3 } = require(${JSON.stringify(ETCD3_LIB)})
    const client = new Etcd3({ hosts: JSON.parse(process.env.ENDPOINTS) })
    const stream = client.snapshot()
  `

  test('a snapshot stream destroyed midway: nothing keeps running and the process exits', async () => {
    const r = await child(
      `${prelude}
      let chunks = 0
      stream.on('data', () => { if (++chunks === 2) stream.destroy() })
      stream.on('close', () => console.log('closed after', chunks, 'chunks, destroyed', stream.destroyed))
      stream.on('error', (e) => console.log('error', e.message))
    `,
      { ENDPOINTS: JSON.stringify(etcd.endpoints) },
    )
    assert.equal(r.signal, null, r.err)
    assert.equal(r.code, 0, r.err)
    assert.match(r.out, /^closed after 2 chunks, destroyed true$/m)
    assert.doesNotMatch(r.out, /error/)
  })

  test('close() ends a snapshot stream with ClientClosedError and the process exits', async () => {
    const r = await child(
      `${prelude}
      stream.once('data', () => client.close())
      stream.on('error', (e) => console.log('error', e.constructor.name, e.code))
      stream.on('end', () => console.log('end'))
    `,
      { ENDPOINTS: JSON.stringify(etcd.endpoints) },
    )
    assert.equal(r.signal, null, r.err)
    assert.equal(r.code, 0, r.err)
    assert.match(r.out, /^error ClientClosedError ETCD3_CLIENT_CLOSED$/m)
    assert.doesNotMatch(r.out, /^end$/m)
  })
})
