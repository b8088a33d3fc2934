'use strict'
// `Etcd3`: etcd3 1.1.2's client class on the native engine, plus everything etcd3's entry point exports.
const builders = require('./builders')
const { Lease, LeaseState } = require('./lease')
const { WatchBuilder, Watcher, operationNames } = require('./watch')
const { CallPool, Namespace, KVClient, LeaseClient, WatchClient, ClusterClient, MaintenanceClient, AuthClient } = require('./namespace')
const { Lock } = require('./lock')
const { Election, Campaign, ElectionObserver } = require('./election')
const { SoftwareTransaction, Isolation } = require('./stm')
const { Mirror } = require('./mirror')

const { Range, toBuffer } = builders

function defaultRpcFactory(options) {
  // Loaded on first use: the engine binding is optional for code that only injects a factory (tests).
  const { Rpc } = require('./rpc')
  return new Rpc(options)
}

// etcd3 rejects these at construction; so do we, with its messages.
function checkOptions(options) {
  const { hosts = '127.0.0.1:2379' } = options
  const list = typeof hosts === 'string' ? [hosts] : hosts
  if (!Array.isArray(list) || list.length === 0) {
    throw new Error('Cannot construct an etcd client with no hosts specified')
  }
  if (!options.credentials) {
    const secure = list.filter((h) => String(h).startsWith('https:')).length
    if (secure > 0 && secure < list.length) {
      throw new Error('etcd3 cannot be configured with a mix of secure and insecure hosts')
    }
  }
}

function permissionRange(req) {
  if (Object.prototype.hasOwnProperty.call(req, 'key')) return new Range(toBuffer(req.key))
  return req.range
}

/** A role in etcd's RBAC. `permission` is 'Read' | 'Write' | 'Readwrite'. */
class Role {
  constructor(client, name) {
    this.client = client
    this.name = name
  }

  create(options) {
    return this.client.roleAdd({ name: this.name }, options).then(() => this)
  }

  delete(options) {
    return this.client.roleDelete({ role: this.name }, options).then(() => this)
  }

  grant(req, options) {
    if (Array.isArray(req)) return Promise.all(req.map((r) => this.grant(r, options))).then(() => this)
    const range = permissionRange(req)
    return this.client
      .roleGrantPermission({ name: this.name, perm: { permType: req.permission, key: range.start, range_end: range.end } }, options)
      .then(() => this)
  }

  // etcd3 1.1.2 grants (!) each permission when given an array here, and drops the options; we revoke.
  revoke(req, options) {
    if (Array.isArray(req)) return Promise.all(req.map((r) => this.revoke(r, options))).then(() => this)
    const range = permissionRange(req)
    return this.client.roleRevokePermission({ role: this.name, key: range.start, range_end: range.end }, options).then(() => this)
  }

  permissions(options) {
    return this.client.roleGet({ role: this.name }, options).then((res) =>
      res.perm.map((perm) => ({ permission: perm.permType, range: new Range(perm.key, perm.range_end) })),
    )
  }

  addUser(user, options) {
    const name = user instanceof User ? user.name : user
    return this.client.userGrantRole({ user: name, role: this.name }, options).then(() => this)
  }

  removeUser(user, options) {
    const name = user instanceof User ? user.name : user
    return this.client.userRevokeRole({ name, role: this.name }, options).then(() => this)
  }
}

/** A user in etcd's RBAC. */
class User {
  constructor(client, name) {
    this.client = client
    this.name = name
  }

  create(password, options) {
    return this.client.userAdd({ name: this.name, password }, options).then(() => this)
  }

  setPassword(password, options) {
    return this.client.userChangePassword({ name: this.name, password }, options).then(() => this)
  }

  delete(options) {
    return this.client.userDelete({ name: this.name }, options).then(() => this)
  }

  roles(options) {
    return this.client.userGet({ name: this.name }, options).then((res) => res.roles.map((role) => new Role(this.client, role)))
  }

  addRole(role, options) {
    const name = role instanceof Role ? role.name : role
    return this.client.userGrantRole({ user: this.name, role: name }, options).then(() => this)
  }

  removeRole(role, options) {
    const name = role instanceof Role ? role.name : role
    return this.client.userRevokeRole({ name: this.name, role: name }, options).then(() => this)
  }
}

/**
 * The etcd v3 client, etcd3-compatible: `new Etcd3({ hosts, credentials, auth, defaultCallOptions,
 * dialTimeout, faultHandling })`. `grpcOptions` and `faultHandling.host` are accepted and ignored (the
 * engine owns channels and per-member failover); `faultHandling.global`, when given, wraps every call.
 * The second argument is for tests and wiring: `{ rpcFactory(options) }` builds the engine.
 */
class Etcd3 extends Namespace {
  constructor(options = { hosts: '127.0.0.1:2379' }, { rpcFactory = defaultRpcFactory } = {}) {
    checkOptions(options)
    const rpc = rpcFactory(options)
    super(Buffer.from([]), new CallPool(rpc, options), options)
    this.auth = new AuthClient(this.pool)
    this.maintenance = new MaintenanceClient(this.pool)
    this.cluster = new ClusterClient(this.pool)
  }

  getRoles(options) {
    return this.auth.roleList(options).then((res) => res.roles.map((role) => new Role(this.auth, role)))
  }

  role(name) {
    return new Role(this.auth, name)
  }

  getUsers(options) {
    return this.auth.userList(options).then((res) => res.users.map((user) => new User(this.auth, user)))
  }

  user(name) {
    return new User(this.auth, name)
  }

  /** etcd3's test hook: unary calls go to `callable.exec(service, method, request)` instead of etcd. */
  mock(callable) {
    this.pool.mock(callable)
    return callable
  }

  unmock() {
    this.pool.unmock()
  }

  /** Closes the connections. Live leases emit 'lost' (ClientClosedError), watchers 'end'; later calls reject. */
  close() {
    this.pool.close()
  }
}

// Cluster, maintenance and auth administration, snapshots and mirror(): lib/v3/admin.js.
require('./admin').install(Etcd3)

// Spread `require(…)` calls and plain names: forms Node's CommonJS lexer sees, so ESM `import { … }` works.
module.exports = {
  ...require('./errors'),
  ...require('./builders'),
  Etcd3,
  Namespace,
  Lease,
  LeaseState,
  WatchBuilder,
  Watcher,
  operationNames,
  Lock,
  Election,
  Campaign,
  ElectionObserver,
  SoftwareTransaction,
  Isolation,
  Role,
  User,
  Mirror,
  KVClient,
  LeaseClient,
  WatchClient,
  ClusterClient,
  MaintenanceClient,
  AuthClient,
}
