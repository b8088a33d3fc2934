#!/usr/bin/env node
'use strict'
// Fetches Debian's etcd 3.4.23 (package etcd-server) into .etcd-cache/etcd-v3.4.23/ without
// installing it as a service: `apt-get download` + `dpkg -x`. Prints the binary's path, or
// exits 1 when apt or dpkg are not available (the 3.4 pass of `npm test` is then skipped).
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.join(__dirname, '..')
const cacheDir = process.env.ETCD_NAPI_CACHE || path.join(root, '.etcd-cache')
const target = path.join(cacheDir, 'etcd-v3.4.23')
const bin = path.join(target, 'etcd')

function main() {
  if (fs.existsSync(bin)) return bin
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd34-'))
  try {
    const download = () => execFileSync('apt-get', ['download', 'etcd-server=3.4.23*'], { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] })
    try {
      download()
    } catch {
      // A fresh machine may have no package lists yet.
      execFileSync('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'pipe'] })
      download()
    }
    const deb = fs.readdirSync(tmp).find((f) => f.endsWith('.deb'))
    if (!deb) throw new Error('apt-get download produced no .deb')
    const unpacked = path.join(tmp, 'root')
    execFileSync('dpkg', ['-x', path.join(tmp, deb), unpacked])
    const found = path.join(unpacked, 'usr', 'bin', 'etcd')
    if (!fs.existsSync(found)) throw new Error('no usr/bin/etcd in the package')
    fs.mkdirSync(cacheDir, { recursive: true })
    const staging = fs.mkdtempSync(path.join(cacheDir, '.etcd34-'))
    fs.copyFileSync(found, path.join(staging, 'etcd'))
    fs.chmodSync(path.join(staging, 'etcd'), 0o755)
    try {
      fs.renameSync(staging, target)
    } catch {
      fs.rmSync(staging, { recursive: true, force: true }) // another process won the race
    }
    return bin
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

try {
  console.log(main())
} catch (err) {
  console.error(`etcd 3.4.23 unavailable: ${err.message.split('\n')[0]}`)
  process.exit(1)
}
