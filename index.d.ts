// Types for etcd-napi: node-etcd 7's v2 API, with Promises, AbortSignal and native sync calls.
// Hand-written: the calling conventions live in the JS facade; `binding.d.ts` (generated) types
// the native layer underneath.
import { EventEmitter } from 'node:events'
import type * as V3 from './v3'

declare class Etcd {
  /**
   * @param hosts default '127.0.0.1:2379'; `host:port`, `http(s)://…`, `user:pass@host:port`, or an array
   * @param options client options, or a port number (the pre-5.0 `(host, port)` form)
   */
  constructor(hosts?: string | string[] | null, options?: Etcd.Options | number)

  /** The normalised host list. */
  hosts: string[]
  getHosts(): string[]
  /** Stops this client's watchers, aborts its pending calls, closes its connections; later calls throw ERR_CLIENT_CLOSED. */
  close(): void

  set(key: Etcd.Key, value: Etcd.Value, options: Etcd.SyncCallOptions): Etcd.SyncResult<Etcd.Response>
  set(key: Etcd.Key, value: Etcd.Value, callback: Etcd.Callback<Etcd.Response>): Etcd.CancellationToken
  set(key: Etcd.Key, value: Etcd.Value, options: Etcd.CallOptions | undefined | null, callback: Etcd.Callback<Etcd.Response>): Etcd.CancellationToken
  set(key: Etcd.Key, value: Etcd.Value, options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Response>

  get(key: Etcd.Key, options: Etcd.SyncCallOptions): Etcd.SyncResult<Etcd.Response>
  get(key: Etcd.Key, callback: Etcd.Callback<Etcd.Response>): Etcd.CancellationToken
  get(key: Etcd.Key, options: Etcd.CallOptions | undefined | null, callback: Etcd.Callback<Etcd.Response>): Etcd.CancellationToken
  get(key: Etcd.Key, options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Response>

  create(dir: Etcd.Key, value: Etcd.Value, options: Etcd.SyncCallOptions): Etcd.SyncResult<Etcd.Response>
  create(dir: Etcd.Key, value: Etcd.Value, callback: Etcd.Callback<Etcd.Response>): Etcd.CancellationToken
  create(dir: Etcd.Key, value: Etcd.Value, options: Etcd.CallOptions | undefined | null, callback: Etcd.Callback<Etcd.Response>): Etcd.CancellationToken
  create(dir: Etcd.Key, value: Etcd.Value, options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Response>
  post: Etcd['create']

  del(key: Etcd.Key, options: Etcd.SyncCallOptions): Etcd.SyncResult<Etcd.Response>
  del(key: Etcd.Key, callback: Etcd.Callback<Etcd.Response>): Etcd.CancellationToken
  del(key: Etcd.Key, options: Etcd.CallOptions | undefined | null, callback: Etcd.Callback<Etcd.Response>): Etcd.CancellationToken
  del(key: Etcd.Key, options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Response>
  delete: Etcd['del']

  mkdir(dir: Etcd.Key, options: Etcd.SyncCallOptions): Etcd.SyncResult<Etcd.Response>
  mkdir(dir: Etcd.Key, callback: Etcd.Callback<Etcd.Response>): Etcd.CancellationToken
  mkdir(dir: Etcd.Key, options: Etcd.CallOptions | undefined | null, callback: Etcd.Callback<Etcd.Response>): Etcd.CancellationToken
  mkdir(dir: Etcd.Key, options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Response>

  rmdir(dir: Etcd.Key, options: Etcd.SyncCallOptions): Etcd.SyncResult<Etcd.Response>
  rmdir(dir: Etcd.Key, callback: Etcd.Callback<Etcd.Response>): Etcd.CancellationToken
  rmdir(dir: Etcd.Key, options: Etcd.CallOptions | undefined | null, callback: Etcd.Callback<Etcd.Response>): Etcd.CancellationToken
  rmdir(dir: Etcd.Key, options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Response>

  compareAndSwap(key: Etcd.Key, value: Etcd.Value, oldValue: string, options: Etcd.SyncCallOptions): Etcd.SyncResult<Etcd.Response>
  compareAndSwap(key: Etcd.Key, value: Etcd.Value, oldValue: string, callback: Etcd.Callback<Etcd.Response>): Etcd.CancellationToken
  compareAndSwap(key: Etcd.Key, value: Etcd.Value, oldValue: string, options: Etcd.CallOptions | undefined | null, callback: Etcd.Callback<Etcd.Response>): Etcd.CancellationToken
  compareAndSwap(key: Etcd.Key, value: Etcd.Value, oldValue: string, options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Response>
  testAndSet: Etcd['compareAndSwap']

  compareAndDelete(key: Etcd.Key, oldValue: string, options: Etcd.SyncCallOptions): Etcd.SyncResult<Etcd.Response>
  compareAndDelete(key: Etcd.Key, oldValue: string, callback: Etcd.Callback<Etcd.Response>): Etcd.CancellationToken
  compareAndDelete(key: Etcd.Key, oldValue: string, options: Etcd.CallOptions | undefined | null, callback: Etcd.Callback<Etcd.Response>): Etcd.CancellationToken
  compareAndDelete(key: Etcd.Key, oldValue: string, options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Response>
  testAndDelete: Etcd['compareAndDelete']

  /** One long-poll (`wait=true`). */
  watch(key: Etcd.Key, options: Etcd.SyncCallOptions): Etcd.SyncResult<Etcd.Response>
  watch(key: Etcd.Key, callback: Etcd.Callback<Etcd.Response>): Etcd.CancellationToken
  watch(key: Etcd.Key, options: Etcd.CallOptions | undefined | null, callback: Etcd.Callback<Etcd.Response>): Etcd.CancellationToken
  watch(key: Etcd.Key, options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Response>

  watchIndex(key: Etcd.Key, index: number, options: Etcd.SyncCallOptions): Etcd.SyncResult<Etcd.Response>
  watchIndex(key: Etcd.Key, index: number, callback: Etcd.Callback<Etcd.Response>): Etcd.CancellationToken
  watchIndex(key: Etcd.Key, index: number, options: Etcd.CallOptions | undefined | null, callback: Etcd.Callback<Etcd.Response>): Etcd.CancellationToken
  watchIndex(key: Etcd.Key, index: number, options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Response>

  /** Any method on any path relative to the host. */
  raw(method: string, path: string, value: Etcd.Value, options: Etcd.SyncCallOptions): Etcd.SyncResult
  raw(method: string, path: string, value: Etcd.Value, callback: Etcd.Callback): Etcd.CancellationToken
  raw(method: string, path: string, value: Etcd.Value, options: Etcd.CallOptions | undefined | null, callback: Etcd.Callback): Etcd.CancellationToken
  raw(method: string, path: string, value: Etcd.Value, options?: Etcd.CallOptions | null): Etcd.PendingCall

  /** A long-lived watch. `watcher(key, {recursive: true})` is read as options. */
  watcher(key: Etcd.Key, index?: number | null, options?: Etcd.CallOptions): Etcd.Watcher
  watcher(key: Etcd.Key, options: Etcd.CallOptions): Etcd.Watcher

  machines(callback: Etcd.Callback): Etcd.CancellationToken
  machines(options?: Etcd.CallOptions): Etcd.PendingCall
  leader(callback: Etcd.Callback): Etcd.CancellationToken
  leader(options?: Etcd.CallOptions): Etcd.PendingCall
  leaderStats(callback: Etcd.Callback): Etcd.CancellationToken
  leaderStats(options?: Etcd.CallOptions): Etcd.PendingCall
  selfStats(callback: Etcd.Callback): Etcd.CancellationToken
  selfStats(options?: Etcd.CallOptions): Etcd.PendingCall
  version(callback: Etcd.Callback<{ etcdserver: string; etcdcluster: string }>): Etcd.CancellationToken
  version(options?: Etcd.CallOptions): Etcd.PendingCall<{ etcdserver: string; etcdcluster: string }>

  // --- beyond node-etcd (see README "the rest of the v2 API") ---
  exists(key: Etcd.Key, callback: Etcd.Callback<boolean>): Etcd.CancellationToken
  exists(key: Etcd.Key, options: Etcd.CallOptions | undefined | null, callback: Etcd.Callback<boolean>): Etcd.CancellationToken
  exists(key: Etcd.Key, options?: Etcd.CallOptions | null): Etcd.PendingCall<boolean>
  existsSync(key: Etcd.Key, options?: Etcd.CallOptions): Etcd.SyncResult<boolean>
  insert(key: Etcd.Key, value: Etcd.Value, callback: Etcd.Callback<Etcd.Response>): Etcd.CancellationToken
  insert(key: Etcd.Key, value: Etcd.Value, options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Response>
  insertSync(key: Etcd.Key, value: Etcd.Value, options?: Etcd.CallOptions): Etcd.SyncResult<Etcd.Response>
  update(key: Etcd.Key, value: Etcd.Value, callback: Etcd.Callback<Etcd.Response>): Etcd.CancellationToken
  update(key: Etcd.Key, value: Etcd.Value, options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Response>
  updateSync(key: Etcd.Key, value: Etcd.Value, options?: Etcd.CallOptions): Etcd.SyncResult<Etcd.Response>
  insertDir(dir: Etcd.Key, options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Response>
  insertDirSync(dir: Etcd.Key, options?: Etcd.CallOptions): Etcd.SyncResult<Etcd.Response>
  updateDir(dir: Etcd.Key, options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Response>
  updateDirSync(dir: Etcd.Key, options?: Etcd.CallOptions): Etcd.SyncResult<Etcd.Response>
  refresh(key: Etcd.Key, ttl: number, options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Response>
  members(options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Member[]>
  membersSync(options?: Etcd.CallOptions): Etcd.SyncResult<Etcd.Member[]>
  addMember(peerURLs: string | string[], options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Member>
  updateMember(id: string, peerURLs: string | string[], options?: Etcd.CallOptions | null): Etcd.PendingCall<undefined>
  removeMember(id: string, options?: Etcd.CallOptions | null): Etcd.PendingCall<undefined>
  currentLeader(options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Member>
  currentLeaderSync(options?: Etcd.CallOptions): Etcd.SyncResult<Etcd.Member>
  storeStats(options?: Etcd.CallOptions | null): Etcd.PendingCall<Record<string, number>>
  storeStatsSync(options?: Etcd.CallOptions): Etcd.SyncResult<Record<string, number>>
  health(callback: (err: Error | null, results?: Etcd.EndpointHealth[]) => void): void
  health(options?: Etcd.CallOptions): Promise<Etcd.EndpointHealth[]>
  healthSync(options?: Etcd.CallOptions): Etcd.EndpointHealth[]
  versions(callback: (err: Error | null, results?: Etcd.EndpointVersion[]) => void): void
  versions(options?: Etcd.CallOptions): Promise<Etcd.EndpointVersion[]>
  versionsSync(options?: Etcd.CallOptions): Etcd.EndpointVersion[]
  authStatus(options?: Etcd.CallOptions | null): Etcd.PendingCall<{ enabled: boolean }>
  authStatusSync(options?: Etcd.CallOptions): Etcd.SyncResult<{ enabled: boolean }>
  enableAuth(options?: Etcd.CallOptions | null): Etcd.PendingCall<undefined>
  disableAuth(options?: Etcd.CallOptions | null): Etcd.PendingCall<undefined>
  users(options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.User[]>
  usersSync(options?: Etcd.CallOptions): Etcd.SyncResult<Etcd.User[]>
  getUser(name: string, options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.User>
  createUser(name: string, password: string, roles?: string[] | null, options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.User>
  changePassword(name: string, password: string, options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.User>
  grantUserRoles(name: string, roles: string | string[], options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.User>
  revokeUserRoles(name: string, roles: string | string[], options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.User>
  deleteUser(name: string, options?: Etcd.CallOptions | null): Etcd.PendingCall<undefined>
  roles(options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Role[]>
  rolesSync(options?: Etcd.CallOptions): Etcd.SyncResult<Etcd.Role[]>
  getRole(name: string, options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Role>
  createRole(name: string, permissions: Etcd.KvPermissions, options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Role>
  grantRole(name: string, permissions: Etcd.KvPermissions, options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Role>
  revokeRole(name: string, permissions: Etcd.KvPermissions, options?: Etcd.CallOptions | null): Etcd.PendingCall<Etcd.Role>
  deleteRole(name: string, options?: Etcd.CallOptions | null): Etcd.PendingCall<undefined>
  watchUntil(key: Etcd.Key, predicate: (body: Etcd.Response, headers: Etcd.Headers) => unknown, options?: Etcd.CallOptions & { index?: number | null }): Promise<Etcd.Response>
  sync(): Promise<string[]>
  autoSync(intervalMs: number): void
  clusterInfo(headers: Etcd.Headers | undefined): Etcd.ClusterInfo | undefined
  static clusterInfo(headers: Etcd.Headers | undefined): Etcd.ClusterInfo | undefined

  setSync(key: Etcd.Key, value: Etcd.Value, options?: Etcd.CallOptions): Etcd.SyncResult<Etcd.Response>
  getSync(key: Etcd.Key, options?: Etcd.CallOptions): Etcd.SyncResult<Etcd.Response>
  delSync(key: Etcd.Key, options?: Etcd.CallOptions): Etcd.SyncResult<Etcd.Response>
  mkdirSync(dir: Etcd.Key, options?: Etcd.CallOptions): Etcd.SyncResult<Etcd.Response>
  rmdirSync(dir: Etcd.Key, options?: Etcd.CallOptions): Etcd.SyncResult<Etcd.Response>

  static Etcd: typeof Etcd
  static default: typeof Etcd

  // --- the v3 client: npm etcd3's exports (types in ./v3), loaded on first access ---
  /** The whole v3 module, as `require('etcd-napi/v3')`. */
  static readonly v3: typeof V3
  static readonly Etcd3: typeof V3.Etcd3
  static readonly Namespace: typeof V3.Namespace
  static readonly Lease: typeof V3.Lease
  static readonly LeaseState: typeof V3.LeaseState
  static readonly WatchBuilder: typeof V3.WatchBuilder
  /** The v3 Role class. (The type `Etcd.Role` is the v2 role record; for the class's type import `Role` from 'etcd-napi/v3'.) */
  static readonly Role: typeof V3.Role
  /** The v3 User class. (The type `Etcd.User` is the v2 user record; for the class's type import `User` from 'etcd-napi/v3'.) */
  static readonly User: typeof V3.User
  static readonly isRecoverableError: typeof V3.isRecoverableError
  static readonly castGrpcError: typeof V3.castGrpcError
  /** The v3 EtcdError class. (The type `Etcd.EtcdError` is the v2 error answer.) */
  static readonly EtcdError: typeof V3.EtcdError
}

declare namespace Etcd {
  /** A v2 node as etcd returns it. */
  interface Node {
    key?: string
    value?: string
    dir?: boolean
    expiration?: string
    ttl?: number
    nodes?: Node[]
    modifiedIndex?: number
    createdIndex?: number
  }

  /** The parsed body of a v2 keys response. */
  interface Response {
    action: 'get' | 'set' | 'create' | 'update' | 'delete' | 'expire' | 'compareAndSwap' | 'compareAndDelete'
    node: Node
    prevNode?: Node
  }

  /** Response headers: lower-cased names, string values (as Node's `IncomingMessage.headers`). */
  type Headers = Record<string, string>

  /** The body of a v2 error answer (`err.error`). */
  interface ErrorBody {
    errorCode: number
    message: string
    cause?: string
    index?: number
  }

  /** etcd's error answer (status < 500 with `errorCode`). */
  interface EtcdError extends Error {
    errorCode: number
    error: ErrorBody
    /** `ETCD_KEY_NOT_FOUND`, `ETCD_COMPARE_FAILED`, … or `ETCD_ERROR`. */
    code: string
  }

  /** One failed attempt against one server. */
  interface AttemptError {
    server: string
    /** Transport failure (`code`: ECONNREFUSED, ESOCKETTIMEDOUT, UNABLE_TO_VERIFY_LEAF_SIGNATURE, …), or null for a status >= 500. */
    httperror: (Error & { code: string; syscall?: string; address?: string; port?: number }) | null
    httpstatus: number | undefined
    httpbody: unknown
    response: { statusCode: number; headers: Headers; body: string } | undefined
    timestamp: Date
  }

  /**
   * "All servers returned error": every server and retry round failed; or `ETCD_OUTCOME_UNKNOWN`: a
   * write failed after it may have reached a server and was not sent again.
   */
  interface ClusterError extends Error {
    code: 'ETCD_ALL_SERVERS_FAILED' | 'ETCD_OUTCOME_UNKNOWN'
    errors: AttemptError[]
    retries: number
  }

  /** An awaited call that was aborted (`token.abort()` or the `signal`). */
  interface AbortError extends Error {
    name: 'AbortError'
    code: 'ABORT_ERR'
  }

  type CallError = EtcdError | ClusterError | AbortError | (Error & { code: string })

  /** node-etcd's callback: `(null, body, headers)`, `(err, '', headers)` or `(err)`. */
  type Callback<T = any> = (err: CallError | null, body?: T, headers?: Headers) => void

  /** Options of a call. Everything except `maxRetries`, `synchronous` and `signal` becomes the query string. */
  interface CallOptions {
    ttl?: number | string | null
    prevValue?: string
    prevIndex?: number
    prevExist?: boolean
    dir?: boolean
    recursive?: boolean
    sorted?: boolean
    quorum?: boolean
    wait?: boolean
    waitIndex?: number
    refresh?: boolean
    noValueOnSuccess?: boolean
    /** Leader-election retry rounds for this call (default: the constructor's, else 3). */
    maxRetries?: number
    /** Aborts the call; an awaited call then rejects with an AbortError. Never sent to etcd. */
    signal?: AbortSignal
    /** Fail over and retry this write even after it may have reached a server (node-etcd's behaviour). */
    retryWrites?: boolean
    /** Block until done and return `{err, body, headers}` (as node-etcd's `synchronous: true`). */
    synchronous?: boolean
    [param: string]: unknown
  }

  interface SyncCallOptions extends CallOptions {
    synchronous: true
  }

  /** The result of a sync call. */
  interface SyncResult<T = any> {
    err: CallError | null
    body: T | '' | undefined
    headers: Headers | undefined
  }

  /** A value etcd stores: strings, numbers and booleans as text, Buffers as their bytes; null sends no value. */
  type Value = string | number | boolean | bigint | Buffer | Uint8Array | null | undefined

  /** A key: a string (one leading `/` is ignored) or a number. */
  type Key = string | number

  /** Returned by every async call made with a callback. */
  class CancellationToken {
    /** This call's servers, in the order it tries them. */
    servers: string[]
    maxRetries: number
    /** Filled in when the call ends. */
    retries: number
    /** Filled in when the call ends: every failed attempt, also when a later server succeeded. */
    errors: AttemptError[]
    aborted: boolean
    req: { abort(): void }
    /** Cancels the call: the request is closed, no retry continues and no callback fires. */
    abort(): void
    cancel(): void
    isAborted(): boolean
    wasAborted(): boolean
  }

  /** Returned by every async call made without a callback: a token you can also await. */
  interface PendingCall<T = any> extends CancellationToken, PromiseLike<T> {
    /** The response headers, once the call has settled. */
    headers: Headers | undefined
    then<R1 = T, R2 = never>(onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null, onrejected?: ((reason: CallError) => R2 | PromiseLike<R2>) | null): Promise<R1 | R2>
    catch<R = never>(onrejected?: ((reason: CallError) => R | PromiseLike<R>) | null): Promise<T | R>
    finally(onfinally?: (() => void) | null): Promise<T>
  }

  interface TlsOptions {
    ca?: string | Buffer | Array<string | Buffer>
    cert?: string | Buffer
    key?: string | Buffer
    passphrase?: string
    /** PKCS#12 bundle of the client certificate and key. */
    pfx?: string | Buffer
    /** False: do not verify the server certificate. */
    rejectUnauthorized?: boolean
  }

  interface Options extends TlsOptions {
    /** Per-attempt idle timeout in ms (connect, and each read of the response). */
    timeout?: number
    /** Same as `rejectUnauthorized`. */
    strictSSL?: boolean
    /** node-etcd users passed TLS material here. */
    agentOptions?: TlsOptions
    auth?: { user: string; pass: string } | { username: string; password: string }
    /** A proxy URL, or false to ignore HTTP_PROXY/HTTPS_PROXY. */
    proxy?: string | false
    headers?: Record<string, string | number | Array<string | number>>
    /** Default leader-election retry rounds for calls (default 3). */
    maxRetries?: number
    /** Retry writes like reads, as node-etcd did (default false: only when never sent). */
    retryWrites?: boolean
    /** Upper bound of a sync call in ms (default 60000). */
    syncTimeout?: number
    /** Refresh the host list from the members API every this many ms. */
    autoSyncInterval?: number
  }

  type WatcherAction = 'set' | 'update' | 'create' | 'delete' | 'expire' | 'compareAndSwap' | 'compareAndDelete'

  /** `reconnect` payload: a failed poll ("Connection error, reconnecting.") or a long-poll end ("Etcd timed out watcher, reconnecting."). */
  interface ReconnectError extends Error {
    code: 'ETCD_WATCH_RECONNECT' | 'ETCD_WATCH_TIMEOUT'
    /** The underlying error (connection errors). */
    error?: ClusterError | EtcdError
    /** The backoff counter when it happened (connection errors). */
    reconnectCount?: number
    /** The response headers (long-poll end). */
    headers?: Headers
  }

  interface UnexpectedResponseError extends Error {
    code: 'ETCD_UNEXPECTED_RESPONSE'
    response: unknown
  }

  interface WatcherEvents {
    change: [body: Response, headers: Headers]
    set: [body: Response, headers: Headers]
    update: [body: Response, headers: Headers]
    create: [body: Response, headers: Headers]
    delete: [body: Response, headers: Headers]
    expire: [body: Response, headers: Headers]
    compareAndSwap: [body: Response, headers: Headers]
    compareAndDelete: [body: Response, headers: Headers]
    reconnect: [err: ReconnectError]
    resync: [err: EtcdError]
    error: [err: UnexpectedResponseError]
    stop: [message: string]
  }

  /** A long-lived watch: node-etcd's EventEmitter, also an async iterable of change bodies. */
  class Watcher extends EventEmitter implements AsyncIterable<Response> {
    readonly etcd: Etcd
    readonly key: Key
    /** The index the next poll asks for (null until one is known). */
    index: number | null
    options: CallOptions
    stopped: boolean
    retryAttempts: number
    on<E extends keyof WatcherEvents>(event: E, listener: (...args: WatcherEvents[E]) => void): this
    on(event: string | symbol, listener: (...args: any[]) => void): this
    once<E extends keyof WatcherEvents>(event: E, listener: (...args: WatcherEvents[E]) => void): this
    once(event: string | symbol, listener: (...args: any[]) => void): this
    /** Stops at once: no request follows; emits `stop`. */
    stop(): boolean
    /** Let the process exit while this watcher runs. */
    unref(): this
    ref(): this
    [Symbol.asyncIterator](): AsyncIterator<Response>
  }

  interface Member {
    id: string
    name: string
    peerURLs: string[]
    clientURLs: string[]
  }

  interface EndpointHealth {
    endpoint: string
    health: boolean
    reason?: string
    error?: Error
  }

  interface EndpointVersion {
    endpoint: string
    server: string | undefined
    cluster: string | undefined
    error?: Error
  }

  interface KvPermissions {
    read?: string | string[]
    write?: string | string[]
  }

  interface Role {
    role: string
    permissions: { kv: { read: string[]; write: string[] } }
  }

  interface User {
    user: string
    roles?: Array<string | Role>
  }

  interface ClusterInfo {
    etcdIndex: number | undefined
    raftIndex: number | undefined
    raftTerm: number | undefined
    clusterId: string | undefined
  }

  /** Error codes by etcd error number. */
  const ETCD_ERROR_CODES: Readonly<Record<number, string>>
  const AbortError: { new (message?: string, options?: { cause?: unknown }): AbortError }
}

export = Etcd
