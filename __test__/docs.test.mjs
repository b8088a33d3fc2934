// docs/API.md documents every public method: this fails when a method, property, event, export or error code
// exists in the code (or the types) but not in the reference. No etcd needed: the classes are inspected, and
// the v3 client is built on a stand-in engine that never answers.
//
// API.md is cut into sections by `<!-- api:NAME -->` markers; a class's members must appear in its section,
// inside inline code, as `name(`, `.name(`, `name` or `.name`.
//
// Run: node --test __test__/docs.test.mjs

import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const API_MD = fs.readFileSync(path.join(ROOT, 'docs', 'API.md'), 'utf8')
const V2_TYPES = fs.readFileSync(path.join(ROOT, 'index.d.ts'), 'utf8')
const V3_TYPES = fs.readFileSync(path.join(ROOT, 'v3', 'index.d.ts'), 'utf8')

const Etcd = require('../index.js')
const { CancellationToken, PromiseToken } = require('../lib/token.js')
const v3 = require('../v3/index.js')
const testing = require('../testing/index.js')
const { EventEmitter } = require('node:events')

// ---- reading the reference --------------------------------------------------------------------------------------

/** `{ NAME: text }` from `<!-- api:NAME -->` to the next marker (the text before the first one is '').  */
function sectionsOf(md) {
  const out = { '': '' }
  let name = ''
  for (const line of md.split('\n')) {
    const m = /^<!-- api:([\w.-]+) -->$/.exec(line.trim())
    if (m) {
      name = m[1]
      assert.ok(!(name in out), `marker api:${name} appears twice`)
      out[name] = ''
    } else out[name] += line + '\n'
  }
  return out
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Whether `name` appears in inline code in `text` as a member: `name(`, `.name(`, `name` or `.name`. */
function mentions(text, name) {
  const spans = text.match(/`[^`\n]+`/g) || []
  const member = new RegExp(`(^|[^\\w$])${escape(name)}(\\(|$|[^\\w$])`)
  return spans.some((span) => member.test(span.slice(1, -1)))
}

/** The names of `names` that `section` of `md` does not mention. */
function missingIn(md, section, names) {
  const sections = sectionsOf(md)
  assert.ok(section in sections, `docs/API.md has no <!-- api:${section} --> section`)
  assert.ok(sections[section].trim().length > 0, `section ${section} is empty`)
  return names.filter((name) => !mentions(sections[section], name))
}

function assertDocumented(section, names, what) {
  assert.ok(names.length > 0, `${what}: nothing to check (the inspection found no members)`)
  assert.deepEqual(missingIn(API_MD, section, names), [], `${what} missing from docs/API.md section api:${section}`)
}

// ---- reading the code -------------------------------------------------------------------------------------------

/** Own method and accessor names of a prototype, minus the constructor, `_private` ones and `internal`. */
function membersOf(proto, internal = []) {
  return Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor' && !n.startsWith('_') && !internal.includes(n))
}

/** Members of a class and its ancestors up to (not including) `stop`. */
function chainMembers(cls, internal = [], stop = Object) {
  const names = new Set()
  for (let p = cls.prototype; p && p !== stop.prototype && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const n of membersOf(p, internal)) names.add(n)
  }
  return [...names]
}

/** The body of `declare class NAME … { … }` in a .d.ts, or '' when it is not declared there. */
function declaredClass(types, name) {
  const m = new RegExp(`^( *)(?:export )?(?:declare )?(?:abstract )?class ${name}\\b[^{\\n]*\\{\\n([\\s\\S]*?)\\n\\1\\}`, 'm').exec(types)
  return m ? m[2] : ''
}

/** Members a class keeps to itself must not be public in the types either (protected is fine). */
function assertNotPublicInTypes(types, cls, internal) {
  const body = declaredClass(types, cls)
  for (const name of internal) {
    const publicDecl = new RegExp(`^\\s+(?!protected |private )(?:readonly |static )?${escape(name)}[(<:?]`, 'm')
    assert.ok(!publicDecl.test(body), `${cls}.${name} is treated as internal here but declared public in the types`)
  }
}

/** Event names of `interface NAME { event: [...] }` in a .d.ts. */
function eventsOf(types, iface) {
  const m = new RegExp(`interface ${iface} \\{\\n([\\s\\S]*?)\\n\\s*\\}`).exec(types)
  assert.ok(m, `${iface} is declared in the types`)
  return [...m[1].matchAll(/^\s+(\w+): \[/gm)].map((x) => x[1])
}

/** The v3 client on an engine that never answers: nothing is sent, nothing keeps the process alive. */
function offlineClient() {
  const never = () => new Promise(() => {})
  const rpc = { call: never, watch: () => ({ cancel: never }), keepAlive: () => ({ stop() {} }), close() {} }
  return new v3.Etcd3({ hosts: '127.0.0.1:1' }, { rpcFactory: () => rpc })
}

/** Error-code string literals in the sources of `dir` (not its subdirectories). */
function codesIn(dir, ext = '.js') {
  const codes = new Set()
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(ext))) {
    const source = fs.readFileSync(path.join(dir, file), 'utf8')
    for (const m of source.matchAll(/['"`]((?:ETCD3?|ERR)_[A-Z0-9_]+|ABORT_ERR)['"`]/g)) codes.add(m[1])
  }
  return [...codes].sort()
}

// ---- the checker can fail ---------------------------------------------------------------------------------------

test('the checker notices a missing method', () => {
  assert.equal(mentions('`etcd.get(key)`', 'get'), true)
  assert.equal(mentions('`getAll()`', 'get'), false)
  assert.equal(mentions('`existsSync(key)`', 'exists'), false)
  assert.equal(mentions('get it with get()', 'get'), false, 'only inline code counts')
  // Remove every mention of one method from the reference: the check must report exactly that method.
  const sections = sectionsOf(API_MD)
  const without = API_MD.replace(sections.Etcd, sections.Etcd.replace(/compareAndSwap/g, 'somethingElse'))
  assert.deepEqual(missingIn(without, 'Etcd', ['compareAndSwap', 'get']), ['compareAndSwap'])
})

// ---- v2 ---------------------------------------------------------------------------------------------------------

test('v2: every public Etcd method and alias is documented', () => {
  const names = membersOf(Etcd.prototype)
  for (const expected of ['get', 'setSync', 'watcher', 'post', 'testAndSet', 'existsSync', 'watchUntil']) {
    assert.ok(names.includes(expected), `inspection sees ${expected}`)
  }
  assertDocumented('Etcd', [...names, 'hosts', 'Symbol.dispose', 'clusterInfo'], 'Etcd methods')
  // Methods the types declare must exist, so the two lists above are the same list.
  const declared = [...declaredClass(V2_TYPES, 'Etcd').matchAll(/^ {2}(\w+)[(:]/gm)].map((m) => m[1])
  const statics = new Set(Object.getOwnPropertyNames(Etcd))
  for (const name of declared) assert.ok(name in Etcd.prototype || statics.has(name) || name === 'hosts', `index.d.ts declares Etcd.${name}`)
})

test('v2: module exports are documented (CommonJS properties and ESM named exports)', async () => {
  const exports = Object.getOwnPropertyNames(Etcd).filter((n) => !['length', 'name', 'prototype'].includes(n))
  assert.ok(exports.includes('Etcd3'))
  assert.deepEqual(exports.filter((n) => !mentions(API_MD, `Etcd.${n}`)), [], 'Etcd.<export> missing from docs/API.md')
  const esm = Object.keys(await import('../index.mjs')).filter((n) => n !== 'default')
  const sentence = /the\s+named exports are ([^.]+)\./.exec(API_MD)
  assert.ok(sentence, 'docs/API.md lists the ESM named exports')
  assert.deepEqual(esm.filter((n) => !mentions(sentence[1], n)), [], 'ESM named exports missing from that list')
})

test('v2: tokens and pending calls', () => {
  const token = new PromiseToken(['http://127.0.0.1:2379'], 3)
  const names = [...membersOf(CancellationToken.prototype), ...membersOf(PromiseToken.prototype), ...Object.keys(token).filter((n) => !n.startsWith('_'))]
  assertDocumented('CancellationToken', [...new Set(names)], 'CancellationToken members')
})

test('v2: Watcher methods, properties and events', () => {
  const internal = []
  const props = [...declaredClass(V2_TYPES, 'Watcher').matchAll(/^\s+(?:readonly )?(\w+): /gm)].map((m) => m[1])
  assert.ok(props.includes('retryAttempts'))
  assertDocumented('Watcher', [...membersOf(Etcd.Watcher.prototype, internal), ...props, ...eventsOf(V2_TYPES, 'WatcherEvents')], 'v2 Watcher')
})

test('v2: every error code the v2 code uses is documented', () => {
  // The JS facade's codes, etcd's error numbers, and the codes the native core gives errors (constructor, TLS).
  const codes = [...codesIn(path.join(ROOT, 'lib')), ...Object.values(Etcd.ETCD_ERROR_CODES), ...codesIn(path.join(ROOT, 'src'), '.rs')].filter(
    (code) => !code.startsWith('ETCD_NAPI_'), // environment variables, not error codes
  )
  assert.ok(codes.includes('ETCD_OUTCOME_UNKNOWN'))
  assert.ok(codes.includes('ERR_TLS_INVALID_PFX'))
  assertDocumented('Etcd-errors', [...new Set(codes)], 'v2 error codes')
})

// ---- v3 ---------------------------------------------------------------------------------------------------------

// Members a class uses for itself (not in the types' public surface; checked below).
const V3_INTERNAL = {
  Etcd3: [],
  Namespace: [],
  SingleRangeBuilder: ['createPromise'],
  MultiRangeBuilder: ['createPromise', 'mapValues'],
  PutBuilder: ['createPromise', 'applyLease'],
  DeleteBuilder: ['createPromise'],
  ComparatorBuilder: ['compareOf'],
  Lease: ['ensureGrant', 'startKeepalive', 'onClientClosed', 'close', 'safeEmit', 'emitLoss'],
  Watcher: ['start', 'doCancel', 'active', 'handleConnecting', 'handleConnected', 'handleResponse', 'handleDisconnected', 'errorOf', 'handleFatal', 'onClientClosed', 'finish'],
  Lock: ['queuePrefix', 'obtain', 'onLeaseLost'],
  Campaign: ['active', 'start', 'proclaimInner', 'fail'],
  ElectionObserver: ['setLeader', 'loop', 'watchUntil'],
  SoftwareTransaction: ['attemptKV'],
}

// Which section documents which class.
const V3_SECTIONS = {
  Etcd3: ['Etcd3', 'Namespace'],
  RangeBuilder: ['RangeBuilder', 'PromiseWrap'],
  SingleRangeBuilder: ['SingleRangeBuilder'],
  MultiRangeBuilder: ['MultiRangeBuilder'],
  PutBuilder: ['PutBuilder'],
  DeleteBuilder: ['DeleteBuilder'],
  ComparatorBuilder: ['ComparatorBuilder'],
  Lease: ['Lease'],
  WatchBuilder: ['WatchBuilder'],
  'Etcd3.Watcher': ['Watcher'],
  Locks: ['Lock', 'Election', 'Campaign', 'ElectionObserver', 'SoftwareTransaction'],
  Helpers: ['NSApplicator'],
  Mirror: ['Mirror'],
  Role: ['Role', 'User'],
  Range: ['Range'],
  LowLevel: ['KVClient', 'LeaseClient', 'WatchClient', 'ClusterClient', 'MaintenanceClient', 'AuthClient'],
}

test('v3: members kept internal here are not public in v3/index.d.ts', () => {
  for (const [cls, internal] of Object.entries(V3_INTERNAL)) assertNotPublicInTypes(V3_TYPES, cls, internal)
})

test('v3: every class exported by etcd-napi/v3 with methods has a section', () => {
  const documented = new Set(Object.values(V3_SECTIONS).flat())
  const classes = Object.entries(v3)
    .filter(([, value]) => typeof value === 'function' && value.prototype && !(value.prototype instanceof Error))
    .filter(([, value]) => membersOf(value.prototype).length > 0)
    .map(([name]) => name)
  assert.ok(classes.includes('PutBuilder'))
  assert.deepEqual(classes.filter((name) => !documented.has(name)), [], 'exported classes without a section in V3_SECTIONS')
})

for (const [section, classes] of Object.entries(V3_SECTIONS)) {
  test(`v3: ${classes.join(', ')} (section api:${section})`, () => {
    const names = new Set()
    for (const cls of classes) {
      const value = v3[cls]
      assert.equal(typeof value, 'function', `etcd-napi/v3 exports ${cls}`)
      for (const n of membersOf(value.prototype, V3_INTERNAL[cls] || [])) names.add(n)
      for (const n of Object.getOwnPropertyNames(value)) if (!['length', 'name', 'prototype'].includes(n)) names.add(n)
    }
    assertDocumented(section, [...names], classes.join(', '))
  })
}

test('v3: client properties, lock/election/stm objects and events', () => {
  const client = offlineClient()
  try {
    const props = Object.keys(client).filter((n) => !['pool', 'nsApplicator'].includes(n))
    assert.ok(props.includes('maintenance'))
    assertDocumented('Etcd3', props, 'Etcd3 properties')
    // What lock(), election() and stm() hand out, whatever classes they are.
    const made = [client.lock('k'), client.election('e'), client.stm()]
    const names = made.flatMap((obj) => chainMembers(obj.constructor, V3_INTERNAL[obj.constructor.name] || [], EventEmitter))
    assertDocumented('Locks', [...new Set(names)], 'lock/election/stm objects')
  } finally {
    client.close()
  }
  assertDocumented('Lease', eventsOf(V3_TYPES, 'LeaseEvents'), 'Lease events')
  assertDocumented('Etcd3.Watcher', eventsOf(V3_TYPES, 'WatcherEvents'), 'v3 Watcher events')
})

test('v3: every export of etcd-napi/v3 is named in docs/API.md', () => {
  assert.deepEqual(Object.keys(v3).filter((name) => !mentions(API_MD, name)), [], 'etcd-napi/v3 exports missing from docs/API.md')
})

test('v3: every error class with its code, and every code the v3 code uses', () => {
  const classes = Object.entries(v3).filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error)
  assert.ok(classes.length > 30)
  const names = classes.flatMap(([name, cls]) => [name, cls.prototype.code])
  assertDocumented('Etcd3-errors', [...new Set([...names, ...codesIn(path.join(ROOT, 'lib', 'v3'))])], 'v3 errors and codes')
})

// ---- testing ----------------------------------------------------------------------------------------------------

test('etcd-napi/testing exports are documented', () => {
  assertDocumented('testing', Object.keys(testing), 'etcd-napi/testing exports')
})

// ---- links ------------------------------------------------------------------------------------------------------

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to '-', repeats numbered. */
function anchorsOf(md) {
  const seen = new Map()
  const anchors = new Set()
  let fenced = false
  for (const line of md.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced
    const m = !fenced && /^#{1,6} (.+)$/.exec(line)
    if (!m) continue
    const base = m[1].toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')
    const n = seen.get(base) || 0
    seen.set(base, n + 1)
    anchors.add(n === 0 ? base : `${base}-${n}`)
  }
  return anchors
}

test('relative links in README.md and docs/ lead to files and headings that exist', () => {
  const files = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f))]
  const broken = []
  let checked = 0
  for (const file of files) {
    const md = fs.readFileSync(path.join(ROOT, file), 'utf8').replace(/```[\s\S]*?```/g, '')
    for (const [, target] of md.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue // http(s): and mailto: links
      checked++
      const [rel, anchor] = target.split('#')
      const dest = rel === '' ? path.join(ROOT, file) : path.resolve(path.dirname(path.join(ROOT, file)), rel)
      if (!fs.existsSync(dest)) broken.push(`${file}: ${target} (no such file)`)
      else if (anchor && !anchorsOf(fs.readFileSync(dest, 'utf8')).has(anchor)) broken.push(`${file}: ${target} (no such heading)`)
    }
  }
  assert.ok(checked > 20, `only ${checked} links checked`)
  assert.deepEqual(broken, [])
})
