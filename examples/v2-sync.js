'use strict'
// The v2 API's blocking calls: `*Sync` methods (or `{ synchronous: true }` on any method) return
// `{ err, body, headers }`. They block the JS thread until etcd answers, so nothing else runs
// meanwhile: meant for scripts and start-up code, not for servers.
// Run: node examples/v2-sync.js   (ETCD_HOSTS=http://127.0.0.1:2379 to use your own etcd)
const Etcd = require('etcd-napi')
const { runExample } = require('./etcd-server')

const dir = 'examples/v2-sync'

function main(hosts) {
  const etcd = new Etcd(hosts, { syncTimeout: 10000 }) // upper bound of one sync call, in ms
  try {
    etcd.rmdirSync(dir, { recursive: true }) // a clean start; an error result just means it was not there

    const set = etcd.setSync(`${dir}/answer`, '42', { ttl: 60 })
    if (set.err) throw set.err
    console.log(`setSync ${set.body.node.key} = ${set.body.node.value} (etcd index ${set.headers['x-etcd-index']})`)

    const { err, body } = etcd.getSync(`${dir}/answer`)
    if (err) throw err
    console.log(`getSync ${body.node.key} = ${body.node.value}`)

    // etcd's errors come back in `err`; nothing is thrown.
    const missing = etcd.getSync(`${dir}/missing`)
    console.log(`getSync a missing key: ${missing.err.message} (errorCode ${missing.err.errorCode}), body ${JSON.stringify(missing.body)}`)

    // Methods without a *Sync twin take { synchronous: true }.
    const swapped = etcd.compareAndSwap(`${dir}/answer`, '43', '42', { synchronous: true })
    if (swapped.err) throw swapped.err
    console.log(`compareAndSwap (synchronous) ${swapped.body.prevNode.value} -> ${swapped.body.node.value}`)

    const made = etcd.mkdirSync(`${dir}/jobs`)
    if (made.err) throw made.err
    const queued = etcd.create(`${dir}/jobs`, 'job 1', { synchronous: true })
    if (queued.err) throw queued.err
    console.log(`create (synchronous) queued ${queued.body.node.value}`)

    // The thread really blocks: a timer that is due cannot run until the call returns.
    let timerRan = false
    setImmediate(() => (timerRan = true))
    etcd.getSync(`${dir}/answer`)
    console.log(`a timer ran during the sync call: ${timerRan}`)

    const removed = etcd.rmdirSync(dir, { recursive: true })
    if (removed.err) throw removed.err
    console.log('removed the example directory')
  } finally {
    etcd.close()
  }
}

module.exports = main
if (require.main === module) runExample(main)
