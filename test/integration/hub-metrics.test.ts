/**
 * The hub's /metrics against ground truth during a real swarm: a hub process (upload
 * capped so the swarm lasts a few seconds) and 3 device processes. While they swarm,
 * `storemesh_chunk_min_copies{bundle}` must equal the minimum over chunks of the
 * holders in the /api/availability matrix taken just before and just after the scrape
 * (when the two agree, nothing moved in between); at the end, with every device
 * complete by its own status.json, min copies = N + 1 (the hub too), every device's
 * row is all ones, and writes without the token are refused.
 */
import { join } from 'node:path'
import t from 'tap'
import type { AvailabilityBundleView, AvailabilityView } from '../../src/api/types.js'
import { runCli } from '../support/cli.js'
import { bundleOf, lanFixture, makeBundleDir, readStatus, spawnDevice, spawnHub, waitUntil, type Proc } from '../support/lan-fixture.js'
import { freePort, HubApi, metricValue } from './hub-fixture.js'

const DEVICES = 3
const BUNDLE_BYTES = 2 * 1024 * 1024
const SWARM_MAX_MS = 150_000

/** Holders per chunk counted by the test from the matrix rows (not the view's own `copies`). */
function copiesOf (b: AvailabilityBundleView): number[] {
  const copies = new Array<number>(b.count).fill(0)
  for (const r of b.rows) for (let i = 0; i < b.count; i++) if (r.have[i] === '1') copies[i]!++
  return copies
}

function minOf (b: AvailabilityBundleView): number {
  const c = copiesOf(b)
  return c.length === 0 ? 0 : Math.min(...c)
}

function sameMatrix (a: AvailabilityBundleView | undefined, b: AvailabilityBundleView | undefined): boolean {
  if (a === undefined || b === undefined) return false
  const key = (v: AvailabilityBundleView): string => v.rows.map(r => `${r.peerId}:${r.have}`).sort().join('|')
  return key(a) === key(b)
}

t.test('hub metrics match the availability matrix during a swarm and the devices at the end', async t => {
  const f = await lanFixture(t)
  const { outDir, info } = await makeBundleDir(f.dir, 'metrics-os', BUNDLE_BYTES, 21)
  const id = info.id
  const pieceCount = info.pieces.length
  const port = await freePort()
  const hubDir = join(f.dir, 'hub')
  const hub = spawnHub(f, hubDir, ['--bundle', outDir, '--api-port', String(port), '--upload-limit', '512KiB/s'])
  const api = new HubApi(`http://127.0.0.1:${port}`, hubDir)
  await waitUntil('hub API up', async () => await api.up(), 60_000, [hub])
  await waitUntil('hub seeding', async () => bundleOf(await readStatus(hubDir), id)?.superseed === true, 30_000, [hub])

  const devices: Proc[] = []
  for (let i = 0; i < DEVICES; i++) devices.push(spawnDevice(f, join(f.dir, `dev${i}`)))
  const all = [hub, ...devices]

  const availability = async (): Promise<AvailabilityBundleView | undefined> =>
    (await api.get<AvailabilityView>(`/api/availability?bundle=${id}&count=4096`)).bundles.find(b => b.bundleId === id)

  // during the swarm: scrape until every device is done (bounded by time, not count:
  // on a loaded machine the devices may take a while to even start)
  let stable = 0
  let stableMidSwarm = 0
  let scrapes = 0
  let peerCountTransients = 0
  const mismatches: string[] = []
  const devicesDone = async (): Promise<boolean> => {
    for (const d of devices) if (bundleOf(await readStatus(d.dataDir), id)?.state !== 'verified') return false
    return true
  }
  const deadline = Date.now() + SWARM_MAX_MS
  while (Date.now() < deadline && !(await devicesDone())) {
    for (const p of all) if (p.child.exitCode !== null) throw new Error(`${p.dataDir} exited early: ${p.stderr().slice(-1500)}`)
    scrapes++
    const before = await availability()
    const text = await api.metricsText()
    const after = await availability()
    const metric = metricValue(text, 'storemesh_chunk_min_copies', { bundle: id })
    if (metric === undefined || metric < 1 || metric > DEVICES + 1) mismatches.push(`scrape ${scrapes}: min copies ${metric} outside [1, ${DEVICES + 1}]`)
    if (before === undefined || before.pieceCount !== pieceCount || before.count !== pieceCount) {
      mismatches.push(`scrape ${scrapes}: the matrix does not cover the bundle`)
      continue
    }
    if (before.minCopies !== minOf(before)) mismatches.push(`scrape ${scrapes}: view min ${before.minCopies} != its matrix ${minOf(before)}`)
    if (sameMatrix(before, after)) {
      // nothing moved between the two matrices: the scrape in between must agree exactly
      stable++
      const min = minOf(before)
      const atMin = copiesOf(before).filter(c => c === min).length
      const deviceRows = before.rows.filter(r => r.self !== true)
      if (min < DEVICES + 1 && deviceRows.some(r => r.heldChunks > 0)) stableMidSwarm++
      const dist = metricValue(text, 'storemesh_chunk_distributed_copies', { bundle: id }) ?? -1
      const peers = metricValue(text, 'storemesh_bundle_peers', { bundle: id })
      const rarest = metricValue(text, 'storemesh_chunk_rarest_chunks', { bundle: id })
      if (metric !== min) mismatches.push(`scrape ${scrapes}: /metrics min copies ${metric} != matrix ${min}`)
      if (rarest !== atMin) mismatches.push(`scrape ${scrapes}: rarest chunks ${rarest} != matrix ${atMin}`)
      if (Math.abs(dist - (min + (pieceCount - atMin) / pieceCount)) > 1e-9) mismatches.push(`scrape ${scrapes}: distributed copies ${dist}`)
      // a peer's wire can be replaced between two identical matrices (duplicate streams
      // resolved, a reconnect): the peer count is checked once the swarm has settled, below
      if (peers !== deviceRows.length) peerCountTransients++
    }
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  t.comment(`${scrapes} scrapes during the swarm, ${stable} with a stable matrix, ${stableMidSwarm} of them with devices part-way, ${peerCountTransients} with a peer wire in flux`)
  t.same(mismatches, [], 'every scrape agrees with the availability matrix around it')
  // the hub's upload cap makes the swarm last seconds: at least one check must have hit it mid-way
  t.ok(stableMidSwarm >= 1, 'at least one exact comparison while devices held part of the bundle')
  await waitUntil('every device verified', devicesDone, 120_000, all)

  // the end: N devices + the hub hold every chunk
  const peerIds = await Promise.all(devices.map(async d => (await readStatus(d.dataDir))?.peerId))
  await waitUntil('min copies = N + 1', async () => {
    const text = await api.metricsText()
    return metricValue(text, 'storemesh_chunk_min_copies', { bundle: id }) === DEVICES + 1 &&
      metricValue(text, 'storemesh_bundle_devices_complete', { bundle: id }) === DEVICES
  }, 30_000, all)
  const end = await availability()
  t.ok(end !== undefined, 'the bundle is in /api/availability')
  if (end !== undefined) {
    t.equal(minOf(end), DEVICES + 1, 'every chunk has N + 1 holders in the matrix')
    t.equal(end.minCopies, DEVICES + 1)
    t.equal(end.devicesComplete, DEVICES)
    for (const pid of peerIds) {
      const row = end.rows.find(r => r.peerId === pid)
      t.equal(row?.have, '1'.repeat(pieceCount), `device ${pid?.slice(-6) ?? '?'} holds every chunk in the hub's view`)
    }
    const self = end.rows.find(r => r.self === true)
    t.equal(self?.heldChunks, pieceCount, 'the hub holds every chunk')
  }
  const text = await api.metricsText()
  t.equal(metricValue(text, 'storemesh_bundle_chunks_missing', { bundle: id }), 0, 'the hub misses no chunk')
  t.equal(metricValue(text, 'storemesh_bundle_peers', { bundle: id }), end?.rows.filter(r => r.self !== true).length, 'peers = device rows once settled')
  t.ok((metricValue(text, 'storemesh_bytes_total', { link: 'lan', direction: 'up' }) ?? 0) > 0, 'the hub uploaded over the LAN')
  t.equal(metricValue(text, 'storemesh_lease_limit'), 5, 'lease limit exported')
  // libp2p's own metrics on the same registry, without peer ids (unbounded label values)
  t.match(text, /^libp2p_[a-z_]+\{?.*$/m, 'libp2p metrics beside ours')
  t.match(text, /^storemesh_[a-z_]+/m)
  for (const pid of peerIds) if (pid !== undefined) t.notOk(text.includes(pid), `no peer id in /metrics (${pid.slice(-6)})`)

  // the SRE's CLI on the same API: `storemesh hub cache list --limit 5`
  const cache = await runCli(['hub', 'cache', 'list', '--limit', '5', '--api', api.base, '--json'], { timeoutMs: 60_000 })
  t.equal(cache.code, 0, `hub cache list exits 0 ${cache.stderr.slice(-300)}`)
  const view = JSON.parse(cache.stdout) as { entries: Array<{ bundleId: string, state: string }>, total: number }
  t.same(view.entries.map(e => [e.bundleId, e.state]), [[id, 'verified']], 'hub cache list shows the seeded bundle')

  // writes: refused without the token, accepted (and idempotent) with it
  const noToken = await api.post('/api/waves/142/start', { cohort: 'retail-us-midwest' })
  t.equal(noToken.status, 401, 'a write without the token is refused')
  t.equal(noToken.body?.error?.code, 'E_UNAUTHORIZED')
  const bad = await api.post('/api/waves/142/start', { cohort: 'retail-us-midwest' }, 'x'.repeat(43))
  t.equal(bad.status, 401, 'a wrong token is refused')
  const token = await api.token()
  const first = await api.post('/api/waves/142/pause', { reason: 'metrics test' }, token)
  t.equal(first.status, 200, 'a write with the token is accepted')
  t.equal(first.body?.changed, true)
  const again = await api.post('/api/waves/142/pause', { reason: 'metrics test' }, token)
  t.equal(again.body?.changed, false, 'the same write again changes nothing')
  const rollback = await api.post('/api/devices/pos-17/rollback', { reason: 'test' }, token)
  t.equal(rollback.body?.changed, true, 'device rollback through the hub is ordered (the device picks it up when it reports)')
  t.match(rollback.body?.detail, /no device with this id has reported/)
  t.equal((await api.post('/api/devices/pos-17/rollback', { reason: 'test' }, token)).body?.changed, false, 'ordering it again changes nothing')
  t.equal(metricValue(await api.metricsText(), 'storemesh_wave_paused', { wave: '142' }), 1, 'the paused wave shows in the metrics')
})
