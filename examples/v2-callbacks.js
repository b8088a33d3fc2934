'use strict'
// The v2 API with callbacks, exactly as node-etcd users write it: `(err, body, headers)`.
// Run: node examples/v2-callbacks.js   (ETCD_HOSTS=http://127.0.0.1:2379 to use your own etcd)
const Etcd = require('etcd-napi') // was: require('node-etcd')
const { runExample } = require('./etcd-server')

const dir = 'examples/v2-callbacks'

function main(hosts) {
  const etcd = new Etcd(hosts)
  return new Promise((resolve, reject) => {
    const fail = (err) => {
      etcd.close()
      reject(err)
    }

    // Start from a clean directory, so the example can run again against the same etcd.
    etcd.rmdir(dir, { recursive: true }, () => setAnswer())

    function setAnswer() {
      etcd.set(`${dir}/answer`, '42', (err, body, headers) => {
        if (err) return fail(err)
        console.log(`set ${body.node.key} = ${body.node.value} (etcd index ${headers['x-etcd-index']})`)
        getAnswer()
      })
    }

    function getAnswer() {
      etcd.get(`${dir}/answer`, (err, body) => {
        if (err) return fail(err)
        console.log(`get ${body.node.key} = ${body.node.value}`)
        getMissing()
      })
    }

    function getMissing() {
      // etcd's own errors arrive as (err, '', headers), with node-etcd's fields plus a stable `code`.
      etcd.get(`${dir}/missing`, (err) => {
        console.log(`get a missing key: ${err.message} (errorCode ${err.errorCode}, code ${err.code})`)
        swap()
      })
    }

    function swap() {
      etcd.compareAndSwap(`${dir}/answer`, '43', '42', (err, body) => {
        if (err) return fail(err)
        console.log(`compareAndSwap: ${body.prevNode.value} -> ${body.node.value}`)
        swapAgain()
      })
    }

    function swapAgain() {
      etcd.compareAndSwap(`${dir}/answer`, '44', '42', (err) => {
        console.log(`compareAndSwap with a stale value: ${err.message} (errorCode ${err.errorCode})`)
        queue()
      })
    }

    function queue() {
      // create() POSTs: etcd names the key (an in-order queue entry).
      etcd.mkdir(`${dir}/jobs`, { ttl: 60 }, (err) => {
        if (err) return fail(err)
        etcd.create(`${dir}/jobs`, 'job 1', (err, body) => {
          if (err) return fail(err)
          console.log(`create queued ${body.node.value} as ${body.node.key}`)
          list()
        })
      })
    }

    function list() {
      etcd.get(dir, { recursive: true, sorted: true }, (err, body) => {
        if (err) return fail(err)
        const names = body.node.nodes.map((n) => n.key.slice(body.node.key.length + 1) + (n.dir ? '/' : ''))
        console.log(`listing ${body.node.key}: ${names.join(', ')}`)
        cleanUp()
      })
    }

    function cleanUp() {
      etcd.rmdir(dir, { recursive: true }, (err) => {
        if (err) return fail(err)
        console.log('removed the example directory')
        etcd.close()
        resolve()
      })
    }
  })
}

module.exports = main
if (require.main === module) runExample(main)
