'use strict'
// The v3 API (etcd3-compatible `Etcd3`): keys, transactions, leases, watches and namespaces.
// Run: node examples/v3-quickstart.js   (ETCD_HOSTS=http://127.0.0.1:2379 to use your own etcd)
const { Etcd3 } = require('etcd-napi') // or: require('etcd-napi/v3'), shaped like require('etcd3')
const { once } = require('node:events')
const { runExample } = require('./etcd-server')

const prefix = 'examples/v3-quickstart/'

async function main(hosts) {
  const client = new Etcd3({ hosts })
  try {
    const app = client.namespace(prefix) // every key below gets the prefix; answers come without it
    await app.delete().all() // a clean start

    // Keys: builders you can await, with terminals for the form you want.
    await app.put('config/answer').value('42')
    await app.put('config/name').value('etcd-napi')
    await app.put('config/limits').value(JSON.stringify({ rps: 100 }))
    console.log(`answer = ${await app.get('config/answer').string()} (as a number: ${await app.get('config/answer').number()})`)
    console.log(`limits.rps = ${(await app.get('config/limits').json()).rps}`)
    console.log(`missing key = ${await app.get('config/missing').string()}`)
    const config = await app.getAll().prefix('config/').strings()
    console.log(`config: ${Object.keys(config).sort().join(', ')}`)
    console.log(`count under config/: ${await app.getAll().prefix('config/').count()}`)

    // Transactions: compare, then run one branch atomically.
    const txn = await app
      .if('config/answer', 'Value', '==', '42')
      .then(app.put('config/answer').value('43'))
      .else(app.get('config/answer'))
      .commit()
    console.log(`txn succeeded: ${txn.succeeded}; answer = ${await app.get('config/answer').string()}`)
    const again = await app.if('config/answer', 'Value', '==', '42').then(app.put('config/answer').value('44')).commit()
    console.log(`the same txn again succeeded: ${again.succeeded}`)

    // Leases: granted on first use and kept alive until revoked; their keys go with them.
    const lease = app.lease(10)
    lease.on('lost', (err) => console.log(`lease lost: ${err.message}`))
    await lease.put('workers/w1').value('up')
    const leaseId = await lease.grant()
    console.log(`lease ${leaseId} has ${await lease.ttl()} s left; workers: ${(await app.getAll().prefix('workers/').keys()).join(', ')}`)
    await lease.revoke()
    console.log(`after revoke, workers: [${(await app.getAll().prefix('workers/').keys()).join(', ')}]`)

    // Watches: create() resolves once etcd confirmed the watch, so no later change is missed.
    const watcher = await app.watch().prefix('jobs/').withPreviousKV().create()
    const events = []
    watcher.on('put', (kv, previous) => events.push(`put ${kv.key} = ${kv.value}${previous ? ` (was ${previous.value})` : ''}`))
    watcher.on('delete', (kv) => events.push(`delete ${kv.key}`))
    await app.put('jobs/1').value('queued')
    await app.put('jobs/1').value('done')
    await app.delete().key('jobs/1')
    const deadline = AbortSignal.timeout(5000)
    while (events.length < 3) await once(watcher, 'data', { signal: deadline })
    console.log(`watch events: ${events.join('; ')}`)
    await watcher.cancel()

    // The same watch as an async iterable: `break` cancels it.
    const jobs = await app.watch().key('jobs/2').create()
    const writer = app.put('jobs/2').value('queued').then(() => app.delete().key('jobs/2'))
    for await (const event of jobs) {
      console.log(`iterated ${event.type} ${event.kv.key}`)
      if (event.type === 'Delete') break
    }
    await writer

    await app.delete().all()
    console.log(`removed the example keys; left under ${prefix}: ${await app.getAll().count()}`)
  } finally {
    client.close()
  }
}

module.exports = main
if (require.main === module) runExample(main)
