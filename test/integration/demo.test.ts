/**
 * `storemesh demo` from the CLI, real processes end to end (a super hub, a store hub and
 * eight device agents): every device ends as its facts say it must, with the deciding
 * gate named; the hub pulls v1 over the WAN and then only v2's new chunks; the LAN
 * carries more than the WAN; the hub uploads about one copy; the figures are measured
 * (non-zero, consistent), never asserted against a time. The super hub's ledger must
 * hold, for each wave, exactly the demo's known outcomes: five updated, one rolled
 * back, two blocked (one by device.battery, one by target.match), nothing pending or
 * failed, from the one store hub; a demo whose ledger never arrived fails here. The
 * super hub pulls the published bundles through from an origin folder: it reads one
 * copy of each round's new chunks from it, whatever the devices do. The fleet part: a
 * second store hub joins, and the super hub's wave runner runs wave 144 in two batches
 * (the second starts only once the first is healthy) and halts wave 145 on its rollback
 * ratio before the demo store, batch 2, installs it; read from super-ledger.json and the
 * devices' logs, ordered by the timestamps they wrote, never timed.
 */
import t from 'tap'
import type { WaveCounts } from '../../src/ledger/condense.js'
import { runCli } from '../support/cli.js'

interface Device { id: string, result: string, expectResult: string, gate: string, line: string, installer: string, runs: string, lanDownBytes: number }
interface Round {
  version: string
  waveId: string
  neededBytes: number
  wanDownBytes: number
  wanChunks: number
  hubLanUpBytes: number
  hubCopies: number
  devicesLanDownBytes: number
  makespanMs: number
  p2pBoundMs: number
  originChunkBytes: number
  originBytes: number
  devices: Device[]
}
interface Summary {
  workDir: string
  delta: { v2Bytes: number, newBytes: number, newChunks: number, sharedChunks: number }
  urls: { dashboard: string, metrics: string }
  rounds: Round[]
  origin: { url: string, bytes: number, chunkBytes: number, corruptRefused: number }
  ledger: {
    waves: Array<{ waveId: string, counts: WaveCounts, halted: boolean, paused: boolean }>
    hubs: string[]
    settled: boolean
  } | null
  fleet: {
    stores: string[]
    originChunkBytes: number
    waves: Array<{
      waveId: string
      version: string
      state: string
      batches: Array<{ batchNo: number, state: string, storeIds: string[], startedMs?: number, healthyMs?: number }>
      halts: Array<{ reason: string, source: string }>
      stores: Array<{ hubId: string, batch?: number, installed: string[], rolledBack: string[], firstInstallMs?: number }>
    }>
  }
}

const INSTALLED = ['pos-01', 'pos-02', 'pos-06', 'pos-07', 'pos-08']
/** What the super hub must hold for each wave: DEMO_DEVICES' facts decide it (src/demo/devices.ts). */
const EXPECTED_COUNTS: WaveCounts = {
  updated: INSTALLED.length,
  rolledBack: 1, // pos-05: its health check fails
  failed: 0,
  pending: 0,
  blocked: 2,
  total: 8,
  blockedByGate: { 'device.battery': 1, 'target.match': 1 }, // pos-03, pos-04
  failedByReason: {}
}

t.test('the store in a box: WAN pre-staging, LAN swarm, gates and A/B installs per device, then the v2 delta', async t => {
  // bounded: the demo bounds its own waits; this kills it if it hangs anyway
  const r = await runCli(['demo', '--json', '--image-mib', '8'], { timeoutMs: 420_000 })
  t.equal(r.code, 0, r.stderr.slice(-3000))
  const s = JSON.parse(r.stdout) as Summary
  t.match(s.urls, { dashboard: /^http:\/\/127\.0\.0\.1:\d+\/$/, metrics: /^http:\/\/127\.0\.0\.1:\d+\/metrics$/ })
  t.equal(s.rounds.length, 2)
  for (const round of s.rounds) {
    t.equal(round.devices.length, 8, `${round.version}: eight devices`)
    const by = Object.fromEntries(round.devices.map(d => [d.id, d]))
    for (const id of INSTALLED) {
      t.match(by[id], { result: 'installed', installer: 'committed', gate: /^all gates pass; health\.check healthy$/, runs: new RegExp(`^${round.version.replace(/\./g, '\\.')} in slot`) }, `${round.version} ${id}`)
    }
    t.match(by['pos-03'], { result: 'deferred', gate: /^device\.battery$/ }, `${round.version} pos-03 deferred by battery`)
    t.match(by['pos-04'], { result: 'refused', gate: /^target\.match$/ }, `${round.version} pos-04 outside the cohort`)
    t.match(by['pos-05'], { result: 'rolled-back', gate: /^health\.check$/, runs: /factory/ }, `${round.version} pos-05 rolled back`)
    for (const d of round.devices) t.equal(d.result, d.expectResult, `${round.version} ${d.id} as expected`)
    t.ok(round.wanDownBytes >= round.neededBytes, `${round.version}: the hub pulled what it lacked (${round.wanDownBytes} >= ${round.neededBytes})`)
    t.ok(round.devicesLanDownBytes >= 8 * round.neededBytes, `${round.version}: every device received the new bytes over the LAN`)
    t.ok(round.hubLanUpBytes > 0 && round.hubLanUpBytes < round.devicesLanDownBytes, `${round.version}: devices also fetched from each other`)
    t.ok(round.makespanMs > 0 && round.p2pBoundMs > 0, `${round.version}: makespan and bound measured`)
    t.equal(round.originChunkBytes, round.neededBytes, `${round.version}: the super hub read one copy of the new chunks from the origin (${round.originChunkBytes} bytes)`)
    t.ok(round.originBytes > round.originChunkBytes, `${round.version}: and the manifest (${round.originBytes} bytes in all)`)
  }
  t.match(s.origin, { url: /^file:\/\//, corruptRefused: 0 }, 'pulled through from the published origin folder')
  t.equal(s.origin.chunkBytes, s.rounds.reduce((a, r) => a + r.originChunkBytes, 0) + s.fleet.originChunkBytes, 'every origin chunk byte belongs to a round or to the fleet waves')
  const [v1, v2] = s.rounds as [Round, Round]
  t.ok(v2.wanDownBytes < v1.wanDownBytes / 2, `v2 over the WAN is a delta: ${v2.wanDownBytes} of ${v1.wanDownBytes} bytes`)
  t.ok(v2.wanChunks >= s.delta.newChunks && v2.wanChunks < v1.wanChunks, `the hub pulled v2's ${s.delta.newChunks} new chunks, not the bundle (${v2.wanChunks} of ${v1.wanChunks})`)
  t.ok(s.delta.sharedChunks > 0, 'v2 reuses v1 chunks')
  // the ledger: device -> store hub -> super hub, exact per state and per deciding gate
  t.not(s.ledger, null, 'the device reports reached the super hub')
  if (s.ledger === null) return
  t.equal(s.ledger.settled, true, 'every device of both waves had settled at the super hub before the demo read it')
  t.same(s.ledger.hubs, ['demo-store-0042', 'demo-store-0043'], 'both store hubs reported')
  t.same(s.ledger.waves.map(w => w.waveId).sort(), [...s.rounds.map(r => r.waveId), '144', '145'].sort(), 'one ledger wave per round and per fleet wave')
  for (const round of s.rounds) {
    const w = s.ledger.waves.find(x => x.waveId === round.waveId)
    t.strictSame(w?.counts, EXPECTED_COUNTS, `wave ${round.waveId} (${round.version}): the ledger counts the demo's outcomes exactly`)
    t.match(w, { halted: false, paused: false }, `wave ${round.waveId}: one rollback in six outcomes does not halt it`)
  }

  // the fleet part: two stores under one super hub, waves run by the control plane's wave runner
  t.same(s.fleet.stores, ['demo-store-0042', 'demo-store-0043'])
  const [good, bad] = s.fleet.waves
  t.match(good, { waveId: '144', version: '1.2.0' })
  t.match(bad, { waveId: '145', version: '1.3.0' })
  if (good === undefined || bad === undefined) return
  const g = Object.fromEntries(good.stores.map(x => [x.hubId, x]))
  t.same(good.batches.map(b => b.storeIds), [['demo-store-0043'], ['demo-store-0042']], 'wave 144: the second store is batch 1, the demo store batch 2')
  const [b1, b2] = good.batches
  t.match(b1, { state: 'healthy', healthyMs: Number }, 'batch 1 healthy')
  t.ok(b2?.startedMs !== undefined && b1?.healthyMs !== undefined && b2.startedMs >= b1.healthyMs, 'batch 2 started only once batch 1 was healthy (batchDelayMinutes 0)')
  t.same(g['demo-store-0043']?.installed, ['pos-21', 'pos-22'], 'batch 1 installed')
  t.same(g['demo-store-0042']?.installed, INSTALLED, 'batch 2 installed after it started')
  t.ok((g['demo-store-0042']?.firstInstallMs ?? 0) >= (b2?.startedMs ?? Infinity), 'no device of batch 2 installed before its batch started')
  const h = Object.fromEntries(bad.stores.map(x => [x.hubId, x]))
  t.equal(bad.state, 'halted', 'wave 145 halted fleet-wide')
  t.match(bad.halts, [{ source: 'auto', reason: /rollback ratio/ }], 'by the rollback ratio of its signed policy')
  t.same(h['demo-store-0043']?.rolledBack, ['pos-21', 'pos-22'], 'the bad build rolled back in batch 1')
  t.same(h['demo-store-0042']?.installed, [], 'the demo store (batch 2) never installed the bad build')
  t.equal(bad.batches[1]?.startedMs, undefined, 'batch 2 never started')
})
