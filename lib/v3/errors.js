'use strict'
// The v3 client's error classes: etcd3 1.1.2's names, hierarchy and `instanceof` behaviour, plus a stable
// string `code` on every error and a few typed etcd conditions etcd3 lacks (compaction, leader loss).

/** gRPC status names, for etcd3-style messages (`5 NOT_FOUND: etcdserver: …`, as grpc-js words them). */
const GRPC_STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
]

/** Present (as an own property) on errors that etcd3's default fault handling retries. */
const RecoverableError = Symbol('RecoverableError')

const isRecoverableError = (error) => error !== null && typeof error === 'object' && RecoverableError in error

// Each class gets its name (etcd3 leaves `name` as 'Error'; a real name makes stacks and logs readable) and
// a default `code`; both live on the prototype so the error objects' own keys stay etcd3's.
function define(cls, code) {
  Object.defineProperty(cls.prototype, 'name', { value: cls.name, writable: true, configurable: true })
  Object.defineProperty(cls.prototype, 'code', { value: code, writable: true, configurable: true })
  return cls
}

// Recoverable classes mark instances with an own symbol property, as etcd3 does (so `in` finds it).
function markRecoverable(err) {
  err[RecoverableError] = true
}

/** A broken invariant inside the client itself (not a server or network failure): a bug in etcd-napi. */
class ClientRuntimeError extends Error {
  constructor(message) {
    super(`${message} (an internal error of etcd-napi's v3 client; please report it to etcd-napi)`)
  }
}
define(ClientRuntimeError, 'ETCD3_CLIENT_RUNTIME')

/** A method of a client that was already closed. */
class ClientClosedError extends Error {
  constructor(namespace) {
    super(`Tried to call a ${namespace} method on etcd3, but the client was already closed`)
  }
}
define(ClientClosedError, 'ETCD3_CLIENT_CLOSED')

class GRPCGenericError extends Error {}
define(GRPCGenericError, 'ETCD3_GRPC_ERROR')

class GRPCProtocolError extends GRPCGenericError {}
define(GRPCProtocolError, 'ETCD3_GRPC_PROTOCOL')

// One factory for the gRPC status classes keeps the (long) list readable.
function grpcClass(Base, name, code, recoverable) {
  const cls = {
    [name]: class extends Base {
      constructor(...args) {
        super(...args)
        if (recoverable) markRecoverable(this)
      }
    },
  }[name]
  return define(cls, code)
}

const GRPCInternalError = grpcClass(GRPCGenericError, 'GRPCInternalError', 'ETCD3_GRPC_INTERNAL', true)
const GRPCCancelledError = grpcClass(GRPCGenericError, 'GRPCCancelledError', 'ETCD3_GRPC_CANCELLED', true)
const GRPCUnknownError = grpcClass(GRPCGenericError, 'GRPCUnknownError', 'ETCD3_GRPC_UNKNOWN', true)
const GRPCInvalidArgumentError = grpcClass(GRPCGenericError, 'GRPCInvalidArgumentError', 'ETCD3_GRPC_INVALID_ARGUMENT', false)
const GRPCDeadlineExceededError = grpcClass(GRPCGenericError, 'GRPCDeadlineExceededError', 'ETCD3_GRPC_DEADLINE_EXCEEDED', true)
const GRPCNotFoundError = grpcClass(GRPCGenericError, 'GRPCNotFoundError', 'ETCD3_GRPC_NOT_FOUND', false)
const GRPCAlreadyExistsError = grpcClass(GRPCGenericError, 'GRPCAlreadyExistsError', 'ETCD3_GRPC_ALREADY_EXISTS', false)
// etcd3 misspells this one and users import it by that name; the correct spelling is an alias.
const GRPCResourceExhastedError = grpcClass(GRPCGenericError, 'GRPCResourceExhastedError', 'ETCD3_GRPC_RESOURCE_EXHAUSTED', true)
const GRPCFailedPreconditionError = grpcClass(GRPCGenericError, 'GRPCFailedPreconditionError', 'ETCD3_GRPC_FAILED_PRECONDITION', false)
const GRPCAbortedError = grpcClass(GRPCGenericError, 'GRPCAbortedError', 'ETCD3_GRPC_ABORTED', true)
const GRPCNotImplementedError = grpcClass(GRPCGenericError, 'GRPCNotImplementedError', 'ETCD3_GRPC_UNIMPLEMENTED', false)
const GRPCOutOfRangeError = grpcClass(GRPCGenericError, 'GRPCOutOfRangeError', 'ETCD3_GRPC_OUT_OF_RANGE', false)
const GRPCDataLossError = grpcClass(GRPCGenericError, 'GRPCDataLossError', 'ETCD3_GRPC_DATA_LOSS', false)
const GRPCUnavailableError = grpcClass(GRPCGenericError, 'GRPCUnavailableError', 'ETCD3_GRPC_UNAVAILABLE', true)
const GRPCUnauthenticatedError = grpcClass(GRPCGenericError, 'GRPCUnauthenticatedError', 'ETCD3_GRPC_UNAUTHENTICATED', false)

/** An application error answered by etcd that no more specific class covers. */
class EtcdError extends Error {}
define(EtcdError, 'ETCD3_ERROR')

// etcd3's Etcd* classes extend Error directly, not EtcdError; users rely on exactly that hierarchy.
class EtcdLeaseInvalidError extends Error {
  constructor(leaseID) {
    super(`Lease ${leaseID} is expired or revoked`)
  }
}
define(EtcdLeaseInvalidError, 'ETCD3_LEASE_NOT_FOUND')

class EtcdRoleExistsError extends Error {}
define(EtcdRoleExistsError, 'ETCD3_ROLE_EXISTS')
class EtcdUserExistsError extends Error {}
define(EtcdUserExistsError, 'ETCD3_USER_EXISTS')
class EtcdRoleNotGrantedError extends Error {}
define(EtcdRoleNotGrantedError, 'ETCD3_ROLE_NOT_GRANTED')
class EtcdRoleNotFoundError extends Error {}
define(EtcdRoleNotFoundError, 'ETCD3_ROLE_NOT_FOUND')
class EtcdUserNotFoundError extends Error {}
define(EtcdUserNotFoundError, 'ETCD3_USER_NOT_FOUND')
class EtcdLockFailedError extends Error {}
define(EtcdLockFailedError, 'ETCD3_LOCK_FAILED')
class EtcdAuthenticationFailedError extends Error {}
define(EtcdAuthenticationFailedError, 'ETCD3_AUTH_FAILED')
class EtcdInvalidAuthTokenError extends Error {}
define(EtcdInvalidAuthTokenError, 'ETCD3_INVALID_AUTH_TOKEN')
class EtcdPermissionDeniedError extends Error {}
define(EtcdPermissionDeniedError, 'ETCD3_PERMISSION_DENIED')

class EtcdWatchStreamEnded extends Error {
  constructor() {
    super('The etcd watch stream was unexpectedly ended')
  }
}
define(EtcdWatchStreamEnded, 'ETCD3_WATCH_STREAM_ENDED')

class NotCampaigningError extends Error {}
define(NotCampaigningError, 'ETCD3_NOT_CAMPAIGNING')

class STMConflictError extends Error {
  constructor() {
    super('A conflict occurred executing the software transaction')
  }
}
define(STMConflictError, 'ETCD3_STM_CONFLICT')

// Locks (lib/v3/lock.js). A timed-out wait is still a failure to acquire, so code that catches etcd3's
// EtcdLockFailedError keeps working.

/** `acquire({ wait: true, timeout })` gave up waiting in the lock's queue (its key was removed). */
class EtcdLockTimeoutError extends EtcdLockFailedError {}
define(EtcdLockTimeoutError, 'ETCD3_LOCK_TIMEOUT')

/** The lease behind a held or queued lock expired or was revoked: the lock is no longer ours. */
class EtcdLockLostError extends Error {}
define(EtcdLockLostError, 'ETCD3_LOCK_LOST')

// Ours. Each extends the class etcd3 would have produced for the same status, so code written for
// etcd3 (`instanceof GRPCUnavailableError`, `isRecoverableError`) keeps working.

/** `etcdserver: no leader`: the member has no leader (gRPC UNAVAILABLE). */
class EtcdNoLeaderError extends GRPCUnavailableError {}
define(EtcdNoLeaderError, 'ETCD3_NO_LEADER')

/** `etcdserver: not leader`: a leader-only operation reached a follower (gRPC FAILED_PRECONDITION). */
class EtcdNotLeaderError extends GRPCFailedPreconditionError {}
define(EtcdNotLeaderError, 'ETCD3_NOT_LEADER')

/** `etcdserver: leader changed` while the request was in flight (gRPC UNAVAILABLE). */
class EtcdLeaderChangedError extends GRPCUnavailableError {}
define(EtcdLeaderChangedError, 'ETCD3_LEADER_CHANGED')

// Compaction surfaces in two shapes: a unary call (etcd3: GRPCOutOfRangeError) and a watch cancel
// (etcd3: an EtcdError "Watcher canceled: …"). Both are `instanceof EtcdCompactedError` through a brand.
const COMPACTED = Symbol('EtcdCompactedError')

/**
 * The requested revision was compacted away. `compactRevision` (a decimal string) is the oldest revision
 * still available when etcd says so (watch cancels do; unary answers don't, then it is undefined).
 * Constructed directly, this is the watch form (an EtcdError).
 */
class EtcdCompactedError extends EtcdError {
  constructor(message, compactRevision) {
    super(message)
    this.compactRevision = compactRevision
  }

  static [Symbol.hasInstance](value) {
    return value !== null && typeof value === 'object' && value[COMPACTED] === true
  }
}
define(EtcdCompactedError, 'ETCD3_COMPACTED')
Object.defineProperty(EtcdCompactedError.prototype, COMPACTED, { value: true })

/** The unary form: still a GRPCOutOfRangeError, as in etcd3. */
class EtcdCompactedRangeError extends GRPCOutOfRangeError {
  constructor(message, compactRevision) {
    super(message)
    this.compactRevision = compactRevision
  }
}
define(EtcdCompactedRangeError, 'ETCD3_COMPACTED')
Object.defineProperty(EtcdCompactedRangeError.prototype, 'name', { value: 'EtcdCompactedError', writable: true, configurable: true })
Object.defineProperty(EtcdCompactedRangeError.prototype, COMPACTED, { value: true })

const COMPACTED_MESSAGE = 'mvcc: required revision has been compacted'

/** etcd3's message → class table (substring match, first hit wins), then ours. */
const MESSAGE_TO_CLASS = [
  ['etcdserver: role name already exists', EtcdRoleExistsError],
  ['etcdserver: user name already exists', EtcdUserExistsError],
  ['etcdserver: role is not granted to the user', EtcdRoleNotGrantedError],
  ['etcdserver: role name not found', EtcdRoleNotFoundError],
  ['etcdserver: user name not found', EtcdUserNotFoundError],
  ['etcdserver: authentication failed, invalid user ID or password', EtcdAuthenticationFailedError],
  ['etcdserver: permission denied', EtcdPermissionDeniedError],
  ['etcdserver: invalid auth token', EtcdInvalidAuthTokenError],
  ['etcdserver: requested lease not found', EtcdLeaseInvalidError],
]
const OUR_MESSAGE_TO_CLASS = [
  [`etcdserver: ${COMPACTED_MESSAGE}`, EtcdCompactedRangeError],
  ['etcdserver: no leader', EtcdNoLeaderError],
  ['etcdserver: not leader', EtcdNotLeaderError],
  ['etcdserver: leader changed', EtcdLeaderChangedError],
]

/** etcd3's gRPC code → class table (note 7 PERMISSION_DENIED maps to an Etcd* class). */
const CODE_TO_CLASS = new Map([
  [1, GRPCCancelledError],
  [2, GRPCUnknownError],
  [3, GRPCInvalidArgumentError],
  [4, GRPCDeadlineExceededError],
  [5, GRPCNotFoundError],
  [6, GRPCAlreadyExistsError],
  [7, EtcdPermissionDeniedError],
  [8, GRPCResourceExhastedError],
  [9, GRPCFailedPreconditionError],
  [10, GRPCAbortedError],
  [11, GRPCOutOfRangeError],
  [12, GRPCNotImplementedError],
  [13, GRPCInternalError],
  [14, GRPCUnavailableError],
  [15, GRPCDataLossError],
  [16, GRPCUnauthenticatedError],
])

/**
 * Finer `code`s for etcd conditions that share a class (mostly InvalidArgument / Unavailable), so callers can
 * branch without parsing messages. The class stays etcd3's.
 */
const MESSAGE_TO_CODE = [
  ['etcdserver: mvcc: required revision is a future revision', 'ETCD3_FUTURE_REVISION'],
  ['etcdserver: mvcc: database space exceeded', 'ETCD3_NO_SPACE'],
  ['etcdserver: too many operations in txn request', 'ETCD3_TOO_MANY_TXN_OPS'],
  ['etcdserver: duplicate key given in txn request', 'ETCD3_DUPLICATE_KEY'],
  ['etcdserver: request is too large', 'ETCD3_REQUEST_TOO_LARGE'],
  ['etcdserver: key is not provided', 'ETCD3_EMPTY_KEY'],
  ['etcdserver: user name is empty', 'ETCD3_USER_NAME_EMPTY'],
  ['etcdserver: revision of auth store is old', 'ETCD3_AUTH_REVISION_OLD'],
  ['etcdserver: authentication is not enabled', 'ETCD3_AUTH_NOT_ENABLED'],
  ['etcdserver: request timed out', 'ETCD3_REQUEST_TIMEOUT'],
  ['etcdserver: server stopped', 'ETCD3_SERVER_STOPPED'],
  ['etcdserver: unhealthy cluster', 'ETCD3_UNHEALTHY_CLUSTER'],
  ['etcdserver: not capable', 'ETCD3_NOT_CAPABLE'],
]

function findByMessage(table, message) {
  for (const [text, value] of table) {
    if (message.includes(text)) return value
  }
  return undefined
}

/** grpc-js words a status as `<code> <NAME>: <details>`; etcd3's messages (and users' matching) follow that. */
function grpcMessage(err) {
  const message = typeof err.message === 'string' ? err.message : String(err)
  if (typeof err.code !== 'number' || !GRPC_STATUS_NAMES[err.code]) return message
  if (/^\d+ [A-Z_]+: /.test(message)) return message
  const details = typeof err.details === 'string' && err.details !== '' ? err.details : message
  return `${err.code} ${GRPC_STATUS_NAMES[err.code]}: ${details}`
}

function rewriteErrorName(text, cls) {
  return text.replace(/^Error:/, `${cls.name}:`)
}

/** Turns an etcd error string (e.g. a watch cancel reason) into a typed error, as etcd3 does. */
function castGrpcErrorMessage(message) {
  const cls = findByMessage(MESSAGE_TO_CLASS, message) || EtcdError
  const err = new cls(message)
  const code = findByMessage(MESSAGE_TO_CODE, message)
  if (code) err.code = code
  return err
}

function isAbortError(err) {
  return err.name === 'AbortError' || err.code === 'ABORT_ERR'
}

/**
 * Maps an error from the native engine (an Error with a numeric gRPC `code` and etcd's text in
 * `details`/`message`) to a typed error, the way etcd3 maps grpc-js errors: message table first, then the
 * status code, then EtcdError for other etcd messages and GRPCGenericError for the rest. Aborts and errors
 * that already have a class of their own (ours carry a string `code`) pass through unchanged.
 */
function castGrpcError(err) {
  if (err === null || typeof err !== 'object' || isAbortError(err)) return err
  if (err.constructor !== Error && typeof err.code !== 'number') return err
  const message = grpcMessage(err)
  let cls = findByMessage(MESSAGE_TO_CLASS, message) || findByMessage(OUR_MESSAGE_TO_CLASS, message)
  if (!cls && typeof err.code === 'number') cls = CODE_TO_CLASS.get(err.code)
  if (!cls) cls = message.includes('etcdserver:') ? EtcdError : GRPCGenericError
  const cast = new cls(rewriteErrorName(message, cls))
  cast.stack = rewriteErrorName(String(err.stack), cls)
  const code = findByMessage(MESSAGE_TO_CODE, message)
  if (code) cast.code = code
  if (typeof err.code === 'number') cast.grpcCode = err.code
  if (typeof err.details === 'string') cast.details = err.details
  if (cls === EtcdCompactedRangeError && err.compactRevision !== undefined) cast.compactRevision = String(err.compactRevision)
  Object.defineProperty(cast, 'cause', { value: err, writable: true, configurable: true })
  return cast
}

module.exports = {
  GRPC_STATUS_NAMES,
  RecoverableError,
  isRecoverableError,
  castGrpcError,
  castGrpcErrorMessage,
  ClientRuntimeError,
  ClientClosedError,
  GRPCGenericError,
  GRPCProtocolError,
  GRPCInternalError,
  GRPCCancelledError,
  GRPCUnknownError,
  GRPCInvalidArgumentError,
  GRPCDeadlineExceededError,
  GRPCNotFoundError,
  GRPCAlreadyExistsError,
  GRPCResourceExhastedError,
  GRPCResourceExhaustedError: GRPCResourceExhastedError,
  GRPCFailedPreconditionError,
  GRPCAbortedError,
  GRPCNotImplementedError,
  GRPCOutOfRangeError,
  GRPCDataLossError,
  GRPCUnavailableError,
  GRPCUnauthenticatedError,
  EtcdError,
  EtcdLeaseInvalidError,
  EtcdRoleExistsError,
  EtcdUserExistsError,
  EtcdRoleNotGrantedError,
  EtcdRoleNotFoundError,
  EtcdUserNotFoundError,
  EtcdLockFailedError,
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdPermissionDeniedError,
  EtcdWatchStreamEnded,
  NotCampaigningError,
  STMConflictError,
  EtcdLockTimeoutError,
  EtcdLockLostError,
  EtcdNoLeaderError,
  EtcdNotLeaderError,
  EtcdLeaderChangedError,
  EtcdCompactedError,
  COMPACTED_MESSAGE,
}
