'use strict'
// A long-lived v2 watch: node-etcd's Watcher events, and the same watcher as an async iterable.
// Run: node examples/v2-watcher.js   (ETCD_HOSTS=http://127.0.0.1:2379 to use your own etcd)
const Etcd = require('etcd-napi')
const { once } = require('node:events')
const { runExample } = require('./etcd-server')

const dir = 'examples/v2-watcher'

async function main(hosts) {
  const etcd = new Etcd(hosts)
  try {
    await etcd.rmdir(dir, { recursive: true }).catch(() => {}) // a clean start, if it was there
    const created = await etcd.mkdir(dir)
    // Watching from the index after the directory's creation sees every later change, even one
    // made before the watcher's first request reaches etcd.
    const from = created.node.modifiedIndex + 1

    // 1. Events: 'change' for everything, plus one event named after each action.
    const watcher = etcd.watcher(dir, from, { recursive: true })
    const seen = []
    watcher.on('change', (body) => seen.push(`${body.action} ${body.node.key.slice(dir.length + 2)}`))
    watcher.on('delete', (body) => console.log(`'delete' event for ${body.node.key}`))
    watcher.on('reconnect', (err) => console.log(`reconnecting: ${err.message}`))
    await etcd.set(`${dir}/a`, '1')
    await etcd.set(`${dir}/a`, '2')
    await etcd.del(`${dir}/a`)
    await waitFor(() => seen.length >= 3, 5000, 'three change events')
    const stopped = once(watcher, 'stop')
    watcher.stop() // closes the long-poll at once; no request follows
    const [message] = await stopped
    console.log(`changes: ${seen.join(', ')}`)
    console.log(`stopped: ${message}`)

    // 2. for await: each change body in order; `break` stops the watcher.
    const writes = (async () => {
      await etcd.set(`${dir}/jobs/1`, 'queued')
      await etcd.set(`${dir}/jobs/1`, 'done')
      await etcd.del(`${dir}/jobs/1`)
    })()
    const jobs = etcd.watcher(`${dir}/jobs`, watcher.index, { recursive: true })
    for await (const body of jobs) {
      console.log(`job ${body.action}${body.node.value === undefined ? '' : ` = ${body.node.value}`}`)
      if (body.action === 'delete') break
    }
    await writes
    console.log(`the loop stopped the watcher: ${jobs.stopped}`)
  } finally {
    etcd.close() // also stops any watcher still running
  }
}

/** Polls `condition` every 10 ms; rejects after `ms`. */
async function waitFor(condition, ms, what) {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

module.exports = main
if (require.main === module) runExample(main)
