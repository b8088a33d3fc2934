// Types for `require('etcd-napi/v3')` (also `require('etcd-napi').v3`): npm etcd3 1.1.2's API running on
// etcd-napi's native engine. Hand-written from lib/v3/*.js.
//
// Conventions of the raw request/response objects (as etcd3 has them): etcd's proto field names
// (snake_case), 64-bit integers answered as decimal strings (given as number, string or bigint), bytes
// answered as Buffers, enums answered by name, message fields etcd left out answered as `null`.
import { EventEmitter } from 'node:events'

// ------------------------------------------------------------------------------------------------
// Shared shapes

/** A 64-bit integer in a request: a safe integer, a decimal string or a bigint. Answers carry strings. */
type Int64 = string | number | bigint
/** Bytes in a raw request; strings are sent as UTF-8. Answers carry Buffers. */
type Bytes = Buffer | Uint8Array | string

/**
 * Listener parameters are compared loosely (method bivariance), so a handler annotated for etcd3, such
 * as `(err: EtcdError) => …` where this API says `Error`, still fits.
 */
type Listener<A extends unknown[]> = { listener(...args: A): void }['listener']

/** Options of one call. Anything else etcd3 passed on to grpc-js has no equivalent here. */
export interface CallOptions {
  /** Aborts the call: it rejects with an AbortError (`name` 'AbortError', `code` 'ABORT_ERR'). */
  signal?: AbortSignal
  /** When the call gives up (gRPC DEADLINE_EXCEEDED): a Date or milliseconds since the epoch, as in grpc-js. */
  deadline?: Date | number
}

/** The services of etcd's v3 API, by the names etcd3 uses for them. */
export type ServiceName = 'KV' | 'Watch' | 'Lease' | 'Cluster' | 'Maintenance' | 'Auth'

/** Unary methods by service, with their request types (the `params` a call context carries). */
interface UnaryRequests {
  KV: { range: IRangeRequest; put: IPutRequest; deleteRange: IDeleteRangeRequest; txn: ITxnRequest; compact: ICompactionRequest }
  Lease: {
    leaseGrant: ILeaseGrantRequest
    leaseRevoke: ILeaseRevokeRequest
    /** One keep-alive (`lease.keepaliveOnce()`): a unary call here, where etcd3 used its stream. */
    leaseKeepAlive: ILeaseKeepAliveRequest
    leaseTimeToLive: ILeaseTimeToLiveRequest
    leaseLeases: ILeaseLeasesRequest
  }
  Cluster: {
    memberAdd: IMemberAddRequest
    memberRemove: IMemberRemoveRequest
    memberUpdate: IMemberUpdateRequest
    memberList: IMemberListRequest
    memberPromote: IMemberPromoteRequest
  }
  Maintenance: {
    alarm: IAlarmRequest
    status: IStatusRequest
    defragment: IDefragmentRequest
    hash: IHashRequest
    hashKV: IHashKVRequest
    moveLeader: IMoveLeaderRequest
    downgrade: IDowngradeRequest
  }
  Auth: {
    authEnable: IAuthEnableRequest
    authDisable: IAuthDisableRequest
    authStatus: IAuthStatusRequest
    authenticate: IAuthenticateRequest
    userAdd: IAuthUserAddRequest
    userGet: IAuthUserGetRequest
    userList: IAuthUserListRequest
    userDelete: IAuthUserDeleteRequest
    userChangePassword: IAuthUserChangePasswordRequest
    userGrantRole: IAuthUserGrantRoleRequest
    userRevokeRole: IAuthUserRevokeRoleRequest
    roleAdd: IAuthRoleAddRequest
    roleGet: IAuthRoleGetRequest
    roleList: IAuthRoleListRequest
    roleDelete: IAuthRoleDeleteRequest
    roleGrantPermission: IAuthRoleGrantPermissionRequest
    roleRevokePermission: IAuthRoleRevokePermissionRequest
  }
}

/**
 * What a `defaultCallOptions` function is told about the call it configures. Streams (watches, lease
 * keep-alives) live in the engine and never consult it, so `isStream` is always false here.
 */
export type CallContext = {
  [S in keyof UnaryRequests]: {
    [M in keyof UnaryRequests[S]]: { service: S; method: M; isStream: false; params: UnaryRequests[S][M] }
  }[keyof UnaryRequests[S]]
}[keyof UnaryRequests]

/** Default call options: fixed, or computed per call. Options given to a call are merged over them. */
export type CallOptionsFactory = CallOptions | ((context: CallContext) => CallOptions)

/** The part of a cockatiel policy the client uses: every unary call runs inside `execute` (the call ignores the policy's context). */
export interface IFaultPolicy {
  execute<T>(fn: () => PromiseLike<T> | T, signal?: AbortSignal): PromiseLike<unknown>
}

/** Options of `new Etcd3(options)`. */
export interface IOptions {
  /** etcd endpoints: `host:port` or `http(s)://host:port`, one or a list. Default '127.0.0.1:2379'. */
  hosts?: string | string[]
  /** TLS material (PEM). With it, `host:port` entries are dialled over https. */
  credentials?: {
    /** CA certificates to trust; the engine's default roots when left out. */
    rootCertificate?: Buffer | string
    /** Client key, for mutual TLS. */
    privateKey?: Buffer | string
    /** Client certificate chain, for mutual TLS. */
    certChain?: Buffer | string
  }
  /** Password authentication; the engine fetches and renews the token. */
  auth?: {
    username: string
    password: string
    /** Accepted for etcd3 compatibility; the token exchange is the engine's and does not use it. */
    callOptions?: CallOptionsFactory
  }
  /** Call options for every unary call, or a function computing them per call. */
  defaultCallOptions?: CallOptionsFactory
  /** Milliseconds to wait for a connection before failing. */
  dialTimeout?: number
  /**
   * etcd3's cockatiel policies. Only `global` is used: when given, every unary call runs through it and it
   * sees the typed errors (so `handleWhen(isRecoverableError)` works). Retries and per-member failover are
   * otherwise the engine's; `host` and `watchBackoff` are accepted and ignored.
   */
  faultHandling?: {
    global?: IFaultPolicy
    host?: (hostname: string) => unknown
    watchBackoff?: unknown
  }
  /** grpc-js channel options; accepted for etcd3 compatibility and ignored (the engine owns its channels). */
  grpcOptions?: Record<string, unknown>
}

// ------------------------------------------------------------------------------------------------
// Enums (numeric, with reverse mappings, as etcd3 exports them). Answers name the value: 'Put', 'Read', …

export declare enum SortOrder { None = 0, Ascend = 1, Descend = 2 }
export declare enum SortTarget { Key = 0, Version = 1, Create = 2, Mod = 3, Value = 4 }
export declare enum CompareResult { Equal = 0, Greater = 1, Less = 2, NotEqual = 3 }
export declare enum CompareTarget { Version = 0, Create = 1, Mod = 2, Value = 3, Lease = 4 }
export declare enum FilterType { Noput = 0, Nodelete = 1 }
export declare enum AlarmType { None = 0, Nospace = 1, Corrupt = 2 }
export declare enum AlarmAction { Get = 0, Activate = 1, Deactivate = 2 }
export declare enum DowngradeAction { Validate = 0, Enable = 1, Cancel = 2 }
export declare enum EventType { Put = 0, Delete = 1 }
export declare enum Permission { Read = 0, Write = 1, Readwrite = 2 }

// ------------------------------------------------------------------------------------------------
// Raw messages

/** Which member answered, at which store revision and raft term (all decimal strings). */
export interface IResponseHeader {
  cluster_id: string
  member_id: string
  revision: string
  raft_term: string
}

/** A stored key-value pair. */
export interface IKeyValue {
  key: Buffer
  create_revision: string
  mod_revision: string
  /** Writes since the key was (re)created; '0' for a deleted key. */
  version: string
  value: Buffer
  /** The lease id the key is attached to, '0' for none. */
  lease: string
}

/** One change seen by a watch. */
export interface IEvent {
  type: keyof typeof EventType
  kv: IKeyValue
  /** The key before this change: only with `withPreviousKV()`, and null when there was none. */
  prev_kv: IKeyValue | null
}

export interface IRangeRequest {
  key?: Bytes
  range_end?: Bytes
  limit?: Int64
  revision?: Int64
  sort_order?: SortOrder | keyof typeof SortOrder
  sort_target?: SortTarget | keyof typeof SortTarget
  serializable?: boolean
  keys_only?: boolean
  count_only?: boolean
  min_mod_revision?: Int64
  max_mod_revision?: Int64
  min_create_revision?: Int64
  max_create_revision?: Int64
}
export interface IRangeResponse {
  header: IResponseHeader
  kvs: IKeyValue[]
  more: boolean
  count: string
}

export interface IPutRequest {
  key?: Bytes
  value?: Bytes
  lease?: Int64
  prev_kv?: boolean
  ignore_value?: boolean
  ignore_lease?: boolean
}
export interface IPutResponse {
  header: IResponseHeader
  /** Only with `prev_kv: true`, and null when the key did not exist. */
  prev_kv: IKeyValue | null
}

export interface IDeleteRangeRequest {
  key?: Bytes
  range_end?: Bytes
  prev_kv?: boolean
}
export interface IDeleteRangeResponse {
  header: IResponseHeader
  deleted: string
  prev_kvs: IKeyValue[]
}

/** One operation of a transaction: set exactly one of the fields. */
export interface IRequestOp {
  request_range?: IRangeRequest
  request_put?: IPutRequest
  request_delete_range?: IDeleteRangeRequest
  request_txn?: ITxnRequest
}

/**
 * One answer of a transaction. `response` names the field that is set (the others are absent), so
 * checking it narrows: `if (op.response === 'response_range') op.response_range.kvs`.
 */
export type IResponseOp =
  | { response: 'response_range'; response_range: IRangeResponse; response_put?: undefined; response_delete_range?: undefined; response_txn?: undefined }
  | { response: 'response_put'; response_put: IPutResponse; response_range?: undefined; response_delete_range?: undefined; response_txn?: undefined }
  | { response: 'response_delete_range'; response_delete_range: IDeleteRangeResponse; response_range?: undefined; response_put?: undefined; response_txn?: undefined }
  | { response: 'response_txn'; response_txn: ITxnResponse; response_range?: undefined; response_put?: undefined; response_delete_range?: undefined }

/** A transaction condition: `target` says which of the operand fields is compared. */
export interface ICompare {
  result?: CompareResult | keyof typeof CompareResult
  target?: CompareTarget | keyof typeof CompareTarget
  key?: Bytes
  version?: Int64
  create_revision?: Int64
  mod_revision?: Int64
  value?: Bytes
  lease?: Int64
  range_end?: Bytes
}
export interface ITxnRequest {
  compare?: ICompare[]
  success?: IRequestOp[]
  failure?: IRequestOp[]
}
export interface ITxnResponse {
  header: IResponseHeader
  /** Whether the comparisons held (the `success` branch ran). */
  succeeded: boolean
  responses: IResponseOp[]
}

export interface ICompactionRequest {
  revision?: Int64
  physical?: boolean
}
export interface ICompactionResponse {
  header: IResponseHeader
}

export interface IWatchRequest {
  create_request?: IWatchCreateRequest
  cancel_request?: IWatchCancelRequest
  progress_request?: IWatchProgressRequest
}
export interface IWatchCreateRequest {
  key?: Bytes
  range_end?: Bytes
  start_revision?: Int64
  progress_notify?: boolean
  filters?: Array<FilterType | keyof typeof FilterType>
  prev_kv?: boolean
  watch_id?: Int64
  fragment?: boolean
}
export interface IWatchCancelRequest {
  watch_id?: Int64
}
export interface IWatchProgressRequest {}
export interface IWatchResponse {
  header: IResponseHeader
  watch_id: string
  created: boolean
  canceled: boolean
  compact_revision: string
  cancel_reason: string
  fragment: boolean
  events: IEvent[]
}

export interface ILeaseGrantRequest {
  /** Seconds. */
  TTL?: Int64
  /** 0 (or left out) lets etcd choose the id. */
  ID?: Int64
}
export interface ILeaseGrantResponse {
  header: IResponseHeader
  ID: string
  TTL: string
  error: string
}
export interface ILeaseRevokeRequest {
  ID?: Int64
}
export interface ILeaseRevokeResponse {
  header: IResponseHeader
}
export interface ILeaseCheckpoint {
  ID?: Int64
  remaining_TTL?: Int64
}
export interface ILeaseCheckpointRequest {
  checkpoints?: ILeaseCheckpoint[]
}
export interface ILeaseCheckpointResponse {
  header?: IResponseHeader
}
export interface ILeaseKeepAliveRequest {
  ID?: Int64
}
export interface ILeaseKeepAliveResponse {
  header: IResponseHeader
  ID: string
  /** Seconds left after the refresh; '0' or less means etcd no longer knows the lease. */
  TTL: string
}
export interface ILeaseTimeToLiveRequest {
  ID?: Int64
  /** Also list the keys attached to the lease. */
  keys?: boolean
}
export interface ILeaseTimeToLiveResponse {
  header: IResponseHeader
  ID: string
  /** Seconds left; '-1' when the lease is gone. */
  TTL: string
  grantedTTL: string
  keys: Buffer[]
}
export interface ILeaseLeasesRequest {}
export interface ILeaseStatus {
  ID: string
}
export interface ILeaseLeasesResponse {
  header: IResponseHeader
  leases: ILeaseStatus[]
}

export interface IMember {
  ID: string
  name: string
  peerURLs: string[]
  clientURLs: string[]
  isLearner: boolean
}
export interface IMemberAddRequest {
  peerURLs?: string[]
  isLearner?: boolean
}
export interface IMemberAddResponse {
  header: IResponseHeader
  member: IMember
  members: IMember[]
}
export interface IMemberRemoveRequest {
  ID?: Int64
}
export interface IMemberRemoveResponse {
  header: IResponseHeader
  members: IMember[]
}
export interface IMemberUpdateRequest {
  ID?: Int64
  peerURLs?: string[]
}
export interface IMemberUpdateResponse {
  header: IResponseHeader
  members: IMember[]
}
export interface IMemberListRequest {
  linearizable?: boolean
}
export interface IMemberListResponse {
  header: IResponseHeader
  members: IMember[]
}
export interface IMemberPromoteRequest {
  ID?: Int64
}
export interface IMemberPromoteResponse {
  header: IResponseHeader
  members: IMember[]
}

export interface IAlarmRequest {
  action?: AlarmAction | keyof typeof AlarmAction
  /** 0 for every member. */
  memberID?: Int64
  alarm?: AlarmType | keyof typeof AlarmType
}
export interface IAlarmMember {
  memberID: string
  alarm: keyof typeof AlarmType
}
export interface IAlarmResponse {
  header: IResponseHeader
  alarms: IAlarmMember[]
}
export interface IStatusRequest {}
export interface IDowngradeInfo {
  enabled: boolean
  targetVersion: string
}
export interface IStatusResponse {
  header: IResponseHeader
  version: string
  dbSize: string
  leader: string
  raftIndex: string
  raftTerm: string
  raftAppliedIndex: string
  errors: string[]
  dbSizeInUse: string
  isLearner: boolean
  /** etcd 3.6+ only. */
  storageVersion?: string
  /** etcd 3.6+ only. */
  dbSizeQuota?: string
  /** etcd 3.6+ only. */
  downgradeInfo?: IDowngradeInfo
}
export interface IDefragmentRequest {}
export interface IDefragmentResponse {
  header: IResponseHeader
}
export interface IHashRequest {}
export interface IHashResponse {
  header: IResponseHeader
  /** A uint32, so a number (not a string). */
  hash: number
}
export interface IHashKVRequest {
  revision?: Int64
}
export interface IHashKVResponse {
  header: IResponseHeader
  /** A uint32, so a number (not a string). */
  hash: number
  compact_revision: string
  /** etcd 3.6+ only. */
  hash_revision?: string
}
export interface ISnapshotRequest {}
export interface ISnapshotResponse {
  header: IResponseHeader
  remaining_bytes: string
  blob: Buffer
  /** etcd 3.6+ only. */
  version?: string
}
export interface IMoveLeaderRequest {
  targetID?: Int64
}
export interface IMoveLeaderResponse {
  header: IResponseHeader
}
export interface IDowngradeRequest {
  action?: DowngradeAction | keyof typeof DowngradeAction
  version?: string
}
export interface IDowngradeResponse {
  header: IResponseHeader
  version: string
}

export interface IUserAddOptions {
  no_password?: boolean
}
export interface IUser {
  name?: Buffer
  password?: Buffer
  roles?: string[]
  options?: IUserAddOptions
}
/** A permission as etcd answers it (`roleGet`). */
export interface IPermission {
  permType: keyof typeof Permission
  key: Buffer
  range_end: Buffer
}
export interface IRole {
  name?: Buffer
  keyPermission?: IPermission[]
}

export interface IAuthEnableRequest {}
export interface IAuthDisableRequest {}
export interface IAuthStatusRequest {}
export interface IAuthenticateRequest {
  name?: string
  password?: string
}
export interface IAuthUserAddRequest {
  name?: string
  password?: string
  options?: IUserAddOptions
  /** etcd 3.5+: a bcrypt hash sent instead of `password`. */
  hashedPassword?: string
}
export interface IAuthUserGetRequest {
  name?: string
}
export interface IAuthUserDeleteRequest {
  name?: string
}
export interface IAuthUserChangePasswordRequest {
  name?: string
  password?: string
  /** etcd 3.5+: a bcrypt hash sent instead of `password`. */
  hashedPassword?: string
}
export interface IAuthUserGrantRoleRequest {
  user?: string
  role?: string
}
export interface IAuthUserRevokeRoleRequest {
  name?: string
  role?: string
}
export interface IAuthRoleAddRequest {
  name?: string
}
export interface IAuthRoleGetRequest {
  role?: string
}
export interface IAuthUserListRequest {}
export interface IAuthRoleListRequest {}
export interface IAuthRoleDeleteRequest {
  role?: string
}
export interface IAuthRoleGrantPermissionRequest {
  name?: string
  perm?: {
    permType?: Permission | keyof typeof Permission
    key?: Bytes
    range_end?: Bytes
  }
}
export interface IAuthRoleRevokePermissionRequest {
  role?: string
  key?: Bytes
  range_end?: Bytes
}
export interface IAuthEnableResponse {
  header: IResponseHeader
}
export interface IAuthDisableResponse {
  header: IResponseHeader
}
export interface IAuthStatusResponse {
  header: IResponseHeader
  enabled: boolean
  authRevision: string
}
export interface IAuthenticateResponse {
  header: IResponseHeader
  token: string
}
export interface IAuthUserAddResponse {
  header: IResponseHeader
}
export interface IAuthUserGetResponse {
  header: IResponseHeader
  roles: string[]
}
export interface IAuthUserDeleteResponse {
  header: IResponseHeader
}
export interface IAuthUserChangePasswordResponse {
  header: IResponseHeader
}
export interface IAuthUserGrantRoleResponse {
  header: IResponseHeader
}
export interface IAuthUserRevokeRoleResponse {
  header: IResponseHeader
}
export interface IAuthRoleAddResponse {
  header: IResponseHeader
}
export interface IAuthRoleGetResponse {
  header: IResponseHeader
  perm: IPermission[]
}
export interface IAuthRoleListResponse {
  header: IResponseHeader
  roles: string[]
}
export interface IAuthUserListResponse {
  header: IResponseHeader
  users: string[]
}
export interface IAuthRoleDeleteResponse {
  header: IResponseHeader
}
export interface IAuthRoleGrantPermissionResponse {
  header: IResponseHeader
}
export interface IAuthRoleRevokePermissionResponse {
  header: IResponseHeader
}

/** etcd3's raw gRPC stream shapes. etcd-napi never hands these out (its streams live in the engine). */
export interface IResponseStream<T> {
  on(event: 'data', fn: (item: T) => void): this
  on(event: 'end', fn: () => void): this
  on(event: 'status', fn: (status: unknown) => void): this
  on(event: 'error', fn: (err: Error) => void): this
}
export interface IRequestStream<T> {
  write(item: T): void
  end(): void
  cancel(): void
}
export interface IDuplexStream<T, R> extends IRequestStream<T>, IResponseStream<R> {}

// ------------------------------------------------------------------------------------------------
// Errors. Names and hierarchy are etcd3's (its Etcd* classes extend Error, not EtcdError). Every
// instance also has a stable string `code`; errors made from an engine failure keep it as `cause`.

/** The `code` of the v3 errors: one per class, and finer ones for conditions that share a class. */
export type ErrorCode =
  | 'ETCD3_CLIENT_RUNTIME'
  | 'ETCD3_CLIENT_CLOSED'
  | 'ETCD3_GRPC_ERROR'
  | 'ETCD3_GRPC_PROTOCOL'
  | 'ETCD3_GRPC_INTERNAL'
  | 'ETCD3_GRPC_CANCELLED'
  | 'ETCD3_GRPC_UNKNOWN'
  | 'ETCD3_GRPC_INVALID_ARGUMENT'
  | 'ETCD3_GRPC_DEADLINE_EXCEEDED'
  | 'ETCD3_GRPC_NOT_FOUND'
  | 'ETCD3_GRPC_ALREADY_EXISTS'
  | 'ETCD3_GRPC_RESOURCE_EXHAUSTED'
  | 'ETCD3_GRPC_FAILED_PRECONDITION'
  | 'ETCD3_GRPC_ABORTED'
  | 'ETCD3_GRPC_UNIMPLEMENTED'
  | 'ETCD3_GRPC_OUT_OF_RANGE'
  | 'ETCD3_GRPC_DATA_LOSS'
  | 'ETCD3_GRPC_UNAVAILABLE'
  | 'ETCD3_GRPC_UNAUTHENTICATED'
  | 'ETCD3_ERROR'
  | 'ETCD3_LEASE_NOT_FOUND'
  | 'ETCD3_ROLE_EXISTS'
  | 'ETCD3_USER_EXISTS'
  | 'ETCD3_ROLE_NOT_GRANTED'
  | 'ETCD3_ROLE_NOT_FOUND'
  | 'ETCD3_USER_NOT_FOUND'
  | 'ETCD3_LOCK_FAILED'
  | 'ETCD3_AUTH_FAILED'
  | 'ETCD3_INVALID_AUTH_TOKEN'
  | 'ETCD3_PERMISSION_DENIED'
  | 'ETCD3_WATCH_STREAM_ENDED'
  | 'ETCD3_NOT_CAMPAIGNING'
  | 'ETCD3_STM_CONFLICT'
  | 'ETCD3_LOCK_TIMEOUT'
  | 'ETCD3_LOCK_LOST'
  // on plain Errors: misuse of a Lock object, options a software transaction cannot honour
  | 'ETCD3_LOCK_IN_USE'
  | 'ETCD3_STM_UNSUPPORTED'
  | 'ETCD3_NO_LEADER'
  | 'ETCD3_NOT_LEADER'
  | 'ETCD3_LEADER_CHANGED'
  | 'ETCD3_COMPACTED'
  // finer codes on InvalidArgument / Unavailable / EtcdError instances
  | 'ETCD3_FUTURE_REVISION'
  | 'ETCD3_NO_SPACE'
  | 'ETCD3_TOO_MANY_TXN_OPS'
  | 'ETCD3_DUPLICATE_KEY'
  | 'ETCD3_REQUEST_TOO_LARGE'
  | 'ETCD3_EMPTY_KEY'
  | 'ETCD3_USER_NAME_EMPTY'
  | 'ETCD3_AUTH_REVISION_OLD'
  | 'ETCD3_AUTH_NOT_ENABLED'
  | 'ETCD3_REQUEST_TIMEOUT'
  | 'ETCD3_SERVER_STOPPED'
  | 'ETCD3_UNHEALTHY_CLUSTER'
  | 'ETCD3_NOT_CAPABLE'
  // administration: a snapshot that fails etcd's sha256 (an EtcdError); syncUpdates() before a revision is known
  | 'ETCD3_SNAPSHOT_CORRUPT'
  | 'ETCD3_MIRROR_NOT_SYNCED'

/** Marks (as an own property) the errors that are worth retrying; see `isRecoverableError`. */
export declare const RecoverableError: unique symbol

/** Whether retrying may help: true for the transient gRPC failures (unavailable, deadline, …). */
export declare function isRecoverableError(error: unknown): boolean

/**
 * Turns an engine failure (an Error with a numeric gRPC `code`) into the matching typed error, as etcd3
 * does for grpc-js errors. Aborts, errors that already have a class, and non-errors come back unchanged.
 */
export declare function castGrpcError(err: Error): Error
export declare function castGrpcError<T>(err: T): T | Error

/** Turns an etcd error text (such as a watch's cancel reason) into a typed error. */
export declare function castGrpcErrorMessage(message: string): Error

/** A bug in the client, not in the caller's code or in etcd. */
export declare class ClientRuntimeError extends Error {
  constructor(message: string)
  code: ErrorCode
}
/** A call on a client after its `close()`. */
export declare class ClientClosedError extends Error {
  /** @param namespace the service the call was for ('KV', 'Lease', …) */
  constructor(namespace: string)
  code: ErrorCode
}

/** A gRPC failure with no more specific class. The other GRPC* classes extend it. */
export declare class GRPCGenericError extends Error {
  code: ErrorCode
  /** The gRPC status code, when made from an engine failure. */
  grpcCode?: number
  /** etcd's own text of the failure, when there was one. */
  details?: string
}
export declare class GRPCProtocolError extends GRPCGenericError {}
/** gRPC INTERNAL (recoverable). */
export declare class GRPCInternalError extends GRPCGenericError {
  [RecoverableError]: boolean
}
/** gRPC CANCELLED (recoverable). */
export declare class GRPCCancelledError extends GRPCGenericError {
  [RecoverableError]: boolean
}
/** gRPC UNKNOWN (recoverable). */
export declare class GRPCUnknownError extends GRPCGenericError {
  [RecoverableError]: boolean
}
/** gRPC INVALID_ARGUMENT: etcd refused the request (see `code` for the reason when known). */
export declare class GRPCInvalidArgumentError extends GRPCGenericError {}
/** gRPC DEADLINE_EXCEEDED (recoverable): the call's `deadline` passed. */
export declare class GRPCDeadlineExceededError extends GRPCGenericError {
  [RecoverableError]: boolean
}
export declare class GRPCNotFoundError extends GRPCGenericError {}
export declare class GRPCAlreadyExistsError extends GRPCGenericError {}
/** gRPC RESOURCE_EXHAUSTED (recoverable). The misspelt name is etcd3's; `GRPCResourceExhaustedError` is the same class. */
export declare class GRPCResourceExhastedError extends GRPCGenericError {
  [RecoverableError]: boolean
}
export { GRPCResourceExhastedError as GRPCResourceExhaustedError }
export declare class GRPCFailedPreconditionError extends GRPCGenericError {}
/** gRPC ABORTED (recoverable). */
export declare class GRPCAbortedError extends GRPCGenericError {
  [RecoverableError]: boolean
}
export declare class GRPCNotImplementedError extends GRPCGenericError {}
/** gRPC OUT_OF_RANGE; a read of a compacted revision is one (and also `instanceof EtcdCompactedError`). */
export declare class GRPCOutOfRangeError extends GRPCGenericError {}
export declare class GRPCDataLossError extends GRPCGenericError {}
/** gRPC UNAVAILABLE (recoverable): no member could be reached, or it could not serve. */
export declare class GRPCUnavailableError extends GRPCGenericError {
  [RecoverableError]: boolean
}
export declare class GRPCUnauthenticatedError extends GRPCGenericError {}

/** An error answered by etcd that no more specific class covers (also a watch etcd cancelled). */
export declare class EtcdError extends Error {
  code: ErrorCode
  grpcCode?: number
  details?: string
}
/** The lease is expired, revoked or unknown to etcd. */
export declare class EtcdLeaseInvalidError extends Error {
  constructor(leaseID: string)
  code: ErrorCode
  grpcCode?: number
  details?: string
}
export declare class EtcdRoleExistsError extends Error {
  code: ErrorCode
  grpcCode?: number
  details?: string
}
export declare class EtcdUserExistsError extends Error {
  code: ErrorCode
  grpcCode?: number
  details?: string
}
export declare class EtcdRoleNotGrantedError extends Error {
  code: ErrorCode
  grpcCode?: number
  details?: string
}
export declare class EtcdRoleNotFoundError extends Error {
  code: ErrorCode
  grpcCode?: number
  details?: string
}
export declare class EtcdUserNotFoundError extends Error {
  code: ErrorCode
  grpcCode?: number
  details?: string
}
/** A lock is held by someone else (fail-fast acquire), or a wait for it ended. */
export declare class EtcdLockFailedError extends Error {
  code: ErrorCode
}
/** etcd-napi's: `acquire({ wait: true, timeout })` timed out. Still an EtcdLockFailedError. */
export declare class EtcdLockTimeoutError extends EtcdLockFailedError {}
/** etcd-napi's: the lease of a held (or queued) lock expired or was revoked. */
export declare class EtcdLockLostError extends Error {
  code: ErrorCode
}
/** Wrong user name or password. */
export declare class EtcdAuthenticationFailedError extends Error {
  code: ErrorCode
  grpcCode?: number
  details?: string
}
export declare class EtcdInvalidAuthTokenError extends Error {
  code: ErrorCode
  grpcCode?: number
  details?: string
}
/** The user's roles do not allow the request (gRPC PERMISSION_DENIED). */
export declare class EtcdPermissionDeniedError extends Error {
  code: ErrorCode
  grpcCode?: number
  details?: string
}
/** A watch stream broke; the payload of a watcher's 'disconnected' event (the watch resumes). */
export declare class EtcdWatchStreamEnded extends Error {
  constructor()
  code: ErrorCode
}
/** A campaign that resigned or failed was asked to proclaim. */
export declare class NotCampaigningError extends Error {
  code: ErrorCode
}
/** A software transaction still conflicted after its retries. */
export declare class STMConflictError extends Error {
  constructor()
  code: ErrorCode
}

/** etcd-napi's: the member has no leader (`etcdserver: no leader`). Still a (recoverable) GRPCUnavailableError. */
export declare class EtcdNoLeaderError extends GRPCUnavailableError {}
/** etcd-napi's: a leader-only request reached a follower. Still a GRPCFailedPreconditionError. */
export declare class EtcdNotLeaderError extends GRPCFailedPreconditionError {}
/** etcd-napi's: the leader changed while the request was in flight. Still a (recoverable) GRPCUnavailableError. */
export declare class EtcdLeaderChangedError extends GRPCUnavailableError {}
/**
 * etcd-napi's: the revision asked for was compacted away. Comes in two forms that both pass
 * `instanceof EtcdCompactedError`: a watch cancelled by etcd (an EtcdError, as in etcd3) and a read or
 * txn (a GRPCOutOfRangeError, as in etcd3).
 */
export declare class EtcdCompactedError extends EtcdError {
  constructor(message?: string, compactRevision?: string)
  /** The oldest revision still available, when etcd said (watch cancels do; unary answers don't). */
  compactRevision: string | undefined
}

// ------------------------------------------------------------------------------------------------
// Ranges

/** Something that names keys: one key, `{ prefix }`, `{ start, end }` or a Range. */
export type Rangable = Range | string | Buffer | { start: string | Buffer; end: string | Buffer } | { prefix: string | Buffer }

/** The keys from `start` (inclusive) to `end` (exclusive). An empty `end` means just `start`; `\0` means no upper bound. */
export declare class Range {
  /** Every key beginning with `prefix` (every key at all for ''). */
  static prefix(prefix: string | Buffer): Range
  static from(v: Rangable): Range
  readonly start: Buffer
  readonly end: Buffer
  constructor(start: Buffer | string, end?: Buffer | string)
  includes(value: string | Buffer): boolean
  /** -1 when this range lies wholly before `other`, 1 when wholly after, 0 when they overlap. */
  compare(other: Range): number
}

// ------------------------------------------------------------------------------------------------
// Namespacing and builders

/** Adds a namespace's prefix to outgoing keys and removes it from answered keys. */
export declare class NSApplicator {
  /** The applicator of the root namespace (no prefix). */
  static readonly default: NSApplicator
  readonly prefix: Buffer
  constructor(prefix: Buffer)
  applyKey(buf?: Buffer): Buffer | undefined
  applyRangeEnd(buf?: Buffer): Buffer | undefined
  /** A prefixed copy of the request (the original is left as it is). */
  applyToRequest<T extends { key?: Bytes; range_end?: Bytes }>(req: T): T
  /** Throws ClientRuntimeError when `buf` does not start with the prefix. */
  unprefix(buf: Buffer): Buffer
}

/**
 * A builder you can await: awaiting it runs the request and gives its default result. Each `then` sends
 * the request again, and nothing is sent until then.
 */
export declare abstract class PromiseWrap<T> implements PromiseLike<T> {
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: any) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2>
  catch<R = never>(onrejected?: ((reason: any) => R | PromiseLike<R>) | null): Promise<T | R>
  finally(onfinally?: (() => void) | null): Promise<T>
  protected abstract createPromise(): Promise<T>
}

/** Anything that can be an operation of a transaction (`then()`/`else()`): the read, put and delete builders. */
export interface IOperation {
  op(): Promise<IRequestOp>
}

/** The comparison operators of `if()`/`and()`/`or()`. */
export declare const comparator: {
  readonly '==': CompareResult
  readonly '===': CompareResult
  readonly '>': CompareResult
  readonly '<': CompareResult
  readonly '!=': CompareResult
  readonly '!==': CompareResult
}

/** What a comparison looks at, and the ICompare field that carries its operand. */
export declare const compareTarget: {
  readonly Value: 'value'
  readonly Version: 'version'
  readonly Create: 'create_revision'
  readonly Mod: 'mod_revision'
  readonly Lease: 'lease'
}

export interface ICompareTarget {
  value: CompareTarget
  key: keyof ICompare
}

/** The options every read builder has. */
export declare abstract class RangeBuilder<T> extends PromiseWrap<T> implements IOperation {
  protected constructor(namespace: NSApplicator)
  /** Read as of this past revision. */
  revision(rev: number | string): this
  /** Let the member answer from its local state (faster; may be stale). */
  serializable(serializable: boolean): this
  minModRevision(minModRevision: number | string): this
  maxModRevision(maxModRevision: number | string): this
  minCreateRevision(minCreateRevision: number | string): this
  maxCreateRevision(maxCreateRevision: number | string): this
  /** Call options of this request, merged over the client's `defaultCallOptions`. */
  options(options: CallOptions | undefined): this
  op(): Promise<IRequestOp>
}

/** Reads one key (`client.get(key)`). Awaited: the value as a UTF-8 string, or null when the key is absent. */
export declare class SingleRangeBuilder extends RangeBuilder<string | null> {
  constructor(kv: KVClient, namespace: NSApplicator, key: string | Buffer)
  /** The value parsed as JSON; null when absent; rejects with the SyntaxError on bad JSON. */
  json(): Promise<unknown>
  string(encoding?: BufferEncoding): Promise<string | null>
  /** The value as a number (NaN when it isn't one); null when absent. */
  number(): Promise<number | null>
  buffer(): Promise<Buffer | null>
  exists(): Promise<boolean>
  /** The raw answer; keys keep the namespace prefix here. */
  exec(): Promise<IRangeResponse>
  protected createPromise(): Promise<string | null>
}

/** Reads many keys (`client.getAll()`, every key unless narrowed). Awaited: `{ key: value }` as strings. */
export declare class MultiRangeBuilder extends RangeBuilder<{ [key: string]: string }> {
  constructor(kv: KVClient, namespace: NSApplicator)
  prefix(value: string | Buffer): this
  inRange(r: Rangable): this
  all(): this
  /** At most this many keys; a non-finite count means no limit. */
  limit(count: number): this
  sort(target: keyof typeof SortTarget, order: keyof typeof SortOrder): this
  count(): Promise<number>
  keys(encoding?: BufferEncoding): Promise<string[]>
  keyBuffers(): Promise<Buffer[]>
  /** Every value parsed as JSON; rejects on the first that isn't. */
  json(): Promise<{ [key: string]: unknown }>
  strings(encoding?: BufferEncoding): Promise<{ [key: string]: string }>
  numbers(): Promise<{ [key: string]: number }>
  buffers(): Promise<{ [key: string]: Buffer }>
  /** The raw answer, with the namespace prefix removed from the keys. */
  exec(): Promise<IRangeResponse>
  protected createPromise(): Promise<{ [key: string]: string }>
}

/** Deletes a key or a range (`client.delete()`). Awaited: the raw answer (`deleted` is the count, a string). */
export declare class DeleteBuilder extends PromiseWrap<IDeleteRangeResponse> {
  constructor(kv: KVClient, namespace: NSApplicator)
  key(value: string | Buffer): this
  prefix(value: string | Buffer): this
  range(range: Rangable): this
  all(): this
  inRange(r: Rangable): this
  /** Runs the delete; resolves with the deleted pairs (keys keep the namespace prefix). */
  getPrevious(): Promise<IKeyValue[]>
  options(options: CallOptions | undefined): this
  exec(): Promise<IDeleteRangeResponse>
  op(): Promise<IRequestOp>
  protected createPromise(): Promise<IDeleteRangeResponse>
}

/** Writes a key (`client.put(key).value(v)`). Awaited: the raw answer. */
export declare class PutBuilder extends PromiseWrap<IPutResponse> {
  constructor(kv: KVClient, namespace: NSApplicator, key: string | Buffer)
  /** Numbers are stored as their decimal text. */
  value(value: string | Buffer | number): this
  /** Attach the key to a lease: its id, or a promise of it (such as `lease.grant()`). */
  lease(lease: number | string | PromiseLike<string | number>): this
  /** Keep the key's current lease. */
  ignoreLease(): this
  options(options: CallOptions | undefined): this
  /**
   * Runs the put; resolves with the pair it replaced plus the answer's header. When the key was new,
   * only `header` is there.
   */
  getPrevious(): Promise<Partial<IKeyValue> & { header: IResponseHeader }>
  /** Rewrites the key with its current value (a new revision, same value). */
  touch(): Promise<IPutResponse>
  exec(): Promise<IPutResponse>
  op(): Promise<IRequestOp>
  protected createPromise(): Promise<IPutResponse>
}

/** A comparison target: the column names of `if()`. */
type CompareColumn = keyof typeof CompareTarget
/** A comparison operator of `if()`. */
type CompareOperator = keyof typeof comparator

/**
 * A transaction (`client.if(…)`): comparisons, then the operations to run when they all hold (`then`) or
 * not (`else`), sent by `commit()`. Not awaitable: its `then` takes operations, so call `commit()`.
 */
export declare class ComparatorBuilder {
  constructor(kv: KVClient, namespace: NSApplicator)
  options(options: CallOptions | undefined): this
  /** Same as `and()`. */
  if(key: string | Buffer, column: CompareColumn, cmp: CompareOperator, value: string | Buffer | number): this
  /** Another comparison that must hold too. */
  and(key: string | Buffer, column: CompareColumn, cmp: CompareOperator, value: string | Buffer | number): this
  /**
   * etcd-napi's (etcd3 has none): starts an alternative group of comparisons; the transaction succeeds
   * when every comparison of any one group holds. Still one atomic transaction (needs etcd ≥ 3.3).
   */
  or(key: string | Buffer, column: CompareColumn, cmp: CompareOperator, value: string | Buffer | number): this
  /** The operations to run when the comparisons hold: builders (not awaited) or raw IRequestOp objects. */
  then(...clauses: Array<IRequestOp | IOperation>): this
  /** The operations to run when they don't. */
  else(...clauses: Array<IRequestOp | IOperation>): this
  /** Sends the transaction. With `or()`, the answer is that of the branch that ran. */
  commit(): Promise<ITxnResponse>
  mapOperations(ops: Array<IRequestOp | IOperation>): Array<Promise<IRequestOp>>
}

// ------------------------------------------------------------------------------------------------
// Leases

/** Where a lease is: not granted yet, granted and kept alive, or over (revoked, released or lost). */
export declare enum LeaseState { Pending = 0, Alive = 1, Revoked = 2 }

/** Options of `client.lease(ttl, options)`. `signal` and `deadline` bound the grant only. */
export interface ILeaseOptions extends CallOptions {
  /** Keep the lease alive until revoked or released (default true). */
  autoKeepAlive?: boolean
}

/** A keep-alive answer as 'keepaliveSucceeded' reports it. */
export interface ILeaseKeepaliveEvent {
  /** The header, when the engine reports one. */
  header?: IResponseHeader
  ID: string
  /** Seconds left after the refresh. */
  TTL: string
}

/** The events of a Lease and their arguments. */
export interface LeaseEvents {
  /** The lease can no longer be relied on (at most once): the grant failed, etcd dropped it, keep-alives ran out, or the client closed. */
  lost: [err: Error]
  /** Keep-alives started (again, after a failure). */
  keepaliveEstablished: []
  /** A keep-alive is being sent. */
  keepaliveFired: []
  keepaliveSucceeded: [res: ILeaseKeepaliveEvent]
  /** A keep-alive failed; more attempts follow until the lease expires. */
  keepaliveFailed: [err: Error]
}

/**
 * A lease of `ttl` seconds (`client.lease(ttl)`). Granted on first use and then kept alive until `revoke()`
 * or `release()`; keys put through it go when it goes.
 */
export declare class Lease extends EventEmitter {
  protected constructor(pool: unknown, namespace: NSApplicator, ttl: number, options?: ILeaseOptions)
  readonly state: LeaseState
  /** The lease id (a decimal string), granting it on first call. `signal` stops the wait, not the grant. */
  grant(options?: { signal?: AbortSignal }): Promise<string>
  /** Revokes the lease in etcd, deleting its keys. Does not emit 'lost'. */
  revoke(options?: CallOptions): Promise<void>
  /** Stops the keep-alives; etcd expires the lease after its TTL. Does not emit 'lost'. */
  release(): void
  /** A put attached to this lease. */
  put(key: string | Buffer): PutBuilder
  /** Refreshes the lease once, now. */
  keepaliveOnce(options?: CallOptions): Promise<ILeaseKeepAliveResponse>
  /** etcd-napi's: the seconds left, as etcd says now. Rejects with EtcdLeaseInvalidError (and emits 'lost') when the lease is gone. */
  ttl(options?: CallOptions): Promise<number>
  /** Whether the lease is over (revoked, released or lost). */
  revoked(): boolean

  on<E extends keyof LeaseEvents>(event: E, listener: Listener<LeaseEvents[E]>): this
  once<E extends keyof LeaseEvents>(event: E, listener: Listener<LeaseEvents[E]>): this
  addListener<E extends keyof LeaseEvents>(event: E, listener: Listener<LeaseEvents[E]>): this
  prependListener<E extends keyof LeaseEvents>(event: E, listener: Listener<LeaseEvents[E]>): this
  prependOnceListener<E extends keyof LeaseEvents>(event: E, listener: Listener<LeaseEvents[E]>): this
  off<E extends keyof LeaseEvents>(event: E, listener: Listener<LeaseEvents[E]>): this
  removeListener<E extends keyof LeaseEvents>(event: E, listener: Listener<LeaseEvents[E]>): this
}

// ------------------------------------------------------------------------------------------------
// Watches

/** `only()` operation names and the etcd filter each one means (keeping puts filters deletes out). */
export declare const operationNames: {
  readonly put: FilterType
  readonly delete: FilterType
}

/** Builds a watch: `client.watch().prefix('jobs/').create()`. */
export declare class WatchBuilder {
  protected constructor(pool: unknown, namespace: NSApplicator)
  key(key: string | Buffer): this
  prefix(value: string | Buffer): this
  inRange(r: Rangable): this
  /** Same as `only()` (etcd3's older name; it keeps, not drops, the given kinds). */
  ignore(...operations: Array<keyof typeof operationNames>): this
  /** Only these kinds of change. */
  only(...operations: Array<keyof typeof operationNames>): this
  /** Events carry the key's previous state (`prev_kv`, second argument of 'put'/'delete'). */
  withPreviousKV(): this
  /** Replay changes from this revision on (inclusive). */
  startRevision(revision: string | number): this
  /** The watcher, already starting: attach listeners now, 'connected' follows. */
  watcher(): Watcher
  /** Resolves with the watcher once etcd confirmed it; rejects with its error or, on `signal`, an AbortError. */
  create(options?: { signal?: AbortSignal }): Promise<Watcher>
}

/** The events of a Watcher and their arguments. */
export interface WatcherEvents {
  /** The watch is being (re)established with this create request. */
  connecting: [req: IWatchCreateRequest]
  /** etcd confirmed the watch. */
  connected: [res: IWatchResponse]
  /** Every answer etcd streams for the watch (after its per-event 'put'/'delete'). */
  data: [res: IWatchResponse]
  put: [kv: IKeyValue, previous: IKeyValue | null]
  delete: [kv: IKeyValue, previous: IKeyValue | null]
  /** The stream broke; the watch resumes where it left off. */
  disconnected: [err: Error]
  /** The watch is over: etcd cancelled it (compaction: EtcdCompactedError; permissions; …). */
  error: [err: Error]
  /** The watch ended: `cancel()`, or the client closed. */
  end: []
}

/**
 * A running watch. An EventEmitter, and an async iterable of its events: `for await (const ev of
 * watcher)` yields each change, ends when the watch ends, throws its error, and cancels on `break`.
 */
export declare class Watcher extends EventEmitter implements AsyncIterable<IEvent> {
  protected constructor(pool: unknown, namespace: NSApplicator, request: IWatchCreateRequest)
  /** The create request, its start revision advanced as events arrive. */
  readonly request: IWatchCreateRequest
  /** etcd's id of the watch while connected, else null. */
  readonly id: string | null
  /** The revision the watch resumes from (a decimal string), or null before one is known. */
  lastRevision(): string | null
  /** Stops the watch; emits 'end'. Safe to call more than once. */
  cancel(): Promise<void>
  [Symbol.asyncIterator](): AsyncIterableIterator<IEvent>

  on<E extends keyof WatcherEvents>(event: E, listener: Listener<WatcherEvents[E]>): this
  once<E extends keyof WatcherEvents>(event: E, listener: Listener<WatcherEvents[E]>): this
  addListener<E extends keyof WatcherEvents>(event: E, listener: Listener<WatcherEvents[E]>): this
  prependListener<E extends keyof WatcherEvents>(event: E, listener: Listener<WatcherEvents[E]>): this
  prependOnceListener<E extends keyof WatcherEvents>(event: E, listener: Listener<WatcherEvents[E]>): this
  off<E extends keyof WatcherEvents>(event: E, listener: Listener<WatcherEvents[E]>): this
  removeListener<E extends keyof WatcherEvents>(event: E, listener: Listener<WatcherEvents[E]>): this
}

// ------------------------------------------------------------------------------------------------
// Users and roles

/** A permission to grant or revoke: on a Range, or on one key. */
export type IPermissionRequest =
  | { permission: keyof typeof Permission; range: Range }
  | { permission: keyof typeof Permission; key: Buffer | string }

export interface IPermissionResult {
  permission: keyof typeof Permission
  range: Range
}

/** A role of etcd's access control (`client.role(name)`). Methods resolve with the role itself. */
export declare class Role {
  constructor(client: AuthClient, name: string)
  readonly name: string
  create(options?: CallOptions): Promise<this>
  delete(options?: CallOptions): Promise<this>
  grant(req: IPermissionRequest | IPermissionRequest[], options?: CallOptions): Promise<this>
  revoke(req: IPermissionRequest | IPermissionRequest[], options?: CallOptions): Promise<this>
  permissions(options?: CallOptions): Promise<IPermissionResult[]>
  addUser(user: string | User, options?: CallOptions): Promise<this>
  removeUser(user: string | User, options?: CallOptions): Promise<this>
}

/** A user of etcd's access control (`client.user(name)`). Methods resolve with the user itself. */
export declare class User {
  constructor(client: AuthClient, name: string)
  readonly name: string
  create(password: string, options?: CallOptions): Promise<this>
  setPassword(password: string, options?: CallOptions): Promise<this>
  delete(options?: CallOptions): Promise<this>
  roles(options?: CallOptions): Promise<Role[]>
  addRole(role: string | Role, options?: CallOptions): Promise<this>
  removeRole(role: string | Role, options?: CallOptions): Promise<this>
}

// ------------------------------------------------------------------------------------------------
// Low-level clients: one raw etcd call per method. They ignore namespaces (keys go as given).

/** Runs the raw calls of a client; `Etcd3.mock()` takes one (only `exec` is needed). */
export interface ICallable {
  exec(service: ServiceName, method: string, params: unknown, options?: CallOptions): PromiseLike<unknown> | unknown
}

export declare class KVClient {
  constructor(client: ICallable)
  range(req: IRangeRequest, options?: CallOptions): Promise<IRangeResponse>
  put(req: IPutRequest, options?: CallOptions): Promise<IPutResponse>
  deleteRange(req: IDeleteRangeRequest, options?: CallOptions): Promise<IDeleteRangeResponse>
  txn(req: ITxnRequest, options?: CallOptions): Promise<ITxnResponse>
  compact(req: ICompactionRequest, options?: CallOptions): Promise<ICompactionResponse>
}

export declare class LeaseClient {
  constructor(client: ICallable)
  leaseGrant(req: ILeaseGrantRequest, options?: CallOptions): Promise<ILeaseGrantResponse>
  leaseRevoke(req: ILeaseRevokeRequest, options?: CallOptions): Promise<ILeaseRevokeResponse>
  /** Always rejects (code 'ETCD3_UNSUPPORTED'): keep-alive streams are the engine's; use `lease()`. */
  leaseKeepAlive(options?: CallOptions): Promise<never>
  leaseTimeToLive(req: ILeaseTimeToLiveRequest, options?: CallOptions): Promise<ILeaseTimeToLiveResponse>
  leaseLeases(options?: CallOptions): Promise<ILeaseLeasesResponse>
}

export declare class WatchClient {
  constructor(client: ICallable)
  /** Always rejects (code 'ETCD3_UNSUPPORTED'): watch streams are the engine's; use `watch()`. */
  watch(options?: CallOptions): Promise<never>
}

export declare class ClusterClient {
  constructor(client: ICallable)
  memberAdd(req: IMemberAddRequest, options?: CallOptions): Promise<IMemberAddResponse>
  memberRemove(req: IMemberRemoveRequest, options?: CallOptions): Promise<IMemberRemoveResponse>
  memberUpdate(req: IMemberUpdateRequest, options?: CallOptions): Promise<IMemberUpdateResponse>
  memberList(req: IMemberListRequest, options?: CallOptions): Promise<IMemberListResponse>
  memberPromote(req: IMemberPromoteRequest, options?: CallOptions): Promise<IMemberPromoteResponse>
}

export declare class MaintenanceClient {
  constructor(client: ICallable)
  alarm(req: IAlarmRequest, options?: CallOptions): Promise<IAlarmResponse>
  status(options?: CallOptions): Promise<IStatusResponse>
  defragment(options?: CallOptions): Promise<IDefragmentResponse>
  hash(options?: CallOptions): Promise<IHashResponse>
  hashKV(req: IHashKVRequest, options?: CallOptions): Promise<IHashKVResponse>
  /** The database of a member as a Readable (object mode) of SnapshotResponse messages; see `Etcd3.snapshot()` for bytes. */
  snapshot(options?: CallOptions): Promise<SnapshotResponseStream>
  moveLeader(req: IMoveLeaderRequest, options?: CallOptions): Promise<IMoveLeaderResponse>
  downgrade(req: IDowngradeRequest, options?: CallOptions): Promise<IDowngradeResponse>
}

export declare class AuthClient {
  constructor(client: ICallable)
  authEnable(options?: CallOptions): Promise<IAuthEnableResponse>
  authDisable(options?: CallOptions): Promise<IAuthDisableResponse>
  authStatus(options?: CallOptions): Promise<IAuthStatusResponse>
  authenticate(req: IAuthenticateRequest, options?: CallOptions): Promise<IAuthenticateResponse>
  userAdd(req: IAuthUserAddRequest, options?: CallOptions): Promise<IAuthUserAddResponse>
  userGet(req: IAuthUserGetRequest, options?: CallOptions): Promise<IAuthUserGetResponse>
  userList(options?: CallOptions): Promise<IAuthUserListResponse>
  userDelete(req: IAuthUserDeleteRequest, options?: CallOptions): Promise<IAuthUserDeleteResponse>
  userChangePassword(req: IAuthUserChangePasswordRequest, options?: CallOptions): Promise<IAuthUserChangePasswordResponse>
  userGrantRole(req: IAuthUserGrantRoleRequest, options?: CallOptions): Promise<IAuthUserGrantRoleResponse>
  userRevokeRole(req: IAuthUserRevokeRoleRequest, options?: CallOptions): Promise<IAuthUserRevokeRoleResponse>
  roleAdd(req: IAuthRoleAddRequest, options?: CallOptions): Promise<IAuthRoleAddResponse>
  roleGet(req: IAuthRoleGetRequest, options?: CallOptions): Promise<IAuthRoleGetResponse>
  roleList(options?: CallOptions): Promise<IAuthRoleListResponse>
  roleDelete(req: IAuthRoleDeleteRequest, options?: CallOptions): Promise<IAuthRoleDeleteResponse>
  roleGrantPermission(req: IAuthRoleGrantPermissionRequest, options?: CallOptions): Promise<IAuthRoleGrantPermissionResponse>
  roleRevokePermission(req: IAuthRoleRevokePermissionRequest, options?: CallOptions): Promise<IAuthRoleRevokePermissionResponse>
}

// ------------------------------------------------------------------------------------------------
// Concurrency: locks, elections, software transactions (Go clientv3's key layouts and semantics, so
// `etcdctl lock`, `etcdctl elect` and Go services interoperate with them)

/** How `acquire()`, `tryAcquire()` and `do()` take a lock. */
export interface ILockAcquireOptions {
  /** Wait in the lock's (first come, first served) queue. Default false: reject at once if held, as etcd3. */
  wait?: boolean
  /** Give up after this many milliseconds: EtcdLockTimeoutError (an EtcdLockFailedError). */
  timeout?: number
  /** Give up when this aborts: AbortError (`code` 'ABORT_ERR', `cause` the signal's reason). */
  signal?: AbortSignal
}

interface LockEvents {
  /** The lease of the held lock expired or was revoked: the lock is no longer ours. */
  lost: [err: EtcdLockLostError]
}

/**
 * A distributed lock (`client.lock(key)`): the keys `<key>/<lease id in hex>`, each under its owner's lease;
 * the oldest holds the lock. A crashed holder's lock is released when its lease (`ttl()`, default 30 s) expires.
 */
export declare class Lock extends EventEmitter {
  private constructor()
  /** The lease TTL in seconds (default 30). Throws (code 'ETCD3_LOCK_IN_USE') while acquiring or held. */
  ttl(seconds: number): this
  /** Call options for each request the lock makes. */
  options(options: CallOptions): this
  /**
   * Takes the lock. Without `wait: true`, rejects at once with EtcdLockFailedError when it is held (etcd3's
   * contract); with it, waits its turn. A failed, timed-out or aborted acquire leaves no key behind.
   */
  acquire(options?: ILockAcquireOptions): Promise<this>
  /** Takes the lock if it is free, else rejects with EtcdLockFailedError. */
  tryAcquire(options?: Omit<ILockAcquireOptions, 'wait'>): Promise<this>
  /** The id of the lease under the lock (decimal string), or null before the first acquire. */
  leaseId(): Promise<string | null>
  /** Whether the lock is held now, as far as this client knows. */
  isHeld(): boolean
  /** Releases the lock (or gives up waiting for it). Throws (code 'ETCD3_LOCK_IN_USE') if never acquired. */
  release(): Promise<void>
  /**
   * Acquires, runs `fn(lock)`, releases. Rejects with `fn`'s error, or with EtcdLockLostError if the lock was
   * lost while `fn` ran.
   */
  do<T>(fn: (lock: this) => T | PromiseLike<T>, options?: ILockAcquireOptions): Promise<T>

  on<E extends keyof LockEvents>(event: E, listener: Listener<LockEvents[E]>): this
  once<E extends keyof LockEvents>(event: E, listener: Listener<LockEvents[E]>): this
  off<E extends keyof LockEvents>(event: E, listener: Listener<LockEvents[E]>): this
  removeListener<E extends keyof LockEvents>(event: E, listener: Listener<LockEvents[E]>): this
}

/** Isolation levels of a software transaction (clientv3's; also exported at run time). */
export declare enum Isolation {
  /** Reads see the first read's revision; commit needs read keys unchanged and written keys unchanged since. */
  SerializableSnapshot = 0,
  /** Reads see the first read's revision; commit needs read keys unchanged. */
  Serializable = 1,
  /** Each key read once, then repeated; commit needs read keys unchanged. */
  RepeatableReads = 2,
  /** Each key read once; commit checks nothing. */
  ReadCommitted = 3,
}

/** Options of `stm()`. */
export interface ISTMOptions {
  /** Extra runs after a conflict before rejecting with STMConflictError. Default 3. */
  retries: number
  /** Keys (in the namespace) read in one request at the start of each run. */
  prefetch: string[]
  /** Default SerializableSnapshot. */
  isolation: Isolation
  /** Call options for the reads and the commit. */
  callOptions?: CallOptions
}

/**
 * A software transaction (`client.stm(options)`): `transact(fn)` runs `fn(tx)`, whose `tx.get/put/delete`
 * builders read through the transaction and record writes; the writes commit atomically if the isolation
 * level's checks hold, else `fn` runs again. Rejects with STMConflictError when the retries are used up.
 */
export declare class SoftwareTransaction {
  private constructor()
  transact<T>(fn: (tx: this) => T | PromiseLike<T>): Promise<T>
  /** Reads a key (its value as written earlier in this transaction, if it was). */
  get(key: string | Buffer): SingleRangeBuilder
  /** Writes a key when the transaction commits (no `getPrevious()`). */
  put(key: string | Buffer): PutBuilder
  /** Deletes a key, or a range (not in SerializableSnapshot), when the transaction commits. */
  delete(): DeleteBuilder
}

interface ElectionObserverEvents {
  /** The leader's value changed; undefined when nobody leads. */
  change: [value: string | undefined]
  disconnected: [err: Error]
  error: [err: Error]
}

/** Follows an election's leader (`election.observe()`); `cancel()` it when done. */
export declare class ElectionObserver extends EventEmitter {
  private constructor()
  /** Whether the election has a leader. */
  readonly hasLeader: boolean
  on<E extends keyof ElectionObserverEvents>(event: E, listener: Listener<ElectionObserverEvents[E]>): this
  once<E extends keyof ElectionObserverEvents>(event: E, listener: Listener<ElectionObserverEvents[E]>): this
  off<E extends keyof ElectionObserverEvents>(event: E, listener: Listener<ElectionObserverEvents[E]>): this
  removeListener<E extends keyof ElectionObserverEvents>(event: E, listener: Listener<ElectionObserverEvents[E]>): this
  cancel(): Promise<void>
  /** The leader's value, or undefined without a leader. */
  leader(encoding?: BufferEncoding): string | undefined
  leader(encoding: 'buffer'): Buffer | undefined
}

interface CampaignEvents {
  /** This candidate leads now. */
  elected: []
  /** The campaign failed (its lease was lost, or a request failed) and is over. */
  error: [err: Error]
}

/** One candidate in an election (`election.campaign(value)`); it starts at once. */
export declare class Campaign extends EventEmitter {
  private constructor()
  on<E extends keyof CampaignEvents>(event: E, listener: Listener<CampaignEvents[E]>): this
  once<E extends keyof CampaignEvents>(event: E, listener: Listener<CampaignEvents[E]>): this
  off<E extends keyof CampaignEvents>(event: E, listener: Listener<CampaignEvents[E]>): this
  removeListener<E extends keyof CampaignEvents>(event: E, listener: Listener<CampaignEvents[E]>): this
  /** Resolves once elected (at once if already), rejects if the campaign fails; never settles after resign(). */
  wait(): Promise<this>
  /** Changes this candidate's value; NotCampaigningError after resign() or a failure. */
  proclaim(value: string | Buffer): Promise<void>
  /** `<election prefix><lease id in hex>`, as etcdctl prints it. */
  getCampaignKey(): Promise<string>
  /** The election's current leader value (not necessarily ours). */
  getLeader(encoding?: BufferEncoding): Promise<string | undefined>
  getLeader(encoding: 'buffer'): Promise<Buffer | undefined>
  /** Leaves the election; the next candidate takes over. */
  resign(): Promise<void>
}

/**
 * A leader election (`client.election(name, ttl = 60)`): candidates are the keys `<name>/<lease id in hex>`
 * (clientv3's layout; etcd3 used `election/<name>/<decimal id>`), the oldest leads.
 */
export declare class Election {
  private constructor()
  /** Empty: the name alone is the prefix, as in clientv3 (etcd3 used 'election'). */
  static readonly prefix: string
  readonly name: string
  campaign(value: string | Buffer): Campaign
  leader(encoding?: BufferEncoding): Promise<string | undefined>
  leader(encoding: 'buffer'): Promise<Buffer | undefined>
  /** Same as `leader()`. */
  getLeader(encoding?: BufferEncoding): Promise<string | undefined>
  getLeader(encoding: 'buffer'): Promise<Buffer | undefined>
  observe(): Promise<ElectionObserver>
}

// ------------------------------------------------------------------------------------------------
// The client

/**
 * A key space: keys given to its methods get its prefix prepended, keys it answers have it removed
 * (`client.namespace('app/')`, nestable). All namespaces of a client share its connections.
 */
export declare class Namespace {
  protected constructor(prefix: Buffer, pool: unknown, options: IOptions)
  /** The full prefix of this namespace. */
  readonly prefix: Buffer
  /** Raw KV calls (not prefixed). */
  readonly kv: KVClient
  /** Raw lease calls. */
  readonly leaseClient: LeaseClient
  /** Raw watch calls (none usable here: see WatchClient). */
  readonly watchClient: WatchClient
  /** Reads one key. */
  get(key: string | Buffer): SingleRangeBuilder
  /** Reads many keys: every key unless narrowed (`prefix()`, `inRange()`, `limit()`). */
  getAll(): MultiRangeBuilder
  /** Writes a key. */
  put(key: string | Buffer): PutBuilder
  /** Deletes keys: pick them with `key()`, `prefix()`, `range()` or `all()`. */
  delete(): DeleteBuilder
  /** A lease of `ttl` (≥ 1) seconds, granted on first use and kept alive. */
  lease(ttl: number, options?: ILeaseOptions): Lease
  /** Starts a transaction with its first comparison. */
  if(key: string | Buffer, column: CompareColumn, cmp: CompareOperator, value: string | Buffer | number): ComparatorBuilder
  /** Starts building a watch. */
  watch(): WatchBuilder
  /** `Range.from(r)`. */
  range(r: Rangable): Range
  /** A nested namespace: this prefix plus `prefix`. */
  namespace(prefix: string | Buffer): Namespace
  /** A distributed lock on `key` (keys `<key>/<lease id hex>` in this namespace, as `etcdctl lock`). */
  lock(key: string | Buffer): Lock
  /** A software transaction (default SerializableSnapshot, 3 retries). */
  stm(options?: Partial<ISTMOptions>): SoftwareTransaction
  /** A leader election (keys `<name>/<lease id hex>` in this namespace, as `etcdctl elect`); leases of `ttl` (60) s. */
  election(name: string | Buffer, ttl?: number): Election
}

/**
 * The etcd v3 client, a drop-in for npm etcd3's `Etcd3`: the root namespace plus cluster-wide
 * operations. Connections, retries, failover, TLS and auth tokens are handled by the native engine.
 */
export declare class Etcd3 extends Namespace {
  /** Throws when `hosts` is empty, or mixes https and plain hosts without `credentials`. */
  constructor(options?: IOptions)
  /** Raw auth calls. */
  readonly auth: AuthClient
  /** Raw maintenance calls. */
  readonly maintenance: MaintenanceClient
  /** Raw cluster membership calls. */
  readonly cluster: ClusterClient
  getRoles(options?: CallOptions): Promise<Role[]>
  role(name: string): Role
  getUsers(options?: CallOptions): Promise<User[]>
  user(name: string): User
  /**
   * For tests: until `unmock()`, raw calls go to `callable.exec(service, method, params)` instead of etcd
   * (what it returns or resolves with is the answer).
   */
  mock<T extends ICallable>(callable: T): T
  unmock(): void
  /** Closes the connections. Live leases emit 'lost' (ClientClosedError), watchers 'end'; later calls reject. */
  close(): void
}

// ------------------------------------------------------------------------------------------------
// Administration: cluster membership, maintenance, snapshots, auth switches, mirror (lib/v3/admin.js,
// lib/v3/mirror.js). Named after Go clientv3's Cluster, Maintenance and Auth methods; results are etcd's
// responses. Member ids go in as decimal strings, bigints or safe integers and come back as decimal strings.

type NodeReadable = import('node:stream').Readable

/** `maintenance.snapshot()`'s stream: etcd3 handed out grpc-js's; `cancel()` is `destroy()`. */
export interface SnapshotResponseStream extends NodeReadable {
  cancel(): void
  [Symbol.asyncIterator](): AsyncIterableIterator<ISnapshotResponse>
}

/** A snapshot's bytes (`Etcd3.snapshot()`), ending with etcd's sha256 of the rest, as `etcdctl snapshot save` writes them. */
export interface SnapshotStream extends NodeReadable {
  cancel(): void
  [Symbol.asyncIterator](): AsyncIterableIterator<Buffer>
}

export interface ISnapshotOptions extends CallOptions {
  /** The member to take it from (`host:port` or a URL); default: one of the client's choosing. */
  endpoint?: string
}

/** One alarm as `alarmList()` lists it; `alarmDisarm()` takes the same shape. */
export interface IAlarmToDisarm {
  memberID?: Int64
  alarm?: AlarmType | keyof typeof AlarmType
}

export interface IMirrorOptions {
  /** The revision a copy is already complete at: syncBase() copies at it, syncUpdates() follows from after it. */
  revision?: Int64
  /** Keys per page of syncBase(); default 1000. */
  pageSize?: number
}

/** A page of `syncBase()`: keys in key order, all as of `revision`. */
export interface IMirrorPage {
  revision: string
  kvs: IKeyValue[]
}

/** The changes of one revision (a transaction's changes come together). */
export interface IMirrorBatch {
  revision: string
  events: IEvent[]
}

/** What `syncUpdates()` returns: iterate it (once), or pass `{ iterator: false }` and listen to the mirror. */
export interface MirrorUpdates extends AsyncIterable<IMirrorBatch> {
  stop(): Promise<void>
}

interface MirrorEvents {
  put: [kv: IKeyValue, previous: IKeyValue | null]
  delete: [kv: IKeyValue, previous: IKeyValue | null]
  revision: [batch: IMirrorBatch]
  /** Following is over: the watch failed (EtcdCompactedError when its start revision is gone: copy again). */
  error: [err: Error]
}

/**
 * Go clientv3's mirror.Syncer (`client.mirror(prefix, options)`): `syncBase()` copies the keys under the
 * prefix at one revision, then `syncUpdates()` follows every change after it. `revision` is the revision
 * the copy is complete at (what was handed out); persist it to resume with `mirror(prefix, { revision })`.
 */
export declare class Mirror extends EventEmitter {
  private constructor()
  readonly prefix: Buffer
  /** Decimal string; null until syncBase() finished or a revision was given. */
  revision: string | null
  syncBase(options?: CallOptions): AsyncIterableIterator<IMirrorPage>
  /** Throws `ETCD3_MIRROR_NOT_SYNCED` without a revision. */
  syncUpdates(options?: { signal?: AbortSignal; iterator?: boolean }): MirrorUpdates
  stop(): Promise<void>
  on<E extends keyof MirrorEvents>(event: E, listener: Listener<MirrorEvents[E]>): this
  once<E extends keyof MirrorEvents>(event: E, listener: Listener<MirrorEvents[E]>): this
  addListener<E extends keyof MirrorEvents>(event: E, listener: Listener<MirrorEvents[E]>): this
  off<E extends keyof MirrorEvents>(event: E, listener: Listener<MirrorEvents[E]>): this
  removeListener<E extends keyof MirrorEvents>(event: E, listener: Listener<MirrorEvents[E]>): this
  emit<E extends keyof MirrorEvents>(event: E, ...args: MirrorEvents[E]): boolean
}

export interface Etcd3 {
  /** The members (linearizable unless `{ linearizable: false }`). */
  memberList(options?: CallOptions & { linearizable?: boolean }): Promise<IMemberListResponse>
  /** Adds a member that will serve at `peerURLs`; `{ learner: true }`: as a non-voting learner. */
  memberAdd(peerURLs: string | string[], options?: CallOptions & { learner?: boolean }): Promise<IMemberAddResponse>
  memberRemove(id: Int64, options?: CallOptions): Promise<IMemberRemoveResponse>
  memberUpdate(id: Int64, peerURLs: string | string[], options?: CallOptions): Promise<IMemberUpdateResponse>
  /** Makes a learner a voting member once it has caught up (until then etcd refuses). */
  memberPromote(id: Int64, options?: CallOptions): Promise<IMemberPromoteResponse>
  /** The status of the member at `endpoint` (`host:port` or a URL, also outside the host list; no failover). */
  status(endpoint?: string, options?: CallOptions): Promise<IStatusResponse>
  /** Defragments the backend of the member at `endpoint`. */
  defragment(endpoint?: string, options?: CallOptions): Promise<IDefragmentResponse>
  /** The hash of the keys of the member at `endpoint` up to `revision` (default: its latest). */
  hashKV(endpoint?: string, revision?: Int64, options?: CallOptions): Promise<IHashKVResponse>
  alarmList(options?: CallOptions): Promise<IAlarmResponse>
  /** Disarms one alarm, or every raised one when called without; resolves with the alarms disarmed. */
  alarmDisarm(alarm?: IAlarmToDisarm | null, options?: CallOptions): Promise<{ header: IResponseHeader | null; alarms: IAlarmMember[] }>
  /** Hands leadership to `transfereeId` (sent to the current leader, found through status and the member list). */
  moveLeader(transfereeId: Int64, options?: CallOptions): Promise<IMoveLeaderResponse>
  /** A member's database as bytes; a mismatch with etcd's sha256 fails it with code 'ETCD3_SNAPSHOT_CORRUPT'. */
  snapshot(options?: ISnapshotOptions): SnapshotStream
  /** Writes `<path>.part`, fsyncs it, renames it to `path`; removes the partial file on failure. */
  snapshotToFile(path: string, options?: ISnapshotOptions): Promise<{ path: string; size: number }>
  /** Turns authentication on (a `root` user with the `root` role must exist). */
  enableAuth(options?: CallOptions): Promise<IAuthEnableResponse>
  disableAuth(options?: CallOptions): Promise<IAuthDisableResponse>
  /** etcd 3.5+. */
  authStatus(options?: CallOptions): Promise<IAuthStatusResponse>
  mirror(prefix: string | Buffer, options?: IMirrorOptions): Mirror
}

// Internal helpers the module also exports.

/** The key `\0`: as a range end, "no upper bound". */
export declare const zeroKey: Buffer
export declare const emptyKey: Buffer
/** A key or value as bytes (numbers as their decimal text). */
export declare function toBuffer(input: string | Buffer | number): Buffer
/** The range end that covers every key beginning with `prefix`. */
export declare function endRangeForPrefix(prefix: string | Buffer): Buffer
/** Settles like `promise`, or rejects with an AbortError if `signal` aborts first (the work itself goes on). */
export declare function untilAborted<T>(promise: Promise<T>, signal?: AbortSignal | null): Promise<T>
/** gRPC status names by code ('OK', 'CANCELLED', …). */
export declare const GRPC_STATUS_NAMES: readonly string[]
/** etcd's text for a compacted revision. */
export declare const COMPACTED_MESSAGE: 'mvcc: required revision has been compacted'

export {}
