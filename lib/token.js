'use strict'
// node-etcd's CancellationToken, plus a lazy thenable form for calls made without a callback.
const { AbortError } = require('./errors')

class CancellationToken {
  constructor(servers, maxRetries) {
    this.servers = servers
    this.maxRetries = maxRetries
    this.retries = 0
    this.errors = []
    this.aborted = false
    // node-etcd binds abort and isAborted to the token (cancel/wasAborted are unbound aliases).
    this.abort = this.abort.bind(this)
    this.isAborted = this.isAborted.bind(this)
    this.req = { abort: this.abort }
    /** Set by the client: what cancels the native request. */
    this._cancel = null
  }

  abort() {
    if (this.aborted) return
    this.aborted = true
    if (this._cancel !== null) this._cancel()
    this._onAbort()
  }

  isAborted() {
    return this.aborted
  }

  _onAbort() {}
}
CancellationToken.prototype.cancel = CancellationToken.prototype.abort
CancellationToken.prototype.wasAborted = CancellationToken.prototype.isAborted

const PENDING = 0
const FULFILLED = 1
const REJECTED = 2

/**
 * Returned when no callback is given: `await etcd.get(k)` gives the body. The Promise is made
 * only when someone calls `then`, so a call nobody awaits cannot cause an unhandled rejection.
 * After it settles, `token.headers` holds the response headers.
 */
class PromiseToken extends CancellationToken {
  constructor(servers, maxRetries) {
    super(servers, maxRetries)
    this.headers = undefined
    this._state = PENDING
    this._value = undefined
    this._promise = null
    this._resolve = null
    this._reject = null
  }

  _fulfill(body, headers) {
    if (this._state !== PENDING) return
    this.headers = headers
    this._state = FULFILLED
    this._value = body
    if (this._promise !== null) this._resolve(body)
  }

  _fail(err, headers) {
    if (this._state !== PENDING) return
    this.headers = headers
    this._state = REJECTED
    this._value = err
    if (this._promise !== null) this._reject(err)
  }

  _onAbort() {
    this._fail(this._abortReason || new AbortError())
  }

  _lazyPromise() {
    if (this._promise === null) {
      if (this._state === FULFILLED) this._promise = Promise.resolve(this._value)
      else if (this._state === REJECTED) this._promise = Promise.reject(this._value)
      else {
        this._promise = new Promise((resolve, reject) => {
          this._resolve = resolve
          this._reject = reject
        })
      }
    }
    return this._promise
  }

  then(onFulfilled, onRejected) {
    return this._lazyPromise().then(onFulfilled, onRejected)
  }

  catch(onRejected) {
    return this._lazyPromise().catch(onRejected)
  }

  finally(onFinally) {
    return this._lazyPromise().finally(onFinally)
  }
}

module.exports = { CancellationToken, PromiseToken }
