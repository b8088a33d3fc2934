'use strict'
// Tells a release addon from a debug one by its ELF sections: this project's release profile strips
// symbols, a `npm run build:debug` binary carries .debug_info (and runs several times slower).
const fs = require('node:fs')

function sectionNames(file) {
  const fd = fs.openSync(file, 'r')
  try {
    const read = (pos, len) => {
      const b = Buffer.alloc(len)
      fs.readSync(fd, b, 0, len, pos)
      return b
    }
    const h = read(0, 64)
    if (h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2 || h[5] !== 1) return null // 64-bit little-endian ELF only
    const shoff = Number(h.readBigUInt64LE(0x28))
    const shentsize = h.readUInt16LE(0x3a)
    const shnum = h.readUInt16LE(0x3c)
    const shstrndx = h.readUInt16LE(0x3e)
    const sh = read(shoff, shentsize * shnum)
    const strOff = Number(sh.readBigUInt64LE(shstrndx * shentsize + 0x18))
    const strSize = Number(sh.readBigUInt64LE(shstrndx * shentsize + 0x20))
    const strtab = read(strOff, strSize)
    const names = []
    for (let i = 0; i < shnum; i++) {
      const at = sh.readUInt32LE(i * shentsize)
      names.push(strtab.toString('latin1', at, strtab.indexOf(0, at)))
    }
    return names
  } finally {
    fs.closeSync(fd)
  }
}

function nativeInfo(file) {
  try {
    const st = fs.statSync(file)
    const names = sectionNames(file)
    const debugInfo = names ? names.includes('.debug_info') : null
    const stripped = names ? !names.includes('.symtab') : null
    return {
      path: file,
      sizeMB: +(st.size / 2 ** 20).toFixed(1),
      mtime: st.mtime.toISOString(),
      debugInfo,
      stripped,
      build: debugInfo ? 'DEBUG (has .debug_info: not a release build)' : stripped ? 'release (stripped)' : 'unknown'
    }
  } catch (err) {
    return { path: file, build: `unknown (${err.message})` }
  }
}

module.exports = { nativeInfo }
