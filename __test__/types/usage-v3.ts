// Uses the v3 client (npm etcd3's API) as a TypeScript user would; `tsc -p __test__/types` must pass, and
// every `@ts-expect-error` line must really be an error. The first import goes through the package's
// "exports" map (a self-reference), as a user's `import … from 'etcd-napi/v3'` does.
import { Etcd3 } from 'etcd-napi/v3'
import {
  CallContext,
  CallOptions,
  ClientClosedError,
  EtcdCompactedError,
  EtcdError,
  EtcdLeaseInvalidError,
  EtcdNoLeaderError,
  EtcdPermissionDeniedError,
  ErrorCode,
  GRPCGenericError,
  GRPCOutOfRangeError,
  GRPCResourceExhaustedError,
  GRPCResourceExhastedError,
  GRPCUnavailableError,
  IDeleteRangeResponse,
  IEvent,
  IKeyValue,
  IOptions,
  IPutResponse,
  IRangeResponse,
  ITxnResponse,
  Lease,
  LeaseState,
  Namespace,
  Permission,
  RecoverableError,
  Role,
  SortTarget,
  User,
  Watcher,
  castGrpcError,
  isRecoverableError,
} from '../../v3'
import * as v3 from '../../v3'
import Etcd = require('../..')
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel'

// ---- etcd3's README quickstart, unchanged except for the import above ----
const client = new Etcd3();

(async () => {
  await client.put('foo').value('bar');

  const fooValue = await client.get('foo').string();
  console.log('foo was:', fooValue);

  const allFValues = await client.getAll().prefix('f').keys();
  console.log('all our keys starting with "f":', allFValues);

  await client.delete().all();
})();

// ---- the rest of the API ----
async function main(): Promise<void> {
  const etcd = new Etcd3({
    hosts: ['https://10.0.0.1:2379', 'https://10.0.0.2:2379'],
    credentials: { rootCertificate: Buffer.from('ca'), certChain: Buffer.from('cert'), privateKey: Buffer.from('key') },
    auth: { username: 'root', password: 'pw' },
    dialTimeout: 5000,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + 10_000 }),
    faultHandling: { global: retry(handleWhen(isRecoverableError), { maxAttempts: 3 }), watchBackoff: new ExponentialBackoff() },
    grpcOptions: { 'grpc.http2.max_ping_strikes': 3 },
  })
  new Etcd3({ hosts: '127.0.0.1:2379', defaultCallOptions: { deadline: new Date(Date.now() + 1000) } })
  const options: IOptions = { hosts: 'localhost:2379' }
  new Etcd3(options)
  new Etcd3({
    defaultCallOptions: (context: CallContext): CallOptions => {
      if (context.service === 'KV' && context.method === 'range') return { deadline: context.params.limit === 1 ? Date.now() + 100 : Infinity }
      return {}
    },
  })

  // single key reads: awaiting gives the string value
  const value: string | null = await etcd.get('foo')
  const hex: string | null = await etcd.get('foo').string('hex')
  const num: number | null = await etcd.get('n').number()
  const buf: Buffer | null = await etcd.get(Buffer.from('foo')).buffer()
  const cfg: unknown = await etcd.get('cfg').json()
  const exists: boolean = await etcd.get('foo').exists()
  const ac = new AbortController()
  const raw: IRangeResponse = await etcd.get('foo').revision(5).serializable(true).options({ signal: ac.signal }).exec()
  const first: IKeyValue | undefined = raw.kvs[0]
  const revision: string = raw.header.revision
  const created: string | undefined = first?.create_revision

  // many keys
  const all: { [key: string]: string } = await etcd.getAll().prefix('f').limit(10).sort('Key', 'Descend')
  const keys: string[] = await etcd.getAll().prefix('f').keys()
  const count: number = await etcd.getAll().count()
  const nums: { [key: string]: number } = await etcd.getAll().inRange({ start: 'a', end: 'z' }).numbers()
  const parsed: { [key: string]: unknown } = await etcd.getAll().all().json()
  const kb: Buffer[] = await etcd.getAll().minModRevision('3').keyBuffers()

  // writes and deletes
  const put: IPutResponse = await etcd.put('foo').value('bar').options({ deadline: Date.now() + 1000 })
  const replaced: IKeyValue | null = put.prev_kv
  const prev = await etcd.put('foo').value(42).getPrevious()
  console.log(prev.header.revision, prev.value?.toString())
  await etcd.put('k').value(Buffer.from('v')).lease('7587868').ignoreLease()
  await etcd.put('k').touch()
  const del: IDeleteRangeResponse = await etcd.delete().key('foo')
  const deleted: string = del.deleted
  const gone: IKeyValue[] = await etcd.delete().prefix('f').getPrevious()
  await etcd.delete().range(etcd.range({ prefix: 'p' })).then((res) => res.header.revision)

  // transactions
  const txn: ITxnResponse = await etcd
    .if('foo', 'Value', '==', 'bar')
    .and('n', 'Version', '>', 0)
    .then(etcd.put('foo').value('baz'), etcd.get('n'))
    .else(etcd.delete().key('foo'), { request_range: { key: Buffer.from('x') } })
    .commit()
  if (txn.succeeded) {
    const op = txn.responses[1]
    if (op.response === 'response_range') console.log(op.response_range.kvs.length)
    console.log(txn.responses[0].response_put?.header.revision)
  }
  await etcd.if('a', 'Mod', '<', 10).or('b', 'Create', '==', 0).then(etcd.put('c').value('d')).options({ deadline: new Date() }).commit()

  // namespaces
  const ns: Namespace = etcd.namespace('app/')
  await ns.namespace(Buffer.from('sub/')).put('k').value('v')
  const nsKeys: string[] = await ns.getAll().keys()

  // leases
  const lease: Lease = etcd.lease(10, { autoKeepAlive: true, deadline: Date.now() + 3000 })
  lease.on('lost', (err) => console.log('lease lost:', err.message))
  lease.on('keepaliveSucceeded', (res) => console.log(res.TTL, res.header?.revision))
  lease.on('keepaliveFailed', (err) => console.log(err.message))
  lease.once('keepaliveEstablished', () => {})
  lease.on('lost', (err: EtcdError) => console.log(err.code)) // an etcd3-style annotation still fits
  const leaseId: string = await lease.grant()
  await lease.put('job').value('running')
  const refreshed = await lease.keepaliveOnce()
  const ttl: number = await lease.ttl()
  if (lease.state === LeaseState.Alive && !lease.revoked()) await lease.revoke()
  lease.release()

  // watches
  const watcher: Watcher = await etcd.watch().prefix('jobs/').withPreviousKV().only('put').startRevision('100').create({ signal: ac.signal })
  watcher.on('put', (kv, previous) => console.log(kv.key.toString(), kv.value.toString(), previous?.value.toString()))
  watcher.on('delete', (kv) => console.log(kv.mod_revision))
  watcher.on('connected', (res) => console.log(res.watch_id))
  watcher.on('data', (res) => console.log(res.events.length, res.header.revision))
  watcher.on('disconnected', (err) => console.log(err.message))
  watcher.on('error', (err) => {
    if (err instanceof EtcdCompactedError) console.log(err.compactRevision)
  })
  watcher.on('end', () => {})
  const resumeFrom: string | null = watcher.lastRevision()
  const watcherId: string | null = watcher.id
  for await (const ev of etcd.watch().key('k').watcher()) {
    const kind: 'Put' | 'Delete' = ev.type
    const before: IKeyValue | null = ev.prev_kv
    console.log(kind, ev.kv.key, before?.value)
    break
  }
  const events: IEvent[] = []
  for await (const ev of watcher) events.push(ev)
  await watcher.cancel()

  // errors
  try {
    await etcd.get('x')
  } catch (err) {
    if (err instanceof EtcdLeaseInvalidError || err instanceof EtcdPermissionDeniedError) console.log(err.code)
    if (err instanceof GRPCUnavailableError) console.log(err[RecoverableError], err.grpcCode, err.details)
    if (err instanceof GRPCGenericError) {
      const code: ErrorCode = err.code
      if (code === 'ETCD3_NO_SPACE') console.log('full')
    }
    if (err instanceof EtcdNoLeaderError) {
      const base: GRPCUnavailableError = err
      void base
    }
    if (err instanceof GRPCOutOfRangeError && err instanceof EtcdCompactedError) console.log(err.compactRevision)
    if (err instanceof ClientClosedError) return
    if (err instanceof Error && isRecoverableError(err)) console.log('retry')
  }
  const cast: Error = castGrpcError(Object.assign(new Error('14 UNAVAILABLE: etcdserver: no leader'), { code: 14 }))
  const sameClass: typeof GRPCResourceExhastedError = GRPCResourceExhaustedError

  // users and roles
  const role: Role = await etcd.role('app').create()
  await role.grant({ permission: 'Readwrite', range: etcd.range({ prefix: 'app/' }) })
  await role.grant([{ permission: 'Read', key: 'cfg' }], { deadline: Date.now() + 1000 })
  const perms = await role.permissions()
  console.log(perms[0].permission === 'Read', perms[0].range.start)
  const user: User = await etcd.user('bob').create('pw')
  await user.addRole(role)
  await user.addRole('other')
  const roles: Role[] = await user.roles()
  const users: User[] = await etcd.getUsers()
  const allRoles: Role[] = await etcd.getRoles()

  // raw clients
  const status = await etcd.maintenance.status()
  const dbSize: string = status.dbSize
  const list = await etcd.cluster.memberList({ linearizable: true })
  const memberId: string | undefined = list.members[0]?.ID
  const grant = await etcd.leaseClient.leaseGrant({ TTL: 10 })
  await etcd.kv.range({ key: Buffer.from('a'), sort_order: 'Ascend', sort_target: SortTarget.Mod, limit: 5n })
  await etcd.auth.roleGrantPermission({ name: 'r', perm: { permType: Permission.Read, key: Buffer.from('k') } })
  const hash: number = (await etcd.maintenance.hash()).hash
  const mock = etcd.mock({ exec: async () => ({ kvs: [] }) })
  etcd.unmock()

  // administration: cluster, maintenance, snapshots, auth switches, mirror
  const members: v3.IMember[] = (await etcd.memberList({ linearizable: false })).members
  const added = await etcd.memberAdd(['http://127.0.0.1:2380'], { learner: true, signal: ac.signal })
  const addedId: string = added.member.ID
  await etcd.memberUpdate(addedId, 'http://127.0.0.1:2381')
  await etcd.memberPromote(BigInt(addedId))
  await etcd.memberRemove(addedId)
  const leaderId: string = (await etcd.status('127.0.0.1:2379')).leader
  await etcd.defragment('http://127.0.0.1:2379', { deadline: Date.now() + 5000 })
  const kvHash: number = (await etcd.hashKV('127.0.0.1:2379', 42)).hash
  const alarms: v3.IAlarmMember[] = (await etcd.alarmList()).alarms
  await etcd.alarmDisarm(alarms[0])
  await etcd.alarmDisarm()
  await etcd.moveLeader(leaderId)
  const snapshot: v3.SnapshotStream = etcd.snapshot({ endpoint: '127.0.0.1:2379' })
  for await (const chunk of snapshot) void (chunk satisfies Buffer)
  const saved: { path: string; size: number } = await etcd.snapshotToFile('/tmp/backup.db', { signal: ac.signal })
  const rawSnapshot = await etcd.maintenance.snapshot()
  rawSnapshot.on('data', (m: v3.ISnapshotResponse) => console.log(m.remaining_bytes, m.blob.length))
  const authOn: boolean = (await etcd.authStatus()).enabled
  await etcd.enableAuth()
  await etcd.disableAuth()
  const mirror: v3.Mirror = etcd.mirror('app/', { pageSize: 100 })
  for await (const page of mirror.syncBase()) void (page.kvs satisfies IKeyValue[])
  for await (const batch of mirror.syncUpdates({ signal: ac.signal })) void (batch.events satisfies IEvent[])
  const resumed = etcd.mirror(Buffer.from('app/'), { revision: mirror.revision ?? '0' })
  resumed.on('revision', (batch: v3.IMirrorBatch) => console.log(batch.revision)).on('error', (err: Error) => console.log(err))
  await resumed.syncUpdates({ iterator: false }).stop()

  // locks, elections, software transactions
  const lock = etcd.lock('resource').ttl(5)
  const doubled: number = await lock.do(async () => 1)
  const held: v3.Lock = await etcd.lock('resource').acquire({ wait: true, timeout: 5000, signal: ac.signal })
  await held.tryAcquire().catch((err: unknown) => err instanceof v3.EtcdLockFailedError && !(err instanceof v3.EtcdLockTimeoutError))
  held.on('lost', (err: v3.EtcdLockLostError) => console.log(err.code))
  const lockLease: string | null = await held.leaseId()
  const isHeld: boolean = held.isHeld()
  await lock.do((l) => l.leaseId(), { wait: true })
  await held.release()
  const election = etcd.election('leader', 5)
  const campaign: v3.Campaign = election.campaign('me')
  campaign.on('elected', () => {}).on('error', (err: Error) => console.log(err.message))
  await campaign.wait()
  await campaign.proclaim(Buffer.from('me again'))
  const campaignKey: string = await campaign.getCampaignKey()
  const currentLeader: string | undefined = await election.leader()
  const leaderBytes: Buffer | undefined = await election.getLeader('buffer')
  const observer: v3.ElectionObserver = await election.observe()
  observer.on('change', (value: string | undefined) => console.log(value, observer.hasLeader, observer.leader()))
  await observer.cancel()
  await campaign.resign()
  const stmValue: string | null = await etcd.stm().transact((tx) => tx.get('k').string())
  await etcd.stm({ isolation: v3.Isolation.RepeatableReads, retries: 10, prefetch: ['k'] }).transact(async (tx) => {
    await tx.put('k').value('v')
    await tx.delete().key('old')
  })
  const conflict: boolean = new v3.STMConflictError() instanceof Error

  etcd.close()

  // the v3 names on the package root
  const viaRoot: Etcd3 = new Etcd.Etcd3({ hosts: 'h:2379' })
  const viaModule: Etcd3 = new Etcd.v3.Etcd3()
  const rootIsRecoverable: boolean = Etcd.isRecoverableError(new Error())
  const rootWatcher: typeof v3.Watcher = Etcd.v3.Watcher
  const rootError: EtcdError = new Etcd.EtcdError('x')
  const rootLeaseState: LeaseState = Etcd.LeaseState.Pending
  const rootRole: Role = new Etcd.Role(etcd.auth, 'r')

  // misuse
  // @ts-expect-error put builders have no string()
  etcd.put('k').string()
  // @ts-expect-error hosts are strings
  new Etcd3({ hosts: 2379 })
  // @ts-expect-error dialTimeout is milliseconds
  new Etcd3({ dialTimeout: '5s' })
  // @ts-expect-error no such option (that is v2's)
  new Etcd3({ timeout: 1000 })
  // @ts-expect-error certificates are Buffers or strings
  new Etcd3({ credentials: { rootCertificate: 42 } })
  // @ts-expect-error auth needs username and password
  new Etcd3({ auth: { user: 'u', pass: 'p' } })
  // @ts-expect-error deadline is a Date or a number
  etcd.get('k').options({ deadline: '1s' })
  // @ts-expect-error signal is an AbortSignal, not its controller
  etcd.get('k').options({ signal: ac })
  // @ts-expect-error no such comparison target
  etcd.if('k', 'Values', '==', 'v')
  // @ts-expect-error no such comparator
  etcd.if('k', 'Value', '=', 'v')
  // @ts-expect-error sort targets are capitalised names
  etcd.getAll().sort('key', 'Ascend')
  // @ts-expect-error a transaction is sent by commit(), not by awaiting it
  await etcd.if('k', 'Value', '==', 'v').then(etcd.put('k').value('w'))
  // @ts-expect-error no such lease event
  lease.on('expired', () => {})
  // @ts-expect-error 'lost' passes an error
  lease.on('lost', (message: string) => console.log(message))
  // @ts-expect-error watchers filter 'put' | 'delete'
  etcd.watch().only('Put')
  // @ts-expect-error 'put' listeners get key-values, not strings
  watcher.on('put', (key: string) => console.log(key))
  // @ts-expect-error revisions in answers are strings
  const numericRevision: number = raw.header.revision
  // @ts-expect-error an absent key reads as null
  const notNull: string = await etcd.get('k')
  // @ts-expect-error a lease's TTL is a number of seconds
  etcd.lease('10')
  // @ts-expect-error a Lock is made by client.lock(), not constructed
  new v3.Lock()
  // @ts-expect-error lock timeouts are milliseconds
  etcd.lock('resource').acquire({ wait: true, timeout: '5s' })
  // @ts-expect-error tryAcquire() never waits
  etcd.lock('resource').tryAcquire({ wait: true })
  // @ts-expect-error isolation levels are the Isolation enum
  etcd.stm({ isolation: 'Serializable' })
  // @ts-expect-error an observer's 'change' passes the value, not a key-value
  observer.on('change', (kv: IKeyValue) => console.log(kv.key))
  // @ts-expect-error member ids are exact: decimal strings, bigints or integers, not objects
  etcd.memberRemove({ ID: '1' })
  // @ts-expect-error status takes the endpoint first
  etcd.status({ endpoint: '127.0.0.1:2379' })
  // @ts-expect-error a snapshot is a stream, not a promise
  await etcd.snapshot().then(() => {})
  // @ts-expect-error mirror revisions in answers are strings
  const numericMirrorRevision: number = mirror.revision
  // @ts-expect-error the raw keep-alive stream is not offered
  ;(await etcd.leaseClient.leaseKeepAlive()).write({ ID: 1 })

  void [value, hex, num, buf, cfg, exists, revision, created, all, keys, count, nums, parsed, kb, replaced, deleted, gone]
  void [nsKeys, leaseId, refreshed, ttl, resumeFrom, watcherId, cast, sameClass, roles, users, allRoles, dbSize, memberId]
  void [doubled, lockLease, isHeld, campaignKey, currentLeader, leaderBytes, stmValue, conflict]
  void [grant, hash, mock, election, viaRoot, viaModule, rootIsRecoverable, rootWatcher, rootError, rootLeaseState, rootRole]
  void [numericRevision, notNull]
  void [members, kvHash, saved, authOn, numericMirrorRevision]
}
void main
