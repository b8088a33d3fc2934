'use strict'
// Native results as node-etcd's observable values: parsed bodies, header objects, error objects
// and the per-attempt error log. Shared by calls and the watcher.
const { etcdError, allServersError, outcomeUnknownError, v2UnavailableError } = require('./errors')

function parseBody(text) {
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/**
 * Headers as Node has them (lower-cased names, string values; repeats joined with ', ') from
 * `name\nvalue\n…`. Scanned with indexOf rather than split: no intermediate array (this runs per call).
 */
function headerObject(text) {
  const headers = {}
  const end = text.length
  let pos = 0
  while (pos < end) {
    const nameEnd = text.indexOf('\n', pos)
    if (nameEnd === -1) break
    let valueEnd = text.indexOf('\n', nameEnd + 1)
    if (valueEnd === -1) valueEnd = end
    const name = text.slice(pos, nameEnd)
    const value = text.slice(nameEnd + 1, valueEnd)
    const seen = headers[name]
    headers[name] = seen === undefined ? value : seen + ', ' + value
    pos = valueEnd + 1
  }
  return headers
}

/**
 * One native result as node-etcd's (err, body, headers) plus the attempt log and the status.
 * `extra` is the native result object when it has more to say (failed attempts, retries,
 * cancellation), else null. `v2Path`: the request was for etcd's v2 API, so Go's plain-text 404
 * means the server does not serve it (etcd >= 3.4 without --enable-v2, or 3.6+).
 */
function interpret(status, headersText, bodyText, extra, v2Path = false) {
  const errors = extra === null ? [] : attemptErrors(extra.errors)
  const retries = extra === null ? 0 : extra.retries
  if (status === 0) {
    const err = extra !== null && extra.outcomeUnknown ? outcomeUnknownError(errors, retries) : allServersError(errors, retries)
    return { err, body: undefined, headers: undefined, errors, retries, status }
  }
  const headers = headerObject(headersText)
  const body = parseBody(bodyText)
  if (body !== null && typeof body === 'object' && body.errorCode !== undefined && body.errorCode !== null) {
    return { err: etcdError(body), body: '', headers, errors, retries, status }
  }
  if (v2Path && status === 404 && typeof body === 'string' && body.startsWith('404 page not found')) {
    return { err: v2UnavailableError(), body: '', headers, errors, retries, status }
  }
  return { err: null, body, headers, errors, retries, status }
}

function attemptErrors(list) {
  return list.length === 0 ? [] : list.map(attemptError)
}

/** An entry of `err.errors` / `token.errors`, with node-etcd's keys in node-etcd's order. */
function attemptError(a) {
  const isStatus = a.status !== undefined && a.status !== null
  return {
    server: a.server,
    httperror: isStatus ? null : transportError(a),
    httpstatus: isStatus ? a.status : undefined,
    httpbody: isStatus ? parseBody(a.body) : undefined,
    response: isStatus ? { statusCode: a.status, headers: headerObject(a.headers), body: a.body } : undefined,
    timestamp: new Date(a.timestamp),
  }
}

function transportError(a) {
  let address
  let port
  try {
    const u = new URL(a.server)
    address = u.hostname.replace(/^\[|\]$/g, '')
    port = Number(u.port) || (u.protocol === 'https:' ? 443 : 80)
  } catch {}
  // Node's message form for connect failures: "connect ECONNREFUSED 127.0.0.1:2379".
  const message = a.syscall === 'connect' && address !== undefined ? `connect ${a.code} ${address}:${port}` : a.message
  const err = new Error(message)
  err.code = a.code
  if (a.syscall) err.syscall = a.syscall
  if (a.syscall === 'connect') {
    err.address = address
    err.port = port
  }
  return err
}

module.exports = { parseBody, headerObject, interpret, attemptErrors }
