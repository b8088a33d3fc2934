'use strict'
// Where the examples find etcd: the comma-separated URLs in ETCD_HOSTS, or else a throw-away etcd
// that etcd-napi's test helper starts on free loopback ports (installing etcd 3.5.1 once if it is
// found nowhere) and stops when the example is done.
const { startEtcd } = require('etcd-napi/testing')

/** Calls `run(hosts)` with etcd's client URLs and resolves with its result. */
async function withEtcd(run) {
  const given = (process.env.ETCD_HOSTS || '').split(',').map((h) => h.trim()).filter(Boolean)
  if (given.length > 0) return run(given)
  const server = await startEtcd()
  try {
    return await run(server.endpoints)
  } finally {
    await server.stop()
  }
}

/** For `node examples/<name>.js`: runs `main` against etcd; a failure prints it and sets exit code 1. */
function runExample(main) {
  withEtcd(main).catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
}

module.exports = { withEtcd, runExample }
