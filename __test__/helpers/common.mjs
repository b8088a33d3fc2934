// Harness pieces several suites share: waiting (sleep, bounded polling, an event with a timeout), loopback
// sockets (a refused port, listen/close, a proxy that cuts one answer) and a bounded child-process runner.
// Only logic that is the same everywhere lives here; a suite keeps its own variant where the difference matters.

import assert from 'node:assert/strict'
import net from 'node:net'
import { spawn } from 'node:child_process'

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Polls `fn` (sync or async) until it returns a truthy value and resolves with it; throws naming `what`
 * after `ms`. `every` is the pause between polls (suites differ: a fast poll for in-process state, a slow
 * one for calls to etcd).
 */
export async function until(fn, ms, what, { every = 25 } = {}) {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(every)
  }
}

/** Resolves with the args of the next `event` of `emitter`, or rejects after `ms`. */
export function once(emitter, event, ms = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.removeListener(event, on)
      reject(new Error(`no '${event}' within ${ms} ms`))
    }, ms)
    const on = (...args) => {
      clearTimeout(timer)
      resolve(args)
    }
    emitter.once(event, on)
  })
}

/** The error `promise` rejects with; fails the test if it fulfils. */
export const failure = (promise) =>
  promise.then(
    (v) => assert.fail(`expected a rejection, got ${JSON.stringify(v)}`),
    (e) => e,
  )

/** Listens on a free loopback port; resolves with the port. */
export function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(server.address().port))
  })
}

/** Closes `server`, dropping its idle keep-alive connections first (http servers) so close() does not wait on them. */
export function closeServer(server) {
  return new Promise((resolve) => {
    if (typeof server.closeAllConnections === 'function') server.closeAllConnections()
    server.close(() => resolve())
  })
}

/** A loopback port that was listening a moment ago and is now closed: connections to it are refused. */
export async function refusedPort() {
  const s = net.createServer()
  const port = await listen(s)
  await closeServer(s)
  return port
}

/** `http://127.0.0.1:<refusedPort()>`. */
export async function refusedUrl() {
  return `http://127.0.0.1:${await refusedPort()}`
}

/**
 * A loopback TCP server that accepts connections and never answers a byte. `pauseOnConnect`: it does not read
 * either (the kernel completes the handshake, nothing more). close() destroys the open connections.
 */
export async function stallServer({ pauseOnConnect = false } = {}) {
  const sockets = new Set()
  const server = net.createServer({ pauseOnConnect }, (s) => {
    sockets.add(s)
    s.on('error', () => {})
    s.on('close', () => sockets.delete(s))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: () => {
      for (const s of sockets) s.destroy()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}

/**
 * A TCP proxy to `upstream` (a URL). `cutNext()`: the next answer bytes are held back, and 300 ms later (the
 * request has been applied by then) the client socket is reset: a call whose outcome the client can't know.
 */
export async function cutProxy(upstream) {
  const target = new URL(upstream)
  const state = { cutting: false, cuts: 0 }
  const sockets = new Set()
  const server = net.createServer((client) => {
    const up = net.connect(Number(target.port), target.hostname)
    sockets.add(client)
    sockets.add(up)
    client.on('error', () => {})
    up.on('error', () => {})
    client.on('data', (d) => up.write(d))
    let dropping = false
    up.on('data', (d) => {
      if (dropping) return
      if (state.cutting) {
        state.cutting = false
        state.cuts++
        dropping = true
        setTimeout(() => {
          client.resetAndDestroy()
          up.destroy()
        }, 300)
        return
      }
      client.write(d)
    })
    client.on('close', () => up.destroy())
    up.on('close', () => client.destroy())
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    state,
    cutNext: () => (state.cutting = true),
    close: () => {
      for (const s of sockets) s.destroy()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}

/**
 * Runs `file args` with `env` as the whole environment, collecting its output; SIGKILLs it after `timeoutMs`.
 * Resolves (never rejects) on `on`: 'exit' (the process ended) or 'close' (also its pipes are drained), with
 * { code, signal, stdout, stderr, timedOut, ms }.
 */
export function runProcess(file, args, { env = process.env, cwd, timeoutMs = 20_000, on = 'exit' } = {}) {
  return new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(file, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on(on, (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, timedOut, ms: Date.now() - started })
    })
  })
}
