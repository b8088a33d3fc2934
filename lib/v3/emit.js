'use strict'
// Listener and hook errors must not unwind into the engine's callbacks, watch loops or promise chains:
// they are thrown again on a tick of their own, where they reach 'uncaughtException' as EventEmitter's
// contract says (an 'error' nobody listens to included).

function rethrowLater(err) {
  setImmediate(() => {
    throw err
  })
}

function safeEmit(emitter, event, ...args) {
  try {
    emitter.emit(event, ...args)
  } catch (err) {
    rethrowLater(err)
  }
}

module.exports = { rethrowLater, safeEmit }
