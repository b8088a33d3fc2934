// ESM entry: the same CommonJS module (one instance, no dual-package state), with named exports.
import Etcd from './index.js'

export default Etcd
export const { Watcher, CancellationToken, AbortError, ETCD_ERROR_CODES, clusterInfo, Etcd3, Namespace, Lease, isRecoverableError } = Etcd
export { Etcd }
