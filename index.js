'use strict'
// `require('etcd-napi')` is the node-etcd `Etcd` constructor; extras hang off it. The v3 client
// (`Etcd3` and the rest of npm etcd3's exports) loads on first use, so v2 users pay nothing for it.
const Etcd = require('./lib/etcd')
const { CancellationToken } = require('./lib/token')
const { Watcher } = require('./lib/watcher')
const { AbortError, ETCD_ERROR_CODES } = require('./lib/errors')

Etcd.Etcd = Etcd
Etcd.default = Etcd
Etcd.CancellationToken = CancellationToken
Etcd.Watcher = Watcher
Etcd.AbortError = AbortError
Etcd.ETCD_ERROR_CODES = ETCD_ERROR_CODES

let v3 = null
const loadV3 = () => (v3 === null ? (v3 = require('./lib/v3/etcd3')) : v3)
Object.defineProperty(Etcd, 'v3', { enumerable: true, get: loadV3 })
// etcd3's exports by name, except those v2 already uses (Watcher: use Etcd.v3.Watcher).
const V3_NAMES = ['Etcd3', 'Namespace', 'Lease', 'LeaseState', 'WatchBuilder', 'Role', 'User', 'isRecoverableError', 'castGrpcError', 'EtcdError']
for (const name of V3_NAMES) {
  Object.defineProperty(Etcd, name, { enumerable: true, get: () => loadV3()[name] })
}

module.exports = Etcd
