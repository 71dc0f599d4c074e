/**
 * The super hub's fleet API against a real super hub (embedded PGlite, libp2p on
 * 127.0.0.1): two store hubs pull a bundle over the real `/storemesh/wan-pull/1.0.0`
 * (one all of it, one part) and report device outcomes over the real
 * `/storemesh/report/1.0.0`. Checked: waves with progress, stores with per-wave state,
 * outcome counts and availability (chunks served / bundle chunks), orders with their
 * delivery, halts with reasons; POST /api/orders needs the token, is idempotent and
 * refuses unknown waves; the Host rule; /metrics carries the fleet aggregates and no
 * store or device label; api.json is written at start and removed on stop.
 */
import t from 'tap'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { request } from 'node:http'
import { reportProtocol, type HubBatch, type ReportProtocol } from '../../src/ledger/report/index.js'
import { createStoremeshNode, type StoremeshNode } from '../../src/net/node.js'
import { openStore } from '../../src/store/index.js'
import { createWanPuller } from '../../src/wan/puller.js'
import { addPrefetch } from '../../src/wan/prefetch-queue.js'
import { makeBundle, seededBytes, tempDir } from '../support/store-fixture.js'
import { runCli } from '../support/cli.js'
import { superFixture, swarmKey, trust, nextEvent } from './wan-fixture.js'

const CHUNK = 64 * 1024
const CHUNKS = 12
const EPOCH = 'e'.repeat(32)

interface Json { status: number, body: any }

t.test('fleet API: waves, stores with availability, orders, halts, token and Host rules, metrics', async t => {
  const bundle = makeBundle({ artifacts: [{ name: 'image.bin', bytes: seededBytes(CHUNKS * CHUNK, 77) }], chunkBytes: CHUNK, version: '2.0.0' })
  const sup = await superFixture(t, [bundle], { api: { port: 0 }, haltOnRollbackRatio: 1 })
  const hub = sup.hub!
  t.ok(hub.api !== undefined, 'the API is up')
  const base = hub.api!.url
  const urlFile = JSON.parse(await readFile(join(sup.dataDir, 'api.json'), 'utf8')) as { url: string }
  t.equal(urlFile.url, base, 'api.json names the API')
  const token = (await readFile(join(sup.dataDir, 'api-token'), 'utf8')).trim()

  const call = async (method: string, path: string, body?: unknown, auth = true): Promise<Json> => {
    const res = await fetch(base + path, {
      method,
      headers: { ...(auth ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {})
    })
    const text = await res.text()
    return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text }
  }

  // two stores: each a node that pulls over the WAN and reports as its hub id
  const store = async (name: string): Promise<{ node: StoremeshNode<{ report: ReportProtocol }>, prefetch: (n?: number) => Promise<void> }> => {
    const dir = await tempDir(t, `fleet-api-${name}-`)
    const chunks = await openStore({ dataDir: dir })
    const node = await createStoremeshNode({ swarmKey, dataDir: dir, listen: ['/ip4/127.0.0.1/tcp/0'], services: { report: reportProtocol() } })
    const puller = createWanPuller({ node, store: chunks, dataDir: dir, supers: [sup.addr], trust, pollMs: 200, retryBaseMs: 100, retryMaxMs: 400 })
    t.teardown(async () => { await puller.stop(); await node.stop(); await chunks.stop() })
    await puller.start()
    return {
      node,
      prefetch: async () => {
        const staged = nextEvent(puller, 'prestaged', 30_000)
        await addPrefetch(dir, { bundleId: bundle.info.id })
        puller.poke()
        await staged
      }
    }
  }
  const a = await store('a')
  const b = await store('b')
  await a.prefetch()
  // the embedded database opens at the first report (which it refuses meanwhile; a hub sends again): open it now
  t.ok(await hub.ledger.ready(), 'the fleet database is open')
  const send = async (from: typeof a, hubId: string, entries: HubBatch['entries']): Promise<void> => {
    await from.node.services.report.send(hub.node.getMultiaddrs()[0]!, { type: 'hub-ledger', hubId, epoch: EPOCH, entries })
  }
  const e = (seq: number, deviceId: string, state: 'updated' | 'rolled-back' | 'pending', waveId = '300'): HubBatch['entries'][number] => ({ seq, waveId, deviceId, state, version: seq, atMs: 1 })
  await send(a, 'store-a', [e(1, 'pos-1', 'updated'), e(2, 'pos-2', 'updated'), e(3, 'pos-3', 'rolled-back')])
  await send(b, 'store-b', [e(1, 'pos-9', 'updated'), e(2, 'pos-8', 'pending')])

  const waves = await call('GET', '/api/waves')
  t.equal(waves.status, 200)
  const w = waves.body.waves.find((x: { waveId: string }) => x.waveId === '300')
  t.match(w, { counts: { updated: 3, rolledBack: 1, pending: 1, total: 5 }, stores: 2, progress: { outcomes: 4, updatedRatio: 3 / 5 } }, 'wave totals and progress')

  const stores = await call('GET', '/api/stores')
  t.equal(stores.status, 200)
  const sa = stores.body.stores.find((s: { hubId: string }) => s.hubId === 'store-a')
  const sb = stores.body.stores.find((s: { hubId: string }) => s.hubId === 'store-b')
  t.equal(sa.peer, a.node.peerId.toString(), 'a store is its reporting peer')
  t.match(sa.waves, [{ waveId: '300', counts: { updated: 2, rolledBack: 1, total: 3 } }], 'per-store outcome counts')
  t.match(sb.waves, [{ waveId: '300', counts: { updated: 1, pending: 1, total: 2 } }])
  t.same(sa.availability, [{ bundleId: bundle.info.id, heldChunks: CHUNKS, pieceCount: CHUNKS }], 'store a holds the whole bundle (served)')
  t.same(sb.availability, [], 'store b was served nothing')
  const page = await call('GET', '/api/stores?limit=1')
  t.equal(page.body.stores.length, 1, 'stores are paged')
  t.equal(page.body.next, page.body.stores[0].hubId, 'and say where the next page starts')
  const next = await call('GET', `/api/stores?limit=1&after=${page.body.stores[0].hubId as string}`)
  t.not(next.body.stores[0].hubId, page.body.stores[0].hubId, 'the next page')
  t.equal(next.body.next, undefined, 'the last page')

  // orders: the token, idempotency, unknown wave, delivery
  const order = { kind: 'wave', action: 'halt', waveId: '300', reason: 'scanner firmware', by: 'ci' }
  const noToken = await call('POST', '/api/orders', order, false)
  t.equal(noToken.status, 401)
  t.equal(noToken.body.error.code, 'E_UNAUTHORIZED')
  t.equal((await call('GET', '/api/halts')).body.halts.length, 0, 'nothing was written without the token')
  const made = await call('POST', '/api/orders', order)
  t.equal(made.status, 201, made.body?.error?.message)
  t.match(made.body, { created: true, order: { action: 'halt', issuedBy: 'ci', reason: 'scanner firmware' } })
  const again = await call('POST', '/api/orders', order)
  t.equal(again.status, 200)
  t.match(again.body, { created: false, order: { orderId: made.body.order.orderId } }, 'a repeat is the same order')
  const unknown = await call('POST', '/api/orders', { ...order, waveId: 'nope' })
  t.equal(unknown.status, 404)
  t.equal(unknown.body.error.code, 'E_WAVE_UNKNOWN')
  const bad = await call('POST', '/api/orders', { ...order, extra: 1 })
  t.equal(bad.status, 400)
  t.equal(bad.body.error.code, 'E_INVALID_ARGUMENT')
  await send(a, 'store-a', [])
  const orders = await call('GET', '/api/orders')
  t.match(orders.body.orders[0], { order: { orderId: made.body.order.orderId }, stores: 2, delivered: 1 }, 'handed to the store that reported since')
  const halts = await call('GET', '/api/halts')
  t.match(halts.body.halts, [{ waveId: '300', reason: 'scanner firmware', issuedBy: 'ci', source: 'operator', cleared: false }])
  t.match((await call('GET', '/api/waves/300')).body.wave, { state: 'halted', halted: true })
  t.equal((await call('GET', '/api/waves/nope')).status, 404)
  t.match((await call('GET', '/api/fleet?wave=300')).body.waves, [{ waveId: '300', halted: true }], '/api/fleet is what `fleet status --json` prints')

  // b fetches too: the bundle is then held by two stores
  await b.prefetch()
  const metrics = (await call('GET', '/metrics')).body as string
  t.match(metrics, new RegExp(`^storemesh_fleet_stores_holding\\{bundle="${bundle.info.id}"\\} 2$`, 'm'), 'stores holding the bundle')
  const wanBytes = Number(/^storemesh_fleet_wan_served_bytes_total (\d+)$/m.exec(metrics)?.[1])
  t.equal(wanBytes, 2 * CHUNKS * CHUNK, 'WAN bytes served: two full copies')
  t.match(metrics, /^storemesh_fleet_devices\{wave="300",state="updated"\} 3$/m, 'devices by outcome')
  t.match(metrics, /^storemesh_fleet_stores\{wave="300",state="halted"\} 2$/m, 'stores by wave state')
  t.match(metrics, /^storemesh_fleet_orders_pending \d+$/m, 'orders pending')
  for (const label of ['store-a', 'store-b', 'pos-1', 'pos-9', a.node.peerId.toString(), b.node.peerId.toString()]) {
    t.notOk(metrics.includes(label), `no per-store or per-device label (${label.slice(0, 12)})`)
  }
  const labels = new Set([...metrics.matchAll(/^storemesh_fleet_\w+\{([^}]*)\}/gm)].flatMap(m => [...m[1]!.matchAll(/(\w+)=/g)].map(x => x[1])))
  t.same([...labels].sort(), ['bundle', 'result', 'state', 'wave'], 'the only labels: wave, state, bundle, result')

  // the Host rule (DNS rebinding): another name is refused before routing
  const port = new URL(base).port
  const misdirected = await new Promise<number>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/api/waves', headers: { host: `evil.example:${port}` } }, res => { res.resume(); resolve(res.statusCode ?? 0) }).on('error', reject).end()
  })
  t.equal(misdirected, 421, 'a foreign Host header is refused')

  // the CLI against the running super hub: its embedded database is locked by it, so these go through the API
  const env = { ...process.env }
  for (const k of ['STOREMESH_TOKEN', 'STOREMESH_FLEET_DB', 'STOREMESH_FLEET_API']) delete env[k]
  const fleet = async (...args: string[]): ReturnType<typeof runCli> => await runCli(['fleet', ...args], { timeoutMs: 90_000, env })
  const viaData = await fleet('status', '--data', sup.dataDir, '--json')
  t.equal(viaData.code, 0, viaData.stderr)
  t.match(JSON.parse(viaData.stdout), { waves: [{ waveId: '300', halted: true }] }, '`fleet status --data` of a running super hub reads through its API')
  const resume = await fleet('wave', 'resume', '--wave', '300', '--data', sup.dataDir, '--by', 'ci', '--reason', 'fixed')
  t.equal(resume.code, 0, resume.stderr)
  t.match(resume.stdout, /wave 300 resume: order o-[0-9a-f]+ by ci/)
  const cliNoToken = await fleet('wave', 'halt', '--wave', '300', '--api', base, '--by', 'ci')
  t.not(cliNoToken.code, 0)
  t.match(cliNoToken.stderr, /E_UNAUTHORIZED/, '--api without a token: refused')
  const human = await fleet('status', '--api', base, '--wave', '300')
  t.equal(human.code, 0, human.stderr)
  t.match(human.stdout, /wave 300: installing/, 'resumed, through --api')

  await sup.stop()
  t.notOk(existsSync(join(sup.dataDir, 'api.json')), 'api.json is removed on stop')
  const stopped = await fleet('status', '--data', sup.dataDir, '--wave', '300', '--json')
  t.equal(stopped.code, 0, stopped.stderr)
  t.match(JSON.parse(stopped.stdout), { waves: [{ waveId: '300', halted: false, halts: [{ reason: 'scanner firmware', cleared: true }] }] }, 'stopped: the CLI opens the embedded database itself')
})
