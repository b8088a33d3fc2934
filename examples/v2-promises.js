'use strict'
// The v2 API with async/await: every call made without a callback can be awaited.
// Run: node examples/v2-promises.js   (ETCD_HOSTS=http://127.0.0.1:2379 to use your own etcd)
const Etcd = require('etcd-napi')
const { runExample } = require('./etcd-server')

const dir = 'examples/v2-promises'

async function main(hosts) {
  const etcd = new Etcd(hosts)
  try {
    await etcd.rmdir(dir, { recursive: true }).catch(() => {}) // a clean start, if it was there

    // Awaiting a call gives the parsed body.
    const set = await etcd.set(`${dir}/config/answer`, '42', { ttl: 60 })
    console.log(`set ${set.node.key} = ${set.node.value} (ttl ${set.node.ttl})`)

    // Keep the returned token to read the response headers once it has settled.
    const call = etcd.get(`${dir}/config/answer`)
    const body = await call
    console.log(`get ${body.node.key} = ${body.node.value} (etcd index ${call.headers['x-etcd-index']})`)

    // etcd's errors reject with the same Error object a callback would get.
    try {
      await etcd.get(`${dir}/config/missing`)
    } catch (err) {
      console.log(`get a missing key rejects: ${err.message} (errorCode ${err.errorCode}, code ${err.code})`)
    }

    await Promise.all(['a', 'b', 'c'].map((name, i) => etcd.set(`${dir}/config/${name}`, String(i))))
    const listing = await etcd.get(`${dir}/config`, { recursive: true, sorted: true })
    console.log(`config keys: ${listing.node.nodes.map((n) => n.key.split('/').pop()).join(', ')}`)

    // A one-shot watch from a known index never misses the change, however fast it comes.
    const next = etcd.watchIndex(`${dir}/config/answer`, set.node.modifiedIndex + 1)
    await etcd.set(`${dir}/config/answer`, '43')
    const change = await next
    console.log(`watch saw ${change.action} ${change.node.key} = ${change.node.value}`)

    // Any call takes an AbortSignal; an aborted call rejects with an AbortError.
    try {
      await etcd.watch(`${dir}/quiet`, { signal: AbortSignal.timeout(200) })
    } catch (err) {
      console.log(`watch with a 200 ms signal: ${err.name} (code ${err.code})`)
    }

    // watchUntil: the first change a predicate accepts (here from the 'starting' write on).
    const starting = await etcd.set(`${dir}/status`, 'starting')
    const ready = etcd.watchUntil(`${dir}/status`, (b) => b.node.value === 'ready', { index: starting.node.modifiedIndex })
    await etcd.set(`${dir}/status`, 'ready')
    const accepted = await ready
    console.log(`watchUntil resolved with status = ${accepted.node.value}`)

    await etcd.rmdir(dir, { recursive: true })
    console.log('removed the example directory')
  } finally {
    etcd.close()
  }
}

module.exports = main
if (require.main === module) runExample(main)
