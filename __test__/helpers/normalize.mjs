// Shared helpers for the wire and differential suites: which implementations to run, how to view a recorded
// request, and how to strip run-dependent values (indexes, times, key prefixes) from etcd results.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// node-etcd is the oracle; etcd-napi is the implementation under test. etcd-napi may not be built yet: then its
// tests are skipped with the reason instead of failing the oracle's checks.
export function loadImplementations() {
  const impls = [{ name: 'node-etcd', Etcd: require('node-etcd'), oracle: true }];
  const entry = path.join(ROOT, 'index.js');
  let napi = { name: 'etcd-napi', Etcd: null, oracle: false, missing: null };
  if (!fs.existsSync(entry)) {
    napi.missing = `${entry} does not exist yet`;
  } else if (!fs.readdirSync(ROOT).some((f) => f.endsWith('.node'))) {
    napi.missing = 'no native addon (*.node) in the package root';
  } else {
    try {
      napi.Etcd = require(entry);
      if (typeof napi.Etcd !== 'function') napi.missing = `require('${entry}') is not a constructor`;
    } catch (e) {
      napi.missing = `require('${entry}') failed: ${e && e.message}`;
    }
  }
  impls.push(napi);
  return impls;
}

// ---- wire view ----------------------------------------------------------------------------------------------

// The headers both clients must agree on (brief: content-type, content-length, accept, authorization).
export const COMPARED_HEADERS = ['content-type', 'content-length', 'accept', 'authorization'];
// Headers that may legitimately differ between HTTP stacks and are not worth a report.
export const IGNORED_EXTRA_HEADERS = new Set(['host', 'connection']);

export function wireView(req, extraHeaders = []) {
  const v = { method: req.method, target: req.target, body: req.body.toString('latin1') };
  for (const h of [...COMPARED_HEADERS, ...extraHeaders]) {
    if (req.headers[h] !== undefined) v[h] = req.headers[h];
  }
  if (req.host && req.host !== '127.0.0.1') v.at = req.host;
  return v;
}

const BODYLESS_WITH_LENGTH = new Set(['PUT', 'POST', 'DELETE', 'PATCH', 'HEAD']);

// Expected request as node-etcd puts it on the wire: accept json; a form body brings its content type and length;
// PUT/POST/DELETE (and PATCH/HEAD through raw) without a body send content-length 0.
export function W(method, target, body = null, extra = {}) {
  const v = { method, target, body: body ?? '' };
  if (body !== null) {
    v['content-type'] = 'application/x-www-form-urlencoded';
  }
  v.accept = 'application/json';
  if (body !== null) v['content-length'] = String(Buffer.byteLength(body, 'latin1'));
  else if (BODYLESS_WITH_LENGTH.has(method)) v['content-length'] = '0';
  for (const [k, val] of Object.entries(extra)) {
    if (val === undefined) delete v[k];
    else v[k] = val;
  }
  // Key order does not matter for deepStrictEqual, but keep views tidy.
  return v;
}

// ---- etcd result normalisation (differential suite) ------------------------------------------------------------

// Headers whose values change from run to run; only their presence is compared.
const VOLATILE_HEADERS = new Set(['date', 'x-etcd-index', 'x-raft-index', 'x-raft-term', 'content-length']);

export function normHeaders(headers) {
  if (headers === undefined || headers === null) return headers;
  const out = {};
  for (const name of Object.keys(headers).sort()) {
    const v = headers[name];
    out[name] = VOLATILE_HEADERS.has(name) ? `<${typeof v}>` : v;
  }
  return out;
}

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Replace the per-run key prefix with <P>, in-order key names with <seq>, and index-like numbers with <idx>.
export function makeNormalizer(prefix) {
  const re = new RegExp(`^/${escapeRe(prefix)}(?=/|$)`);
  const normString = (s) => s.replace(re, '/<P>').replace(/\/\d{20}(?=\/|$)/g, '/<seq>');
  const normCause = (s) =>
    normString(s).replace(/\[([^\]]*?) != ([^\]]*?)\]/g, (m, a, b) => `[${/^\d+$/.test(a) ? '<n>' : a} != ${/^\d+$/.test(b) ? '<n>' : b}]`);
  function walk(v, keyName, opts) {
    if (Array.isArray(v)) {
      const arr = v.map((x) => walk(x, undefined, opts));
      // Unsorted directory listings come in Go map order: sort by key unless the step asked etcd to sort.
      if (keyName === 'nodes' && !opts.keepOrder) arr.sort((a, b) => String(a?.key).localeCompare(String(b?.key)));
      return arr;
    }
    if (v && typeof v === 'object') {
      const out = {};
      for (const k of Object.keys(v)) {
        const x = v[k];
        if ((k === 'modifiedIndex' || k === 'createdIndex' || k === 'index') && typeof x === 'number') out[k] = '<idx>';
        else if (k === 'expiration' && typeof x === 'string') out[k] = '<time>';
        else if (k === 'key' && typeof x === 'string') out[k] = normString(x);
        else if (k === 'cause' && typeof x === 'string') out[k] = normCause(x);
        else out[k] = walk(x, k, opts);
      }
      return out;
    }
    return v;
  }
  return {
    body: (v, opts = {}) => walk(v, undefined, opts),
    string: normString,
  };
}

// For bodies that are all run-dependent (stats): keep the structure and the types only.
export function shapeOf(v) {
  if (Array.isArray(v)) return v.map(shapeOf);
  if (v && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v).sort()) out[k] = shapeOf(v[k]);
    return out;
  }
  return `<${v === null ? 'null' : typeof v}>`;
}

// An Error as the user can observe it. `code` is an etcd-napi addition (product table: every error carries a
// stable code), so it is reported separately and left out of the own-property comparison.
export function normError(err, normBody) {
  if (err === null || err === undefined) return err;
  if (!(err instanceof Error)) return { notAnError: typeof err, value: err };
  const own = Object.getOwnPropertyNames(err).filter((k) => k !== 'code').sort();
  const out = { isError: true, message: err.message, ownProperties: own };
  if ('errorCode' in err) out.errorCode = err.errorCode;
  if ('error' in err) out.error = normBody(err.error);
  if ('retries' in err) out.retries = err.retries;
  if (Array.isArray(err.errors)) {
    out.errors = err.errors.map((e) => ({
      keys: Object.keys(e),
      server: e.server,
      httperrorCode: e.httperror ? e.httperror.code ?? null : e.httperror,
      httpstatus: e.httpstatus,
      httpbody: e.httpbody === undefined ? undefined : normBody(e.httpbody),
      timestampIsDate: e.timestamp instanceof Date,
    }));
  }
  return out;
}
