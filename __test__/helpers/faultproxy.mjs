// A fault-injecting TCP proxy on 127.0.0.1, put between a client and a real etcd (or any HTTP/1.1 upstream).
//
//   const proxy = await startFaultProxy(server.endpoints[0])   // or { host: '127.0.0.1', port }
//   const etcd = new Etcd(proxy.url)
//   await proxy.setMode('stall')      // later: 'pass', 'refuse', 'reset', 'trickle', 'closeAfterHeaders'
//   await proxy.until(() => proxy.busy === 0 && proxy.open <= 1, 2000, 'no socket left mid-exchange')
//   await proxy.close()
//
// Modes (switchable at any time; they apply to new connections, to the next request on a pooled connection,
// and to response bytes still to come on open connections):
//   pass               forward both ways.
//   refuse             `{ how: 'close' }` (default): the listener is closed, so connects are refused (the kernel
//                      answers, so this also works while a *Sync call blocks the JS thread); open sockets are
//                      destroyed, like a dead server. `{ how: 'destroy' }`: keep listening, destroy every
//                      accepted socket at once.
//   reset              forward the request; of the response, forward the head and half of the body bytes at
//                      hand (or half of the bytes at hand while the head is incomplete), then RST the client
//                      socket (`socket.resetAndDestroy()`). `{ at: 'head' }`: always RST before the head is
//                      complete.
//   stall              accept and never answer: requests are swallowed (a new socket gets no upstream
//                      connection) and response bytes still to come are dropped; the socket stays open until
//                      the client closes it. A stalled socket stays stalled (its byte stream is broken).
//   trickle            forward response bytes one at a time, every `{ ms }` (default 10) ms; `{ from: 'body' }`:
//                      the head at once, then the body byte by byte. A socket that started trickling keeps
//                      trickling (bytes stay in order).
//   closeAfterHeaders  forward the response head (up to its blank line), then close the client socket (FIN).
//                      A response whose head was already forwarded is closed at its next byte.
//
// Counters: `connections` (accepted), `open` (client sockets open now), `busy` (open sockets with a request
// whose response has not been forwarded completely), `idle` (open and not busy: pooled keep-alive sockets),
// `bytesFromClient`, `bytesToClient`, `requests`, `responseHeads` (heads forwarded in full), `responses`
// (responses forwarded in full), and `log`: one record per socket { id, openedAt, closedAt, closedBy, bytesIn,
// bytesOut, requests: ['GET /v2/keys/k?wait=true HTTP/1.1', …] }. closedBy is 'client' when the client ended
// or reset the socket before the proxy or the upstream closed it, else 'proxy' or 'upstream'.
//
// In-process only: while a *Sync call blocks the JS thread, only what the kernel does by itself works (refuse
// with how 'close', and stall: the connect completes from the listen backlog and nothing answers).

import net from 'node:net'

export const MODES = Object.freeze(['pass', 'refuse', 'reset', 'stall', 'trickle', 'closeAfterHeaders'])
const HEAD_END = Buffer.from('\r\n\r\n')
const LOOPBACK = '127.0.0.1'
const MAX_HEAD = 64 * 1024

function parseUpstream(upstream) {
  if (typeof upstream === 'string') {
    const u = new URL(upstream.includes('://') ? upstream : `http://${upstream}`)
    return { host: u.hostname, port: Number(u.port) || 80 }
  }
  return { host: upstream.host || LOOPBACK, port: Number(upstream.port) }
}

/** Where a response body ends, from its head: { kind: 'none' | 'length' | 'chunked' | 'close', … }. */
function bodyFraming(head, requestMethod) {
  const lines = head.toString('latin1').split('\r\n')
  const status = Number(lines[0].split(' ')[1])
  const fields = new Map()
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':')
    if (i > 0) fields.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim().toLowerCase())
  }
  if (requestMethod === 'HEAD' || (status >= 100 && status < 200) || status === 204 || status === 304) return { kind: 'none' }
  if ((fields.get('transfer-encoding') || '').includes('chunked')) return { kind: 'chunked', state: 'size', line: '', left: 0 }
  if (fields.has('content-length')) {
    const left = Number(fields.get('content-length'))
    return left === 0 ? { kind: 'none' } : { kind: 'length', left }
  }
  return { kind: 'close' }
}

/** Consumes body bytes; returns how many of `buf` belong to the body, and sets `framing.done` at its end. */
function consumeBody(framing, buf) {
  if (framing.kind === 'close') return buf.length
  if (framing.kind === 'length') {
    const take = Math.min(framing.left, buf.length)
    framing.left -= take
    if (framing.left === 0) framing.done = true
    return take
  }
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i]
    switch (framing.state) {
      case 'size':
        if (b === 0x0a) {
          const size = parseInt(framing.line.split(';')[0], 16)
          framing.line = ''
          if (size === 0) framing.state = 'trailer'
          else {
            framing.left = size
            framing.state = 'data'
          }
        } else if (b !== 0x0d) framing.line += String.fromCharCode(b)
        break
      case 'data': {
        const take = Math.min(framing.left, buf.length - i)
        framing.left -= take
        i += take - 1
        if (framing.left === 0) framing.state = 'crlf'
        break
      }
      case 'crlf':
        if (b === 0x0a) framing.state = 'size'
        break
      case 'trailer':
        if (b === 0x0a) {
          if (framing.line === '') {
            framing.done = true
            return i + 1
          }
          framing.line = ''
        } else if (b !== 0x0d) framing.line += String.fromCharCode(b)
        break
    }
  }
  return buf.length
}

export class FaultProxy {
  constructor(upstream) {
    this.upstream = parseUpstream(upstream)
    if (this.upstream.host !== LOOPBACK && this.upstream.host !== 'localhost') {
      throw new Error(`faultproxy: upstream must be on ${LOOPBACK}, got ${this.upstream.host}`)
    }
    this.mode = 'pass'
    this.modeOptions = {}
    this.port = 0
    this.url = ''
    this.connections = 0
    this.bytesFromClient = 0
    this.bytesToClient = 0
    this.requests = 0
    this.responseHeads = 0
    this.responses = 0
    this.log = []
    this._live = new Set()
    this._server = null
    this._nextId = 1
    this._closed = false
  }

  get open() {
    return this._live.size
  }

  get busy() {
    let n = 0
    for (const c of this._live) if (c.phase !== 'idle') n++
    return n
  }

  get idle() {
    return this.open - this.busy
  }

  clientCloses() {
    return this.log.filter((r) => r.closedBy === 'client').length
  }

  stats() {
    return {
      mode: this.mode,
      connections: this.connections,
      open: this.open,
      busy: this.busy,
      bytesFromClient: this.bytesFromClient,
      bytesToClient: this.bytesToClient,
      requests: this.requests,
      responseHeads: this.responseHeads,
      responses: this.responses,
      clientCloses: this.clientCloses(),
    }
  }

  async listen(port = 0) {
    const server = net.createServer((socket) => this._accept(socket))
    await new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen({ port, host: LOOPBACK, exclusive: true }, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this._server = server
    this.port = server.address().port
    this.url = `http://${LOOPBACK}:${this.port}`
    return this
  }

  _stopListening() {
    if (this._server === null) return
    this._server.close() // stops accepting now; its callback would wait for the live sockets
    this._server = null
  }

  /** Switches the mode; see the header comment for `options`. */
  async setMode(mode, options = {}) {
    if (!MODES.includes(mode)) throw new Error(`faultproxy: unknown mode ${mode}`)
    if (this._closed) throw new Error('faultproxy: closed')
    this.mode = mode
    this.modeOptions = options
    if (mode === 'refuse') {
      const how = options.how || 'close'
      if (how === 'close') this._stopListening()
      for (const c of this._live) this._kill(c, 'proxy')
      if (how === 'destroy' && this._server === null) await this.listen(this.port)
    } else if (this._server === null) {
      // Back from refuse: the same port, so the client's host list stays valid.
      await this.listen(this.port)
    }
  }

  /** Closes every open client socket now (FIN, or RST with `rst`). */
  dropAll({ rst = false } = {}) {
    for (const c of this._live) this._kill(c, 'proxy', rst)
  }

  /** Polls `predicate` every 10 ms; rejects after `timeoutMs` naming `what`, with the counters and open sockets. */
  async until(predicate, timeoutMs, what = 'condition') {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (predicate()) return
      if (Date.now() > deadline) {
        const open = [...this._live].map((c) => ({ ...c.record, phase: c.phase }))
        throw new Error(`faultproxy: timed out after ${timeoutMs} ms waiting for ${what}; ${JSON.stringify(this.stats())}; open sockets: ${JSON.stringify(open)}`)
      }
      await new Promise((r) => setTimeout(r, 10))
    }
  }

  async close() {
    if (this._closed) return
    this._closed = true
    this._stopListening()
    for (const c of this._live) this._kill(c, 'proxy')
  }

  // --- per socket ---------------------------------------------------------------------------------

  _accept(socket) {
    this.connections++
    const c = {
      id: this._nextId++,
      client: socket,
      upstream: null,
      record: { id: 0, openedAt: Date.now(), closedAt: null, closedBy: null, bytesIn: 0, bytesOut: 0, requests: [] },
      // idle (no exchange under way) -> request (awaiting the head) -> body (head forwarded) -> idle
      phase: 'idle',
      method: '',
      head: [], // bytes of the response head so far
      headBytes: 0,
      tail: Buffer.alloc(0), // last bytes of the head so far, to find \r\n\r\n across chunks
      framing: null,
      stalled: false,
      trickle: false,
      queue: [],
      timer: null,
      upstreamEnded: false,
    }
    c.record.id = c.id
    this.log.push(c.record)
    this._live.add(c)
    socket.setNoDelay(true)
    socket.on('data', (buf) => this._fromClient(c, buf))
    socket.on('end', () => this._closedBy(c, 'client'))
    socket.on('error', () => this._closedBy(c, 'client'))
    socket.on('close', () => {
      this._closedBy(c, 'client')
      c.record.closedAt = Date.now()
      this._live.delete(c)
      if (c.timer !== null) clearInterval(c.timer)
      c.timer = null
      if (c.upstream !== null) c.upstream.destroy()
    })
    if (this.mode === 'refuse') this._kill(c, 'proxy')
  }

  _closedBy(c, who) {
    if (c.record.closedBy === null) c.record.closedBy = who
  }

  _kill(c, who, rst = false) {
    this._closedBy(c, who)
    c.stalled = true
    if (rst && typeof c.client.resetAndDestroy === 'function') c.client.resetAndDestroy()
    else c.client.destroy()
    if (c.upstream !== null) c.upstream.destroy()
  }

  _fromClient(c, buf) {
    c.record.bytesIn += buf.length
    this.bytesFromClient += buf.length
    if (c.phase === 'idle') {
      // HTTP/1.1 without pipelining: a client speaks first after the previous response is complete.
      this.requests++
      const eol = buf.indexOf('\r\n')
      const line = buf.subarray(0, eol === -1 ? Math.min(buf.length, 200) : Math.min(eol, 200)).toString('latin1')
      c.record.requests.push(line)
      c.method = line.split(' ')[0]
      c.phase = 'request'
      c.head = []
      c.headBytes = 0
      c.tail = Buffer.alloc(0)
      c.framing = null
    }
    if (c.stalled || this.mode === 'stall') {
      c.stalled = true
      return
    }
    if (this.mode === 'refuse') return this._kill(c, 'proxy')
    if (c.upstream === null) this._connectUpstream(c)
    c.upstream.write(buf)
  }

  _connectUpstream(c) {
    const up = net.connect({ host: this.upstream.host, port: this.upstream.port })
    up.setNoDelay(true)
    c.upstream = up
    up.on('data', (buf) => this._fromUpstream(c, buf))
    up.on('end', () => {
      c.upstreamEnded = true
      if (c.queue.length === 0 && !c.stalled) {
        this._closedBy(c, 'upstream')
        c.client.end()
      }
    })
    up.on('error', () => {
      this._closedBy(c, 'upstream')
      c.client.destroy()
    })
  }

  /** Where the current response's head ends in `buf` (index after \r\n\r\n), or -1; does not change `c`. */
  _headEnd(c, buf) {
    if (c.phase !== 'request') return -1
    const joined = c.tail.length === 0 ? buf : Buffer.concat([c.tail, buf])
    const i = joined.indexOf(HEAD_END)
    return i === -1 ? -1 : i + HEAD_END.length - c.tail.length
  }

  /** Forwards bytes to the client, following the exchange (head, body, end of the response). */
  _write(c, buf) {
    if (buf.length === 0) return
    c.record.bytesOut += buf.length
    this.bytesToClient += buf.length
    c.client.write(buf)
    let rest = buf
    while (rest.length > 0) {
      if (c.phase === 'request') {
        const end = this._headEnd(c, rest)
        const part = end === -1 ? rest : rest.subarray(0, end)
        if (c.headBytes < MAX_HEAD) c.head.push(part)
        c.headBytes += part.length
        if (end === -1) {
          const joined = Buffer.concat([c.tail, rest])
          c.tail = joined.subarray(Math.max(0, joined.length - 3))
          return
        }
        this.responseHeads++
        c.framing = bodyFraming(Buffer.concat(c.head), c.method)
        c.phase = 'body'
        rest = rest.subarray(end)
        if (c.framing.kind === 'none') this._responseDone(c)
      } else if (c.phase === 'body') {
        rest = rest.subarray(consumeBody(c.framing, rest))
        if (c.framing.done) this._responseDone(c)
      } else {
        return // bytes outside an exchange (a broken upstream): nothing to follow
      }
    }
  }

  _responseDone(c) {
    this.responses++
    c.phase = 'idle'
  }

  _fromUpstream(c, buf) {
    if (c.stalled) return
    const mode = this.mode
    if (mode === 'trickle' && this.modeOptions.from === 'body' && c.phase === 'request' && c.queue.length === 0) {
      // The head goes through at once (nothing is queued before it); only the body trickles.
      const end = this._headEnd(c, buf)
      if (end === -1) return this._write(c, buf)
      this._write(c, buf.subarray(0, end))
      buf = buf.subarray(end)
      if (buf.length === 0) return
    }
    if (mode === 'trickle') c.trickle = true
    if (c.trickle) {
      c.queue.push(buf)
      this._startTrickle(c)
      return
    }
    switch (mode) {
      case 'stall':
        c.stalled = true
        return
      case 'reset': {
        const end = this._headEnd(c, buf)
        let n
        if (c.phase !== 'request') n = Math.floor(buf.length / 2)
        else if (end === -1 || this.modeOptions.at === 'head') n = Math.min(Math.floor(buf.length / 2), end === -1 ? buf.length : end - 1)
        else n = end + Math.floor((buf.length - end) / 2)
        this._write(c, buf.subarray(0, n))
        c.stalled = true // nothing more is forwarded
        this._closedBy(c, 'proxy')
        // Once the bytes are with the kernel: RST (SO_LINGER 0), not FIN.
        c.client.write(Buffer.alloc(0), () => this._kill(c, 'proxy', true))
        return
      }
      case 'closeAfterHeaders': {
        if (c.phase !== 'request') return this._finish(c)
        const end = this._headEnd(c, buf)
        if (end === -1) return this._write(c, buf)
        this._write(c, buf.subarray(0, end))
        return this._finish(c)
      }
      default:
        this._write(c, buf)
    }
  }

  /** FIN to the client after what was written; the upstream is dropped. */
  _finish(c) {
    this._closedBy(c, 'proxy')
    c.stalled = true
    if (c.upstream !== null) c.upstream.destroy()
    c.client.end()
  }

  _startTrickle(c) {
    if (c.timer !== null) return
    const ms = Number(this.modeOptions.ms) > 0 ? Number(this.modeOptions.ms) : 10
    c.timer = setInterval(() => {
      if (c.queue.length === 0) {
        clearInterval(c.timer)
        c.timer = null
        if (c.upstreamEnded) {
          this._closedBy(c, 'upstream')
          c.client.end()
        }
        return
      }
      const head = c.queue[0]
      this._write(c, head.subarray(0, 1))
      if (head.length === 1) c.queue.shift()
      else c.queue[0] = head.subarray(1)
    }, ms)
  }
}

/** Starts a proxy on a free 127.0.0.1 port in front of `upstream` ('http://127.0.0.1:port' or {host, port}). */
export async function startFaultProxy(upstream, { mode = 'pass', ...options } = {}) {
  const proxy = new FaultProxy(upstream)
  await proxy.listen(0)
  if (mode !== 'pass') await proxy.setMode(mode, options)
  return proxy
}
