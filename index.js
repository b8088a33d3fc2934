'use strict'
// `require('etcd-napi')` is the node-etcd `Etcd` constructor; extras hang off it.
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

module.exports = Etcd
