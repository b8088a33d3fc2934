// What goes on the wire: every call is made by node-etcd (the oracle) and by etcd-napi against a recording HTTP
// server, and the requests are compared byte for byte (method, request-target, body, and the headers
// content-type, content-length, accept, authorization).
//
// Each scenario states what node-etcd 7.0.0 sends (`expect`, taken from the spec and checked against node-etcd
// itself). etcd-napi must send exactly what node-etcd actually sent, unless the scenario lists a deliberate
// difference (`napi`), which is then asserted on both sides: node-etcd does `expect`, etcd-napi does `napi`.
//
// Run: node --test __test__/wire.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRecorderProcess, DEFAULT_RESPONSE } from './helpers/recorder.mjs';
import { loadImplementations, wireView, W, IGNORED_EXTRA_HEADERS } from './helpers/normalize.mjs';
import { sleep } from './helpers/common.mjs';

// Both clients wait 1 ms instead of 100·16^n ms between leader-election retry rounds.
process.env.RUNNING_UNIT_TESTS = 'true';
// A proxy in the environment would change every request line; the proxy scenarios set their own.
for (const k of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy']) delete process.env[k];

const [NODE, NAPI] = loadImplementations();
const DEFAULT_BODY = JSON.parse(DEFAULT_RESPONSE.body);


// ---- running one scenario -------------------------------------------------------------------------------------

// Recorders live in child processes so that etcd-napi's blocking *Sync calls can be answered.
let rec; // 127.0.0.1
let rec2; // 127.0.0.2: a second host name (cross-host redirects) and a stand-in HTTP proxy

function withEnv(env, fn) {
  if (!env) return fn();
  const saved = {};
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const restore = () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  let out;
  try {
    out = fn();
  } catch (e) {
    restore();
    throw e;
  }
  if (out && typeof out.then === 'function') return out.finally(restore);
  restore();
  return out;
}

async function waitForRequests(count, ms = 2000) {
  const end = Date.now() + ms;
  for (;;) {
    const n = (await rec.requests()).length + (await rec2.requests()).length;
    if (n >= count || Date.now() > end) break;
    await sleep(20);
  }
  await sleep(50); // anything beyond `count` would show up now
}

// Runs sc against impl. mode 'async' calls sc.call(etcd, cb, ctx); mode 'sync' calls sc.sync(etcd, ctx).
async function run(impl, sc, mode = 'async') {
  await rec.reset();
  await rec2.reset();
  const env = { rec, rec2 };
  await rec.setScript(sc.script ? sc.script(env) : []);
  await rec2.setScript(sc.script2 ? sc.script2(env) : []);
  const ctx = {};
  const outcome = await withEnv(sc.env?.(env), async () => {
    const args = sc.ctor ? sc.ctor(env) : [rec.url];
    const etcd = new impl.Etcd(...args);
    if (mode === 'sync') {
      try {
        return { ret: sc.sync(etcd, ctx) };
      } catch (e) {
        return { threw: e };
      }
    }
    return new Promise((resolve) => {
      const wait = sc.noCallback ? 0 : sc.callbackTimeout ?? 4000;
      let timer = null;
      const cb = (...cbArgs) => {
        clearTimeout(timer);
        resolve({ args: cbArgs });
      };
      try {
        ctx.returned = sc.call(etcd, cb, ctx);
      } catch (e) {
        resolve({ threw: e });
        return;
      }
      if (sc.noCallback) resolve({ noCallback: true });
      else timer = setTimeout(() => resolve({ timedOut: true }), wait);
    });
  });
  if (sc.noCallback) await waitForRequests(sc.noCallback);
  const requests = [...(await rec.requests()), ...(await rec2.requests())];
  return { outcome, requests, ctx };
}

// What the callback said, reduced to what both clients must agree on.
function outcomeView(o) {
  if (o.threw) return { threw: o.threw.name, message: o.threw.message };
  if (o.timedOut) return { timedOut: true };
  if (o.noCallback) return { noCallback: true };
  if (o.ret) return { ret: true };
  const [err] = o.args;
  return { arity: o.args.length, error: err ? err.message : null };
}

function views(result, sc) {
  return result.requests.map((r) => wireView(r, sc.compareHeaders ?? []));
}

// Headers etcd-napi sends that node-etcd does not (or the reverse): reported, not failed, so we can decide.
function reportHeaderDiffs(t, nodeRes, napiRes) {
  napiRes.requests.forEach((r, i) => {
    const base = nodeRes.requests[i];
    if (!base) return;
    const extra = Object.keys(r.headers).filter((h) => !(h in base.headers) && !IGNORED_EXTRA_HEADERS.has(h));
    const missing = Object.keys(base.headers).filter((h) => !(h in r.headers) && !IGNORED_EXTRA_HEADERS.has(h));
    for (const h of extra) t.diagnostic(`request ${i}: etcd-napi sends extra header ${h}: ${r.headers[h]}`);
    for (const h of missing) t.diagnostic(`request ${i}: etcd-napi does not send node-etcd's header ${h}: ${base.headers[h]}`);
  });
}

// Registers one scenario: node-etcd must match `expect`; etcd-napi must match node-etcd (or `napi`).
function scenario(t, sc) {
  return t.test(sc.name, async (t) => {
    let nodeRes;
    await t.test('node-etcd', async () => {
      nodeRes = await run(NODE, sc);
      if (sc.expect) assert.deepStrictEqual(views(nodeRes, sc), sc.expect, 'node-etcd wire differs from the spec');
      if (sc.expectOutcome) assert.deepStrictEqual(outcomeView(nodeRes.outcome), sc.expectOutcome);
      if (sc.checkNode) sc.checkNode(nodeRes);
      if (!sc.expect && !sc.expectOutcome && !sc.checkNode) assert.ok(nodeRes.requests.length > 0);
    });
    await t.test('etcd-napi', { skip: NAPI.missing ?? false }, async (t) => {
      assert.ok(nodeRes, 'the node-etcd run did not complete, nothing to compare with');
      const napiRes = await run(NAPI, sc, sc.sync ? 'sync' : 'async');
      if (sc.sync) {
        // node-etcd's own *Sync aborts inside deasync on Node 20: its async form (same request) is the oracle.
        assert.deepStrictEqual(views(napiRes, sc), views(nodeRes, sc), 'etcd-napi sync wire differs from node-etcd');
        sc.checkSync(napiRes.outcome, napiRes);
      } else if (!sc.napiFlexible) {
        if (sc.napi) {
          assert.deepStrictEqual(views(napiRes, sc), sc.napi, 'etcd-napi wire (deliberate difference)');
        } else {
          assert.deepStrictEqual(views(napiRes, sc), views(nodeRes, sc), 'etcd-napi wire differs from node-etcd');
        }
        const want = sc.napiOutcome ?? outcomeView(nodeRes.outcome);
        assert.deepStrictEqual(outcomeView(napiRes.outcome), want, 'callback outcome');
      }
      if (sc.checkNapi) await sc.checkNapi(napiRes);
      reportHeaderDiffs(t, nodeRes, napiRes);
    });
  });
}

async function group(t, name, list) {
  await t.test(name, async (t) => {
    for (const sc of list) await scenario(t, sc);
  });
}

// ---- scenarios --------------------------------------------------------------------------------------------------

const k = '/v2/keys';

// Every method with and without options.
const METHODS = [
  { name: 'set', call: (e, cb) => e.set('k', 'v', cb), expect: [W('PUT', `${k}/k`, 'value=v')] },
  { name: 'set with options', call: (e, cb) => e.set('k', 'v', { ttl: 5, prevExist: false }, cb), expect: [W('PUT', `${k}/k?ttl=5&prevExist=false`, 'value=v')] },
  { name: 'get', call: (e, cb) => e.get('k', cb), expect: [W('GET', `${k}/k`)] },
  { name: 'get with options', call: (e, cb) => e.get('k', { recursive: true, sorted: true, quorum: false }, cb), expect: [W('GET', `${k}/k?recursive=true&sorted=true&quorum=false`)] },
  { name: 'get with null options', call: (e, cb) => e.get('k', null, cb), expect: [W('GET', `${k}/k`)] },
  { name: 'del', call: (e, cb) => e.del('k', cb), expect: [W('DELETE', `${k}/k`)] },
  { name: 'del with options', call: (e, cb) => e.del('k', { recursive: true, prevIndex: 4 }, cb), expect: [W('DELETE', `${k}/k?recursive=true&prevIndex=4`)] },
  { name: 'delete alias', call: (e, cb) => e.delete('k', { dir: true }, cb), expect: [W('DELETE', `${k}/k?dir=true`)] },
  { name: 'mkdir', call: (e, cb) => e.mkdir('d', cb), expect: [W('PUT', `${k}/d?dir=true`)] },
  { name: 'mkdir with options', call: (e, cb) => e.mkdir('d', { ttl: 5 }, cb), expect: [W('PUT', `${k}/d?ttl=5&dir=true`)] },
  { name: 'mkdir without options or callback (#56)', call: (e) => e.mkdir('d'), noCallback: 1, expect: [W('PUT', `${k}/d?dir=true`)] },
  { name: 'rmdir', call: (e, cb) => e.rmdir('d', cb), expect: [W('DELETE', `${k}/d?dir=true`)] },
  { name: 'rmdir with options', call: (e, cb) => e.rmdir('d', { recursive: true }, cb), expect: [W('DELETE', `${k}/d?recursive=true&dir=true`)] },
  { name: 'create', call: (e, cb) => e.create('q', 'job', cb), expect: [W('POST', `${k}/q`, 'value=job')] },
  { name: 'create with options', call: (e, cb) => e.create('q', 'job', { ttl: 9 }, cb), expect: [W('POST', `${k}/q?ttl=9`, 'value=job')] },
  { name: 'post alias', call: (e, cb) => e.post('q', 'job2', { ttl: 1 }, cb), expect: [W('POST', `${k}/q?ttl=1`, 'value=job2')] },
  { name: 'compareAndSwap', call: (e, cb) => e.compareAndSwap('k', 'new', 'old', cb), expect: [W('PUT', `${k}/k?prevValue=old`, 'value=new')] },
  { name: 'compareAndSwap with options', call: (e, cb) => e.compareAndSwap('k', 'new', 'old', { ttl: 3 }, cb), expect: [W('PUT', `${k}/k?ttl=3&prevValue=old`, 'value=new')] },
  { name: 'compareAndSwap overrides prevValue in place', call: (e, cb) => e.compareAndSwap('k', 'new', 'old', { prevValue: 'x', ttl: 1 }, cb), expect: [W('PUT', `${k}/k?prevValue=old&ttl=1`, 'value=new')] },
  { name: 'compareAndSwap by index', call: (e, cb) => e.compareAndSwap('k', 'new', undefined, { prevIndex: 12 }, cb), expect: [W('PUT', `${k}/k?prevIndex=12`, 'value=new')] },
  { name: 'testAndSet alias', call: (e, cb) => e.testAndSet('k', 'n', 'o', { prevExist: true }, cb), expect: [W('PUT', `${k}/k?prevExist=true&prevValue=o`, 'value=n')] },
  { name: 'compareAndDelete', call: (e, cb) => e.compareAndDelete('k', 'old', cb), expect: [W('DELETE', `${k}/k?prevValue=old`)] },
  { name: 'compareAndDelete with options', call: (e, cb) => e.compareAndDelete('k', 'old', { prevIndex: 3 }, cb), expect: [W('DELETE', `${k}/k?prevIndex=3&prevValue=old`)] },
  { name: 'testAndDelete alias', call: (e, cb) => e.testAndDelete('k', 'old', cb), expect: [W('DELETE', `${k}/k?prevValue=old`)] },
  { name: 'watch', call: (e, cb) => e.watch('k', cb), expect: [W('GET', `${k}/k?wait=true`)] },
  { name: 'watch with options', call: (e, cb) => e.watch('k', { recursive: true }, cb), expect: [W('GET', `${k}/k?recursive=true&wait=true`)] },
  { name: 'watch overrides wait in place', call: (e, cb) => e.watch('k', { wait: false, waitIndex: 3 }, cb), expect: [W('GET', `${k}/k?wait=true&waitIndex=3`)] },
  { name: 'watchIndex', call: (e, cb) => e.watchIndex('k', 7, cb), expect: [W('GET', `${k}/k?waitIndex=7&wait=true`)] },
  { name: 'watchIndex with options', call: (e, cb) => e.watchIndex('k', 7, { recursive: true }, cb), expect: [W('GET', `${k}/k?recursive=true&waitIndex=7&wait=true`)] },
  { name: 'watchIndex with a string index', call: (e, cb) => e.watchIndex('k', '7', cb), expect: [W('GET', `${k}/k?waitIndex=7&wait=true`)] },
  { name: 'raw GET', call: (e, cb) => e.raw('GET', 'v2/keys/k', null, {}, cb), expect: [W('GET', `${k}/k`)] },
  { name: 'raw with callback in the options slot', call: (e, cb) => e.raw('GET', 'v2/stats/store', null, cb), expect: [W('GET', '/v2/stats/store')] },
  { name: 'raw PUT with value and options', call: (e, cb) => e.raw('PUT', 'v2/keys/k', 'v', { ttl: 2 }, cb), expect: [W('PUT', `${k}/k?ttl=2`, 'value=v')] },
  { name: 'raw lower-case method', call: (e, cb) => e.raw('post', 'v2/keys/q', 'v', {}, cb), expect: [W('POST', `${k}/q`, 'value=v')] },
  { name: 'raw PATCH without body', call: (e, cb) => e.raw('PATCH', 'v2/keys/k', null, {}, cb), expect: [W('PATCH', `${k}/k`)] },
  { name: 'machines', call: (e, cb) => e.machines(cb), expect: [W('GET', `${k}/_etcd/machines`)] },
  { name: 'leader', call: (e, cb) => e.leader(cb), expect: [W('GET', '/v2/leader')] },
  { name: 'leaderStats', call: (e, cb) => e.leaderStats(cb), expect: [W('GET', '/v2/stats/leader')] },
  { name: 'selfStats', call: (e, cb) => e.selfStats(cb), expect: [W('GET', '/v2/stats/self')] },
  { name: 'version', call: (e, cb) => e.version(cb), expect: [W('GET', '/version')] },
  { name: 'get without callback', call: (e) => e.get('k'), noCallback: 1, expect: [W('GET', `${k}/k`)] },
].map((sc) => ({ expectOutcome: sc.noCallback ? { noCallback: true } : { arity: 3, error: null }, ...sc }));

// qs rules (spec 3.3).
const QS = [
  { name: 'insertion order', call: (e, cb) => e.get('k', { sorted: true, recursive: true, quorum: true }, cb), expect: [W('GET', `${k}/k?sorted=true&recursive=true&quorum=true`)] },
  { name: 'booleans', call: (e, cb) => e.get('k', { recursive: false, sorted: true }, cb), expect: [W('GET', `${k}/k?recursive=false&sorted=true`)] },
  { name: 'numbers', call: (e, cb) => e.get('k', { a: 0, b: 1.5, c: -2, d: 1e21, e: NaN }, cb), expect: [W('GET', `${k}/k?a=0&b=1.5&c=-2&d=1e%2B21&e=NaN`)] },
  { name: 'null gives key=', call: (e, cb) => e.set('k', 'v', { ttl: null, prevExist: true }, cb), expect: [W('PUT', `${k}/k?ttl=&prevExist=true`, 'value=v')] },
  { name: 'undefined is omitted', call: (e, cb) => e.get('k', { a: undefined, b: 1, c: undefined }, cb), expect: [W('GET', `${k}/k?b=1`)] },
  { name: 'arrays use indexed brackets', call: (e, cb) => e.get('k', { a: [1, 2], b: [] }, cb), expect: [W('GET', `${k}/k?a%5B0%5D=1&a%5B1%5D=2`)] },
  { name: 'nested objects', call: (e, cb) => e.get('k', { o: { x: 1, y: { z: 2 } }, a: [{ x: 1 }, [2, 3]], e: {} }, cb), expect: [W('GET', `${k}/k?o%5Bx%5D=1&o%5By%5D%5Bz%5D=2&a%5B0%5D%5Bx%5D=1&a%5B1%5D%5B0%5D=2&a%5B1%5D%5B1%5D=3`)] },
  { name: 'Date becomes ISO', call: (e, cb) => e.get('k', { d: new Date(Date.UTC(2020, 1, 3, 4, 5, 6, 7)) }, cb), expect: [W('GET', `${k}/k?d=2020-02-03T04%3A05%3A06.007Z`)] },
  { name: 'string encoding (RFC 3986, UTF-8)', call: (e, cb) => e.get('k', { s: "a b!'()*~-_./:?#&=+é日", 'we ird&k': 'x' }, cb), expect: [W('GET', `${k}/k?s=a%20b%21%27%28%29%2A~-_.%2F%3A%3F%23%26%3D%2B%C3%A9%E6%97%A5&we%20ird%26k=x`)] },
  { name: 'unknown keys pass through', call: (e, cb) => e.get('k', { foo: 'bar', recursive: true }, cb), expect: [W('GET', `${k}/k?foo=bar&recursive=true`)] },
  { name: 'maxRetries and synchronous:false are stripped', call: (e, cb) => e.get('k', { maxRetries: 0, synchronous: false, recursive: true }, cb), expect: [W('GET', `${k}/k?recursive=true`)] },
  { name: 'empty options object gives no query', call: (e, cb) => e.set('k', 'v', {}, cb), expect: [W('PUT', `${k}/k`, 'value=v')] },
  {
    name: 'per-call timeout is a query param, not an HTTP timeout',
    script: () => [{ delayMs: 300 }],
    call: (e, cb) => e.get('k', { timeout: 50 }, cb),
    expect: [W('GET', `${k}/k?timeout=50`)],
    expectOutcome: { arity: 3, error: null },
  },
  // Deliberate: options that are not an object are ignored (node-etcd ran qs over the string's characters).
  { name: 'string options (fix: ignored; node-etcd sends ?0=a&1=b)', call: (e, cb) => e.get('k', 'ab', cb), expect: [W('GET', `${k}/k?0=a&1=b`)], napi: [W('GET', `${k}/k`)] },
  { name: 'refresh without value sends no body', call: (e, cb) => e.set('k', null, { ttl: 5, refresh: true, prevExist: true }, cb), expect: [W('PUT', `${k}/k?ttl=5&refresh=true&prevExist=true`)] },
];

// Helpers that add keys (spec 3.3 order rules).
const ORDER = [
  { name: "mkdir('d',{ttl:5})", call: (e, cb) => e.mkdir('d', { ttl: 5 }, cb), expect: [W('PUT', `${k}/d?ttl=5&dir=true`)] },
  { name: "mkdir('d',{dir:false,ttl:5}) overwrites in place", call: (e, cb) => e.mkdir('d', { dir: false, ttl: 5 }, cb), expect: [W('PUT', `${k}/d?dir=true&ttl=5`)] },
  { name: "rmdir('d',{recursive:true})", call: (e, cb) => e.rmdir('d', { recursive: true }, cb), expect: [W('DELETE', `${k}/d?recursive=true&dir=true`)] },
  { name: "compareAndSwap('k','new','old',{ttl:3})", call: (e, cb) => e.compareAndSwap('k', 'new', 'old', { ttl: 3 }, cb), expect: [W('PUT', `${k}/k?ttl=3&prevValue=old`, 'value=new')] },
  { name: "compareAndSwap(…,{prevValue:'x',ttl:1})", call: (e, cb) => e.compareAndSwap('k', 'new', 'old', { prevValue: 'x', ttl: 1 }, cb), expect: [W('PUT', `${k}/k?prevValue=old&ttl=1`, 'value=new')] },
  { name: "watchIndex('k',7)", call: (e, cb) => e.watchIndex('k', 7, cb), expect: [W('GET', `${k}/k?waitIndex=7&wait=true`)] },
  { name: "watchIndex('k',7,{recursive:true})", call: (e, cb) => e.watchIndex('k', 7, { recursive: true }, cb), expect: [W('GET', `${k}/k?recursive=true&waitIndex=7&wait=true`)] },
  { name: "watchIndex('k',7,{waitIndex:1,wait:false,sorted:true})", call: (e, cb) => e.watchIndex('k', 7, { waitIndex: 1, wait: false, sorted: true }, cb), expect: [W('GET', `${k}/k?waitIndex=7&wait=true&sorted=true`)] },
  { name: "watch('k',{wait:false,waitIndex:3})", call: (e, cb) => e.watch('k', { wait: false, waitIndex: 3 }, cb), expect: [W('GET', `${k}/k?wait=true&waitIndex=3`)] },
];

// Form bodies (spec 3.4).
const BODIES = [
  { name: 'value 0', call: (e, cb) => e.set('k', 0, cb), expect: [W('PUT', `${k}/k`, 'value=0')] },
  { name: 'empty string value still sends a body', call: (e, cb) => e.set('k', '', cb), expect: [W('PUT', `${k}/k`, 'value=')] },
  { name: 'value false', call: (e, cb) => e.set('k', false, cb), expect: [W('PUT', `${k}/k`, 'value=false')] },
  { name: 'value true', call: (e, cb) => e.set('k', true, cb), expect: [W('PUT', `${k}/k`, 'value=true')] },
  { name: 'null value sends no body', call: (e, cb) => e.set('k', null, cb), expect: [W('PUT', `${k}/k`)] },
  { name: 'undefined value sends no body', call: (e, cb) => e.set('k', undefined, {}, cb), expect: [W('PUT', `${k}/k`)] },
  { name: 'special characters in the value', call: (e, cb) => e.set('k', "a b!'()*~&=+é日\n\r\u0000", cb), expect: [W('PUT', `${k}/k`, 'value=a%20b%21%27%28%29%2A~%26%3D%2B%C3%A9%E6%97%A5%0A%0D%00')] },
  // Deliberate: unsupported value types are a TypeError before any request (etcd stored an empty value).
  {
    name: 'object value (fix: TypeError; node-etcd sends bracket notation, #24)',
    call: (e, cb) => e.set('k', { x: 1, y: [1, 2] }, cb),
    expect: [W('PUT', `${k}/k`, 'value%5Bx%5D=1&value%5By%5D%5B0%5D=1&value%5By%5D%5B1%5D=2')],
    napi: [],
    napiOutcome: { threw: 'TypeError', message: 'The "value" argument must be a string, number, boolean or Buffer, got an object' },
  },
  {
    // set(key, cb): the function becomes the value; node-etcd sends an empty form and never calls back.
    // Deliberate: etcd-napi throws a TypeError instead of silently storing an empty value.
    name: 'set(key, cb) (fix: TypeError; node-etcd sends an empty form body)',
    call: (e, cb) => e.set('k', cb),
    noCallback: 1,
    expect: [W('PUT', `${k}/k`, '')],
    napi: [],
    napiOutcome: { threw: 'TypeError', message: 'The "value" argument must be a string, number, boolean or Buffer, got a function' },
  },
  { name: 'value in options also goes to the query', call: (e, cb) => e.set('k', 'v', { value: 'q' }, cb), expect: [W('PUT', `${k}/k?value=q`, 'value=v')] },
  { name: 'create body', call: (e, cb) => e.create('dir/q', 'a b', { ttl: 1 }, cb), expect: [W('POST', `${k}/dir/q?ttl=1`, 'value=a%20b')] },
  { name: 'compareAndSwap body with special characters', call: (e, cb) => e.compareAndSwap('k', 'n&w', 'o=d', cb), expect: [W('PUT', `${k}/k?prevValue=o%3Dd`, 'value=n%26w')] },
  { name: 'raw body', call: (e, cb) => e.raw('PUT', 'v2/keys/k', 'x y', null, cb), expect: [W('PUT', `${k}/k`, 'value=x%20y')] },
];

// Keys (spec 3.2): ASCII and node-etcd's escape set are byte-identical; the rest are deliberate fixes.
const KEYS = [
  { name: 'plain ASCII', call: (e, cb) => e.get('Az09/_.-x', cb), expect: [W('GET', `${k}/Az09/_.-x`)] },
  { name: "node-etcd's escape set", call: (e, cb) => e.get('a b"<>{}|^\'`\tc', cb), expect: [W('GET', `${k}/a%20b%22%3C%3E%7B%7D%7C%5E%27%60%09c`)] },
  { name: 'characters sent as-is', call: (e, cb) => e.get('~!*();,:@$+=[]&', cb), expect: [W('GET', `${k}/~!*();,:@$+=[]&`)] },
  { name: 'set with escaped key', call: (e, cb) => e.set('dir/a b', 'v', cb), expect: [W('PUT', `${k}/dir/a%20b`, 'value=v')] },
  { name: 'one leading slash is stripped', call: (e, cb) => e.get('/a/b/', cb), expect: [W('GET', `${k}/a/b/`)] },
  { name: 'only one leading slash is stripped', call: (e, cb) => e.get('//a', cb), expect: [W('GET', `${k}//a`)] },
  // Deliberate: dot segments are resolved before sending. node-etcd sends them and etcd answers 301 to the
  // cleaned path, which turns a write into a GET; resolving them client-side reaches the same key directly.
  { name: 'dot segments (fix: resolved; node-etcd sends them verbatim)', call: (e, cb) => e.get('a/../b/./c', cb), expect: [W('GET', `${k}/a/../b/./c`)], napi: [W('GET', `${k}/b/c`)] },
  { name: 'empty key addresses the root', call: (e, cb) => e.get('', cb), expect: [W('GET', `${k}/`)] },
  {
    name: '? in a key (fix: %3F; node-etcd starts the query)',
    call: (e, cb) => e.get('a?x=1', { y: 2 }, cb),
    expect: [W('GET', `${k}/a?x=1&y=2`)],
    napi: [W('GET', `${k}/a%3Fx=1?y=2`)],
  },
  {
    name: '# in a key (fix: %23; node-etcd truncates)',
    call: (e, cb) => e.set('a#b', 'v', cb),
    expect: [W('PUT', `${k}/a`, 'value=v')],
    napi: [W('PUT', `${k}/a%23b`, 'value=v')],
  },
  {
    name: '% in a key (fix: %25; node-etcd sends it raw)',
    call: (e, cb) => e.get('a%2Fb%', cb),
    expect: [W('GET', `${k}/a%2Fb%`)],
    napi: [W('GET', `${k}/a%252Fb%25`)],
  },
  {
    // node-etcd writes the raw byte 0xE9; Node's own HTTP parser rejects that request (400).
    name: 'Latin-1 key (fix: UTF-8; node-etcd sends a raw byte)',
    call: (e, cb) => e.get('é', cb),
    expect: [{ method: 'GET', target: `${k}/\u00e9`, body: '', accept: 'application/json' }],
    napi: [W('GET', `${k}/%C3%A9`)],
  },
  {
    name: 'key above U+00FF (fix: UTF-8; node-etcd fails before sending)',
    call: (e, cb) => e.get('日/😀', cb),
    expect: [],
    expectOutcome: { arity: 1, error: 'All servers returned error' },
    napi: [W('GET', `${k}/%E6%97%A5/%F0%9F%98%80`)],
    napiOutcome: { arity: 3, error: null },
  },
  {
    name: 'backslash in a key (fix: %5C; node-etcd turns it into /)',
    call: (e, cb) => e.del('a\\b', cb),
    expect: [W('DELETE', `${k}/a/b`)],
    napi: [W('DELETE', `${k}/a%5Cb`)],
  },
  {
    // Product table: String() it or throw a clear TypeError, never crash. node-etcd throws key.replace TypeError.
    name: 'non-string key',
    call: (e, cb) => e.get(42, cb),
    expect: [],
    expectOutcome: { threw: 'TypeError', message: 'key.replace is not a function' },
    checkNapi: (res) => {
      const o = res.outcome;
      if (o.threw) {
        assert.equal(o.threw.name, 'TypeError');
        assert.equal(res.requests.length, 0);
      } else {
        assert.deepStrictEqual(res.requests.map((r) => wireView(r)), [W('GET', `${k}/42`)]);
      }
    },
    // Two acceptable etcd-napi answers: checkNapi decides instead of the generic comparison.
    napiFlexible: true,
  },
];

// Authentication, extra headers, host forms.
const AUTH = [
  { name: 'auth {user, pass}', ctor: ({ rec }) => [rec.url, { auth: { user: 'u', pass: 'p' } }], call: (e, cb) => e.get('k', cb), expect: [W('GET', `${k}/k`, null, { authorization: 'Basic dTpw' })] },
  { name: 'auth {username, password}', ctor: ({ rec }) => [rec.url, { auth: { username: 'u2', password: 'p2' } }], call: (e, cb) => e.get('k', cb), expect: [W('GET', `${k}/k`, null, { authorization: 'Basic dTI6cDI=' })] },
  { name: 'auth from URL userinfo (percent-decoded)', ctor: ({ rec }) => [rec.url.replace('http://', 'http://u3:p%403@')], call: (e, cb) => e.get('k', cb), expect: [W('GET', `${k}/k`, null, { authorization: 'Basic dTM6cEAz' })] },
  { name: 'auth on a write, sent preemptively', ctor: ({ rec }) => [[rec.url], { auth: { user: 'root', pass: 'pw' } }], call: (e, cb) => e.set('k', 'v', { ttl: 1 }, cb), expect: [W('PUT', `${k}/k?ttl=1`, 'value=v', { authorization: 'Basic cm9vdDpwdw==' })] },
  {
    name: 'constructor headers are sent',
    ctor: ({ rec }) => [rec.url, { headers: { 'X-Foo': 'bar', 'x-two': '2' } }],
    call: (e, cb) => e.set('k', 'v', cb),
    compareHeaders: ['x-foo', 'x-two'],
    expect: [W('PUT', `${k}/k`, 'value=v', { 'x-foo': 'bar', 'x-two': '2' })],
  },
  { name: 'constructor headers can replace accept', ctor: ({ rec }) => [rec.url, { headers: { accept: 'text/plain' } }], call: (e, cb) => e.get('k', cb), expect: [W('GET', `${k}/k`, null, { accept: 'text/plain' })] },
  { name: 'host without scheme', ctor: ({ rec }) => [`127.0.0.1:${rec.port}`], call: (e, cb) => e.get('k', cb), expect: [W('GET', `${k}/k`)] },
  { name: 'host with trailing slash', ctor: ({ rec }) => [`${rec.url}/`], call: (e, cb) => e.get('k', cb), expect: [W('GET', `${k}/k`)] },
  { name: 'host with a path prefix', ctor: ({ rec }) => [`${rec.url}/prefix`], call: (e, cb) => e.set('a b', 'v', { ttl: 1 }, cb), expect: [W('PUT', `/prefix${k}/a%20b?ttl=1`, 'value=v')] },
  { name: 'host with a path prefix and trailing slash', ctor: ({ rec }) => [`${rec.url}/prefix/`], call: (e, cb) => e.version(cb), expect: [W('GET', '/prefix/version')] },
  { name: 'host with a path prefix, raw', ctor: ({ rec }) => [`${rec.url}/prefix`], call: (e, cb) => e.raw('GET', 'v2/members', null, {}, cb), expect: [W('GET', '/prefix/v2/members')] },
  { name: 'host with a path prefix and no scheme', ctor: ({ rec }) => [`127.0.0.1:${rec.port}/pre/fix`], call: (e, cb) => e.mkdir('d', cb), expect: [W('PUT', `/pre/fix${k}/d?dir=true`)] },
];

// Redirects (spec 6.6) and the recorder's failure modes.
const REDIRECTS = [
  {
    name: '307 keeps method, body and authorization',
    ctor: ({ rec }) => [rec.url, { auth: { user: 'u', pass: 'p' } }],
    script: () => [{ times: 1, status: 307, location: '{{base}}/v2/keys/other?z=1' }],
    call: (e, cb) => e.set('k', 'v', { ttl: 1 }, cb),
    expect: [W('PUT', `${k}/k?ttl=1`, 'value=v', { authorization: 'Basic dTpw' }), W('PUT', `${k}/other?z=1`, 'value=v', { authorization: 'Basic dTpw' })],
  },
  ...[301, 302, 303, 308].map((status) => ({
    name: `${status} turns a PUT into a GET without body`,
    ctor: ({ rec }) => [rec.url, { auth: { user: 'u', pass: 'p' } }],
    script: () => [{ times: 1, status, location: '{{base}}/v2/keys/other?z=1' }],
    call: (e, cb) => e.set('k', 'v', { ttl: 1 }, cb),
    expect: [W('PUT', `${k}/k?ttl=1`, 'value=v', { authorization: 'Basic dTpw' }), W('GET', `${k}/other?z=1`, null, { authorization: 'Basic dTpw' })],
  })),
  {
    name: '307 to a relative location',
    script: () => [{ times: 1, status: 307, location: '/v2/keys/rel' }],
    call: (e, cb) => e.create('q', 'v', cb),
    expect: [W('POST', `${k}/q`, 'value=v'), W('POST', `${k}/rel`, 'value=v')],
  },
  {
    name: '10 hops are followed',
    script: () => [{ times: 10, status: 307, location: '{{base}}/v2/keys/loop' }],
    call: (e, cb) => e.get('k', cb),
    expect: [W('GET', `${k}/k`), ...Array(10).fill(W('GET', `${k}/loop`))],
    expectOutcome: { arity: 3, error: null },
  },
  {
    name: 'more than 10 hops fails over',
    script: () => [{ status: 302, location: '{{base}}/v2/keys/loop' }],
    call: (e, cb) => e.get('k', cb),
    expect: [W('GET', `${k}/k`), ...Array(10).fill(W('GET', `${k}/loop`))],
    expectOutcome: { arity: 1, error: 'All servers returned error' },
  },
  {
    name: 'cross-host 301 drops authorization',
    ctor: ({ rec }) => [rec.url, { auth: { user: 'u', pass: 'p' } }],
    script: ({ rec2 }) => [{ times: 1, status: 301, location: `${rec2.url}/v2/keys/x` }],
    call: (e, cb) => e.set('k', 'v', cb),
    expect: [W('PUT', `${k}/k`, 'value=v', { authorization: 'Basic dTpw' }), { ...W('GET', `${k}/x`), at: '127.0.0.2' }],
  },
  {
    // request only strips authorization on non-307 redirects. Deliberate: etcd-napi never sends
    // credentials to another host (the security requirement).
    name: 'cross-host 307 (fix: authorization dropped; node-etcd keeps it)',
    ctor: ({ rec }) => [rec.url, { auth: { user: 'u', pass: 'p' } }],
    script: ({ rec2 }) => [{ times: 1, status: 307, location: `${rec2.url}/v2/keys/x` }],
    call: (e, cb) => e.set('k', 'v', cb),
    expect: [W('PUT', `${k}/k`, 'value=v', { authorization: 'Basic dTpw' }), { ...W('PUT', `${k}/x`, 'value=v', { authorization: 'Basic dTpw' }), at: '127.0.0.2' }],
    napi: [W('PUT', `${k}/k`, 'value=v', { authorization: 'Basic dTpw' }), { ...W('PUT', `${k}/x`, 'value=v'), at: '127.0.0.2' }],
  },
  {
    name: '3xx without location is a success',
    script: () => [{ status: 302, body: 'moved' }],
    call: (e, cb) => e.get('k', cb),
    expect: [W('GET', `${k}/k`)],
    expectOutcome: { arity: 3, error: null },
  },
  // Deliberate (issue 6, Go clientv3's rule): a write is sent again only when the failed attempt
  // never reached a server. A 5xx answer or a dropped connection may follow an applied write, so
  // etcd-napi stops with ETCD_OUTCOME_UNKNOWN where node-etcd re-sent it. `retryWrites: true`
  // restores node-etcd's behaviour, and reads keep it.
  {
    name: '500 with errorCode 300 on a write (fix: not re-sent; node-etcd retries it)',
    script: () => [{ times: 1, status: 500, body: { errorCode: 300, message: 'Raft Internal Error' } }],
    call: (e, cb) => e.set('k', 'v', cb),
    expect: [W('PUT', `${k}/k`, 'value=v'), W('PUT', `${k}/k`, 'value=v')],
    expectOutcome: { arity: 3, error: null },
    napi: [W('PUT', `${k}/k`, 'value=v')],
    napiOutcome: { arity: 1, error: 'The write may or may not have been applied: its request reached a server and then failed, so it was not sent again' },
  },
  {
    name: '500 with errorCode 300 on a write with retryWrites: true is retried as node-etcd does',
    script: () => [{ times: 1, status: 500, body: { errorCode: 300, message: 'Raft Internal Error' } }],
    call: (e, cb) => e.set('k', 'v', { retryWrites: true }, cb),
    expect: [W('PUT', `${k}/k?retryWrites=true`, 'value=v'), W('PUT', `${k}/k?retryWrites=true`, 'value=v')],
    expectOutcome: { arity: 3, error: null },
    napi: [W('PUT', `${k}/k`, 'value=v'), W('PUT', `${k}/k`, 'value=v')],
  },
  {
    name: '500 with errorCode 300 on a read is retried (leader election)',
    script: () => [{ times: 1, status: 500, body: { errorCode: 300, message: 'Raft Internal Error' } }],
    call: (e, cb) => e.get('k', cb),
    expect: [W('GET', `${k}/k`), W('GET', `${k}/k`)],
    expectOutcome: { arity: 3, error: null },
  },
  {
    name: 'dropped connection on a write (fix: not re-sent; node-etcd retries maxRetries times)',
    script: () => [{ drop: true }],
    call: (e, cb) => e.del('k', { maxRetries: 1 }, cb),
    expect: [W('DELETE', `${k}/k`), W('DELETE', `${k}/k`)],
    expectOutcome: { arity: 1, error: 'All servers returned error' },
    napi: [W('DELETE', `${k}/k`)],
    napiOutcome: { arity: 1, error: 'The write may or may not have been applied: its request reached a server and then failed, so it was not sent again' },
  },
  {
    name: 'dropped connection on a read is retried maxRetries times',
    script: () => [{ drop: true }],
    call: (e, cb) => e.get('k', { maxRetries: 1 }, cb),
    expect: [W('GET', `${k}/k`), W('GET', `${k}/k`)],
    expectOutcome: { arity: 1, error: 'All servers returned error' },
  },
  {
    name: '404 etcd error is delivered with three arguments',
    script: () => [{ status: 404, headers: { 'content-type': 'application/json', 'x-etcd-index': '3' }, body: { errorCode: 100, message: 'Key not found', cause: '/k', index: 3 } }],
    call: (e, cb) => e.get('k', cb),
    expect: [W('GET', `${k}/k`)],
    expectOutcome: { arity: 3, error: 'Key not found' },
  },
];

// Deliberate differences (product table) other than keys.
const FIXES = [
  {
    name: 'raw path starting with / (fix: no //)',
    call: (e, cb) => e.raw('GET', '/v2/keys/k', null, {}, cb),
    expect: [W('GET', `//v2/keys/k`)],
    napi: [W('GET', `${k}/k`)],
  },
  {
    name: 'raw path without / is the same',
    call: (e, cb) => e.raw('DELETE', 'v2/keys/k', null, { recursive: true }, cb),
    expect: [W('DELETE', `${k}/k?recursive=true`)],
  },
  {
    name: 'unknown constructor option method (fix: ignored)',
    ctor: ({ rec }) => [rec.url, { method: 'DELETE' }],
    call: (e, cb) => e.get('k', cb),
    expect: [W('DELETE', `${k}/k`)],
    napi: [W('GET', `${k}/k`)],
  },
  {
    name: 'unknown constructor option body (fix: ignored)',
    ctor: ({ rec }) => [rec.url, { body: 'junk' }],
    call: (e, cb) => e.get('k', cb),
    // request JSON-encodes it because node-etcd sets json:true
    expect: [{ ...W('GET', `${k}/k`), body: '"junk"', 'content-type': 'application/json', 'content-length': '6' }],
    napi: [W('GET', `${k}/k`)],
  },
  {
    name: 'unknown constructor option foo is not sent anywhere',
    ctor: ({ rec }) => [rec.url, { foo: 'bar', maxRetries: 0 }],
    call: (e, cb) => e.get('k', cb),
    expect: [W('GET', `${k}/k`)],
  },
  {
    name: 'Buffer value (fix: raw bytes percent-encoded)',
    call: (e, cb) => e.set('k', Buffer.from([0x00, 0xff, 0x41, 0x20, 0xc3, 0xa9]), cb),
    // node-etcd decodes the Buffer as UTF-8 (0xFF becomes U+FFFD) before encoding
    expect: [W('PUT', `${k}/k`, 'value=%00%EF%BF%BDA%20%C3%A9')],
    napi: [W('PUT', `${k}/k`, 'value=%00%FFA%20%C3%A9')],
  },
  {
    // Observed: request honours an own `proxy: false`, so node-etcd 7.0.0 already goes direct (spec 6.7/#72
    // says there is no opt-out). etcd-napi must go direct too.
    name: 'proxy:false with HTTP_PROXY set goes direct',
    env: ({ rec2 }) => ({ HTTP_PROXY: rec2.url, http_proxy: undefined, NO_PROXY: undefined, no_proxy: undefined }),
    ctor: ({ rec }) => [rec.url, { proxy: false }],
    call: (e, cb) => e.get('k', cb),
    expect: [W('GET', `${k}/k`)],
  },
  {
    name: 'HTTP_PROXY is honoured (absolute-form request line)',
    env: ({ rec2 }) => ({ HTTP_PROXY: rec2.url, http_proxy: undefined, NO_PROXY: undefined, no_proxy: undefined }),
    call: (e, cb) => e.get('k', cb),
    checkNode: (res) => assert.equal(res.requests[0]?.host, '127.0.0.2'),
    expect: [{ ...W('GET', `http://127.0.0.1:PORT${k}/k`), at: '127.0.0.2' }],
  },
  {
    name: 'NO_PROXY overrides HTTP_PROXY',
    env: ({ rec2 }) => ({ HTTP_PROXY: rec2.url, http_proxy: undefined, NO_PROXY: '127.0.0.1', no_proxy: undefined }),
    call: (e, cb) => e.get('k', cb),
    expect: [W('GET', `${k}/k`)],
  },
  {
    name: 'proxy constructor option',
    ctor: ({ rec, rec2 }) => [rec.url, { proxy: rec2.url }],
    call: (e, cb) => e.set('k', 'v', cb),
    expect: [{ ...W('PUT', `http://127.0.0.1:PORT${k}/k`, 'value=v'), at: '127.0.0.2' }],
  },
];

// Caller's options objects are never mutated by etcd-napi (node-etcd mutates in these helpers, spec 3.7).
const MUTATION = [
  { name: 'mkdir', call: (e, cb, c) => e.mkdir('d', (c.o = { ttl: 5 }), cb), orig: { ttl: 5 }, nodeAfter: { ttl: 5, dir: true } },
  { name: 'rmdir', call: (e, cb, c) => e.rmdir('d', (c.o = { recursive: true }), cb), orig: { recursive: true }, nodeAfter: { recursive: true, dir: true } },
  { name: 'compareAndSwap', call: (e, cb, c) => e.compareAndSwap('k', 'n', 'o', (c.o = { ttl: 1 }), cb), orig: { ttl: 1 }, nodeAfter: { ttl: 1, prevValue: 'o' } },
  { name: 'compareAndDelete', call: (e, cb, c) => e.compareAndDelete('k', 'o', (c.o = {}), cb), orig: {}, nodeAfter: { prevValue: 'o' } },
  { name: 'watch', call: (e, cb, c) => e.watch('k', (c.o = { recursive: true }), cb), orig: { recursive: true }, nodeAfter: { recursive: true, wait: true } },
  { name: 'watchIndex', call: (e, cb, c) => e.watchIndex('k', 4, (c.o = {}), cb), orig: {}, nodeAfter: { waitIndex: 4, wait: true } },
].map((m) => ({
  name: `${m.name} leaves the options object alone (node-etcd mutates it)`,
  call: m.call,
  checkNode: (res) => assert.deepStrictEqual(res.ctx.o, m.nodeAfter),
  checkNapi: (res) => assert.deepStrictEqual(res.ctx.o, m.orig),
}));
MUTATION.push({
  // With a frozen object node-etcd's `options.dir = true` silently fails and the dir flag is lost.
  name: 'mkdir with frozen options (fix: dir=true still sent)',
  call: (e, cb) => e.mkdir('d', Object.freeze({ ttl: 5 }), cb),
  expect: [W('PUT', `${k}/d?ttl=5`)],
  napi: [W('PUT', `${k}/d?ttl=5&dir=true`)],
});

// etcd-napi's blocking sync forms, against the recorder in a child process. node-etcd's async form of the same
// call is the wire oracle (its *Sync aborts on Node 20; run in a separate process it sends the same request).
function syncCase(name, sync, call, expect, extra = {}) {
  return {
    name,
    sync,
    call,
    expect,
    checkSync: (o) => {
      assert.ok(!o.threw, `threw ${o.threw && o.threw.stack}`);
      assert.deepStrictEqual(Object.keys(o.ret).sort(), ['body', 'err', 'headers']);
      assert.equal(o.ret.err, null);
      assert.deepStrictEqual(o.ret.body, DEFAULT_BODY);
      assert.equal(o.ret.headers['x-etcd-index'], '7');
    },
    ...extra,
  };
}
const SYNC = [
  syncCase('getSync', (e) => e.getSync('k'), (e, cb) => e.get('k', cb), [W('GET', `${k}/k`)]),
  syncCase('getSync with options', (e) => e.getSync('k', { recursive: true, maxRetries: 0 }), (e, cb) => e.get('k', { recursive: true }, cb), [W('GET', `${k}/k?recursive=true`)]),
  syncCase('setSync', (e) => e.setSync('k', 'v'), (e, cb) => e.set('k', 'v', cb), [W('PUT', `${k}/k`, 'value=v')]),
  syncCase('setSync with options', (e) => e.setSync('k', 'a b', { ttl: 5 }), (e, cb) => e.set('k', 'a b', { ttl: 5 }, cb), [W('PUT', `${k}/k?ttl=5`, 'value=a%20b')]),
  syncCase('delSync', (e) => e.delSync('k'), (e, cb) => e.del('k', cb), [W('DELETE', `${k}/k`)]),
  syncCase('delSync with options', (e) => e.delSync('k', { recursive: true }), (e, cb) => e.del('k', { recursive: true }, cb), [W('DELETE', `${k}/k?recursive=true`)]),
  syncCase('mkdirSync', (e) => e.mkdirSync('d'), (e, cb) => e.mkdir('d', cb), [W('PUT', `${k}/d?dir=true`)]),
  syncCase('mkdirSync with options', (e) => e.mkdirSync('d', { ttl: 5 }), (e, cb) => e.mkdir('d', { ttl: 5 }, cb), [W('PUT', `${k}/d?ttl=5&dir=true`)]),
  syncCase('rmdirSync', (e) => e.rmdirSync('d'), (e, cb) => e.rmdir('d', cb), [W('DELETE', `${k}/d?dir=true`)]),
  syncCase('rmdirSync with options', (e) => e.rmdirSync('d', { recursive: true }), (e, cb) => e.rmdir('d', { recursive: true }, cb), [W('DELETE', `${k}/d?recursive=true&dir=true`)]),
  syncCase('{synchronous:true} on get', (e) => e.get('k', { synchronous: true, sorted: true }), (e, cb) => e.get('k', { sorted: true }, cb), [W('GET', `${k}/k?sorted=true`)]),
  syncCase('{synchronous:true} on create', (e) => e.create('q', 'v', { synchronous: true }), (e, cb) => e.create('q', 'v', cb), [W('POST', `${k}/q`, 'value=v')]),
  syncCase('{synchronous:true} on compareAndSwap', (e) => e.compareAndSwap('k', 'n', 'o', { synchronous: true }), (e, cb) => e.compareAndSwap('k', 'n', 'o', cb), [W('PUT', `${k}/k?prevValue=o`, 'value=n')]),
  syncCase('{synchronous:true} on compareAndDelete', (e) => e.compareAndDelete('k', 'o', { synchronous: true }), (e, cb) => e.compareAndDelete('k', 'o', cb), [W('DELETE', `${k}/k?prevValue=o`)]),
  syncCase('{synchronous:true} on watchIndex', (e) => e.watchIndex('k', 3, { synchronous: true }), (e, cb) => e.watchIndex('k', 3, cb), [W('GET', `${k}/k?waitIndex=3&wait=true`)]),
  syncCase('{synchronous:true} on raw', (e) => e.raw('PUT', 'v2/keys/k', 'v', { synchronous: true }), (e, cb) => e.raw('PUT', 'v2/keys/k', 'v', {}, cb), [W('PUT', `${k}/k`, 'value=v')]),
  syncCase('sync with a callback: the callback is never called', (e, c) => {
    c.called = false;
    return e.get('k', { synchronous: true }, () => { c.called = true; });
  }, (e, cb) => e.get('k', cb), [W('GET', `${k}/k`)], {
    checkNapi: async (res) => {
      await sleep(100);
      assert.equal(res.ctx.called, false);
    },
  }),
  syncCase('sync follows a 307', (e) => e.setSync('k', 'v'), (e, cb) => e.set('k', 'v', cb), [W('PUT', `${k}/k`, 'value=v'), W('PUT', `${k}/r`, 'value=v')], {
    script: () => [{ times: 1, status: 307, location: '{{base}}/v2/keys/r' }],
  }),
  syncCase('sync against a host with a path prefix and auth', (e) => e.getSync('a b'), (e, cb) => e.get('a b', cb), [W('GET', `/prefix${k}/a%20b`, null, { authorization: 'Basic dTpw' })], {
    ctor: ({ rec }) => [`${rec.url}/prefix`, { auth: { user: 'u', pass: 'p' } }],
  }),
  syncCase('sync blocks the JS thread (timers wait)', (e, c) => {
    c.fired = false;
    setImmediate(() => { c.fired = true; });
    const r = e.getSync('k');
    c.firedDuring = c.fired;
    return r;
  }, (e, cb) => e.get('k', cb), [W('GET', `${k}/k`)], {
    checkNapi: (res) => assert.equal(res.ctx.firedDuring, false, 'a timer ran inside the sync call'),
  }),
  {
    name: 'sync etcd error shape {err, body: "", headers}',
    sync: (e) => e.getSync('k'),
    call: (e, cb) => e.get('k', cb),
    script: () => [{ status: 404, headers: { 'content-type': 'application/json', 'x-etcd-index': '3' }, body: { errorCode: 100, message: 'Key not found', cause: '/k', index: 3 } }],
    expect: [W('GET', `${k}/k`)],
    checkSync: (o) => {
      assert.ok(o.ret.err instanceof Error);
      assert.equal(o.ret.err.message, 'Key not found');
      assert.equal(o.ret.err.errorCode, 100);
      assert.deepStrictEqual(o.ret.err.error, { errorCode: 100, message: 'Key not found', cause: '/k', index: 3 });
      assert.equal(o.ret.body, '');
      assert.equal(o.ret.headers['x-etcd-index'], '3');
    },
  },
  {
    name: 'sync transport failure shape {err, body: undefined, headers: undefined}',
    sync: (e) => e.getSync('k', { maxRetries: 1 }),
    call: (e, cb) => e.get('k', { maxRetries: 1 }, cb),
    script: () => [{ drop: true }],
    expect: [W('GET', `${k}/k`), W('GET', `${k}/k`)],
    checkSync: (o) => {
      assert.equal(o.ret.err.message, 'All servers returned error');
      assert.equal(o.ret.err.errors.length, 2);
      assert.equal(o.ret.err.retries, 1);
      assert.equal(o.ret.body, undefined);
      assert.equal(o.ret.headers, undefined);
    },
  },
];

// ---- the suite --------------------------------------------------------------------------------------------------

// Proxy scenarios reference the recorder's port in the absolute-form request line.
function fillPort(list) {
  for (const sc of list) {
    for (const key of ['expect', 'napi']) {
      if (!sc[key]) continue;
      const raw = sc[key];
      Object.defineProperty(sc, key, {
        get: () => raw.map((v) => ({ ...v, target: v.target.replace('PORT', String(rec.port)) })),
        configurable: true,
      });
    }
  }
  return list;
}

test('wire format: node-etcd vs etcd-napi', { timeout: 300_000 }, async (t) => {
  rec = await startRecorderProcess();
  rec2 = await startRecorderProcess({ host: '127.0.0.2' });
  t.after(async () => {
    await rec.close();
    await rec2.close();
  });
  if (NAPI.missing) t.diagnostic(`etcd-napi skipped: ${NAPI.missing}`);

  await group(t, 'methods', METHODS);
  await group(t, 'query string', QS);
  await group(t, 'option order', ORDER);
  await group(t, 'form bodies', BODIES);
  await group(t, 'keys', KEYS);
  await group(t, 'auth, headers and hosts', AUTH);
  await group(t, 'redirects and failures', REDIRECTS);
  await group(t, 'deliberate differences', fillPort(FIXES));
  await group(t, 'options are not mutated', MUTATION);
  await group(t, 'sync forms (etcd-napi)', SYNC);
});
