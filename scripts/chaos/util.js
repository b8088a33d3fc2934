'use strict'
// Small helpers for scripts/chaos.js (and leak.js's verdict): a seeded PRNG, plain-http health probes (the harness must not
// depend on the client under test to decide whether the cluster is healthy), and table printing.
const http = require('node:http')

/** mulberry32: a tiny deterministic PRNG, so a seed reproduces the same fault schedule. */
function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function shuffle(list, rnd) {
  const out = list.slice()
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** GET url/health with Node's http, no keep-alive; true when etcd says it is healthy. */
function healthy(url, timeout = 1000) {
  return new Promise((resolve) => {
    const req = http.get(`${url}/health`, { agent: false, timeout, headers: { connection: 'close' } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c) => (text += c))
      res.on('end', () => {
        try {
          const j = JSON.parse(text)
          resolve(j.health === 'true' || j.health === true)
        } catch {
          resolve(false)
        }
      })
      res.on('error', () => resolve(false))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', () => resolve(false))
  })
}

/** Resolves once every endpoint reports healthy at the same time; rejects after `ms`. */
async function waitAllHealthy(endpoints, ms) {
  const deadline = Date.now() + ms
  for (;;) {
    const states = await Promise.all(endpoints.map((u) => healthy(u)))
    if (states.every(Boolean)) return
    if (Date.now() > deadline) throw new Error(`cluster not healthy after ${ms} ms: ${states.map((s, i) => `etcd${i}=${s}`).join(' ')}`)
    await sleep(100)
  }
}

/** Rows of equal-length arrays as an aligned text table (first row is the header). */
function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)))
  return rows.map((r) => r.map((v, c) => (typeof v === 'number' ? String(v).padStart(widths[c]) : String(v).padEnd(widths[c]))).join('  ').trimEnd()).join('\n')
}

function countInto(map, key, n = 1) {
  map.set(key, (map.get(key) || 0) + n)
}

/** Named pass/fail properties, each with its measured figure: the verdict of a chaos or leak run. */
function checklist() {
  const items = []
  return {
    prop: (name, ok, figure) => items.push({ name, ok, figure }),
    /** Prints every property and the totals; returns how many failed. */
    report() {
      console.log('\n== properties')
      for (const p of items) console.log(`${p.ok ? 'PASS' : 'FAIL'}  ${p.name}: ${p.figure}`)
      const failed = items.filter((p) => !p.ok).length
      console.log(`${items.length - failed} passed, ${failed} failed`)
      return failed
    },
  }
}

module.exports = { prng, shuffle, sleep, healthy, waitAllHealthy, table, countInto, checklist }
