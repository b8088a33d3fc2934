'use strict'
// wrk as the server's ceiling: find or install it, run it, parse its report.
const { execFile, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const PUT_LUA = path.join(__dirname, 'put.lua')
let bin = null
let current = null

function onPath(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue
    const file = path.join(dir, name)
    try {
      fs.accessSync(file, fs.constants.X_OK)
      if (fs.statSync(file).isFile()) return file
    } catch {}
  }
  return null
}

function aptInstall(log) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const opts = { env, encoding: 'utf8', timeout: 300000, stdio: ['ignore', 'pipe', 'pipe'] }
  const install = () => spawnSync('apt-get', ['install', '-y', '-q', 'wrk'], opts)
  log('wrk not found: apt-get install -y wrk')
  let r = install()
  if (r.status !== 0) {
    // Only refresh the package lists when the install could not find the package without it.
    log('apt-get install failed; running apt-get update and retrying')
    spawnSync('apt-get', ['update', '-q'], opts)
    r = install()
  }
  if (r.status !== 0) log(`apt-get install wrk failed: ${String(r.stderr || r.error || '').trim().split('\n').pop()}`)
  return r.status === 0
}

/** Finds wrk, installing it with apt-get when running as root. Never throws. */
function ensure(log) {
  bin = onPath('wrk')
  let installed = false
  if (!bin && typeof process.getuid === 'function' && process.getuid() === 0 && onPath('apt-get')) {
    installed = aptInstall(log)
    bin = onPath('wrk')
  }
  if (!bin) {
    log('wrk is not available (not on PATH and could not be installed): the wrk rows are skipped')
    return { available: false }
  }
  // `wrk -v` prints "wrk 4.1.0 [epoll] ..." (and exits 1).
  const v = spawnSync(bin, ['-v'], { encoding: 'utf8', timeout: 5000 })
  const m = /wrk\s+(?:debian\/)?(\S+)/.exec(`${v.stdout}${v.stderr}`)
  return { available: true, path: bin, version: m ? m[1] : 'unknown', installed }
}

const UNIT = { us: 1e-3, ms: 1, s: 1000 }
const toMs = (s) => {
  const m = /^([\d.]+)(us|ms|s)$/.exec(s)
  return m ? Number(m[1]) * UNIT[m[2]] : null
}

function parse(text) {
  const num = (re) => {
    const m = re.exec(text)
    return m ? Number(m[1]) : null
  }
  const pct = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(text)
    return m ? toMs(m[1]) : null
  }
  const m = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(text)
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text)
  const errors = (num(/Non-2xx or 3xx responses: (\d+)/) || 0) + (sock ? sock.slice(1).reduce((n, x) => n + Number(x), 0) : 0)
  return {
    ops: m ? Number(m[1]) : null,
    opsPerSec: num(/Requests\/sec:\s+([\d.]+)/),
    latencyMs: { p50: pct(50), p90: pct(90), p99: pct(99) },
    errors
  }
}

/** One wrk round; resolves to a result shaped like bench/client.js output. */
function run({ url, threads, connections, seconds, method }) {
  const args = [`-t${threads}`, `-c${connections}`, `-d${Math.max(1, Math.round(seconds))}s`, '--latency', '--timeout', '5s']
  if (method === 'PUT') args.push('-s', PUT_LUA)
  args.push(url)
  return new Promise((resolve) => {
    current = execFile(bin, args, { timeout: (seconds + 30) * 1000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      current = null
      const res = { client: 'wrk', args: args.join(' '), ...parse(String(stdout)) }
      if (err || res.opsPerSec === null) res.fatal = `wrk ${args.join(' ')}: ${err ? err.message : ''} ${String(stderr).trim()}`.trim()
      resolve(res)
    })
  })
}

function killCurrent() {
  if (current) current.kill('SIGKILL')
}

module.exports = { ensure, run, killCurrent, parse }
