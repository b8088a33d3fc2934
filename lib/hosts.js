'use strict'
// Host list normalisation: node-etcd 7's results for every well-formed input, without its
// parsing bugs (`httpbin:2379`, `HTTP://…`, untrimmed strings).
const { invalidArg } = require('./errors')

const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i
const DEFAULT_HOST = '127.0.0.1:2379'

function normalizeHost(host, port) {
  if (typeof host !== 'string') throw invalidArg(`each host must be a string, got ${typeof host}`, 'ERR_INVALID_ARG_TYPE')
  let text = host.trim()
  if (!HAS_SCHEME.test(text)) text = 'http://' + text
  let url
  try {
    url = new URL(text)
  } catch {
    throw invalidArg(`invalid etcd host ${JSON.stringify(host)}`, 'ERR_INVALID_URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidArg(`unsupported protocol in etcd host ${JSON.stringify(host)} (use http:// or https://)`, 'ERR_INVALID_URL')
  }
  if (!url.hostname) throw invalidArg(`etcd host ${JSON.stringify(host)} has no host name`, 'ERR_INVALID_URL')
  if (port !== undefined) url.port = String(port)
  const href = url.href
  return href.endsWith('/') ? href.slice(0, -1) : href
}

/**
 * `new Etcd(hosts, options)`; also the pre-5.0 `new Etcd(host, port)` form, which node-etcd 7
 * silently misread as port 80.
 */
function normalizeHosts(hosts, maybePort) {
  if (hosts === undefined || hosts === null) hosts = DEFAULT_HOST
  let legacyPort
  if (typeof maybePort === 'number' || typeof maybePort === 'string') {
    legacyPort = Number(maybePort)
    if (!Number.isInteger(legacyPort) || legacyPort < 1 || legacyPort > 65535 || (typeof maybePort === 'string' && !/^\d+$/.test(maybePort))) {
      throw invalidArg(`The port of new Etcd(host, port) must be an integer from 1 to 65535, got ${JSON.stringify(maybePort)}`)
    }
  }
  if (typeof hosts === 'string') return [normalizeHost(hosts, legacyPort)]
  if (Array.isArray(hosts)) return hosts.map((h) => normalizeHost(h))
  throw invalidArg('hosts must be a string or an array of strings', 'ERR_INVALID_ARG_TYPE')
}

module.exports = { normalizeHosts, normalizeHost }
