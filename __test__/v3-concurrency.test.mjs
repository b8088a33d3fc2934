// v3 concurrency recipes against a real etcd 3.5: locks (clientv3 Mutex layout, fail-fast and queued
// acquire, fairness, abort/timeout cleanup, lease loss, holder crash), elections (campaign, proclaim,
// resign, observe, failover when the leader's process dies) and STM (the four isolation levels under
// contention and forced conflicts); interop with `etcdctl lock` / `etcdctl elect` both ways; and a
// differential check against npm etcd3@1.1.2 where its behaviour is right.
//
// Run: node --test __test__/v3-concurrency.test.mjs

import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { sleep, until as untilEvery, once } from './helpers/common.mjs'

const require = createRequire(import.meta.url)
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { startEtcd, findEtcd } = require('../testing/index.js')
const v3 = require('../lib/v3/etcd3.js')
const ref = require('etcd3')
const {
  Etcd3,
  Lock,
  Election,
  Campaign,
  ElectionObserver,
  SoftwareTransaction,
  Isolation,
  EtcdLockFailedError,
  EtcdLockTimeoutError,
  EtcdLockLostError,
  NotCampaigningError,
  STMConflictError,
} = v3

// This suite has always polled every 20 ms.
const until = (fn, ms, what) => untilEvery(fn, ms, what, { every: 20 })

/** Whether `promise` is still pending after `ms`. */
async function pendingAfter(promise, ms) {
  const marker = Symbol('pending')
  const winner = await Promise.race([promise.then(() => 'settled', () => 'settled'), sleep(ms).then(() => marker)])
  return winner === marker
}

const hexLease = (id) => BigInt(id).toString(16)

let etcd
let client
let etcdctl = null
const extraClients = []
const children = new Set()
let seq = 0
/** A fresh name per test, so tests never see each other's keys. */
const fresh = (name) => `conc/${++seq}-${name}`

function connect() {
  const c = new Etcd3({ hosts: etcd.endpoints })
  extraClients.push(c)
  return c
}

/** A child process (node with `source`, or any file), its stdout collected; killed after the suite. */
function startChild(file, args, env = {}) {
  const child = spawn(file, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  child.out = ''
  child.err = ''
  child.stdout.on('data', (d) => (child.out += d))
  child.stderr.on('data', (d) => (child.err += d))
  child.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  children.add(child)
  child.exited.then(() => children.delete(child))
  return child
}

function nodeChild(source) {
  return startChild(process.execPath, ['-e', source], { ETCD_HOSTS: etcd.endpoints.join(',') })
}

function ctl(...args) {
  return startChild(etcdctl, ['--endpoints', etcd.endpoints.join(','), ...args])
}

/** Waits until the child printed text matching `pattern`; fails (with its stderr) after `ms` or if it exits. */
async function output(child, pattern, ms = 10_000) {
  let exited = null
  child.exited.then((r) => (exited = r))
  await until(() => pattern.test(child.out) || exited, ms, `output ${pattern} (stdout ${JSON.stringify(child.out)}, stderr ${JSON.stringify(child.err)})`)
  if (!pattern.test(child.out)) throw new Error(`child exited (${JSON.stringify(exited)}) before printing ${pattern}: ${child.err}`)
  return child.out
}

async function stopChild(child, signal = 'SIGINT') {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill(signal)
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await child.exited
  clearTimeout(timer)
}

const keysUnder = (prefix) => client.getAll().prefix(`${prefix}/`).keys()

before(async () => {
  etcd = await startEtcd({ v2: false })
  client = new Etcd3({ hosts: etcd.endpoints })
  const candidates = []
  try {
    candidates.push(path.join(path.dirname(await findEtcd({ install: false })), 'etcdctl'))
  } catch {
    // etcd came from elsewhere; the cache may still have etcdctl
  }
  candidates.push(path.join(ROOT, '.etcd-cache', 'etcd-v3.5.1', 'etcdctl'))
  etcdctl = candidates.find((file) => fs.existsSync(file)) || null
})

after(async () => {
  for (const child of [...children]) child.kill('SIGKILL')
  for (const c of extraClients) c.close()
  if (client) client.close()
  if (etcd) await etcd.stop()
})

describe('module shape', () => {
  test('the classes are exported, lock()/election()/stm() build them', () => {
    assert.ok(client.lock('x') instanceof Lock)
    assert.ok(client.election('x') instanceof Election)
    assert.ok(client.stm() instanceof SoftwareTransaction)
    assert.equal(typeof Campaign, 'function')
    assert.equal(typeof ElectionObserver, 'function')
    assert.deepEqual([Isolation.SerializableSnapshot, Isolation.Serializable, Isolation.RepeatableReads, Isolation.ReadCommitted], [0, 1, 2, 3])
    assert.equal(require('etcd-napi/v3').Lock, Lock)
    assert.ok(new EtcdLockTimeoutError('x') instanceof EtcdLockFailedError)
    assert.equal(new EtcdLockTimeoutError('x').code, 'ETCD3_LOCK_TIMEOUT')
    assert.equal(new EtcdLockLostError('x').code, 'ETCD3_LOCK_LOST')
  })
})

describe('lock', () => {
  test("clientv3's layout: `<key>/<lease id hex>` under the lock's lease; fail-fast acquire() leaves nothing behind", async () => {
    const name = fresh('layout')
    const lock = client.lock(name).ttl(5)
    assert.equal(await lock.leaseId(), null)
    assert.equal(await lock.acquire(), lock)
    assert.equal(lock.isHeld(), true)
    const id = await lock.leaseId()
    const [kv] = (await client.getAll().prefix(`${name}/`).exec()).kvs
    assert.equal(kv.key.toString(), `${name}/${hexLease(id)}`)
    assert.equal(kv.lease, id)
    assert.equal(kv.value.length, 0)

    const other = connect()
    for (const attempt of [() => other.lock(name).acquire(), () => other.lock(name).tryAcquire(), () => other.lock(name).acquire({ wait: false })]) {
      await assert.rejects(attempt(), (err) => {
        assert.ok(err instanceof EtcdLockFailedError)
        assert.equal(err.code, 'ETCD3_LOCK_FAILED')
        assert.equal(err.message, `Failed to acquire a lock on ${name}`)
        return true
      })
    }
    assert.deepEqual(await keysUnder(name), [`${name}/${hexLease(id)}`])

    await lock.release()
    assert.equal(lock.isHeld(), false)
    assert.deepEqual(await keysUnder(name), [])
    const ttl = await client.leaseClient.leaseTimeToLive({ ID: id })
    assert.equal(ttl.TTL, '-1') // the lease is revoked, not just left to expire
    // Free again: anyone takes it at once, and the same Lock object can take it again.
    await other.lock(name).do(async () => {})
    await lock.acquire()
    assert.notEqual(await lock.leaseId(), id)
    await lock.release()
  })

  test('misuse: acquiring a held Lock object, releasing one never acquired, changing the ttl while held', async () => {
    const name = fresh('misuse')
    const lock = client.lock(name)
    assert.throws(() => lock.release(), { code: 'ETCD3_LOCK_IN_USE', message: 'Attempted to release a lock which was not acquired' })
    await lock.acquire()
    await assert.rejects(lock.acquire(), { code: 'ETCD3_LOCK_IN_USE' })
    assert.throws(() => lock.ttl(10), { code: 'ETCD3_LOCK_IN_USE' })
    await assert.rejects(lock.acquire({ timeout: -1 }), { code: 'ERR_INVALID_ARG_VALUE' })
    await lock.release()
    assert.deepEqual(await keysUnder(name), [])
  })

  test('contended: 5 clients × 8 rounds of read-modify-write inside the lock end exact, never two inside', async () => {
    const name = fresh('contended')
    const counterKey = `${name}-counter`
    await client.put(counterKey).value('0')
    const N = 5
    const M = 8
    let inside = 0
    let maxInside = 0
    const workers = Array.from({ length: N }, async () => {
      const c = connect()
      for (let round = 0; round < M; round++) {
        await c.lock(name).ttl(10).do(
          async () => {
            inside++
            maxInside = Math.max(maxInside, inside)
            const value = await c.get(counterKey).number()
            await sleep(2) // widen the read-modify-write window
            await c.put(counterKey).value(String(value + 1))
            inside--
          },
          { wait: true, timeout: 20_000 },
        )
      }
    })
    await Promise.all(workers)
    assert.equal(await client.get(counterKey).number(), N * M)
    assert.equal(maxInside, 1)
    assert.deepEqual(await keysUnder(name), [])
  })

  test('fair: waiters acquire in the order they queued; a waiter that leaves is skipped', async () => {
    const name = fresh('fair')
    const holder = await client.lock(name).acquire()
    const order = []
    const waits = []
    const aborts = []
    for (let i = 0; i < 6; i++) {
      const ac = new AbortController()
      aborts.push(ac)
      const lock = connect().lock(name)
      waits.push(
        lock.acquire({ wait: true, timeout: 20_000, signal: ac.signal }).then(
          async () => {
            order.push(i)
            await sleep(10)
            await lock.release()
          },
          (err) => {
            order.push(`${i}:${err.code}`)
          },
        ),
      )
      // Queue strictly one after the other: the next waiter joins once this one's key exists.
      await until(async () => (await keysUnder(name)).length === i + 2, 5000, `waiter ${i} to queue`)
    }
    // Waiter 3 gives up: waiter 4 (which watched 3's key) must go back to waiting for 2, not take the lock.
    aborts[3].abort()
    await until(() => order.includes('3:ABORT_ERR'), 5000, 'waiter 3 to leave')
    assert.equal((await keysUnder(name)).length, 6)
    assert.equal(await pendingAfter(waits[4], 200), true)
    await holder.release()
    await Promise.all(waits)
    assert.deepEqual(order, ['3:ABORT_ERR', 0, 1, 2, 4, 5])
    assert.deepEqual(await keysUnder(name), [])
  })

  test('waiting ends cleanly on timeout and on abort: coded errors, no key, lease revoked', async () => {
    const name = fresh('abort')
    const holder = await client.lock(name).acquire()
    const holderKeys = await keysUnder(name)

    const timed = connect().lock(name)
    await assert.rejects(timed.acquire({ wait: true, timeout: 300 }), (err) => {
      assert.ok(err instanceof EtcdLockTimeoutError)
      assert.ok(err instanceof EtcdLockFailedError)
      assert.equal(err.code, 'ETCD3_LOCK_TIMEOUT')
      return true
    })
    // Removal starts before the rejection and completes when etcd answers (bounded wait of 250 ms).
    await until(async () => JSON.stringify(await keysUnder(name)) === JSON.stringify(holderKeys), 5000, 'the timed-out entry to go')
    await until(async () => (await client.leaseClient.leaseTimeToLive({ ID: await timed.leaseId() })).TTL === '-1', 5000, 'the timed-out lease to be revoked')

    const ac = new AbortController()
    const aborted = connect().lock(name)
    const pending = aborted.acquire({ wait: true, signal: ac.signal })
    await until(async () => (await keysUnder(name)).length === 2, 5000, 'the waiter to queue')
    ac.abort(new Error('shutting down'))
    await assert.rejects(pending, (err) => {
      assert.equal(err.name, 'AbortError')
      assert.equal(err.code, 'ABORT_ERR')
      assert.equal(err.cause.message, 'shutting down')
      return true
    })
    await until(async () => JSON.stringify(await keysUnder(name)) === JSON.stringify(holderKeys), 5000, 'the aborted entry to go')
    await until(async () => (await client.leaseClient.leaseTimeToLive({ ID: await aborted.leaseId() })).TTL === '-1', 5000, 'the aborted lease to be revoked')

    // Already aborted: rejects without leaving anything either.
    await assert.rejects(connect().lock(name).acquire({ wait: true, signal: AbortSignal.abort() }), { code: 'ABORT_ERR' })
    // release() while waiting gives up the wait.
    const released = connect().lock(name)
    const waiting = released.acquire({ wait: true }).then(
      () => null,
      (err) => err,
    )
    await until(async () => (await keysUnder(name)).length === 2, 5000, 'the waiter to queue')
    await released.release()
    assert.ok((await waiting) instanceof EtcdLockFailedError)
    assert.deepEqual(await keysUnder(name), holderKeys)

    await holder.release()
    assert.deepEqual(await keysUnder(name), [])
  })

  test('release() then acquire() again: the abandoned attempt leaves the new one alone', { timeout: 20_000 }, async () => {
    const name = fresh('reacquire')
    const holder = await client.lock(name).acquire()
    const lock = connect().lock(name)
    const first = lock.acquire({ wait: true }).then(() => null, (err) => err)
    await until(async () => (await keysUnder(name)).length === 2, 5000, 'the first attempt to queue')
    lock.release()
    const second = lock.acquire({ wait: true })
    assert.ok((await first) instanceof EtcdLockFailedError)
    // The first attempt unwound after the second began: the second is still the one acquiring.
    const third = lock.acquire({ wait: true }).then(() => null, (err) => err)
    assert.equal(await pendingAfter(third, 2000), false, 'a third acquire was queued instead of refused')
    assert.equal((await third).code, 'ETCD3_LOCK_IN_USE')
    assert.equal(lock.isHeld(), false)
    await until(async () => (await keysUnder(name)).length === 2, 5000, 'the second attempt to queue')
    await holder.release()
    await second
    assert.equal(lock.isHeld(), true)
    assert.deepEqual(await keysUnder(name), [`${name}/${hexLease(await lock.leaseId())}`])
    await lock.release()
    assert.deepEqual(await keysUnder(name), [])
  })

  test('an abort that comes with the reply of a free lock wins: rejected, not held, key removed', async () => {
    const name = fresh('abort-fast')
    const lock = connect().lock(name)
    const ac = new AbortController()
    // Aborts in the very tick etcd's answer to the acquiring txn arrives (etcd itself is real).
    const pool = lock.pool
    const realExec = pool.exec
    pool.exec = function (service, method, ...rest) {
      const call = realExec.call(this, service, method, ...rest)
      if (method !== 'txn') return call
      return call.then((res) => {
        ac.abort(new Error('late abort'))
        return res
      })
    }
    try {
      await assert.rejects(lock.acquire({ signal: ac.signal }), { code: 'ABORT_ERR' })
    } finally {
      pool.exec = realExec
    }
    assert.equal(lock.isHeld(), false)
    await until(async () => (await keysUnder(name)).length === 0, 5000, 'the key to go')
    const next = await client.lock(name).acquire()
    assert.equal(next.isHeld(), true)
    await next.release()
  })

  test('timeout and abort bound acquire() while etcd stalls; the lease is revoked once etcd answers', { timeout: 30_000 }, async () => {
    const name = fresh('stalled')
    const other = connect()
    await other.get('warm').string()
    const timed = other.lock(name)
    const ac = new AbortController()
    const aborted = other.lock(name)
    await etcd.pause(0)
    let timedResult
    let abortedResult
    try {
      const p1 = timed.acquire({ wait: true, timeout: 300 }).then(() => null, (err) => err)
      const p2 = aborted.acquire({ wait: true, signal: ac.signal }).then(() => null, (err) => err)
      setTimeout(() => ac.abort(new Error('give up')), 300)
      // Before the fix both stayed pending until etcd answered again.
      assert.equal(await pendingAfter(p1, 5000), false, 'timed acquire still pending with etcd stalled')
      assert.equal(await pendingAfter(p2, 5000), false, 'aborted acquire still pending with etcd stalled')
      timedResult = await p1
      abortedResult = await p2
    } finally {
      etcd.resume(0)
    }
    assert.ok(timedResult instanceof EtcdLockTimeoutError, String(timedResult))
    assert.equal(abortedResult && abortedResult.code, 'ABORT_ERR', String(abortedResult))
    for (const lock of [timed, aborted]) {
      const id = await lock.leaseId()
      await until(async () => (await client.leaseClient.leaseTimeToLive({ ID: id })).TTL === '-1', 10_000, 'the lease to be revoked')
    }
    assert.deepEqual(await keysUnder(name), [])
  })

  test("losing the lease of a held lock emits 'lost'; do() then rejects with EtcdLockLostError", async () => {
    const name = fresh('lost')
    const lock = client.lock(name).ttl(3)
    await lock.acquire()
    const lost = once(lock, 'lost', 10_000)
    await client.leaseClient.leaseRevoke({ ID: await lock.leaseId() })
    const [err] = await lost
    assert.ok(err instanceof EtcdLockLostError)
    assert.equal(err.code, 'ETCD3_LOCK_LOST')
    assert.equal(lock.isHeld(), false)
    await lock.release() // harmless after a loss

    const other = client.lock(name).ttl(3)
    await assert.rejects(
      other.do(async (held) => {
        assert.equal(held, other)
        await client.leaseClient.leaseRevoke({ ID: await other.leaseId() })
        await once(other, 'lost', 10_000)
        return 'done'
      }),
      EtcdLockLostError,
    )
    assert.deepEqual(await keysUnder(name), [])
  })

  test('do(): resolves with fn’s value, rejects with fn’s error, releases either way', async () => {
    const name = fresh('do')
    assert.equal(await client.lock(name).do(() => 42), 42)
    await assert.rejects(
      client.lock(name).do(async () => {
        throw new Error('boom')
      }),
      { message: 'boom' },
    )
    assert.deepEqual(await keysUnder(name), [])
  })

  test('a namespace prefixes the lock: the same lock as its full name at the root', async () => {
    const name = fresh('ns')
    const ns = client.namespace(`${name}-space/`)
    const lock = await ns.lock('res').acquire()
    const id = await lock.leaseId()
    assert.deepEqual(await client.getAll().prefix(`${name}-space/`).keys(), [`${name}-space/res/${hexLease(id)}`])
    await assert.rejects(client.lock(`${name}-space/res`).acquire(), EtcdLockFailedError)
    await lock.release()
  })

  test("the holder's process is SIGKILLed: its lease expires and the next waiter gets the lock", { timeout: 30_000 }, async () => {
    const name = fresh('crash')
    const child = nodeChild(`
      const { Etcd3 } = require('./lib/v3/etcd3.js')
      const c = new Etcd3({ hosts: process.env.ETCD_HOSTS.split(',') })
      c.lock(${JSON.stringify(name)}).ttl(2).acquire().then(() => console.log('held'), (e) => { console.error(e); process.exit(3) })
      setInterval(() => {}, 1000)
    `)
    await output(child, /held/)
    const waiter = connect().lock(name).ttl(5)
    const acquired = waiter.acquire({ wait: true, timeout: 20_000 })
    await until(async () => (await keysUnder(name)).length === 2, 5000, 'the waiter to queue')
    assert.equal(await pendingAfter(acquired, 200), true)
    child.kill('SIGKILL')
    await acquired
    assert.deepEqual(await keysUnder(name), [`${name}/${hexLease(await waiter.leaseId())}`])
    await waiter.release()
  })

  describe('with etcdctl lock', () => {
    test('etcdctl holds: ours fails fast, or waits until etcdctl lets go', { timeout: 30_000 }, async (t) => {
      if (!etcdctl) return t.skip('etcdctl not found')
      const name = fresh('ctl-holds')
      const holder = ctl('lock', name)
      const printed = await output(holder, new RegExp(`${name}/[0-9a-f]+`))
      const ctlKey = printed.trim().split('\n')[0]
      assert.deepEqual(await keysUnder(name), [ctlKey])
      await assert.rejects(client.lock(name).acquire(), EtcdLockFailedError)
      const lock = connect().lock(name)
      const acquired = lock.acquire({ wait: true, timeout: 20_000 })
      await until(async () => (await keysUnder(name)).length === 2, 5000, 'ours to queue')
      assert.equal(await pendingAfter(acquired, 300), true)
      await stopChild(holder, 'SIGINT') // etcdctl unlocks on SIGINT
      await acquired
      assert.deepEqual(await keysUnder(name), [`${name}/${hexLease(await lock.leaseId())}`])
      await lock.release()
    })

    test('ours holds: etcdctl lock waits until we release', { timeout: 30_000 }, async (t) => {
      if (!etcdctl) return t.skip('etcdctl not found')
      const name = fresh('ours-holds')
      const lock = await client.lock(name).acquire()
      const waiter = ctl('lock', name)
      await until(async () => (await keysUnder(name)).length === 2, 5000, 'etcdctl to queue')
      await sleep(300)
      assert.equal(waiter.out, '') // still waiting
      await lock.release()
      const printed = await output(waiter, new RegExp(`${name}/[0-9a-f]+`))
      assert.deepEqual(await keysUnder(name), [printed.trim().split('\n')[0]])
      await stopChild(waiter)
      await until(async () => (await keysUnder(name)).length === 0, 5000, 'etcdctl to unlock')
    })
  })
})

describe('election', () => {
  test("campaign, leader, proclaim, resign: clientv3's layout `<name>/<lease id hex>` holding the proposal", async () => {
    const name = fresh('elect')
    const election = client.election(name, 5)
    assert.equal(election.name, name)
    assert.equal(await election.leader(), undefined)
    const first = election.campaign('alpha')
    assert.equal(await first.wait(), first)
    assert.equal(await first.wait(), first) // also after the fact
    const key = await first.getCampaignKey()
    assert.equal(key, `${name}/${hexLease(await first.lease.grant())}`)
    assert.deepEqual(await client.getAll().prefix(`${name}/`).strings(), { [key]: 'alpha' })
    assert.equal(await election.leader(), 'alpha')
    assert.equal(await election.getLeader(), 'alpha')
    assert.deepEqual(await election.leader('buffer'), Buffer.from('alpha'))

    const second = connect().election(name, 5).campaign('beta')
    let secondElected = false
    second.on('elected', () => (secondElected = true))
    await until(async () => (await keysUnder(name)).length === 2, 5000, 'the second candidate')
    assert.equal(await second.getLeader(), 'alpha')
    await first.proclaim('alpha-2')
    assert.equal(await election.leader(), 'alpha-2')
    await sleep(100)
    assert.equal(secondElected, false)

    await first.resign()
    await assert.rejects(first.proclaim('late'), NotCampaigningError)
    await second.wait()
    assert.equal(await election.leader(), 'beta')
    await second.resign()
    assert.equal(await election.leader(), undefined)
    assert.deepEqual(await keysUnder(name), [])
  })

  test("observe(): 'change' on every new leader value, undefined when nobody leads; cancel() stops it", async () => {
    const name = fresh('observe')
    const election = client.election(name, 5)
    const observer = await election.observe()
    assert.equal(observer.hasLeader, false)
    assert.equal(observer.leader(), undefined)
    const changes = []
    observer.on('change', (value) => changes.push(value))
    const a = election.campaign('a')
    await a.wait()
    await until(() => changes.length === 1, 5000, 'change to a')
    assert.equal(observer.leader(), 'a')
    assert.equal(observer.hasLeader, true)
    const b = connect().election(name, 5).campaign('b')
    await until(async () => (await keysUnder(name)).length === 2, 5000, 'b to queue')
    await a.proclaim('a2')
    await until(() => changes.length === 2, 5000, 'change to a2')
    await a.resign()
    await b.wait()
    await until(() => changes.length === 3, 5000, 'change to b')
    await b.resign()
    await until(() => changes.length === 4, 5000, 'change to nobody')
    assert.deepEqual(changes, ['a', 'a2', 'b', undefined])
    await observer.cancel()
    const c = election.campaign('c')
    await c.wait()
    await sleep(100)
    assert.equal(changes.length, 4)
    await c.resign()
  })

  test('observe() rejects with ClientClosedError when the client closes before the first read', async () => {
    const closing = new Etcd3({ hosts: etcd.endpoints })
    await closing.get('warm').string()
    const observing = closing.election(fresh('observe-close')).observe()
    closing.close()
    assert.equal(await pendingAfter(observing, 5000), false, 'observe() still pending after close()')
    await assert.rejects(observing, { code: 'ETCD3_CLIENT_CLOSED' })
  })

  test('in a namespace, the election lives under the prefix', async () => {
    const name = fresh('ns-elect')
    const campaign = client.namespace(`${name}-space/`).election('e', 5).campaign('v')
    await campaign.wait()
    assert.equal(await client.election(`${name}-space/e`).leader(), 'v')
    assert.equal(await campaign.getCampaignKey(), `${name}-space/e/${hexLease(await campaign.lease.grant())}`)
    await campaign.resign()
  })

  test("the leader's process is SIGKILLed: its lease expires and the next candidate is elected", { timeout: 30_000 }, async () => {
    const name = fresh('failover')
    const child = nodeChild(`
      const { Etcd3 } = require('./lib/v3/etcd3.js')
      const c = new Etcd3({ hosts: process.env.ETCD_HOSTS.split(',') })
      const campaign = c.election(${JSON.stringify(name)}, 2).campaign('child')
      campaign.on('elected', () => console.log('elected'))
      campaign.on('error', (e) => { console.error(e); process.exit(3) })
      setInterval(() => {}, 1000)
    `)
    await output(child, /elected/)
    const observer = await client.election(name).observe()
    assert.equal(observer.leader(), 'child')
    const ours = connect().election(name, 5).campaign('parent')
    await until(async () => (await keysUnder(name)).length === 2, 5000, 'ours to queue')
    child.kill('SIGKILL')
    await ours.wait()
    assert.equal(await client.election(name).leader(), 'parent')
    await until(() => observer.leader() === 'parent', 5000, 'the observer to see the new leader')
    await observer.cancel()
    await ours.resign()
  })

  test("losing the campaign's lease emits 'error' and ends the campaign", async () => {
    const name = fresh('elect-lost')
    const campaign = client.election(name, 3).campaign('x')
    await campaign.wait()
    const failed = once(campaign, 'error', 10_000)
    await client.leaseClient.leaseRevoke({ ID: await campaign.lease.grant() })
    await failed
    await assert.rejects(campaign.proclaim('y'), NotCampaigningError)
  })

  describe('with etcdctl elect', () => {
    test('etcdctl leads: ours sees its proposal, waits, and is elected when etcdctl resigns', { timeout: 30_000 }, async (t) => {
      if (!etcdctl) return t.skip('etcdctl not found')
      const name = fresh('ctl-leads')
      const leader = ctl('elect', name, 'from-etcdctl')
      const printed = await output(leader, /from-etcdctl/)
      const ctlKey = printed.split('\n')[0]
      assert.match(ctlKey, new RegExp(`^${name}/[0-9a-f]+$`))
      const election = client.election(name, 5)
      assert.equal(await election.leader(), 'from-etcdctl')
      const observer = await election.observe()
      assert.equal(observer.leader(), 'from-etcdctl')
      const ours = election.campaign('from-us')
      await until(async () => (await keysUnder(name)).length === 2, 5000, 'ours to queue')
      assert.equal(await pendingAfter(ours.wait(), 300), true)
      await stopChild(leader, 'SIGINT') // etcdctl resigns on SIGINT
      await ours.wait()
      await until(() => observer.leader() === 'from-us', 5000, 'the observer to see us')
      await observer.cancel()
      await ours.resign()
    })

    test('ours leads: `etcdctl elect -l` observes us, `etcdctl elect` waits until we resign', { timeout: 30_000 }, async (t) => {
      if (!etcdctl) return t.skip('etcdctl not found')
      const name = fresh('ours-leads')
      const ours = client.election(name, 5).campaign('first')
      await ours.wait()
      const ourKey = await ours.getCampaignKey()
      const listener = ctl('elect', '-l', name)
      await output(listener, new RegExp(`${ourKey}\\nfirst\\n`))
      await ours.proclaim('second')
      await output(listener, new RegExp(`${ourKey}\\nsecond\\n`))
      const candidate = ctl('elect', name, 'theirs')
      await until(async () => (await keysUnder(name)).length === 2, 5000, 'etcdctl to campaign')
      await sleep(300)
      assert.equal(candidate.out, '') // not elected while we lead
      await ours.resign()
      await output(candidate, /theirs/)
      await output(listener, /theirs/)
      await stopChild(candidate)
      await stopChild(listener)
    })
  })
})

describe('stm', () => {
  const levels = ['SerializableSnapshot', 'Serializable', 'RepeatableReads', 'ReadCommitted']

  for (const level of levels.slice(0, 3)) {
    test(`${level}: 5 concurrent workers × 6 increments with retries end exact, after real conflicts`, async () => {
      const key = `${fresh('stm-inc')}/counter`
      await client.put(key).value('0')
      let attempts = 0
      const N = 5
      const M = 6
      await Promise.all(
        Array.from({ length: N }, async () => {
          const c = connect()
          for (let i = 0; i < M; i++) {
            await c.stm({ isolation: Isolation[level], retries: 200 }).transact(async (tx) => {
              attempts++
              const value = await tx.get(key).number()
              await sleep(3) // let the others read the same value
              await tx.put(key).value(String(value + 1))
            })
          }
        }),
      )
      assert.equal(await client.get(key).number(), N * M)
      assert.ok(attempts > N * M, `expected conflicts and retries, got ${attempts} attempts for ${N * M} increments`)
    })
  }

  for (const level of levels.slice(0, 3)) {
    test(`${level}: a forced conflict rejects with STMConflictError at retries 0 and is retried otherwise`, async () => {
      const key = `${fresh('stm-conflict')}/k`
      await client.put(key).value('1')
      const interfere = async (tx, runs) => {
        const value = await tx.get(key).number()
        if (runs === 1) await client.put(key).value('100') // someone else writes what we read
        await tx.put(key).value(String(value + 1))
        return value
      }
      let runs = 0
      await assert.rejects(
        client.stm({ isolation: Isolation[level], retries: 0 }).transact((tx) => interfere(tx, ++runs)),
        (err) => {
          assert.ok(err instanceof STMConflictError)
          assert.equal(err.code, 'ETCD3_STM_CONFLICT')
          assert.equal(err.message, 'A conflict occurred executing the software transaction')
          return true
        },
      )
      assert.equal(runs, 1)
      assert.equal(await client.get(key).string(), '100') // nothing of ours applied
      runs = 0
      const seen = await client.stm({ isolation: Isolation[level], retries: 1 }).transact((tx) => interfere(tx, ++runs))
      assert.equal(runs, 2)
      assert.equal(seen, 100)
      assert.equal(await client.get(key).string(), '101')
    })
  }

  test('ReadCommitted checks nothing: the interfering write is overwritten, no conflict', async () => {
    const key = `${fresh('stm-rc')}/k`
    await client.put(key).value('1')
    let runs = 0
    await client.stm({ isolation: Isolation.ReadCommitted, retries: 0 }).transact(async (tx) => {
      runs++
      const value = await tx.get(key).number()
      await client.put(key).value('100')
      await tx.put(key).value(String(value + 1))
    })
    assert.equal(runs, 1)
    assert.equal(await client.get(key).string(), '2')
  })

  test('SerializableSnapshot also conflicts on a written key changed after the snapshot; Serializable does not', async () => {
    const p = fresh('stm-ws')
    for (const [level, conflicts] of [
      ['SerializableSnapshot', true],
      ['Serializable', false],
    ]) {
      await client.put(`${p}/read`).value('r')
      await client.put(`${p}/written`).value('w0')
      const run = client.stm({ isolation: Isolation[level], retries: 0 }).transact(async (tx) => {
        await tx.get(`${p}/read`).string()
        await client.put(`${p}/written`).value('someone else') // after our snapshot
        await tx.put(`${p}/written`).value('ours')
      })
      if (conflicts) await assert.rejects(run, STMConflictError)
      else await run
      assert.equal(await client.get(`${p}/written`).string(), conflicts ? 'someone else' : 'ours', level)
    }
  })

  test('Serializable reads one snapshot; RepeatableReads reads each key as it is when first read', async () => {
    const p = fresh('stm-snap')
    for (const [level, expected] of [
      ['Serializable', 'b0'],
      ['RepeatableReads', 'b1'],
    ]) {
      await client.put(`${p}/a`).value('a0')
      await client.put(`${p}/b`).value('b0')
      let seenB
      let runs = 0
      await client.stm({ isolation: Isolation[level], retries: 1 }).transact(async (tx) => {
        runs++
        await tx.get(`${p}/a`).string()
        if (runs === 1) await client.put(`${p}/b`).value('b1')
        if (runs === 1) seenB = await tx.get(`${p}/b`).string()
        else await tx.get(`${p}/b`).string()
        return null
      })
      assert.equal(seenB, expected, level)
      // The snapshot read of b is stale at commit, so Serializable ran again; RepeatableReads read it fresh.
      assert.equal(runs, level === 'Serializable' ? 2 : 1, level)
    }
  })

  test('reads see the transaction’s own writes and deletes; a key is read from etcd once', async () => {
    const p = fresh('stm-ryw')
    await client.put(`${p}/x`).value('old')
    await client.put(`${p}/y`).value('y')
    await client.put(`${p}/z/1`).value('z')
    let txns = 0
    const kv = client.kv
    const txn = kv.txn
    kv.txn = function (...args) {
      txns++
      return txn.apply(this, args)
    }
    try {
      const result = await client.stm({ isolation: Isolation.RepeatableReads }).transact(async (tx) => {
        const before = await tx.get(`${p}/x`).string()
        const again = await tx.get(`${p}/x`).string()
        await tx.put(`${p}/x`).value('new')
        const after = await tx.get(`${p}/x`).string()
        await tx.delete().key(`${p}/y`)
        const deleted = await tx.get(`${p}/y`).string()
        await tx.delete().prefix(`${p}/z/`)
        const inRange = await tx.get(`${p}/z/1`).exists()
        return { before, again, after, deleted, inRange }
      })
      assert.deepEqual(result, { before: 'old', again: 'old', after: 'new', deleted: null, inRange: false })
    } finally {
      delete kv.txn
    }
    assert.equal(txns, 2) // one read of x, then the commit
    assert.deepEqual(await client.getAll().prefix(`${p}/`).strings(), { [`${p}/x`]: 'new' })
  })

  test('prefetch, namespaces, fn errors and unsupported options', async () => {
    const p = fresh('stm-misc')
    const ns = client.namespace(`${p}/`)
    await ns.put('a').value('1')
    await ns.put('b').value('2')
    const sum = await ns.stm({ prefetch: ['a', 'b'] }).transact(async (tx) => {
      const [a, b] = await Promise.all([tx.get('a').number(), tx.get('b').number()])
      await tx.put('sum').value(String(a + b))
      return a + b
    })
    assert.equal(sum, 3)
    assert.equal(await client.get(`${p}/sum`).string(), '3')

    await assert.rejects(
      client.stm().transact(async (tx) => {
        await tx.put(`${p}/never`).value('x')
        throw new Error('changed my mind')
      }),
      { message: 'changed my mind' },
    )
    assert.equal(await client.get(`${p}/never`).string(), null)

    await assert.rejects(
      client.stm().transact((tx) => tx.get(`${p}/a`).revision(1).string()),
      { code: 'ETCD3_STM_UNSUPPORTED', message: '"revision" is not supported in read requests within STM transactions' },
    )
    await assert.rejects(
      client.stm().transact(async (tx) => {
        await tx.get(`${p}/a`).string()
        await tx.delete().prefix(`${p}/`)
      }),
      { code: 'ETCD3_STM_UNSUPPORTED', message: 'You cannot delete ranges in the SerializableSnapshot isolation level' },
    )
    await assert.rejects(client.stm({ isolation: 7 }).transact(() => {}), { code: 'ERR_INVALID_ARG_VALUE' })
    assert.throws(() => client.stm().get('k'), { code: 'ETCD3_STM_UNSUPPORTED' })
  })
})

describe('close()', () => {
  test('ends waits, campaigns and observers: pending acquires reject, the process exits by itself', { timeout: 30_000 }, async () => {
    const name = fresh('exit')
    const child = nodeChild(`
      const { Etcd3 } = require('./lib/v3/etcd3.js')
      const c = new Etcd3({ hosts: process.env.ETCD_HOSTS.split(',') })
      const name = ${JSON.stringify(name)}
      ;(async () => {
        await c.lock(name).acquire()
        const waiting = c.lock(name).acquire({ wait: true, timeout: 60000 }).then(() => 'acquired', (e) => e.code)
        const election = c.election(name + '-e', 30)
        await election.campaign('a').wait()
        election.campaign('b')
        const observer = await election.observe()
        await c.stm().transact((tx) => tx.get(name).string())
        await new Promise((resolve) => setTimeout(resolve, 200))
        c.close()
        console.log('waiting: ' + (await waiting))
      })().catch((e) => { console.error(e); process.exit(3) })
    `)
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    const { code, signal } = await child.exited
    clearTimeout(timer)
    assert.deepEqual({ code, signal, out: child.out.trim() }, { code: 0, signal: null, out: 'waiting: ETCD3_CLIENT_CLOSED' }, child.err)
  })
})

describe('differential: etcd3@1.1.2 and ours, each against itself', () => {
  const libs = { etcd3: ref, ours: v3 }
  const open = (which) => {
    const c = new libs[which].Etcd3({ hosts: etcd.endpoints })
    if (which === 'ours') extraClients.push(c)
    return c
  }

  test('lock: fail-fast error class and message, do() result, leaseId', async () => {
    const seen = {}
    for (const which of ['etcd3', 'ours']) {
      const a = open(which)
      const b = open(which)
      try {
        const name = fresh(`diff-lock-${which}`)
        const lock = await a.lock(name).acquire()
        const leaseId = await lock.leaseId()
        const err = await b.lock(name).acquire().then(
          () => null,
          (e) => e,
        )
        await lock.release()
        const value = await b.lock(name).do(() => 'done')
        seen[which] = { leaseIdType: typeof leaseId, error: err && [err.constructor.name, err.message.replace(name, '<name>')], value }
      } finally {
        if (which === 'etcd3') {
          a.close()
          b.close()
        }
      }
    }
    assert.deepEqual(seen.ours, seen.etcd3)
    assert.deepEqual(seen.ours, { leaseIdType: 'string', error: ['EtcdLockFailedError', 'Failed to acquire a lock on <name>'], value: 'done' })
  })

  test('election: who is elected and when, leader values, NotCampaigningError after resign', async () => {
    const seen = {}
    for (const which of ['etcd3', 'ours']) {
      const a = open(which)
      const b = open(which)
      try {
        const name = fresh(`diff-elect-${which}`)
        const log = []
        const first = a.election(name, 5).campaign('one')
        first.on('elected', () => log.push('one elected'))
        await first.wait()
        const second = b.election(name, 5).campaign('two')
        second.on('elected', () => log.push('two elected'))
        await sleep(200)
        log.push(`leader ${await a.election(name).leader()}`)
        await first.proclaim('one-b')
        log.push(`leader ${await b.election(name).leader()}`)
        await first.resign()
        await second.wait()
        log.push(`leader ${await a.election(name).leader()}`)
        const err = await first.proclaim('x').then(
          () => null,
          (e) => e.constructor.name,
        )
        log.push(err)
        await second.resign()
        log.push(`leader ${await a.election(name).leader()}`)
        seen[which] = log
      } finally {
        if (which === 'etcd3') {
          a.close()
          b.close()
        }
      }
    }
    assert.deepEqual(seen.ours, seen.etcd3)
    assert.deepEqual(seen.ours, ['one elected', 'leader one', 'leader one-b', 'two elected', 'leader two', 'NotCampaigningError', 'leader undefined'])
  })

  test('stm: same results for increments (every level) and transfers (where etcd3 is right)', async () => {
    const seen = {}
    for (const which of ['etcd3', 'ours']) {
      const c = open(which)
      try {
        const p = fresh(`diff-stm-${which}`)
        const log = []
        for (const level of [0, 1, 2, 3]) {
          await c.put(`${p}/n`).value('5')
          log.push(await c.stm({ isolation: level }).transact(async (tx) => {
            const n = await tx.get(`${p}/n`).number()
            await tx.put(`${p}/n`).value(String(n * 2))
            return n
          }))
          log.push(await c.get(`${p}/n`).string())
        }
        // etcd3's SerializableSnapshot is left out here: see the next test.
        for (const level of [1, 2, 3]) {
          await c.put(`${p}/a`).value('100')
          await c.put(`${p}/b`).value('0')
          log.push(await c.stm({ isolation: level }).transact(async (tx) => {
            const [a, b] = await Promise.all([tx.get(`${p}/a`).number(), tx.get(`${p}/b`).number()])
            await tx.put(`${p}/a`).value(String(a - 30))
            await tx.put(`${p}/b`).value(String(b + 30))
            return a + b
          }))
          log.push(await c.getAll().prefix(`${p}/`).strings().then((all) => [all[`${p}/a`], all[`${p}/b`]]))
        }
        const runs = []
        const err = await c
          .stm({ isolation: 1, retries: 0 })
          .transact(async (tx) => {
            runs.push(await tx.get(`${p}/n`).string())
            await c.put(`${p}/n`).value('outside')
            await tx.put(`${p}/n`).value('inside')
          })
          .then(
            () => null,
            (e) => [e.constructor.name, e.message],
          )
        log.push(err, runs.length, await c.get(`${p}/n`).string())
        seen[which] = log
      } finally {
        if (which === 'etcd3') c.close()
      }
    }
    assert.deepEqual(seen.ours, seen.etcd3)
    assert.deepEqual(seen.ours.slice(-3), [['STMConflictError', 'A conflict occurred executing the software transaction'], 1, 'outside'])
  })

  test("stm: etcd3's SerializableSnapshot conflicts on keys last written at different revisions; ours commits", async () => {
    const outcome = {}
    for (const which of ['etcd3', 'ours']) {
      const c = open(which)
      try {
        const p = fresh(`diff-stm-ss-${which}`)
        await c.put(`${p}/a`).value('100')
        await c.put(`${p}/b`).value('0') // a later revision than a's
        outcome[which] = await c
          .stm({ isolation: 0, retries: 2 })
          .transact(async (tx) => {
            const [a, b] = await Promise.all([tx.get(`${p}/a`).number(), tx.get(`${p}/b`).number()])
            await tx.put(`${p}/a`).value(String(a - 30))
            await tx.put(`${p}/b`).value(String(b + 30))
          })
          .then(
            () => 'committed',
            (e) => e.constructor.name,
          )
      } finally {
        if (which === 'etcd3') c.close()
      }
    }
    assert.deepEqual(outcome, { etcd3: 'STMConflictError', ours: 'committed' })
  })
})
