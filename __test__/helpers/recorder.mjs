// Loopback HTTP server that records every request and answers from a programmable script.
//
// Two ways to use it:
//   * in-process:  const rec = await startRecorder()          (fine for async client calls)
//   * child process: const rec = await startRecorderProcess() (needed for blocking *Sync calls: a server on the
//     same JS thread could never answer while the native call blocks that thread)
// Both expose the same async API: url, port, host, setScript(rules), reset(), requests(), close().
//
// A rule (first matching rule with times left wins; no match -> DEFAULT_RESPONSE):
//   { method?, path?            exact pathname (no query),  pathPrefix?, target? (exact raw request-target),
//     times?                    how many requests it may answer (default: unlimited),
//     status?, headers?, body?  body: string | Buffer | {base64} | any other value (sent as JSON),
//     location?                 sets the Location header; "{{base}}" -> this server's base URL,
//                               "{{target}}" -> the request's raw target,
//     delayMs?                  wait before answering,
//     drop?                     destroy the socket without answering }
// Every request is recorded as { method, target, headers (lower-cased), rawHeaders, body (Buffer), host }.

import http from 'node:http';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const THIS_FILE = fileURLToPath(import.meta.url);

// What an etcd v2 GET of /k looks like; enough for any client to parse a success.
export const DEFAULT_RESPONSE = Object.freeze({
  status: 200,
  headers: { 'content-type': 'application/json', 'x-etcd-index': '7' },
  body: '{"action":"get","node":{"key":"/k","value":"v","modifiedIndex":7,"createdIndex":7}}\n',
});

function bodyBuffer(body) {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (typeof body === 'object' && typeof body.base64 === 'string') return Buffer.from(body.base64, 'base64');
  return Buffer.from(JSON.stringify(body), 'utf8');
}

function matches(rule, req) {
  if (rule.times !== undefined && rule.times <= 0) return false;
  const pathname = req.url.split('?')[0];
  if (rule.method && rule.method.toUpperCase() !== req.method) return false;
  if (rule.path !== undefined && rule.path !== pathname) return false;
  if (rule.pathPrefix !== undefined && !pathname.startsWith(rule.pathPrefix)) return false;
  if (rule.target !== undefined && rule.target !== req.url) return false;
  return true;
}

export class Recorder {
  constructor({ host = '127.0.0.1' } = {}) {
    this.host = host;
    this.port = 0;
    this.url = '';
    this._requests = [];
    this._rules = [];
    this._server = null;
    this._timers = new Set();
  }

  async start() {
    this._server = http.createServer((req, res) => this._handle(req, res));
    // Node's parser rejects some requests (e.g. a raw non-ASCII byte in the target, which node-etcd sends for
    // Latin-1 keys). Record what the client sent anyway, then answer 400 as Node would.
    this._server.on('clientError', (err, socket) => this._clientError(err, socket));
    // Keep-alive sockets from client pools must not keep the server alive forever.
    this._server.keepAliveTimeout = 5000;
    await new Promise((resolve, reject) => {
      this._server.once('error', reject);
      this._server.listen(0, this.host, resolve);
    });
    this.port = this._server.address().port;
    this.url = `http://${this.host}:${this.port}`;
    return this;
  }

  _handle(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const rec = {
        method: req.method,
        target: req.url, // raw request-target exactly as received (path + query, no decoding)
        headers: { ...req.headers },
        rawHeaders: [...req.rawHeaders],
        body: Buffer.concat(chunks),
        host: this.host,
      };
      this._requests.push(rec);
      const rule = this._rules.find((r) => matches(r, req));
      if (rule && rule.times !== undefined) rule.times -= 1;
      const answer = () => this._answer(rule ?? DEFAULT_RESPONSE, req, res);
      const delay = rule?.delayMs ?? 0;
      if (delay > 0) {
        const t = setTimeout(() => { this._timers.delete(t); answer(); }, delay);
        this._timers.add(t);
      } else {
        answer();
      }
    });
  }

  _clientError(err, socket) {
    const raw = err.rawPacket ? Buffer.from(err.rawPacket) : null;
    if (raw && raw.length > 0) {
      const head = raw.toString('latin1');
      const [requestLine, ...lines] = head.split('\r\n\r\n')[0].split('\r\n');
      const [method, target] = requestLine.split(' ');
      const headers = {};
      for (const line of lines) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      this._requests.push({
        method, target, headers, rawHeaders: [], body: Buffer.alloc(0), host: this.host, parseError: err.code,
      });
    }
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  }

  _answer(rule, req, res) {
    if (rule.drop) {
      req.socket.destroy();
      return;
    }
    const headers = { ...(rule.headers ?? {}) };
    if (rule.location !== undefined) {
      headers.location = rule.location.replaceAll('{{base}}', this.url).replaceAll('{{target}}', req.url);
    }
    const body = bodyBuffer(rule.body);
    headers['content-length'] = String(body.length);
    if (res.destroyed) return;
    res.writeHead(rule.status ?? 200, headers);
    res.end(body);
  }

  async setScript(rules) {
    // Copy: rules carry a mutable `times` counter.
    this._rules = (rules ?? []).map((r) => ({ ...r }));
  }

  async reset() {
    this._requests = [];
    this._rules = [];
  }

  async requests() {
    return this._requests.slice();
  }

  async close() {
    if (!this._server) return;
    for (const t of this._timers) clearTimeout(t);
    this._timers.clear();
    const server = this._server;
    this._server = null;
    const closed = new Promise((resolve) => server.close(() => resolve()));
    // Pools keep idle sockets open; close() would wait for them.
    server.closeAllConnections();
    await closed;
  }
}

export async function startRecorder(opts) {
  return new Recorder(opts).start();
}

// ---- child-process form -------------------------------------------------------------------------------------

function encodeRequest(r) {
  return { ...r, body: r.body.toString('base64') };
}

function decodeRequest(r) {
  return { ...r, body: Buffer.from(r.body, 'base64') };
}

function encodeRules(rules) {
  return (rules ?? []).map((r) => (Buffer.isBuffer(r.body) ? { ...r, body: { base64: r.body.toString('base64') } } : r));
}

class RemoteRecorder {
  constructor(child, info) {
    this.child = child;
    this.host = info.host;
    this.port = info.port;
    this.url = info.url;
    this._next = 1;
    this._pending = new Map();
    child.on('message', (m) => {
      const p = this._pending.get(m.id);
      if (!p) return;
      this._pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(m.error));
    });
    child.on('exit', () => {
      for (const p of this._pending.values()) p.reject(new Error('recorder child exited'));
      this._pending.clear();
    });
  }

  _call(op, arg) {
    return new Promise((resolve, reject) => {
      const id = this._next++;
      this._pending.set(id, { resolve, reject });
      this.child.send({ id, op, arg });
    });
  }

  setScript(rules) { return this._call('setScript', encodeRules(rules)); }
  reset() { return this._call('reset'); }
  async requests() { return (await this._call('requests')).map(decodeRequest); }

  async close() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    try { await this._call('close'); } catch { /* child already gone */ }
    await exited;
  }
}

export async function startRecorderProcess(opts = {}) {
  const child = fork(THIS_FILE, ['--recorder-child', JSON.stringify(opts)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const info = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`recorder child exited early (${code})`)));
    child.once('message', (m) => (m.ready ? resolve(m) : reject(new Error('unexpected first message'))));
  });
  child.removeAllListeners('exit');
  child.removeAllListeners('error');
  return new RemoteRecorder(child, info);
}

async function childMain() {
  const rec = await startRecorder(JSON.parse(process.argv[3] || '{}'));
  // If the parent dies, do not linger.
  process.on('disconnect', () => rec.close().then(() => process.exit(0)));
  process.on('message', async (m) => {
    try {
      let result;
      if (m.op === 'setScript') result = await rec.setScript(m.arg);
      else if (m.op === 'reset') result = await rec.reset();
      else if (m.op === 'requests') result = (await rec.requests()).map(encodeRequest);
      else if (m.op === 'close') {
        await rec.close();
        process.send({ id: m.id, ok: true }, () => process.exit(0));
        return;
      } else throw new Error(`unknown op ${m.op}`);
      process.send({ id: m.id, ok: true, result });
    } catch (e) {
      process.send({ id: m.id, ok: false, error: String(e?.stack ?? e) });
    }
  });
  process.send({ ready: true, host: rec.host, port: rec.port, url: rec.url });
}

if (process.argv[1] === THIS_FILE && process.argv[2] === '--recorder-child') {
  childMain();
}
