'use strict'
// `npm run example`: starts a throw-away etcd (installing etcd 3.5.1 first if it is found nowhere,
// as `npm test` does), runs the v2 and v3 quick starts against it, stops it.
// With ETCD_HOSTS=http://127.0.0.1:2379 it uses that etcd instead (started with --enable-v2=true).
const { withEtcd } = require('./etcd-server')

const QUICK_STARTS = ['v2-callbacks', 'v2-promises', 'v2-sync', 'v2-watcher', 'v3-quickstart']

withEtcd(async (hosts) => {
  console.log(`etcd at ${hosts.join(', ')}`)
  for (const name of QUICK_STARTS) {
    console.log(`\n# ${name}`)
    await require(`./${name}`)(hosts)
  }
  console.log('\nquick start done')
}).catch((err) => {
  console.error(err)
  process.exitCode = 1
})
