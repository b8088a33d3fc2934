'use strict'
// node-etcd's error objects, each with a stable `code` added.

/** Codes for etcd's v2 error numbers (server/etcdserver/api/v2error). */
const ETCD_ERROR_CODES = {
  100: 'ETCD_KEY_NOT_FOUND',
  101: 'ETCD_COMPARE_FAILED',
  102: 'ETCD_NOT_A_FILE',
  104: 'ETCD_NOT_A_DIRECTORY',
  105: 'ETCD_KEY_EXISTS',
  107: 'ETCD_ROOT_READ_ONLY',
  108: 'ETCD_DIR_NOT_EMPTY',
  110: 'ETCD_UNAUTHORIZED',
  201: 'ETCD_PREV_VALUE_REQUIRED',
  202: 'ETCD_TTL_NAN',
  203: 'ETCD_INDEX_NAN',
  209: 'ETCD_INVALID_FIELD',
  210: 'ETCD_INVALID_FORM',
  211: 'ETCD_REFRESH_VALUE',
  212: 'ETCD_REFRESH_TTL_REQUIRED',
  300: 'ETCD_RAFT_INTERNAL',
  301: 'ETCD_LEADER_ELECT',
  400: 'ETCD_WATCHER_CLEARED',
  401: 'ETCD_EVENT_INDEX_CLEARED',
}

/** An etcd error answer (status < 500 with `errorCode`): message, errorCode and the whole body. */
function etcdError(body) {
  const err = new Error(body.message || 'Etcd error')
  err.errorCode = body.errorCode
  err.error = body
  err.code = ETCD_ERROR_CODES[body.errorCode] || 'ETCD_ERROR'
  return err
}

/** "All servers returned error": every member and retry round failed. */
function allServersError(errors, retries) {
  const err = new Error('All servers returned error')
  err.errors = errors
  err.retries = retries
  err.code = 'ETCD_ALL_SERVERS_FAILED'
  return err
}

/**
 * A write failed after it may have reached a server (reset or timed-out connection, or a 5xx
 * answer) and was not sent again, because it could then be applied twice. Same shape as
 * "All servers returned error" (`errors`, `retries`, delivered alone).
 */
function outcomeUnknownError(errors, retries) {
  const err = new Error('The write may or may not have been applied: its request reached a server and then failed, so it was not sent again')
  err.errors = errors
  err.retries = retries
  err.code = 'ETCD_OUTCOME_UNKNOWN'
  return err
}

/** Node's own AbortError shape (as fs and timers/promises reject with). */
class AbortError extends Error {
  constructor(message = 'The operation was aborted', options) {
    super(message, options)
    this.name = 'AbortError'
    this.code = 'ABORT_ERR'
  }
}

function v2UnavailableError() {
  const err = new Error(
    'This etcd server does not serve the v2 API (it answered 404 for a /v2 path). etcd 3.4 and 3.5 serve it only ' +
      'when started with --enable-v2=true; etcd 3.6 and later removed it: use the v3 client instead.',
  )
  err.code = 'ETCD_V2_UNAVAILABLE'
  return err
}

/** A failed answer of the members or auth APIs (`{"message": …}` bodies, meaningful statuses). */
function httpStatusError(status, body) {
  const message = body !== null && typeof body === 'object' && typeof body.message === 'string' ? body.message : typeof body === 'string' && body.trim() ? body.trim() : `HTTP ${status}`
  const err = new Error(message)
  err.code = HTTP_STATUS_CODES[status] || 'ETCD_HTTP_ERROR'
  err.status = status
  err.body = body
  return err
}

const HTTP_STATUS_CODES = {
  400: 'ETCD_BAD_REQUEST',
  401: 'ETCD_UNAUTHORIZED',
  403: 'ETCD_FORBIDDEN',
  404: 'ETCD_NOT_FOUND',
  409: 'ETCD_CONFLICT',
  410: 'ETCD_GONE',
  412: 'ETCD_PRECONDITION_FAILED',
  415: 'ETCD_UNSUPPORTED_MEDIA_TYPE',
}

function syncTimeoutError(ms) {
  const err = new Error(`Synchronous etcd call did not finish within ${ms} ms`)
  err.code = 'ETIMEDOUT'
  return err
}

/** Errors thrown by the native constructor carry their code as a `[CODE] ` message prefix. */
function fromNative(err) {
  const m = /^\[([A-Z0-9_]+)\] /.exec(err && err.message)
  if (!m) return err
  const out = new TypeError(err.message.slice(m[0].length))
  out.code = m[1]
  return out
}

function invalidArg(message, code = 'ERR_INVALID_ARG_VALUE') {
  const err = new TypeError(message)
  err.code = code
  return err
}

module.exports = { ETCD_ERROR_CODES, etcdError, allServersError, outcomeUnknownError, AbortError, syncTimeoutError, v2UnavailableError, httpStatusError, fromNative, invalidArg }
