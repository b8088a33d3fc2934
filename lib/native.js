'use strict'
// The generated napi-rs loader (built by `npm install` / `npm run build`), and the completion
// side of async calls: every client's finished calls arrive at one dispatcher by call id.
const binding = loadBinding()

/** The loader's "Cannot find native binding" gets a stable code and says what to do. */
function loadBinding() {
  try {
    return require('../binding.js')
  } catch (err) {
    if (err && err.code === undefined && /native binding/i.test(String(err.message))) {
      err.code = 'ERR_NATIVE_BINDING_MISSING'
      err.message +=
        '\netcd-napi: no prebuilt binary for this platform was installed (was it installed with --omit=optional?);' +
        ' reinstall, or install from a git checkout to build it from source (needs cargo).'
    }
    throw err
  }
}
const { hold, release } = require('./alive')

/** Calls in flight: id -> function receiving the native result. */
const pending = new Map()
let lastId = 0

function onComplete(id, status, headers, body, extra) {
  const done = pending.get(id)
  if (done === undefined) return // cancelled meanwhile
  pending.delete(id)
  release()
  done(status, headers, body, extra)
}

/** A native client whose async results go to `onComplete` (it references no client). */
function createClient(options) {
  return new binding.NativeClient(options, onComplete)
}

/** Starts a call; `done(status, headers, body, extra)` runs once unless the call is cancelled first. Returns its id. */
function submit(client, method, target, body, maxRetries, order, fastRetry, json, retryWrites, done) {
  const id = (lastId = (lastId + 1) >>> 0)
  hold()
  pending.set(id, done)
  try {
    client.submit(id, method, target, body, maxRetries, order, fastRetry, json, retryWrites)
  } catch (err) {
    pending.delete(id)
    release()
    throw err
  }
  return id
}

/** Cancels a pending call: no result is delivered and the native request is dropped. */
function cancel(client, id) {
  if (!pending.delete(id)) return
  release()
  client.cancel(id)
}

module.exports = { binding, createClient, submit, cancel }
