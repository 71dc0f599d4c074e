import t from 'tap'
import { LanSwarm, simulateLanSwarm } from '../../../src/sim/lan-swarm.js'
import { KiB, store } from './lan-store.js'

t.test('every device completes near the P2P bound and the super-seeding hub uploads about one copy', async t => {
  for (const n of [1, 4, 12]) {
    const r = simulateLanSwarm(store(n))
    const F = 24 * 256 * KiB
    const boundMs = 1000 * Math.max(F / (256 * KiB), n * F / (256 * KiB * (n + 1)))
    t.equal(r.doneMs.filter(Number.isFinite).length, n, `N=${n}: all complete`)
    t.ok(r.makespanMs >= boundMs, `N=${n}: no faster than the bound (${r.makespanMs} >= ${boundMs})`)
    t.ok(r.makespanMs <= 1.5 * boundMs, `N=${n}: within 1.5x the bound (${r.makespanMs})`)
    t.ok(r.hubUpBytes / F <= 1.3, `N=${n}: hub uploads ${r.hubUpBytes / F} copies`)
  }
})

t.test('a peer serving bad chunks is banned and everyone still completes', async t => {
  const r = simulateLanSwarm(store(6, { corruptPeers: 1 }))
  t.equal(r.doneMs.filter(Number.isFinite).length, 6)
  t.ok(r.badChunks > 0, `${r.badChunks} bad chunks seen`)
  t.ok(r.bans > 0, `${r.bans} devices banned it`)
  t.ok(r.badChunks <= 2 * 6, 'the peer scorer bans after its threshold, so at most two per device')
})

t.test('the same seed gives the same run', async t => {
  t.same(simulateLanSwarm(store(8)), simulateLanSwarm(store(8)))
})

t.test('a device trusts the peers that delivered to it, as the product picker is told (setHave with its source)', async t => {
  // Before, the model called setHave(index) without the sender, so no peer ever counted
  // as having delivered: the picker's suspect and hoarder rules judged them all.
  const s = new LanSwarm(store(6))
  const r = s.run()
  t.equal(r.doneMs.filter(Number.isFinite).length, 6)
  for (const d of s.devices) {
    const proven = s.nodes.filter(p => p !== d && !d.picker.unproven(p.id)).map(p => p.id)
    t.ok(proven.length > 0, `${d.id} trusts ${proven.join(', ')}`)
  }
  // the hub seeds every chunk to someone first: someone has it proven
  t.ok(s.devices.some(d => !d.picker.unproven('hub')), 'the hub is proven to a device it served')
})

t.test('the hub\'s connections may open late, one device at a time (a loaded host\'s dials)', async t => {
  t.same(simulateLanSwarm(store(6, { hubConnectMs: Array(6).fill(0) })), simulateLanSwarm(store(6)), 'all at connect time: the same run')
  const F = 24 * 256 * KiB
  const never = simulateLanSwarm(store(4, { hubConnectMs: [0, 0, 0, 1e12] }))
  t.equal(never.doneMs.filter(Number.isFinite).length, 4, 'a device the hub never reaches completes from its peers')
  t.ok(never.hubUpBytes / F <= 1.3, `the hub still uploads about one copy (${never.hubUpBytes / F})`)
  const late = simulateLanSwarm(store(4, { hubConnectMs: [0, 20_000, 40_000, 60_000] }))
  const early = simulateLanSwarm(store(4))
  t.equal(late.doneMs.filter(Number.isFinite).length, 4, 'all complete')
  t.ok(late.makespanMs > early.makespanMs, `the first device alone with the hub for 20 s: ${late.makespanMs} against ${early.makespanMs} ms`)
})
