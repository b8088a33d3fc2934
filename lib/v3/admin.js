'use strict'
// Cluster, maintenance and auth administration on `Etcd3`, after Go clientv3's Cluster, Maintenance and
// Auth interfaces (camelCase names, positional arguments, etcd's responses as results), and the snapshot
// streams. Member ids are 64-bit: they go in as decimal strings, bigints or safe integers and come back as
// decimal strings, like every other 64-bit number of the v3 API.
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { Readable } = require('node:stream')
const { castGrpcError, ClientClosedError, EtcdError } = require('./errors')
const { invalidArg, AbortError } = require('../errors')

const UINT64_MAX = 2n ** 64n - 1n
// etcd appends the sha256 of the database to a snapshot stream.
const SHA256_BYTES = 32
// How often moveLeader() looks for the leader again when leadership moved under it.
const MOVE_LEADER_ATTEMPTS = 3

/** A member id as the codec takes it (a decimal string), or a TypeError with a code. */
function memberId(id, what = 'id') {
  let n
  if (typeof id === 'bigint') n = id
  else if (typeof id === 'number' && Number.isSafeInteger(id)) n = BigInt(id)
  else if (typeof id === 'string' && /^[0-9]+$/.test(id)) n = BigInt(id)
  else throw invalidArg(`${what} must be a member id: a decimal string, a bigint or a safe integer (got ${describe(id)})`, 'ERR_INVALID_ARG_TYPE')
  if (n <= 0n || n > UINT64_MAX) throw invalidArg(`${what} ${n} is not a member id (1 to 2^64-1)`)
  return n.toString()
}

function describe(v) {
  if (typeof v === 'number') return `the number ${v}`
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
  return v === null ? 'null' : typeof v
}

function urlList(peerURLs) {
  const list = typeof peerURLs === 'string' ? [peerURLs] : peerURLs
  if (!Array.isArray(list) || list.length === 0 || !list.every((u) => typeof u === 'string' && u.trim() !== '')) {
    throw invalidArg('peerURLs must be a URL string or a non-empty array of them', 'ERR_INVALID_ARG_TYPE')
  }
  return list.map((u) => u.trim())
}

/** Splits a method's own options from the call options (`signal`, `deadline`) passed on to the call. */
function split(options, ownKeys) {
  if (options === undefined || options === null) return [{}, undefined]
  if (typeof options !== 'object') throw invalidArg('options must be an object', 'ERR_INVALID_ARG_TYPE')
  const own = {}
  const call = {}
  for (const [k, v] of Object.entries(options)) (ownKeys.includes(k) ? own : call)[k] = v
  return [own, call]
}

function checkEndpoint(endpoint) {
  if (endpoint !== undefined && endpoint !== null && (typeof endpoint !== 'string' || endpoint.trim() === '')) {
    throw invalidArg('endpoint must be a host string such as "127.0.0.1:2379"', 'ERR_INVALID_ARG_TYPE')
  }
  return endpoint === null ? undefined : endpoint
}

function isNotLeader(err) {
  return /etcdserver: not leader/.test(String(err && (err.details || err.message)))
}

/** Runs `fn` as a promise method: argument errors reject instead of throwing, as etcd's errors do. */
function promised(fn) {
  try {
    return Promise.resolve(fn())
  } catch (err) {
    return Promise.reject(err)
  }
}

/**
 * A server-streaming call as a Readable: of etcd's decoded messages (object mode), or, with `bytes`, of one
 * Buffer field of each (`bytes: 'blob'`). Messages are read from etcd only as the Readable asks for them;
 * `destroy()` cancels the call.
 */
class ServerStream extends Readable {
  constructor(pool, service, method, request, { endpoint, bytes, signal } = {}) {
    super({ objectMode: !bytes })
    this.field = bytes
    this.asked = false
    this.ctl = null
    this.signal = signal || null
    this.onAbort = null
    if (pool.closed) {
      process.nextTick(() => this.destroy(new ClientClosedError(service)))
      return
    }
    if (this.signal) {
      if (this.signal.aborted) {
        process.nextTick(() => this.destroy(new AbortError(undefined, { cause: this.signal.reason })))
        return
      }
      this.onAbort = () => this.destroy(new AbortError(undefined, { cause: this.signal.reason }))
      this.signal.addEventListener('abort', this.onAbort, { once: true })
    }
    try {
      this.ctl = pool.rpc.serverStream(service, method, request, {
        onMessage: (message) => this.onMessage(message),
        onEnd: () => this.push(null),
        onError: (err) => this.destroy(castGrpcError(err)),
      }, { endpoint })
    } catch (err) {
      process.nextTick(() => this.destroy(castGrpcError(err)))
    }
  }

  onMessage(message) {
    this.asked = false
    if (!this.field) {
      this.push(message)
      return
    }
    const chunk = message[this.field]
    // An empty chunk would stop a byte stream's reading without data: ask for the next message instead.
    if (chunk.length === 0) this._read()
    else this.push(chunk)
  }

  _read() {
    if (this.asked || !this.ctl) return
    this.asked = true
    this.ctl.request(1)
  }

  _destroy(err, callback) {
    if (this.ctl) this.ctl.cancel()
    if (this.onAbort) this.signal.removeEventListener('abort', this.onAbort)
    callback(err)
  }

  /** grpc-js streams' name for destroy(). */
  cancel() {
    this.destroy()
  }
}

/**
 * A snapshot's bytes, checked on the way: etcd ends the stream with the sha256 of everything before it, so
 * the stream fails with `ETCD3_SNAPSHOT_CORRUPT` instead of ending when the bytes do not match it.
 */
class SnapshotStream extends ServerStream {
  constructor(pool, options) {
    super(pool, 'Maintenance', 'Snapshot', {}, { ...options, bytes: 'blob' })
    this.hash = crypto.createHash('sha256')
    this.tail = Buffer.alloc(0) // the last bytes seen, which may be the digest
    this.size = 0
  }

  push(chunk) {
    if (chunk === null) {
      if (this.tail.length < SHA256_BYTES || !this.hash.digest().equals(this.tail)) {
        this.destroy(snapshotError(`the snapshot's bytes do not match the sha256 etcd sent with them (${this.size} bytes received)`))
        return false
      }
      return super.push(null)
    }
    this.size += chunk.length
    // Hash everything but the last 32 bytes seen so far.
    const joined = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk
    const cut = Math.max(0, joined.length - SHA256_BYTES)
    this.hash.update(joined.subarray(0, cut))
    this.tail = Buffer.from(joined.subarray(cut))
    return super.push(chunk)
  }
}

function snapshotError(message) {
  const err = new EtcdError(message)
  err.code = 'ETCD3_SNAPSHOT_CORRUPT'
  return err
}

/** Writes all of `chunk`: one write() may take fewer bytes than it was given. */
async function writeFully(handle, chunk) {
  let offset = 0
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset)
    // No progress and no error would loop forever; report it as the I/O error it is.
    if (!(bytesWritten > 0)) {
      const err = new Error(`snapshot file write made no progress (${chunk.length - offset} bytes left)`)
      err.code = 'EIO'
      throw err
    }
    offset += bytesWritten
  }
}

/** Best effort: makes a rename durable (not every platform can open or fsync a directory). */
async function syncDir(dir) {
  let handle
  try {
    handle = await fs.promises.open(dir, 'r')
    await handle.sync()
  } catch {
    // The file itself is synced; the directory entry is as durable as the platform allows.
  } finally {
    if (handle) await handle.close().catch(() => {})
  }
}

/** The methods `Etcd3` gets from here (see `install`). */
class AdminMethods {
  // ---------------------------------------------------------------------------------------------- Cluster

  /** The cluster's members (`linearizable: false` lets any member answer from its own view). */
  memberList(options) {
    return promised(() => {
      const [own, call] = split(options, ['linearizable'])
      return this.cluster.memberList({ linearizable: own.linearizable !== false }, call)
    })
  }

  /** Adds a member that will serve at `peerURLs`; `{ learner: true }` adds it as a non-voting learner. */
  memberAdd(peerURLs, options) {
    return promised(() => {
      const [own, call] = split(options, ['learner'])
      return this.cluster.memberAdd({ peerURLs: urlList(peerURLs), isLearner: own.learner === true }, call)
    })
  }

  memberRemove(id, options) {
    return promised(() => this.cluster.memberRemove({ ID: memberId(id) }, options))
  }

  /** Sets the peer URLs of a member. */
  memberUpdate(id, peerURLs, options) {
    return promised(() => this.cluster.memberUpdate({ ID: memberId(id), peerURLs: urlList(peerURLs) }, options))
  }

  /** Makes a learner a voting member (etcd refuses until the learner has caught up with the leader). */
  memberPromote(id, options) {
    return promised(() => this.cluster.memberPromote({ ID: memberId(id) }, options))
  }

  // ------------------------------------------------------------------------------------------ Maintenance

  /** The status of the member at `endpoint` (`host:port` or a URL; any member when omitted). */
  status(endpoint, options) {
    return promised(() => this.maintenance.status({ ...options, endpoint: checkEndpoint(endpoint) }))
  }

  /** Defragments the backend of the member at `endpoint` (it blocks that member's reads and writes meanwhile). */
  defragment(endpoint, options) {
    return promised(() => this.maintenance.defragment({ ...options, endpoint: checkEndpoint(endpoint) }))
  }

  /** The hash of the keys of the member at `endpoint` up to `revision` (0 or omitted: its latest). */
  hashKV(endpoint, revision, options) {
    return promised(() => {
      const rev = revision === undefined || revision === null ? '0' : String(revision)
      if (!/^[0-9]+$/.test(rev)) throw invalidArg(`revision must be a non-negative integer (got ${describe(revision)})`)
      return this.maintenance.hashKV({ revision: rev }, { ...options, endpoint: checkEndpoint(endpoint) })
    })
  }

  /** The cluster's active alarms (`alarms: [{ memberID, alarm }]`). */
  alarmList(options) {
    return promised(() => this.maintenance.alarm({ action: 'Get', memberID: '0', alarm: 'None' }, options))
  }

  /**
   * Disarms one alarm (`{ memberID, alarm }`, as alarmList lists them), or every active alarm when called
   * without one. Resolves with the alarms disarmed.
   */
  alarmDisarm(alarm, options) {
    return promised(async () => {
      const am = alarm || {}
      const member = am.memberID === undefined || am.memberID === null || String(am.memberID) === '0' ? null : memberId(am.memberID, 'memberID')
      const type = am.alarm === undefined || am.alarm === null ? 'None' : am.alarm
      if (member === null && (type === 'None' || type === 0)) {
        const { alarms } = await this.alarmList(options)
        const disarmed = []
        for (const a of alarms) {
          const res = await this.maintenance.alarm({ action: 'Deactivate', memberID: a.memberID, alarm: a.alarm }, options)
          disarmed.push(...res.alarms)
        }
        return { header: null, alarms: disarmed }
      }
      return this.maintenance.alarm({ action: 'Deactivate', memberID: member || '0', alarm: type }, options)
    })
  }

  /**
   * Hands leadership to member `transfereeId`. Only the leader can do that, so the request goes to the
   * leader's client URL (found from a member's status and the member list), again if leadership moves meanwhile.
   */
  moveLeader(transfereeId, options) {
    return promised(async () => {
      const targetID = memberId(transfereeId, 'transfereeId')
      let lastErr
      for (let attempt = 0; attempt < MOVE_LEADER_ATTEMPTS; attempt++) {
        const [{ leader }, { members }] = await Promise.all([this.maintenance.status(options), this.cluster.memberList({ linearizable: true }, options)])
        const current = members.find((m) => m.ID === leader)
        if (!current || current.clientURLs.length === 0) {
          const err = new EtcdError(`cannot find the client URL of the leader (member ${leader})`)
          err.code = 'ETCD3_NO_LEADER'
          throw err
        }
        try {
          return await this.maintenance.moveLeader({ targetID }, { ...options, endpoint: current.clientURLs[0] })
        } catch (err) {
          if (!isNotLeader(err)) throw err
          lastErr = err
        }
      }
      throw lastErr
    })
  }

  /**
   * The backend database of one member (`endpoint`, or a member of the client's choosing) as a Readable of
   * its bytes: what `etcdctl snapshot save` writes, ending with etcd's sha256 of the rest (checked: a
   * mismatch fails the stream with code `ETCD3_SNAPSHOT_CORRUPT`). Destroying the stream cancels the call.
   */
  snapshot(options) {
    const [own, call] = split(options, ['endpoint'])
    return new SnapshotStream(this.pool, { endpoint: checkEndpoint(own.endpoint), signal: call && call.signal })
  }

  /**
   * Saves a snapshot to `file`: written to `<file>.part`, fsynced, checked, then renamed over `file`.
   * On failure the partial file is removed. Resolves with `{ path, size }`.
   */
  snapshotToFile(file, options) {
    return promised(async () => {
      if (typeof file !== 'string' || file === '') throw invalidArg('path must be a non-empty string', 'ERR_INVALID_ARG_TYPE')
      const [own, call] = split(options, ['endpoint'])
      const endpoint = checkEndpoint(own.endpoint)
      const signal = call && call.signal
      if (this.pool.closed) throw new ClientClosedError('Maintenance')
      if (signal && signal.aborted) throw new AbortError(undefined, { cause: signal.reason })
      const target = path.resolve(file)
      const partial = `${target}.part`
      let stream = null
      let handle = null
      try {
        handle = await fs.promises.open(partial, 'w', 0o600)
        // Made only now and read at once, so that its errors always have a listener.
        stream = new SnapshotStream(this.pool, { endpoint, signal })
        let size = 0
        for await (const chunk of stream) {
          await writeFully(handle, chunk)
          size += chunk.length
        }
        await handle.sync()
        await handle.close()
        handle = null
        await fs.promises.rename(partial, target)
        await syncDir(path.dirname(target))
        return { path: target, size }
      } catch (err) {
        if (stream) stream.destroy()
        if (handle) await handle.close().catch(() => {})
        await fs.promises.unlink(partial).catch(() => {})
        throw err
      }
    })
  }

  // ------------------------------------------------------------------------------------------------- Auth

  /** Turns authentication on (a `root` user with the `root` role must exist). */
  enableAuth(options) {
    return this.auth.authEnable(options)
  }

  disableAuth(options) {
    return this.auth.authDisable(options)
  }

  /** `{ enabled, authRevision }` (etcd ≥ 3.5). */
  authStatus(options) {
    return this.auth.authStatus(options)
  }

  // ----------------------------------------------------------------------------------------------- Mirror

  /**
   * A mirror of the keys under `prefix` (Go clientv3's mirror.Syncer): `syncBase()` copies them at one
   * revision, `syncUpdates()` then follows every change after it. `{ revision }` resumes a copy that is
   * already complete up to that revision.
   */
  mirror(prefix, options) {
    const { Mirror } = require('./mirror')
    return new Mirror(this, prefix, options)
  }
}

/** Gives `cls` (Etcd3) the methods above. */
function install(cls) {
  for (const name of Object.getOwnPropertyNames(AdminMethods.prototype)) {
    if (name !== 'constructor') Object.defineProperty(cls.prototype, name, Object.getOwnPropertyDescriptor(AdminMethods.prototype, name))
  }
}

module.exports = { install, memberId, ServerStream, SnapshotStream }
