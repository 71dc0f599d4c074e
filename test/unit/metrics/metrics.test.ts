import t from 'tap'
import { Registry } from 'prom-client'
import { boundGates, boundWaves, createMetrics, BanCounter, leaseSourceOf, SwarmTally, waveSourceOf } from '../../../src/metrics/index.js'
import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import { REPO_ROOT } from '../../support/cli.js'
import { fixtureBundles, fixtureSources, groundTruth, parseProm } from '../api/fixture.js'

t.test('availability metrics equal the ground truth of the bitfields', async t => {
  const bundles = fixtureBundles()
  const m = createMetrics(new Registry(), fixtureSources(bundles))
  const v = parseProm(await m.text())
  for (const b of bundles) {
    const g = groundTruth(b)
    const l = `{bundle="${b.bundleId}"}`
    t.equal(v.get(`storemesh_bundle_chunks_held${l}`), g.held, `${b.name} held`)
    t.equal(v.get(`storemesh_bundle_chunks_missing${l}`), g.missing, `${b.name} missing`)
    t.equal(v.get(`storemesh_chunk_min_copies${l}`), g.minCopies, `${b.name} min copies`)
    t.ok(Math.abs(v.get(`storemesh_chunk_distributed_copies${l}`)! - g.distributed) < 1e-9, `${b.name} distributed copies ${g.distributed}`)
    t.equal(v.get(`storemesh_chunk_rarest_copies${l}`), g.rarestPeersOnly, `${b.name} rarest among peers`)
    t.equal(v.get(`storemesh_bundle_devices_complete${l}`), g.complete, `${b.name} devices complete`)
    t.equal(v.get(`storemesh_bundle_peers${l}`), Object.keys(b.peers).length)
  }
  // the fixture is not trivial: a missing-here bundle and a complete device exist
  t.ok(groundTruth(bundles[1]!).missing > 0)
  t.equal(groundTruth(bundles[0]!).complete, 1)
})

t.test('every other metric, names and labels', async t => {
  const m = createMetrics(new Registry(), fixtureSources())
  const text = await m.text()
  const v = parseProm(text)
  t.equal(v.get('storemesh_bytes_total{direction="down",link="wan"}'), 90000)
  t.equal(v.get('storemesh_bytes_total{direction="up",link="lan"}'), 5000)
  t.equal(v.get('storemesh_wan_limit_bytes_per_second'), 1048576)
  t.equal(v.get('storemesh_wan_achieved_bytes_per_second'), 524288)
  t.equal(v.get('storemesh_verify_failures_total'), 3)
  t.equal(v.get('storemesh_peer_bans_total'), 1)
  t.equal(v.get('storemesh_gate_failures_total{gate="schedule.window"}'), 9)
  t.equal(v.get('storemesh_wave_devices{state="rolled-back",wave="142"}'), 1)
  t.equal(v.get('storemesh_wave_devices{state="pending",wave="142"}'), 5)
  t.equal(v.get('storemesh_wave_paused{wave="142"}'), 1)
  t.equal(v.get('storemesh_leases_in_use'), 2)
  t.equal(v.get('storemesh_lease_limit'), 5)
  t.equal(v.get('storemesh_store_used_bytes'), 123456)
  t.equal(v.get('storemesh_store_evicted_chunks_total'), 2)
  // no peer id anywhere in a label, only storemesh_ names, suffix rules for counters
  t.notMatch(text, /12D3KooW/)
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE')) {
      const [, , name, type] = line.split(' ')
      t.match(name, /^storemesh_/)
      if (type === 'counter') t.match(name, /_total$/, `${name} is a counter ending in _total`)
    }
  }
  t.notOk(m.registry === (await import('prom-client')).register, 'not the global registry')
})

t.test('values follow the sources at every scrape', async t => {
  let inUse = 1
  const m = createMetrics(new Registry(), { leases: { inUse: () => inUse, limit: () => 3 } })
  t.equal(parseProm(await m.text()).get('storemesh_leases_in_use'), 1)
  inUse = 3
  t.equal(parseProm(await m.text()).get('storemesh_leases_in_use'), 3)
})

t.test('a failing source leaves its metrics empty and is counted', async t => {
  const m = createMetrics(new Registry(), {
    availability: { bundles: async () => { throw new Error('store closed') } },
    leases: { inUse: () => 2, limit: () => 4 }
  })
  const v = parseProm(await m.text())
  t.equal(v.get('storemesh_leases_in_use'), 2)
  t.equal([...v.keys()].filter(k => k.startsWith('storemesh_chunk_min_copies')).length, 0)
  t.equal(v.get('storemesh_metrics_source_errors_total{source="availability"}'), 1, 'one error per scrape, not per gauge')
})

t.test('protocol violations by stable code, bounded, never a peer id', async t => {
  const counts = new Map<string, number>([['keepalive-flood', 2], ['wrong-length-piece', 5]])
  const m = createMetrics(new Registry(), {
    security: { verifyFailuresTotal: () => 0, peerBansTotal: () => 2, peerViolationsTotal: () => Object.fromEntries(counts) }
  })
  let v = parseProm(await m.text())
  t.equal(v.get('storemesh_peer_violations_total{violation="keepalive-flood"}'), 2)
  t.equal(v.get('storemesh_peer_violations_total{violation="wrong-length-piece"}'), 5)
  t.equal(v.get('storemesh_peer_bans_total'), 2)
  for (let i = 0; i < 100; i++) counts.set(`bogus-${i}`, 1)
  v = parseProm(await m.text())
  t.ok([...v.keys()].filter(k => k.startsWith('storemesh_peer_violations_total')).length <= 32, 'at most 32 series')
})

t.test('label bounds', async t => {
  const many: Record<string, number> = {}
  for (let i = 0; i < 100; i++) many[`probe.p${i}`] = i + 1
  const b = boundGates(many, 10)
  t.equal(Object.keys(b).length, 10)
  t.equal(b.other, Array.from({ length: 91 }, (_, i) => i + 1).reduce((s, x) => s + x, 0))
  t.equal(b['probe.p99'], 100)
  const waves = Array.from({ length: 50 }, (_, i) => ({ waveId: String(i + 100), states: {} }))
  const kept = boundWaves(waves, 5).map(w => w.waveId)
  t.same(kept, ['145', '146', '147', '148', '149'], 'numeric order keeps the newest')
})

t.test('adapters', async t => {
  const lease = leaseSourceOf({ active: () => [1, 2], limit: 7 })
  t.equal(lease.inUse(), 2)
  t.equal(lease.limit(), 7)
  const waves = waveSourceOf({
    waves: async () => [{ waveId: '9', counts: { updated: 1, rolledBack: 2, failed: 3, pending: 4, blocked: 5 }, halted: true, paused: false }]
  })
  t.same(await waves.waves(), [{ waveId: '9', states: { updated: 1, 'rolled-back': 2, failed: 3, pending: 4, blocked: 5 }, halted: true, paused: false }])
  const bans = new EventEmitter()
  const counter = new BanCounter(bans as any)
  bans.emit('ban', {})
  bans.emit('ban', {})
  counter.close()
  bans.emit('ban', {})
  t.equal(counter.total, 2)
  const mk = (down: number, bad: number) => ({ progress: () => ({ bytes: { lan: { up: 1, down }, wan: { up: 0, down: 0 } }, badChunks: bad }) })
  const live = [mk(10, 1), mk(20, 0)]
  const tally = new SwarmTally(() => live)
  const gone = live.pop()!
  tally.retire(gone)
  t.same(tally.bytes().lan, { up: 2, down: 30 }, 'a retired swarm keeps its bytes')
  t.equal(tally.badChunks(), 1)
})

t.test('the Grafana dashboard only queries metrics that exist', async t => {
  const { readFile } = await import('node:fs/promises')
  const { METRIC_NAMES } = await import('../../../src/metrics/index.js')
  const dash = JSON.parse(await readFile(join(REPO_ROOT, 'docker', 'grafana', 'storemesh-dashboard.json'), 'utf8'))
  const known = new Set<string>(Object.values(METRIC_NAMES))
  const used = new Set<string>()
  for (const p of dash.panels) for (const target of p.targets) for (const m of String(target.expr).matchAll(/storemesh_[a-z_]+/g)) used.add(m[0])
  t.ok(used.size >= 15)
  for (const name of used) t.ok(known.has(name), `${name} exists`)
})
