'use strict'
// What the other v2 clients offer and node-etcd never did: key helpers, the members API, stats,
// per-endpoint health and versions, the v2 auth API, watchUntil and endpoint discovery. Every
// method follows the class's conventions: callback -> token, no callback -> thenable token,
// `{synchronous: true}` or the *Sync twin -> {err, body, headers}.
const { keyPath, formBody, describe } = require('./encode')
const { httpStatusError, invalidArg, AbortError } = require('./errors')
const { normalizeHost } = require('./hosts')

/** The result transform for APIs whose failures are HTTP statuses with `{"message": …}` bodies. */
function statusChecked(pick) {
  return (r) => {
    if (r.err !== null) return r
    if (r.status >= 300) return { ...r, err: httpStatusError(r.status, r.body), body: '' }
    return { ...r, body: pick === undefined ? r.body : pick(r.body) }
  }
}

const jsonSpec = (pick) => Object.freeze({ noQuery: true, json: true, transform: statusChecked(pick) })

function jsonBody(value) {
  return JSON.stringify(value)
}

function requireString(v, name) {
  if (typeof v !== 'string' || v === '') throw invalidArg(`The "${name}" argument must be a non-empty string, got ${describe(v)}`, 'ERR_INVALID_ARG_TYPE')
  return v
}

function requireUrls(v, name) {
  const list = typeof v === 'string' ? [v] : v
  if (!Array.isArray(list) || list.length === 0 || !list.every((u) => typeof u === 'string' && u !== '')) {
    throw invalidArg(`The "${name}" argument must be a URL string or a non-empty array of them`, 'ERR_INVALID_ARG_TYPE')
  }
  return list
}

function args(options, callback) {
  if (typeof options === 'function') return [{}, options]
  if (options === undefined || options === null || typeof options !== 'object') return [{}, callback]
  return [options, callback]
}

/** `(err, body)` from a sync result or a promise, for the fan-out helpers. */
function settle(promise, callback) {
  if (callback === undefined) return promise
  promise.then(
    (body) => callback(null, body),
    (err) => callback(err),
  )
  return undefined
}

/** Installs the methods on the Etcd class. */
function install(Etcd) {
  const P = Etcd.prototype

  // --- key helpers ------------------------------------------------------------------------------

  /** Whether a key or directory exists: `true`/`false` as the body (a missing key is not an error). */
  P.exists = function exists(key, options, callback) {
    ;[options, callback] = args(options, callback)
    return this._call('GET', keyPath(key), options, null, null, callback, EXISTS)
  }

  /** Create-only: fails with 105 (ETCD_KEY_EXISTS) if the key exists (`prevExist=false`). */
  P.insert = function insert(key, value, options, callback) {
    ;[options, callback] = args(options, callback)
    return this._call('PUT', keyPath(key), options, [['prevExist', false]], formBody(value), callback)
  }

  /** Update-only: fails with 100 (ETCD_KEY_NOT_FOUND) if the key is missing; keeps createdIndex (`prevExist=true`). */
  P.update = function update(key, value, options, callback) {
    ;[options, callback] = args(options, callback)
    return this._call('PUT', keyPath(key), options, [['prevExist', true]], formBody(value), callback)
  }

  /** Create-only directory (`dir=true&prevExist=false`), e.g. `{ttl: 60}`. */
  P.insertDir = function insertDir(dir, options, callback) {
    ;[options, callback] = args(options, callback)
    return this._call('PUT', keyPath(dir), options, [['dir', true], ['prevExist', false]], null, callback)
  }

  /**
   * Update-only directory, typically to change its TTL (`dir=true&prevExist=true`). etcd 3.5 has a
   * regression here (etcd-io/etcd#13589): it answers error 300; 3.4 works.
   */
  P.updateDir = function updateDir(dir, options, callback) {
    ;[options, callback] = args(options, callback)
    return this._call('PUT', keyPath(dir), options, [['dir', true], ['prevExist', true]], null, callback)
  }

  /** Resets a key's TTL without changing its value or notifying watchers (`refresh=true`, no value). */
  P.refresh = function refresh(key, ttl, options, callback) {
    ;[options, callback] = args(options, callback)
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0) throw invalidArg(`The "ttl" argument must be a non-negative integer, got ${describe(ttl)}`)
    return this._call('PUT', keyPath(key), options, [['ttl', ttl], ['refresh', true], ['prevExist', true]], null, callback)
  }

  // --- members ----------------------------------------------------------------------------------

  /** The cluster's members: `[{id, name, peerURLs, clientURLs}]`. */
  P.members = function members(options, callback) {
    ;[options, callback] = args(options, callback)
    return this._call('GET', '/v2/members', options, null, null, callback, MEMBERS)
  }

  /** Adds a member by its peer URLs; the body is the new member (`id`, `peerURLs`; no name until it starts). */
  P.addMember = function addMember(peerURLs, options, callback) {
    ;[options, callback] = args(options, callback)
    const body = jsonBody({ peerURLs: requireUrls(peerURLs, 'peerURLs') })
    return this._call('POST', '/v2/members', options, null, body, callback, JSON_PLAIN)
  }

  /** Changes a member's peer URLs. */
  P.updateMember = function updateMember(id, peerURLs, options, callback) {
    ;[options, callback] = args(options, callback)
    const body = jsonBody({ peerURLs: requireUrls(peerURLs, 'peerURLs') })
    return this._call('PUT', `/v2/members/${encodeURIComponent(requireString(id, 'id'))}`, options, null, body, callback, JSON_PLAIN)
  }

  /** Removes a member by its hex id. */
  P.removeMember = function removeMember(id, options, callback) {
    ;[options, callback] = args(options, callback)
    return this._call('DELETE', `/v2/members/${encodeURIComponent(requireString(id, 'id'))}`, options, null, null, callback, JSON_PLAIN)
  }

  /**
   * The current leader as a member object (`{id, name, peerURLs, clientURLs}`). node-etcd's
   * `leader()` asks `/v2/leader`, which etcd 2+ does not have; this asks `/v2/members/leader`.
   */
  P.currentLeader = function currentLeader(options, callback) {
    ;[options, callback] = args(options, callback)
    return this._call('GET', '/v2/members/leader', options, null, null, callback, JSON_PLAIN)
  }

  /** The v2 store's operation counters (`/v2/stats/store`). */
  P.storeStats = function storeStats(options, callback) {
    return this._info('/v2/stats/store', options, callback)
  }

  // --- per endpoint -----------------------------------------------------------------------------

  /**
   * Asks every endpoint on its own (no failover): `[{endpoint, ok, body?, error?}]`. Returns a
   * Promise, or calls `callback(err, results)`; `*Sync` twins return the array.
   */
  function perEndpoint(self, path, options, callback, pick) {
    const hosts = self.getHosts()
    const spec = (i) => ({ noQuery: true, hostIndex: i, transform: statusChecked() })
    if (options.synchronous === true) {
      return hosts.map((endpoint, i) => pick(endpoint, self._call('GET', path, { synchronous: true, signal: options.signal }, null, null, undefined, spec(i))))
    }
    const all = Promise.all(
      hosts.map((endpoint, i) =>
        self._call('GET', path, { signal: options.signal }, null, null, undefined, spec(i)).then(
          (body) => pick(endpoint, { err: null, body }),
          (err) => pick(endpoint, { err, body: undefined }),
        ),
      ),
    )
    return settle(all, callback)
  }

  /** Health of every endpoint: `[{endpoint, health: boolean, reason?, error?}]` (`/health`). */
  P.health = function health(options, callback) {
    ;[options, callback] = args(options, callback)
    return perEndpoint(this, '/health', options, callback, (endpoint, r) => {
      if (r.err !== null) {
        // An unhealthy member answers 503 with a body saying why; as a status >= 500 it arrives as
        // the attempt's failure.
        const attempt = Array.isArray(r.err.errors) ? r.err.errors[r.err.errors.length - 1] : undefined
        const body = attempt && attempt.httpbody
        if (body && typeof body === 'object' && 'health' in body) return healthEntry(endpoint, body)
        return { endpoint, health: false, error: r.err }
      }
      return healthEntry(endpoint, r.body || {})
    })
  }

  /** Server and cluster version of every endpoint: `[{endpoint, server, cluster, error?}]` (`/version`). */
  P.versions = function versions(options, callback) {
    ;[options, callback] = args(options, callback)
    return perEndpoint(this, '/version', options, callback, (endpoint, r) => {
      if (r.err !== null) return { endpoint, server: undefined, cluster: undefined, error: r.err }
      return { endpoint, server: r.body.etcdserver, cluster: r.body.etcdcluster }
    })
  }

  P.healthSync = function healthSync(options) {
    return this.health({ ...(options || {}), synchronous: true })
  }

  P.versionsSync = function versionsSync(options) {
    return this.versions({ ...(options || {}), synchronous: true })
  }

  // --- v2 auth ----------------------------------------------------------------------------------

  /** `{enabled: boolean}` */
  P.authStatus = function authStatus(options, callback) {
    ;[options, callback] = args(options, callback)
    return this._call('GET', '/v2/auth/enable', options, null, null, callback, JSON_PLAIN)
  }

  /** Enables auth (a `root` user must exist). */
  P.enableAuth = function enableAuth(options, callback) {
    ;[options, callback] = args(options, callback)
    return this._call('PUT', '/v2/auth/enable', options, null, null, callback, JSON_PLAIN)
  }

  P.disableAuth = function disableAuth(options, callback) {
    ;[options, callback] = args(options, callback)
    return this._call('DELETE', '/v2/auth/enable', options, null, null, callback, JSON_PLAIN)
  }

  /** Every user with its roles expanded: `[{user, roles: [{role, permissions}]}]`. */
  P.users = function users(options, callback) {
    ;[options, callback] = args(options, callback)
    return this._call('GET', '/v2/auth/users', options, null, null, callback, USERS)
  }

  P.getUser = function getUser(name, options, callback) {
    ;[options, callback] = args(options, callback)
    return this._call('GET', userPath(name), options, null, null, callback, JSON_PLAIN)
  }

  /** Creates a user (`roles` optional). */
  P.createUser = function createUser(name, password, roles, options, callback) {
    if (typeof roles === 'function' || (roles !== null && typeof roles === 'object' && !Array.isArray(roles))) {
      ;[options, callback] = [roles, options]
      roles = undefined
    }
    ;[options, callback] = args(options, callback)
    const user = { user: requireString(name, 'name'), password: requireString(password, 'password') }
    if (roles !== undefined && roles !== null) user.roles = roleList(roles)
    return this._call('PUT', userPath(name), options, null, jsonBody(user), callback, JSON_PLAIN)
  }

  P.changePassword = function changePassword(name, password, options, callback) {
    ;[options, callback] = args(options, callback)
    const body = jsonBody({ user: requireString(name, 'name'), password: requireString(password, 'password') })
    return this._call('PUT', userPath(name), options, null, body, callback, JSON_PLAIN)
  }

  P.grantUserRoles = function grantUserRoles(name, roles, options, callback) {
    ;[options, callback] = args(options, callback)
    const body = jsonBody({ user: requireString(name, 'name'), grant: roleList(roles) })
    return this._call('PUT', userPath(name), options, null, body, callback, JSON_PLAIN)
  }

  P.revokeUserRoles = function revokeUserRoles(name, roles, options, callback) {
    ;[options, callback] = args(options, callback)
    const body = jsonBody({ user: requireString(name, 'name'), revoke: roleList(roles) })
    return this._call('PUT', userPath(name), options, null, body, callback, JSON_PLAIN)
  }

  P.deleteUser = function deleteUser(name, options, callback) {
    ;[options, callback] = args(options, callback)
    return this._call('DELETE', userPath(name), options, null, null, callback, JSON_PLAIN)
  }

  /** Every role: `[{role, permissions: {kv: {read: [], write: []}}}]`. */
  P.roles = function roles(options, callback) {
    ;[options, callback] = args(options, callback)
    return this._call('GET', '/v2/auth/roles', options, null, null, callback, ROLES)
  }

  P.getRole = function getRole(name, options, callback) {
    ;[options, callback] = args(options, callback)
    return this._call('GET', rolePath(name), options, null, null, callback, JSON_PLAIN)
  }

  /**
   * Creates a role with key permissions: `{read: ['/app/*'], write: ['/app/*']}` (a pattern is a
   * key, or a prefix ending in `*`).
   */
  P.createRole = function createRole(name, permissions, options, callback) {
    ;[options, callback] = args(options, callback)
    const body = jsonBody({ role: requireString(name, 'name'), permissions: { kv: kvPermissions(permissions) } })
    return this._call('PUT', rolePath(name), options, null, body, callback, JSON_PLAIN)
  }

  P.grantRole = function grantRole(name, permissions, options, callback) {
    ;[options, callback] = args(options, callback)
    const body = jsonBody({ role: requireString(name, 'name'), grant: { kv: kvPermissions(permissions) } })
    return this._call('PUT', rolePath(name), options, null, body, callback, JSON_PLAIN)
  }

  P.revokeRole = function revokeRole(name, permissions, options, callback) {
    ;[options, callback] = args(options, callback)
    const body = jsonBody({ role: requireString(name, 'name'), revoke: { kv: kvPermissions(permissions) } })
    return this._call('PUT', rolePath(name), options, null, body, callback, JSON_PLAIN)
  }

  P.deleteRole = function deleteRole(name, options, callback) {
    ;[options, callback] = args(options, callback)
    return this._call('DELETE', rolePath(name), options, null, null, callback, JSON_PLAIN)
  }

  // --- watching -----------------------------------------------------------------------------------

  /**
   * Resolves with the first change body that `predicate(body, headers)` accepts (Etcd.jl's
   * watchloop). Options: the watcher's (`recursive`, …) plus `index` (start index) and `signal`.
   */
  P.watchUntil = function watchUntil(key, predicate, options = {}) {
    if (typeof predicate !== 'function') throw invalidArg('The "predicate" argument must be a function', 'ERR_INVALID_ARG_TYPE')
    const { index = null, signal, ...watchOptions } = options || {}
    if (signal && signal.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }))
    return new Promise((resolve, reject) => {
      const watcher = this.watcher(key, index, watchOptions)
      const finish = (fn, value) => {
        if (signal) signal.removeEventListener('abort', onAbort)
        watcher.removeListener('change', onChange)
        watcher.removeListener('error', onError)
        if (!watcher.stopped) watcher.stop()
        fn(value)
      }
      const onAbort = () => finish(reject, new AbortError(undefined, { cause: signal.reason }))
      const onError = () => {} // unexpected responses: keep watching (the watcher retries)
      const onChange = (body, headers) => {
        let accepted
        try {
          accepted = predicate(body, headers)
        } catch (err) {
          finish(reject, err)
          return
        }
        if (accepted) finish(resolve, body)
      }
      watcher.on('change', onChange)
      watcher.on('error', onError)
      if (signal) signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  // --- endpoint discovery -------------------------------------------------------------------------

  /**
   * Refreshes the host list from the members API (the members' client URLs), as Go clientv3's
   * Sync. Resolves with the new list; the list is kept when the answer has no client URLs.
   */
  P.sync = async function sync() {
    const members = await this.members()
    const urls = []
    for (const m of members) for (const u of m.clientURLs || []) urls.push(normalizeHost(u))
    if (urls.length === 0) return this.getHosts()
    const next = [...new Set(urls)]
    const current = this.getHosts()
    const same = next.length === current.length && next.every((u) => current.includes(u))
    if (!same) {
      this._native.setHosts(next)
      this.hosts = next
    }
    return this.getHosts()
  }

  /** Starts (or with 0 stops) refreshing the host list every `intervalMs`; errors keep the old list. */
  P.autoSync = function autoSync(intervalMs) {
    if (this._autoSync) clearInterval(this._autoSync)
    this._autoSync = null
    if (!intervalMs) return
    if (typeof intervalMs !== 'number' || !(intervalMs > 0)) throw invalidArg('autoSync interval must be a positive number of milliseconds')
    this._autoSync = setInterval(() => this.sync().catch(() => {}), intervalMs)
    // discovery never keeps a process alive on its own
    this._autoSync.unref()
  }

  // --- cluster information from headers -----------------------------------------------------------

  /** `{etcdIndex, raftIndex, raftTerm, clusterId}` from a response's headers (any calling convention). */
  Etcd.clusterInfo = function clusterInfo(headers) {
    if (!headers || typeof headers !== 'object') return undefined
    const num = (name) => (headers[name] === undefined ? undefined : Number(headers[name]))
    return { etcdIndex: num('x-etcd-index'), raftIndex: num('x-raft-index'), raftTerm: num('x-raft-term'), clusterId: headers['x-etcd-cluster-id'] }
  }
  P.clusterInfo = Etcd.clusterInfo

  // sync twins of the new calls
  for (const name of ['exists', 'insert', 'update', 'insertDir', 'updateDir', 'members', 'currentLeader', 'storeStats', 'authStatus', 'users', 'roles']) {
    const method = P[name]
    const arity = method.length - 2 // the fixed arguments before (options, callback)
    P[`${name}Sync`] = function (...a) {
      const fixed = a.slice(0, arity)
      const options = a[arity]
      return method.call(this, ...fixed, { ...(options && typeof options === 'object' ? options : {}), synchronous: true })
    }
  }
}

const EXISTS = Object.freeze({
  transform: (r) => {
    if (r.err === null) return { ...r, body: true }
    if (r.err.errorCode === 100) return { ...r, err: null, body: false }
    return r
  },
})
const JSON_PLAIN = jsonSpec()
const MEMBERS = jsonSpec((b) => (b && Array.isArray(b.members) ? b.members : []))
const USERS = jsonSpec((b) => (b && Array.isArray(b.users) ? b.users : []))
const ROLES = jsonSpec((b) => (b && Array.isArray(b.roles) ? b.roles : []))

function healthEntry(endpoint, body) {
  const entry = { endpoint, health: body.health === 'true' || body.health === true }
  if (body.reason) entry.reason = body.reason
  return entry
}

function userPath(name) {
  return `/v2/auth/users/${encodeURIComponent(requireString(name, 'name'))}`
}

function rolePath(name) {
  return `/v2/auth/roles/${encodeURIComponent(requireString(name, 'name'))}`
}

function roleList(roles) {
  const list = typeof roles === 'string' ? [roles] : roles
  if (!Array.isArray(list) || !list.every((r) => typeof r === 'string')) throw invalidArg('roles must be a role name or an array of them', 'ERR_INVALID_ARG_TYPE')
  return list
}

function kvPermissions(p) {
  if (p === null || typeof p !== 'object') throw invalidArg('permissions must be {read: [...], write: [...]}', 'ERR_INVALID_ARG_TYPE')
  const list = (v, name) => {
    if (v === undefined) return []
    const l = typeof v === 'string' ? [v] : v
    if (!Array.isArray(l) || !l.every((x) => typeof x === 'string')) throw invalidArg(`permissions.${name} must be a key pattern or an array of them`, 'ERR_INVALID_ARG_TYPE')
    return l
  }
  return { read: list(p.read, 'read'), write: list(p.write, 'write') }
}

module.exports = { install }
