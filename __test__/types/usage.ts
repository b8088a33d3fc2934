// Uses etcd-napi as a TypeScript user would; `tsc -p __test__/types` must pass, and every
// `@ts-expect-error` line must really be an error.
import Etcd = require('../..')

async function main(): Promise<void> {
  const etcd = new Etcd(['127.0.0.1:2379'], { timeout: 1000, auth: { user: 'u', pass: 'p' }, proxy: false })
  new Etcd()
  new Etcd('localhost', 4001)
  const hosts: string[] = etcd.getHosts()

  // callbacks return a token
  const token: Etcd.CancellationToken = etcd.get('k', (err, body, headers) => {
    if (err) {
      const code: string = err.code
      if ('errorCode' in err) console.log(err.errorCode, err.error.cause)
      return
    }
    console.log(body?.node.value, headers?.['x-etcd-index'])
  })
  token.abort()
  const aborted: boolean = token.isAborted()
  etcd.set('k', 'v', { ttl: 5 }, (err) => console.log(err?.message))
  etcd.mkdir('d', (err) => {})

  // no callback: a thenable token
  const body: Etcd.Response = await etcd.get('k', { recursive: true })
  const pending = etcd.set('k', Buffer.from('v'))
  await pending
  const headers: Etcd.Headers | undefined = pending.headers
  const ac = new AbortController()
  await etcd.watch('k', { signal: ac.signal }).catch((e: Etcd.CallError) => e.code)

  // sync
  const r: Etcd.SyncResult<Etcd.Response> = etcd.getSync('k')
  if (r.err === null && r.body) console.log(typeof r.body === 'string' ? r.body : r.body.node.key)
  const s: Etcd.SyncResult<Etcd.Response> = etcd.create('q', 'job', { synchronous: true })

  // watcher
  const w: Etcd.Watcher = etcd.watcher('k', null, { recursive: true })
  w.on('change', (b, h) => console.log(b.action, h['x-etcd-index']))
  w.on('reconnect', (e) => console.log(e.code, e.reconnectCount))
  w.on('resync', (e) => console.log(e.errorCode))
  w.unref().ref()
  for await (const ev of etcd.watcher('k', { recursive: true })) {
    console.log(ev.node.key)
    break
  }
  w.stop()

  // the rest of the v2 API
  const present: boolean = await etcd.exists('k')
  const members: Etcd.Member[] = await etcd.members()
  const health: Etcd.EndpointHealth[] = etcd.healthSync()
  const info: Etcd.ClusterInfo | undefined = Etcd.clusterInfo(pending.headers)
  await etcd.createRole('app', { read: '/app/*', write: ['/app/*'] })
  const first: Etcd.Response = await etcd.watchUntil('k', (b) => b.node.value === 'x', { recursive: true })
  void [present, members, health, info, first]
  // @ts-expect-error permissions take read/write lists
  etcd.createRole('app', ['/app/*'])

  // @ts-expect-error a value cannot be an object
  etcd.set('k', { a: 1 })
  // @ts-expect-error keys are strings or numbers
  etcd.get(['k'])
  // @ts-expect-error unknown option type for timeout
  new Etcd('h', { timeout: 'soon' })
  // @ts-expect-error a callback-style call returns a token, not a promise of the body
  const notBody: Etcd.Response = etcd.get('k', () => {})
  // @ts-expect-error watcher index must be a number or null
  etcd.watcher('k', 'abc')
  void [hosts, aborted, body, headers, s, code, notBody]
}
declare const code: string
void main
