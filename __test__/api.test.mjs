// Module shape, constructor forms and argument checking: what a node-etcd user sees before any
// request is made.
import test from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const Etcd = require('../index.js')
const NodeEtcd = require('node-etcd')
const { buildQuery, keyPath, formBody } = require('../lib/encode.js')

test('require returns the Etcd constructor with named extras', () => {
  assert.equal(typeof Etcd, 'function')
  assert.equal(Etcd.Etcd, Etcd)
  assert.equal(typeof Etcd.AbortError, 'function')
  assert.equal(typeof Etcd.CancellationToken, 'function')
})

test('every node-etcd 7 prototype method exists, aliases are the same functions', () => {
  const ours = Etcd.prototype
  for (const name of Object.getOwnPropertyNames(NodeEtcd.prototype)) {
    if (name.startsWith('_') || name === 'constructor') continue
    assert.equal(typeof ours[name], 'function', `missing ${name}`)
  }
  assert.equal(ours.post, ours.create)
  assert.equal(ours.delete, ours.del)
  assert.equal(ours.testAndSet, ours.compareAndSwap)
  assert.equal(ours.testAndDelete, ours.compareAndDelete)
})

test('watcher is bound to the instance', () => {
  const etcd = new Etcd()
  assert.ok(Object.prototype.hasOwnProperty.call(etcd, 'watcher'))
  assert.notEqual(etcd.watcher, Etcd.prototype.watcher)
})

test('host normalisation matches node-etcd 7 for well-formed input', () => {
  const cases = [
    [undefined, ['http://127.0.0.1:2379']],
    [null, ['http://127.0.0.1:2379']],
    ['127.0.0.1:2379', ['http://127.0.0.1:2379']],
    ['localhost', ['http://localhost']],
    ['http://127.0.0.1:2379', ['http://127.0.0.1:2379']],
    ['https://127.0.0.1:2379/', ['https://127.0.0.1:2379']],
    ['http://a:2379/prefix/', ['http://a:2379/prefix']],
    ['a:2379/prefix', ['http://a:2379/prefix']],
    ['http://host:80', ['http://host']],
    ['https://host:443', ['https://host']],
    ['user:pw@host:2379', ['http://user:pw@host:2379']],
    ['[::1]:2379', ['http://[::1]:2379']],
    [['localhost:2379', 'localhost:4002'], ['http://localhost:2379', 'http://localhost:4002']],
    [[], []],
  ]
  for (const [input, expected] of cases) {
    assert.deepEqual(new Etcd(input).getHosts(), expected, `ours for ${JSON.stringify(input)}`)
    assert.deepEqual(new NodeEtcd(input).getHosts(), expected, `node-etcd for ${JSON.stringify(input)}`)
  }
})

test('node-etcd 7 parsing bugs are fixed', () => {
  assert.deepEqual(new Etcd('httpbin:2379').getHosts(), ['http://httpbin:2379'])
  assert.deepEqual(new Etcd('HTTP://A:2379').getHosts(), ['http://a:2379'])
  assert.deepEqual(new Etcd('  host:1  ').getHosts(), ['http://host:1'])
  // the pre-5.0 (host, port) form means that port
  assert.deepEqual(new Etcd('localhost', 4001).getHosts(), ['http://localhost:4001'])
  assert.deepEqual(new Etcd('127.0.0.1', '2379').getHosts(), ['http://127.0.0.1:2379'])
})

test('getHosts returns a copy', () => {
  const etcd = new Etcd(['a:1', 'b:2'])
  etcd.getHosts().push('x')
  assert.equal(etcd.getHosts().length, 2)
})

test('malformed hosts and options are clear TypeErrors with codes', () => {
  const bad = [
    [() => new Etcd('ftp://x:1'), 'ERR_INVALID_URL'],
    [() => new Etcd(42), 'ERR_INVALID_ARG_TYPE'],
    [() => new Etcd([1]), 'ERR_INVALID_ARG_TYPE'],
    [() => new Etcd('http://'), 'ERR_INVALID_URL'],
    [() => new Etcd('h:1', { timeout: -5 }), 'ERR_INVALID_ARG_VALUE'],
    [() => new Etcd('h:1', { ca: 42 }), 'ERR_INVALID_ARG_TYPE'],
    [() => new Etcd('h:1', { proxy: 42 }), 'ERR_INVALID_ARG_TYPE'],
    [() => new Etcd('h:1', { maxRetries: 'many' }), 'ERR_INVALID_ARG_VALUE'],
    [() => new Etcd('h:1', { headers: { 'bad header': 'x' } }), 'ERR_INVALID_HEADER'],
    [() => new Etcd('https://h:1', { ca: 'not a certificate' }), 'ERR_TLS_INVALID_CA'],
  ]
  for (const [fn, code] of bad) {
    assert.throws(fn, (err) => err instanceof TypeError && err.code === code, `expected ${code}`)
  }
})

test('unknown constructor options are ignored', () => {
  assert.doesNotThrow(() => new Etcd('h:1', { method: 'DELETE', pool: { maxSockets: 1 }, forever: true }))
})

test('bad call arguments throw TypeErrors before any request', () => {
  const etcd = new Etcd('127.0.0.1:1')
  const cases = [
    [() => etcd.get(undefined), 'ERR_INVALID_ARG_TYPE'],
    [() => etcd.get({}), 'ERR_INVALID_ARG_TYPE'],
    [() => etcd.set('k', { a: 1 }), 'ERR_INVALID_ARG_TYPE'],
    [() => etcd.set('k', () => {}), 'ERR_INVALID_ARG_TYPE'],
    [() => etcd.get('k', {}, 'not a function'), 'ERR_INVALID_ARG_TYPE'],
    [() => etcd.raw('G E T', 'x'), 'ERR_INVALID_ARG_TYPE'],
    [() => etcd.get('k', { signal: {} }), 'ERR_INVALID_ARG_TYPE'],
    [() => etcd.get('k', { maxRetries: -1 }), 'ERR_INVALID_ARG_VALUE'],
  ]
  for (const [fn, code] of cases) assert.throws(fn, (err) => err instanceof TypeError && err.code === code, `expected ${code}`)
})

test('watcher rejects a bad index before starting', () => {
  assert.throws(() => new Etcd('127.0.0.1:1').watcher('k', -1), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => new Etcd('127.0.0.1:1').watcher('k', 'abc'), { code: 'ERR_INVALID_ARG_VALUE' })
})

test('query strings follow qs: order, types, nesting, client-only keys stripped', () => {
  assert.equal(buildQuery({ ttl: 5 }, [['dir', true]]), 'ttl=5&dir=true')
  assert.equal(buildQuery({ prevValue: 'x', ttl: 1 }, [['prevValue', 'old']]), 'prevValue=old&ttl=1')
  assert.equal(buildQuery({ wait: false, waitIndex: 3 }, [['wait', true]]), 'wait=true&waitIndex=3')
  assert.equal(buildQuery({ recursive: true }, [['waitIndex', 7], ['wait', true]]), 'recursive=true&waitIndex=7&wait=true')
  assert.equal(
    buildQuery({ a: [1, 2], o: { x: 1 }, n: null, u: undefined, d: new Date(0), s: "it's (a)*!", maxRetries: 1, synchronous: false, signal: null }, null),
    'a%5B0%5D=1&a%5B1%5D=2&o%5Bx%5D=1&n=&d=1970-01-01T00%3A00%3A00.000Z&s=it%27s%20%28a%29%2A%21',
  )
  assert.equal(buildQuery({ 'ü b': '\ud800' }, null), '%C3%BC%20b=%EF%BF%BD')
  const opts = { ttl: 1 }
  buildQuery(opts, [['dir', true]])
  assert.deepEqual(opts, { ttl: 1 }, 'caller options untouched')
})

test('key paths: node-etcd bytes for ASCII, UTF-8 percent-encoding where node-etcd broke', () => {
  assert.equal(keyPath('/a/b_c.d-e'), '/v2/keys/a/b_c.d-e')
  assert.equal(keyPath('//a'), '/v2/keys//a')
  assert.equal(keyPath('a b"<>{}|^\'`\t'), '/v2/keys/a%20b%22%3C%3E%7B%7D%7C%5E%27%60%09')
  assert.equal(keyPath('a?b#c%2Fd\\é'), '/v2/keys/a%3Fb%23c%252Fd%5C%C3%A9')
  assert.equal(keyPath("~!*();,:@$+=[]&"), "/v2/keys/~!*();,:@$+=[]&")
  assert.equal(keyPath(42), '/v2/keys/42')
})

test('form bodies: strings, numbers and Buffers', () => {
  assert.equal(formBody('a b&c=d'), 'value=a%20b%26c%3Dd')
  assert.equal(formBody(7), 'value=7')
  assert.equal(formBody(Buffer.from([0, 0xff, 0x41])), 'value=%00%FFA')
  assert.equal(formBody(null), null)
  assert.equal(formBody(undefined), null)
})
