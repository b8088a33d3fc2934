// Same calls, same real etcd, same observable result.
//
// One sequence of calls (STEPS) runs against a throw-away etcd 3.5.1 once with node-etcd (callback form: the
// oracle) and then with etcd-napi in three forms: callback, Promise and sync. Each run uses its own key prefix,
// so runs do not see each other. Results are normalised (indexes, times, the key prefix, volatile headers) and
// compared step by step: callback arity, error objects (message, errorCode, error body, own property names,
// errors[] entries), bodies, and which response headers are present.
//
// node-etcd's own *Sync cannot be the oracle in-process (deasync aborts on Node 20), so the sync form is
// compared with what node-etcd's sync would return per spec section 8, derived from its callback result; one
// test checks that derivation against node-etcd's real *Sync run in a separate process.
//
// Run: node --test __test__/differential.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { loadImplementations, makeNormalizer, normError, normHeaders, shapeOf } from './helpers/normalize.mjs';
import { sleep, refusedUrl } from './helpers/common.mjs';

const require = createRequire(import.meta.url);
const { startEtcd } = require('../testing/index.js');
// The server's version as the test rig reports it (`etcd --version`).
let serverVersion;

process.env.RUNNING_UNIT_TESTS = 'true'; // 1 ms between retry rounds (dead-host step)

const [NODE, NAPI] = loadImplementations();
const RUN_ID = crypto.randomBytes(3).toString('hex');

// ---- node-etcd sanity checks on the callback result (make every step able to fail without etcd-napi) ------------

function ok(action, more) {
  return (a) => {
    assert.equal(a.length, 3, 'success has three callback arguments');
    assert.equal(a[0], null);
    assert.equal(a[1].action, action);
    if (more) more(a[1], a[2]);
  };
}
function etcdErr(code, message) {
  return (a) => {
    assert.equal(a.length, 3, 'etcd errors have three callback arguments');
    assert.ok(a[0] instanceof Error);
    assert.equal(a[0].errorCode, code);
    assert.equal(a[0].error.errorCode, code);
    if (message) assert.equal(a[0].message, message);
    assert.equal(a[1], '');
    assert.equal(typeof a[2]['x-etcd-index'], 'string');
  };
}

// ---- the sequence -----------------------------------------------------------------------------------------------
// step: { name, m (method), args(c) -> argument list without callback, check(args) on node-etcd's callback args,
//         save(c, body), before(c), concurrent(c), noSync (no sync form exists), dead (use the dead-host client),
//         shape (compare structure only), keepOrder (etcd sorted the listing: order matters) }

const STEPS = [
  { name: 'set creates', m: 'set', args: (c) => [c.k('k'), 'v1'], check: ok('set', (b) => assert.equal(b.node.value, 'v1')) },
  { name: 'get', m: 'get', args: (c) => [c.k('k')], check: ok('get') },
  { name: 'set replaces (prevNode)', m: 'set', args: (c) => [c.k('k'), 'v2'], check: ok('set', (b) => assert.equal(b.prevNode.value, 'v1')) },
  { name: 'set prevExist:false on existing key -> 105', m: 'set', args: (c) => [c.k('k'), 'x', { prevExist: false }], check: etcdErr(105, 'Key already exists') },
  { name: 'set prevExist:true updates', m: 'set', args: (c) => [c.k('k'), 'v3', { prevExist: true }], check: ok('update') },
  { name: 'compareAndSwap wrong value -> 101', m: 'compareAndSwap', args: (c) => [c.k('k'), 'v4', 'wrong'], check: etcdErr(101, 'Compare failed') },
  {
    name: 'compareAndSwap by value',
    m: 'compareAndSwap',
    args: (c) => [c.k('k'), 'v4', 'v3'],
    check: ok('compareAndSwap'),
    save: (c, b) => { c.casIndex = b.node.modifiedIndex; },
  },
  { name: 'compareAndSwap by wrong index -> 101', m: 'compareAndSwap', args: (c) => [c.k('k'), 'v5', undefined, { prevIndex: 1 }], check: etcdErr(101) },
  { name: 'testAndSet by index', m: 'testAndSet', args: (c) => [c.k('k'), 'v5', undefined, { prevIndex: c.casIndex }], check: ok('compareAndSwap') },
  { name: 'compareAndDelete wrong value -> 101', m: 'compareAndDelete', args: (c) => [c.k('k'), 'nope'], check: etcdErr(101) },
  { name: 'compareAndDelete by value', m: 'compareAndDelete', args: (c) => [c.k('k'), 'v5'], check: ok('compareAndDelete') },
  { name: 'set k2', m: 'set', args: (c) => [c.k('k2'), 'a b/ü'], check: ok('set'), save: (c, b) => { c.k2Index = b.node.modifiedIndex; } },
  { name: 'compareAndDelete by wrong index -> 101', m: 'compareAndDelete', args: (c) => [c.k('k2'), undefined, { prevIndex: 1 }], check: etcdErr(101) },
  { name: 'testAndDelete by index', m: 'testAndDelete', args: (c) => [c.k('k2'), undefined, { prevIndex: c.k2Index }], check: ok('compareAndDelete') },
  { name: 'get missing key -> 100', m: 'get', args: (c) => [c.k('k')], check: etcdErr(100, 'Key not found') },
  { name: 'del missing key -> 100', m: 'del', args: (c) => [c.k('k')], check: etcdErr(100) },
  { name: 'mkdir', m: 'mkdir', args: (c) => [c.k('d')], check: ok('set', (b) => assert.equal(b.node.dir, true)) },
  { name: 'mkdir existing dir -> 102', m: 'mkdir', args: (c) => [c.k('d')], check: etcdErr(102, 'Not a file') },
  { name: 'set d/a', m: 'set', args: (c) => [c.k('d/a'), 'A'], check: ok('set') },
  { name: 'set d/b', m: 'set', args: (c) => [c.k('d/b'), 'B'], check: ok('set') },
  { name: 'mkdir d/sub with options', m: 'mkdir', args: (c) => [c.k('d/sub'), { ttl: 60 }], check: ok('set', (b) => assert.equal(b.node.ttl, 60)) },
  { name: 'set d/sub/c', m: 'set', args: (c) => [c.k('d/sub/c'), 'C'], check: ok('set') },
  { name: 'get dir', m: 'get', args: (c) => [c.k('d')], check: ok('get', (b) => assert.equal(b.node.nodes.length, 3)) },
  {
    name: 'get dir recursive sorted',
    m: 'get',
    args: (c) => [c.k('d'), { recursive: true, sorted: true }],
    keepOrder: true,
    check: ok('get', (b) => assert.deepStrictEqual(b.node.nodes.map((n) => n.key.split('/').pop()), ['a', 'b', 'sub'])),
  },
  { name: 'del dir without dir -> 102', m: 'del', args: (c) => [c.k('d')], check: etcdErr(102, 'Not a file') },
  { name: 'rmdir non-empty -> 108', m: 'rmdir', args: (c) => [c.k('d')], check: etcdErr(108, 'Directory not empty') },
  { name: 'set below a file -> 104', m: 'set', args: (c) => [c.k('d/a/x'), 'v'], check: etcdErr(104, 'Not a directory') },
  // etcd's Set may replace a file by a directory (only the reverse fails with 102).
  { name: 'mkdir over a file replaces it', m: 'mkdir', args: (c) => [c.k('d/a')], check: ok('set', (b) => { assert.equal(b.node.dir, true); assert.equal(b.prevNode.value, 'A'); }) },
  { name: 'mkdir prevExist:false over a dir -> 105', m: 'mkdir', args: (c) => [c.k('d/a'), { prevExist: false }], check: etcdErr(105, 'Key already exists') },
  { name: 'rmdir recursive', m: 'rmdir', args: (c) => [c.k('d'), { recursive: true }], check: ok('delete') },
  { name: 'mkdir then rmdir empty dir', m: 'rmdir', before: async (c) => { await c.put(c.k('e'), 'dir=true'); }, args: (c) => [c.k('e')], check: ok('delete') },
  { name: 'create in-order', m: 'create', args: (c) => [c.k('q'), 'job1'], check: ok('create', (b) => assert.match(b.node.key, /\/q\/\d{20}$/)) },
  { name: 'post in-order with options', m: 'post', args: (c) => [c.k('q'), 'job2', { ttl: 60 }], check: ok('create') },
  {
    name: 'get in-order queue sorted',
    m: 'get',
    args: (c) => [c.k('q'), { recursive: true, sorted: true }],
    keepOrder: true,
    check: ok('get', (b) => assert.deepStrictEqual(b.node.nodes.map((n) => n.value), ['job1', 'job2'])),
  },
  { name: 'set with ttl', m: 'set', args: (c) => [c.k('t'), 'v', { ttl: 30 }], check: ok('set', (b) => { assert.equal(b.node.ttl, 30); assert.equal(typeof b.node.expiration, 'string'); }) },
  { name: 'get with ttl', m: 'get', args: (c) => [c.k('t')], check: ok('get', (b) => assert.equal(b.node.ttl, 30)) },
  { name: 'refresh ttl without value', m: 'set', args: (c) => [c.k('t'), null, { ttl: 40, refresh: true, prevExist: true }], check: ok('update', (b) => assert.equal(b.node.value, 'v')) },
  { name: 'set with ttl 1', m: 'set', args: (c) => [c.k('x'), 'gone soon', { ttl: 1 }], check: ok('set') },
  { name: 'key expired -> 100', m: 'get', before: () => sleep(2200), args: (c) => [c.k('x')], check: etcdErr(100) },
  { name: 'mkdir with ttl', m: 'mkdir', args: (c) => [c.k('td'), { ttl: 30 }], check: ok('set', (b) => assert.equal(b.node.ttl, 30)) },
  { name: 'watchIndex from history', m: 'watchIndex', args: (c) => [c.k('k'), c.casIndex], check: ok('compareAndSwap', (b) => assert.equal(b.node.value, 'v4')) },
  { name: 'watch with waitIndex option', m: 'watch', args: (c) => [c.k('k'), { waitIndex: c.casIndex }], check: ok('compareAndSwap') },
  {
    name: 'watch sees a concurrent write',
    m: 'watch',
    args: (c) => [c.k('w')],
    concurrent: async (c) => { await sleep(200); await c.put(c.k('w'), 'value=seen'); },
    noSync: true, // a blocking watch cannot see a write this thread would make
    check: ok('set', (b) => assert.equal(b.node.value, 'seen')),
  },
  { name: 'recursive watchIndex', m: 'watchIndex', args: (c) => [c.k('q'), 1, { recursive: true }], check: ok('create') },
  { name: 'raw PUT', m: 'raw', args: (c) => ['PUT', `v2/keys/${c.k('r')}`, 'raw value', { ttl: 30 }], check: ok('set') },
  { name: 'raw GET', m: 'raw', args: (c) => ['GET', `v2/keys/${c.k('r')}`, null, {}], check: ok('get', (b) => assert.equal(b.node.value, 'raw value')) },
  { name: 'raw GET members', m: 'raw', args: () => ['GET', 'v2/members', null, {}], check: (a) => { assert.equal(a.length, 3); assert.equal(a[1].members.length, 1); } },
  { name: 'del with options', m: 'del', args: (c) => [c.k('r'), { recursive: true }], check: ok('delete') },
  { name: 'delete alias', m: 'delete', args: (c) => [c.k('td'), { dir: true }], check: ok('delete') },
  { name: 'write the root -> 107', m: 'set', args: () => ['/', 'x'], check: etcdErr(107, 'Root is read only') },
  { name: 'wait on a PUT -> 209', m: 'set', args: (c) => [c.k('k'), 'v', { wait: true }], check: etcdErr(209, 'Invalid field') },
  { name: 'empty prevValue -> 201', m: 'compareAndSwap', args: (c) => [c.k('k'), 'v', ''], check: etcdErr(201) },
  { name: 'bad ttl -> 202', m: 'set', args: (c) => [c.k('k'), 'v', { ttl: 'soon' }], check: etcdErr(202) },
  { name: 'bad boolean -> 209', m: 'get', args: (c) => [c.k('k'), { recursive: 'maybe' }], check: etcdErr(209) },
  { name: 'version', m: 'version', args: () => [], noSync: true, check: (a) => { assert.equal(a.length, 3); assert.equal(a[1].etcdserver, serverVersion); } },
  { name: 'selfStats', m: 'selfStats', args: () => [], noSync: true, shape: true, check: (a) => { assert.equal(a.length, 3); assert.equal(a[1].state, 'StateLeader'); } },
  { name: 'leaderStats', m: 'leaderStats', args: () => [], noSync: true, check: (a) => { assert.equal(a.length, 3); assert.deepStrictEqual(a[1].followers, {}); } },
  { name: 'machines (a key lookup on etcd 3) -> 100', m: 'machines', args: () => [], noSync: true, check: etcdErr(100) },
  { name: 'leader (plain-text 404 is a success)', m: 'leader', args: () => [], noSync: true, check: (a) => { assert.equal(a.length, 3); assert.equal(a[0], null); assert.equal(a[1], '404 page not found\n'); } },
  {
    name: 'dead host -> All servers returned error',
    m: 'get',
    dead: true,
    args: (c) => [c.k('k'), { maxRetries: 0 }],
    check: (a) => {
      assert.equal(a.length, 1);
      assert.equal(a[0].message, 'All servers returned error');
      assert.equal(a[0].errors[0].httperror.code, 'ECONNREFUSED');
    },
  },
  {
    name: 'dead host with a retry',
    m: 'set',
    dead: true,
    args: (c) => [c.k('k'), 'v', { maxRetries: 1 }],
    check: (a) => { assert.equal(a.length, 1); assert.equal(a[0].errors.length, 2); assert.equal(a[0].retries, 1); },
  },
];

// Run last, on the same etcd, after v2 auth has been enabled with a read-only guest (spec 1.8): error 110.
const AUTH_STEPS = [
  { name: 'write without credentials -> 110', m: 'set', args: (c) => [c.k('a'), 'v'], check: etcdErr(110, 'The request requires user authentication') },
  { name: 'write with root credentials', m: 'set', client: 'root', args: (c) => [c.k('a'), 'v'], check: ok('set') },
  { name: 'read without credentials (guest may read)', m: 'get', args: (c) => [c.k('a')], check: ok('get') },
  { name: 'write with a wrong password -> 110', m: 'mkdir', client: 'wrong', args: (c) => [c.k('b')], check: etcdErr(110) },
  { name: 'delete with credentials from the URL', m: 'del', client: 'url', args: (c) => [c.k('a')], check: ok('delete') },
];

async function enableAuth(endpoint) {
  const call = async (method, path, body, auth) => {
    const headers = { 'content-type': 'application/json' };
    if (auth) headers.authorization = `Basic ${Buffer.from(auth).toString('base64')}`;
    const r = await fetch(`${endpoint}${path}`, { method, headers, body: body && JSON.stringify(body) });
    const text = await r.text();
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  };
  await call('PUT', '/v2/auth/users/root', { user: 'root', password: 'rootpw' });
  await call('PUT', '/v2/auth/enable');
  await call('PUT', '/v2/auth/roles/guest', { role: 'guest', revoke: { kv: { write: ['/*'] } } }, 'root:rootpw');
}

// ---- calling in each form ---------------------------------------------------------------------------------------

const SYNC_METHOD = { get: 'getSync', set: 'setSync', del: 'delSync', mkdir: 'mkdirSync', rmdir: 'rmdirSync' };
// Where the options argument sits, for `{synchronous: true}` on methods without a *Sync twin.
const OPTS_POS = { set: 2, get: 1, create: 2, post: 2, del: 1, delete: 1, mkdir: 1, rmdir: 1, compareAndSwap: 3, testAndSet: 3, compareAndDelete: 2, testAndDelete: 2, raw: 3, watch: 1, watchIndex: 2 };
const CALL_TIMEOUT = 15000;

function withTimeout(p, what) {
  let timer;
  return Promise.race([
    p,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no result after ${CALL_TIMEOUT} ms`)), CALL_TIMEOUT); }),
  ]).finally(() => clearTimeout(timer));
}

function callCallback(client, m, args) {
  return withTimeout(new Promise((resolve) => { client[m](...args, (...a) => resolve({ args: a })); }), m);
}

async function callPromise(client, m, args) {
  try {
    return { value: await withTimeout(Promise.resolve().then(() => client[m](...args)), m) };
  } catch (e) {
    return { rejected: e };
  }
}

function callSync(client, m, args) {
  if (SYNC_METHOD[m]) return { ret: client[SYNC_METHOD[m]](...args) };
  const a = [...args];
  const pos = OPTS_POS[m];
  while (a.length <= pos) a.push(undefined);
  a[pos] = { ...(a[pos] ?? {}), synchronous: true };
  return { ret: client[m](...a) };
}

function bodyOf(raw) {
  if (raw.args) return raw.args[1];
  if ('value' in raw) return raw.value;
  return raw.ret?.body;
}

// Runs every step with one implementation in one form; returns the raw results.
async function runSequence(impl, mode, endpoints, dead, steps = STEPS) {
  const prefix = `diff-${RUN_ID}-${impl.name}-${mode}${steps === STEPS ? '' : '-auth'}`;
  const c = {
    prefix,
    k: (s) => `${prefix}/${s}`,
    // Side-channel writes that must not go through the client under test.
    put: async (key, form) => {
      const r = await fetch(`${endpoints[0]}/v2/keys/${key}`, { method: 'PUT', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      await r.text();
    },
  };
  const clients = {
    default: new impl.Etcd(endpoints),
    dead: new impl.Etcd(dead),
    root: new impl.Etcd(endpoints, { auth: { user: 'root', pass: 'rootpw' } }),
    wrong: new impl.Etcd(endpoints, { auth: { username: 'root', password: 'nope' } }),
    url: new impl.Etcd(endpoints.map((u) => u.replace('://', '://root:rootpw@'))),
  };
  const results = [];
  for (const step of steps) {
    if (mode === 'sync' && step.noSync) {
      results.push({ skipped: true });
      continue;
    }
    if (step.before) await step.before(c);
    const client = clients[step.dead ? 'dead' : step.client ?? 'default'];
    const args = step.args(c);
    const side = step.concurrent ? step.concurrent(c) : null;
    let raw;
    try {
      if (mode === 'callback') raw = await callCallback(client, step.m, args);
      else if (mode === 'promise') raw = await callPromise(client, step.m, args);
      else raw = callSync(client, step.m, args);
    } catch (e) {
      raw = { threw: e };
    }
    if (side) await side;
    const body = bodyOf(raw);
    if (step.save && body && typeof body === 'object' && body.node) step.save(c, body);
    results.push(raw);
  }
  return { results, norm: makeNormalizer(prefix) };
}

// ---- normalised views -------------------------------------------------------------------------------------------

function normBody(v, step, norm) {
  if (step.shape) return shapeOf(v);
  return typeof v === 'object' && v !== null ? norm.body(v, { keepOrder: step.keepOrder }) : v;
}

function callbackView(raw, step, norm) {
  if (raw.threw) return { threw: String(raw.threw) };
  const [err, body, headers] = raw.args;
  const v = { arity: raw.args.length, err: normError(err, (b) => normBody(b, {}, norm)) };
  if (raw.args.length > 1) v.body = normBody(body, step, norm);
  if (raw.args.length > 2) v.headers = normHeaders(headers);
  return v;
}

// What node-etcd's *Sync returns for the same outcome (spec section 8).
function syncFromCallback(view) {
  if (view.arity === 1) return { keys: ['body', 'err', 'headers'], err: view.err, body: undefined, headers: undefined };
  return { keys: ['body', 'err', 'headers'], err: view.err ?? null, body: view.body, headers: view.headers };
}

function syncView(raw, step, norm) {
  if (raw.threw) return { threw: String(raw.threw) };
  const r = raw.ret;
  if (!r || typeof r !== 'object') return { notAnObject: r };
  return {
    keys: Object.keys(r).sort(),
    err: normError(r.err, (b) => normBody(b, {}, norm)),
    body: r.body === undefined ? undefined : normBody(r.body, step, norm),
    headers: normHeaders(r.headers),
  };
}

function promiseView(raw, step, norm) {
  if (raw.threw) return { threw: String(raw.threw) };
  if ('rejected' in raw) return { rejected: normError(raw.rejected, (b) => normBody(b, {}, norm)) };
  return { resolved: normBody(raw.value, step, norm) };
}

function promiseFromCallback(view) {
  return view.err ? { rejected: view.err } : { resolved: view.body };
}

// etcd-napi addition (product table): every error carries a stable string `code`.
function errorOf(raw) {
  if (raw.args) return raw.args[0];
  if (raw.rejected) return raw.rejected;
  return raw.ret?.err;
}

// ---- the suite --------------------------------------------------------------------------------------------------

test('differential: node-etcd vs etcd-napi against a real etcd', { timeout: 600_000 }, async (t) => {
  const etcd = await startEtcd();
  serverVersion = etcd.version; // 3.5.1 by default; 3.4.23 in the ETCD_BIN=… compatibility pass
  t.after(() => etcd.stop());
  const dead = await refusedUrl();
  if (NAPI.missing) t.diagnostic(`etcd-napi skipped: ${NAPI.missing}`);

  const oracle = await runSequence(NODE, 'callback', etcd.endpoints, dead);
  const oracleViews = oracle.results.map((r, i) => callbackView(r, STEPS[i], oracle.norm));

  await t.test('node-etcd (callback) behaves as the spec says', async (t) => {
    for (const [i, step] of STEPS.entries()) {
      await t.test(step.name, () => {
        const raw = oracle.results[i];
        assert.ok(raw.args, `node-etcd did not call back: ${raw.threw}`);
        step.check(raw.args);
      });
    }
  });

  await t.test("node-etcd's real *Sync (in a separate process) gives the section 8 shapes", () => {
    // Same calls as the oracle's steps 'get' (after a set) and 'get missing key', on a fresh prefix.
    const p = `diff-${RUN_ID}-node-etcd-realsync`;
    const script = `
      const Etcd = require('node-etcd');
      const e = new Etcd(${JSON.stringify(etcd.endpoints)});
      e.setSync('${p}/k', 'v1');
      const ok = e.getSync('${p}/k');
      const missing = e.getSync('${p}/nope');
      const dead = new Etcd('${dead}').getSync('${p}/k', { maxRetries: 0 });
      const view = (r) => ({ keys: Object.keys(r).sort(), err: r.err && { message: r.err.message, errorCode: r.err.errorCode,
        own: Object.getOwnPropertyNames(r.err).sort() }, body: r.body && typeof r.body === 'object' ? r.body.action : r.body,
        headers: r.headers === undefined ? 'undefined' : typeof r.headers });
      process.stdout.write(JSON.stringify([view(ok), view(missing), view(dead), 'deadBody:' + typeof dead.body]));`;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: new URL('..', import.meta.url).pathname, encoding: 'utf8', timeout: 30000, env: { ...process.env, RUNNING_UNIT_TESTS: 'true' } });
    assert.equal(r.status, 0, `node-etcd *Sync child failed (signal ${r.signal}): ${r.stderr.slice(-1000)}`);
    assert.deepStrictEqual(JSON.parse(r.stdout), [
      { keys: ['body', 'err', 'headers'], err: null, body: 'get', headers: 'object' },
      { keys: ['body', 'err', 'headers'], err: { message: 'Key not found', errorCode: 100, own: ['error', 'errorCode', 'message', 'stack'] }, body: '', headers: 'object' },
      { keys: ['body', 'err', 'headers'], err: { message: 'All servers returned error', own: ['errors', 'message', 'retries', 'stack'] }, headers: 'undefined' },
      'deadBody:undefined',
    ]);
  });

  const forms = [
    { mode: 'callback', view: callbackView, expected: (v) => v },
    { mode: 'promise', view: promiseView, expected: promiseFromCallback },
    { mode: 'sync', view: syncView, expected: syncFromCallback },
  ];
  async function compareForms(t, steps, views, label) {
    for (const form of forms) {
      await t.test(`etcd-napi (${form.mode}) matches node-etcd (callback)${label}`, { skip: NAPI.missing ?? false }, async (t) => {
        const run = await runSequence(NAPI, form.mode, etcd.endpoints, dead, steps);
        for (const [i, step] of steps.entries()) {
          const raw = run.results[i];
          await t.test(step.name, { skip: raw.skipped ? 'no sync form of this method' : false }, () => {
            const got = form.view(raw, step, run.norm);
            assert.deepStrictEqual(got, form.expected(views[i]));
            const err = errorOf(raw);
            if (err) assert.equal(typeof err.code, 'string', 'etcd-napi errors carry a stable code');
            if (err && err.name !== 'Error') t.diagnostic(`error name is ${err.name} (node-etcd: Error)`);
          });
        }
      });
    }
  }
  await compareForms(t, STEPS, oracleViews, '');

  // Auth changes the whole server, so it comes after everything else.
  await enableAuth(etcd.endpoints[0]);
  const authOracle = await runSequence(NODE, 'callback', etcd.endpoints, dead, AUTH_STEPS);
  const authViews = authOracle.results.map((r, i) => callbackView(r, AUTH_STEPS[i], authOracle.norm));
  await t.test('node-etcd (callback) with v2 auth enabled', async (t) => {
    for (const [i, step] of AUTH_STEPS.entries()) {
      await t.test(step.name, () => {
        const raw = authOracle.results[i];
        assert.ok(raw.args, `node-etcd did not call back: ${raw.threw}`);
        step.check(raw.args);
      });
    }
  });
  await compareForms(t, AUTH_STEPS, authViews, ' with v2 auth enabled');
});
