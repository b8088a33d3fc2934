'use strict'
// The checks of scripts/chaos.js, as pure functions of what the run recorded, so that they can be
// read (and reasoned about) apart from the load and the faults.
//
// Write log entry: { n, key, value, status: 'ack' | 'unknown' | 'failed', index, sends }
//   status 'unknown': the call failed after at least one attempt that may have reached a member
//   (anything but a refused or timed-out connect), so it may have committed.
//   sends: attempts that may have reached a member, including the answered one.
// Event: { index, key, action, value } (index = node.modifiedIndex).

/** The values scripts/chaos.js writes with set(): `w<n>`. */
const isWriteValue = (v) => /^w[0-9]+$/.test(v)

/** etcd's own history (replay) if we have it, else the recursive watcher's log deduplicated. */
function referenceHistory(history, recLog) {
  if (history) return { events: history, source: 'watchIndex replay' }
  const seen = new Map()
  for (const e of recLog) if (!seen.has(e.index)) seen.set(e.index, e)
  return { events: [...seen.values()].sort((a, b) => a.index - b.index), source: 'recursive watcher log (replay unavailable)' }
}

/** Acknowledged writes whose (index, key, value) is not in the history. */
function ackedMissing(writes, events) {
  const byIndex = new Map(events.map((e) => [e.index, e]))
  const missing = []
  for (const w of writes) {
    if (w.status !== 'ack') continue
    const e = byIndex.get(w.index)
    if (!e || e.key !== w.key || e.value !== w.value) missing.push({ write: w, found: e || null })
  }
  return missing
}

/**
 * Each key's final (quorum) value must be its initial value, an acknowledged write or a write of
 * unknown outcome to that key, and must equal the last history event for the key.
 */
function finalValueViolations(keys, finals, initial, writes, events) {
  const allowed = new Map(keys.map((k) => [k, new Set([initial.get(k)])]))
  for (const w of writes) if (w.status !== 'failed') allowed.get(w.key).add(w.value)
  const last = new Map()
  for (const e of events) last.set(e.key, e)
  const bad = []
  for (const k of keys) {
    const v = finals.get(k)
    const tail = last.get(k)
    if (!allowed.get(k).has(v)) bad.push({ key: k, final: v, why: 'not a value written to this key by an acknowledged or unknown-outcome write' })
    else if (tail && tail.value !== v) bad.push({ key: k, final: v, why: `differs from the last history event (index ${tail.index}, value ${tail.value})` })
  }
  return bad
}

/**
 * A watcher's log against the history for the keys it covers: events missing, delivered more
 * than once (same modifiedIndex), out of order (index below one already delivered), not matching
 * the history (unknown index, other key or value), and writes delivered at more than one index
 * (one set() applied twice: duplicated compared with the write log).
 */
function watcherCheck(log, events, covers) {
  const expected = events.filter((e) => covers(e.key))
  const byIndex = new Map(expected.map((e) => [e.index, e]))
  const seen = new Set()
  let maxSeen = -Infinity
  const duplicates = []
  const outOfOrder = []
  const mismatched = []
  for (const e of log) {
    if (seen.has(e.index)) {
      duplicates.push(e)
      continue
    }
    seen.add(e.index)
    if (e.index < maxSeen) outOfOrder.push(e)
    maxSeen = Math.max(maxSeen, e.index)
    const h = byIndex.get(e.index)
    if (!h || h.key !== e.key || h.value !== e.value) mismatched.push({ delivered: e, history: h || null })
  }
  const missing = expected.filter((e) => !seen.has(e.index))
  // Values are unique per write: the same value at two indexes is one write delivered twice.
  const byValue = new Map()
  for (const e of log) {
    if (e.value === undefined || !isWriteValue(e.value)) continue
    const idx = byValue.get(e.value) || new Set()
    idx.add(e.index)
    byValue.set(e.value, idx)
  }
  const repeatedWrites = [...byValue].filter(([, idx]) => idx.size > 1).map(([value, idx]) => ({ value, indexes: [...idx] }))
  return { expected: expected.length, delivered: log.length, missing, duplicates, outOfOrder, mismatched, repeatedWrites }
}

/**
 * How often each written value occurs in the history. Values are unique per write, so a second
 * occurrence means the same request was applied twice: possible only when the client sent it to
 * more than one member (a timed-out attempt that still committed, then a failover). Occurrences
 * of values never written, or of writes that provably never reached a member, are errors.
 */
function applications(writes, events, initial, counterKey) {
  const byValue = new Map(writes.map((w) => [w.value, w]))
  const initialValues = new Set(initial.values())
  const count = new Map()
  const phantom = []
  for (const e of events) {
    if (e.key === counterKey) continue // the counter's values are numbers, checked by the CAS figure
    if (e.value === undefined || initialValues.has(e.value)) continue
    if (!byValue.has(e.value)) phantom.push(e)
    count.set(e.value, (count.get(e.value) || 0) + 1)
  }
  const twiceExplained = []
  const twiceUnexplained = []
  const failedButApplied = []
  const unknownApplied = { applied: 0, notApplied: 0 }
  for (const w of writes) {
    const c = count.get(w.value) || 0
    if (w.status === 'failed' && c > 0) failedButApplied.push(w)
    if (w.status === 'unknown') unknownApplied[c > 0 ? 'applied' : 'notApplied']++
    if (c > 1) (w.sends >= c ? twiceExplained : twiceUnexplained).push({ write: w, times: c, indexes: events.filter((e) => e.value === w.value).map((e) => e.index) })
  }
  return { phantom, twiceExplained, twiceUnexplained, failedButApplied, unknownApplied }
}

/** CAS: successful increments must equal final − start; unknown-outcome CASes widen that to a range. */
function casCheck(cas, events, counterKey) {
  const delta = cas.final - cas.start
  const lo = cas.acked
  const hi = cas.acked + cas.unknown
  const swapsInHistory = events.filter((e) => e.key === counterKey && e.action === 'compareAndSwap').length
  const byIndex = new Map(events.map((e) => [e.index, e]))
  const ackedMissing = cas.ackIndexes.filter((i) => !(byIndex.get(i) && byIndex.get(i).key === counterKey)).length
  return { delta, lo, hi, swapsInHistory, ackedMissing, ok: delta >= lo && delta <= hi && swapsInHistory === delta && ackedMissing === 0 }
}

module.exports = { referenceHistory, ackedMissing, finalValueViolations, watcherCheck, applications, casCheck }
