/**
 * Issue 16 item 2 (pre-staging), the hub's side on real processes: a `storemesh
 * super-hub` (embedded PGlite fleet db, fleet API on a free port) serving a bundle, and
 * a store hub (`storemesh hub run --super … --hub-id S`) that does not hold it; no
 * devices. `storemesh fleet prestage --bundle B --store S --api <url>` is delivered in
 * the answer to the hub's report and acked (GET /api/orders); the hub pulls B over the
 * WAN at once (its store holds every chunk, verified); its holdings in report 1.2.0
 * reach the super hub: GET /api/stores shows B complete for S with `availabilityFrom:
 * holdings`, and `storemesh_fleet_stores_holding{bundle=B}` counts the store.
 * No wave here: a store joins a wave only once its hub reports devices of it (waves/join.ts),
 * which needs devices; the wave side of pre-staging is tested in
 * test/unit/control/wave-prestage-cases.ts.
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { runCli, spawnCli } from '../support/cli.js'
import { adopt, bundleOf, lanFixture, makeBundleDir, readStatus, spawnHub, waitUntil } from '../support/lan-fixture.js'
import { superHubAddr, superHubApi } from '../support/super-hub-proc.js'
import { metricValue } from './hub-fixture.js'

const STORE = 'store-prestage'
const BUNDLE_BYTES = 2 * 1024 * 1024
/** bounds only */
const WAIT_MS = 90_000

interface OrderView { order: { orderId: string, kind: string, action: string, bundleId?: string, hubId?: string }, delivered: number, acked: number }
interface StoreView { hubId: string, availabilityFrom: string, availability: Array<{ bundleId: string, heldChunks: number, pieceCount: number, complete?: boolean }> }

t.test('fleet prestage: a real hub pulls the bundle over the WAN and its holdings reach the super hub', async t => {
  const f = await lanFixture(t)
  const bundlesDir = join(f.dir, 'bundles')
  await mkdir(bundlesDir, { recursive: true })
  const { info } = await makeBundleDir(bundlesDir, 'prestage-os', BUNDLE_BYTES, 71, '1.0.0', { minBytes: 16 * 1024, avgBytes: 64 * 1024, maxBytes: 256 * 1024 })

  const superDir = join(f.dir, 'super')
  const sup = adopt(f, spawnCli(['super-hub', '--data', superDir, '--bundles', bundlesDir, '--swarm-key', f.swarmKeyPath, '--trust', f.trustPath,
    '--listen', '/ip4/127.0.0.1/tcp/0', '--api-port', '0', '--json']), superDir)
  const superAddr = await superHubAddr(sup)
  const superApi = await superHubApi(sup, superDir)
  const getJson = async <T>(path: string): Promise<T> => await (await fetch(`${superApi}${path}`, { signal: AbortSignal.timeout(10_000) })).json() as T
  const store = async (): Promise<StoreView | undefined> => (await getJson<{ stores: StoreView[] }>('/api/stores')).stores.find(s => s.hubId === STORE)

  const hubDir = join(f.dir, 'hub')
  const hub = spawnHub(f, hubDir, ['--super', superAddr, '--hub-id', STORE, '--no-api'])
  const all = [sup, hub]
  await waitUntil('the super hub knows the store', async () => (await store()) !== undefined, WAIT_MS, all)
  t.equal(bundleOf(await readStatus(hubDir), info.id), undefined, 'the hub does not hold the bundle before the order')
  t.notOk((await store())!.availability.some(a => a.bundleId === info.id && a.complete === true), 'nor does the super hub say it does')

  // through the running super hub's API by its URL, with the token it keeps in its data dir
  const token = (await readFile(join(superDir, 'api-token'), 'utf8')).trim()
  const r = await runCli(['fleet', 'prestage', '--bundle', info.id, '--store', STORE, '--api', superApi, '--token', token, '--by', 'ci', '--reason', 'e2e'], { timeoutMs: 60_000 })
  t.equal(r.code, 0, `fleet prestage --api exits 0 ${r.stderr}`)
  const orderId = /order (o-[0-9a-f]+)/.exec(r.stdout)?.[1]
  if (orderId === undefined) throw new Error(`the prestage is no order: ${r.stdout.trim()} ${r.stderr.trim()}`)

  await waitUntil('the hub stored and acted on the order', async () => new RegExp(`fleet order ${orderId}: prestage ${info.id}`).test(hub.stderr()), WAIT_MS, all)
  await waitUntil('the super hub counts the order acked by the store', async () =>
    ((await getJson<{ orders: OrderView[] }>('/api/orders')).orders.find(o => o.order.orderId === orderId)?.acked ?? 0) >= 1, WAIT_MS, all)
  const view = (await getJson<{ orders: OrderView[] }>('/api/orders')).orders.find(o => o.order.orderId === orderId)!
  t.match(view.order, { kind: 'prestage', action: 'prestage', bundleId: info.id, hubId: STORE }, 'GET /api/orders: the prestage to this store')

  await waitUntil('the hub holds the bundle, every chunk verified', async () => bundleOf(await readStatus(hubDir), info.id)?.state === 'verified', WAIT_MS, all)
  const held = bundleOf(await readStatus(hubDir), info.id)!
  t.equal(held.heldChunks, held.totalChunks, 'every chunk held')
  t.equal(held.totalChunks, info.manifest.signed.artifacts.reduce((n, a) => n + a.chunks.length, 0), 'the manifest\'s chunks')
  t.match(hub.stderr(), new RegExp(`pre-staged ${info.id}`), 'the hub\'s WAN puller pre-staged it')

  await waitUntil('the super hub shows the store holding the bundle complete', async () =>
    (await store())?.availability.some(a => a.bundleId === info.id && a.complete === true) === true, WAIT_MS, all)
  const s = (await store())!
  t.equal(s.availabilityFrom, 'holdings', 'availability from the hub\'s holdings')
  t.match(s.availability.find(a => a.bundleId === info.id), { heldChunks: held.totalChunks, pieceCount: held.totalChunks, complete: true })
  const metrics = await (await fetch(`${superApi}/metrics`)).text()
  t.equal(metricValue(metrics, 'storemesh_fleet_stores_holding', { bundle: info.id }), 1, 'the gauge counts the store')
  // the pull went over the WAN: the super hub served at least the bundle's bytes (status.json's link bytes count swarm traffic only)
  const served = metricValue(metrics, 'storemesh_fleet_wan_served_bytes_total') ?? 0
  t.ok(served >= held.totalBytes, `the super hub served ${served} WAN bytes for ${held.totalBytes} bundle bytes`)

  const status = await runCli(['fleet', 'status', '--json', '--api', superApi], { timeoutMs: 60_000 })
  t.equal(status.code, 0, `fleet status --json --api exits 0 ${status.stderr}`)
  const st = JSON.parse(status.stdout) as { pendingOrders: Array<{ order: { orderId: string } }>, hubs: Array<{ hubId: string }> }
  t.notOk(st.pendingOrders.some(p => p.order.orderId === orderId), 'fleet status: the acked prestage is no longer pending')
  t.ok(st.hubs.some(h => h.hubId === STORE), 'fleet status lists the store')
})
