'use strict'
// Distributed locks and leader election on the v3 API (Go clientv3's key layout, so `etcdctl lock`
// and `etcdctl elect` see the same locks and leaders).
// Run: node examples/v3-lock-election.js   (ETCD_HOSTS=http://127.0.0.1:2379 to use your own etcd)
const { Etcd3, EtcdLockFailedError } = require('etcd-napi/v3')
const { once } = require('node:events')
const { runExample } = require('./etcd-server')

const prefix = 'examples/v3-lock-election/'
const WORKERS = 3
const ROUNDS = 5

async function main(hosts) {
  // Separate clients stand for separate processes.
  const clients = Array.from({ length: WORKERS }, () => new Etcd3({ hosts }))
  const [a, b] = clients
  try {
    await a.delete().prefix(prefix)

    // 1. A read-modify-write that is only safe under a lock: every worker waits its turn.
    const counter = `${prefix}counter`
    await Promise.all(
      clients.map(async (client) => {
        for (let round = 0; round < ROUNDS; round++) {
          await client.lock(`${prefix}counter-lock`).ttl(5).do(
            async () => {
              const n = Number((await client.get(counter).string()) || 0)
              await client.put(counter).value(n + 1)
            },
            { wait: true },
          )
        }
      }),
    )
    console.log(`counter = ${await a.get(counter).number()} (${WORKERS} workers x ${ROUNDS} increments under one lock)`)

    // 2. acquire() without options keeps etcd3's contract: fail at once when someone holds the lock.
    const held = await a.lock(`${prefix}job-lock`).acquire()
    try {
      await b.lock(`${prefix}job-lock`).acquire()
    } catch (err) {
      console.log(`second acquire while held: ${err instanceof EtcdLockFailedError ? 'EtcdLockFailedError' : err.name} (code ${err.code})`)
    }
    // Waiting can be bounded; giving up leaves nothing behind in etcd.
    try {
      await b.lock(`${prefix}job-lock`).acquire({ wait: true, timeout: 300 })
    } catch (err) {
      console.log(`waiting at most 300 ms: ${err.name} (code ${err.code})`)
    }
    const waiting = b.lock(`${prefix}job-lock`).acquire({ wait: true })
    await held.release()
    const next = await waiting
    console.log('the waiting client got the lock once it was released')
    await next.release()

    // 3. Leader election: the first campaign wins; the next one waits until the leader resigns.
    const name = `${prefix}leader`
    const observer = await b.election(name).observe()
    const seen = []
    observer.on('change', (leader) => seen.push(leader))

    const first = a.election(name, 5).campaign('node-a')
    await first.wait()
    console.log(`elected: node-a; leader() says ${await a.election(name).leader()}`)

    const second = b.election(name, 5).campaign('node-b')
    const secondElected = once(second, 'elected')
    await first.proclaim('node-a (v2)') // the leader may change its value without losing leadership
    console.log(`after proclaim, leader() says ${await b.election(name).leader()}`)

    await first.resign()
    await secondElected
    console.log(`after node-a resigned, leader() says ${await a.election(name).leader()}`)
    // An observer follows by watching, so it may lag a moment behind leader().
    const deadline = AbortSignal.timeout(5000)
    while (observer.leader() !== 'node-b') await once(observer, 'change', { signal: deadline })
    await observer.cancel()
    console.log(`the observer saw: ${seen.join(' -> ')}`)
    await second.resign()

    await a.delete().prefix(prefix)
  } finally {
    for (const client of clients) client.close()
  }
}

module.exports = main
if (require.main === module) runExample(main)
