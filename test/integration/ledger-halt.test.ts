/**
 * Two stores report one wave to a super hub whose policy limit is a rollback ratio of
 * 0.2. The rollbacks in store B push the fleet ratio over it: the super hub halts the
 * wave and every hub learns it on its next exchange, and so do the devices, from their
 * hub. Then the super hub goes away for good and hub A restarts: the halt is still in
 * force there, offline, and still reaches its devices.
 */
import t from 'tap'
import { join } from 'node:path'
import { generateSwarmKey } from '../../src/net/swarm-key.js'
import { journalHistory, startDevice, startHub, startSuper, tempDir, WAVE, type Device, type Hub, type Super } from './ledger-fixture.js'
import { until } from '../support/poll.js'

const swarmKey = generateSwarmKey()
const LIMIT = 0.2

t.test('a rollback ratio over the limit halts the wave on every hub, and the halt outlives the super hub', async t => {
  const dirs = await tempDir('ledger-halt')
  t.teardown(dirs.remove)
  const sup: Super = await startSuper(swarmKey, join(dirs.path, 'super'), { haltOnRollbackRatio: LIMIT })
  let superUp = true
  t.teardown(async () => { if (superUp) await sup.stop() })
  const superAddr = (): ReturnType<Hub['node']['getMultiaddrs']>[number] | undefined => (superUp ? sup.addr : undefined)

  const hubs: Hub[] = []
  for (const id of ['store-a', 'store-b']) {
    const hub = await startHub(swarmKey, join(dirs.path, id), id, superAddr)
    hubs.push(hub)
  }
  let hubA = hubs[0]!
  const hubB = hubs[1]!
  t.teardown(async () => { await hubB.stop() })
  t.teardown(async () => { await hubA.stop() })

  const devices: Device[] = []
  const plan: Array<['a' | 'b', string, 'committed' | 'rolled-back']> = [
    ['a', 'pos-a1', 'committed'], ['a', 'pos-a2', 'committed'], ['a', 'pos-a3', 'committed'],
    ['b', 'pos-b1', 'committed'], ['b', 'pos-b2', 'rolled-back']
  ]
  for (const [store, id] of plan) {
    // read the hub at each exchange: store A's hub is replaced below
    const dev = await startDevice(swarmKey, join(dirs.path, id), id, () => (store === 'a' ? hubA.addr : hubB.addr))
    devices.push(dev)
    t.teardown(dev.stop)
  }
  // the updates first (a rollback among the first outcomes would rightly halt at once), then
  // 1 of 5 rolled back: 0.2, at the limit, not over it
  await Promise.all(devices.map(async (d, i) => plan[i]![2] === 'committed' ? await journalHistory(d, 'committed') : undefined))
  t.ok(await until(async () => (await sup.ledger.waveTotals(WAVE)).updated === 4), 'the super hub sees four updates')
  await journalHistory(devices[4]!, 'rolled-back')
  t.ok(await until(async () => (await sup.ledger.waveTotals(WAVE)).rolledBack === 1), 'and one rollback')
  t.same(await sup.ledger.waveTotals(WAVE).then(c => [c.updated, c.rolledBack, c.total]), [4, 1, 5])
  t.notOk(sup.ledger.isWaveHalted(WAVE), 'ratio 0.2 is not over 0.2')
  t.notOk(hubA.ledger.isWaveHalted(WAVE))

  // one more device in store B rolls back: 2 of 6
  const late = await startDevice(swarmKey, join(dirs.path, 'pos-b3'), 'pos-b3', () => hubB.addr)
  devices.push(late)
  t.teardown(late.stop)
  await journalHistory(late, 'rolled-back')
  t.ok(await until(() => sup.ledger.isWaveHalted(WAVE)), 'the super hub halts the wave')
  t.match(sup.ledger.order(WAVE), { action: 'halt', reason: /rollback ratio 0\.3333 > 0\.2 \(2 of 6 devices rolled back\)/ })
  t.ok(await until(() => hubB.ledger.isWaveHalted(WAVE)), 'store B obeys it (the answer to its own report)')
  t.ok(await until(() => hubA.ledger.isWaveHalted(WAVE)), 'store A obeys it (on its next poll, with nothing to report)')
  t.same(hubA.ledger.fleetFacts(WAVE), { paused: false, halted: true, reason: sup.ledger.order(WAVE)!.reason }, 'the policy facts say halted')
  t.ok(await until(() => devices.every(d => d.orders.some(o => o.waveId === WAVE && o.action === 'halt'))), 'every device heard of the halt from its hub')

  // the super hub goes away for good; store A restarts on the same data dir
  await sup.stop()
  superUp = false
  const dirA = join(dirs.path, 'store-a')
  await hubA.stop()
  hubA = await startHub(swarmKey, dirA, 'store-a', superAddr)
  t.ok(hubA.ledger.isWaveHalted(WAVE), 'the halt survives the restart, with no super hub')
  // a device of store A that never heard of the halt learns it from the restarted hub
  const fresh = await startDevice(swarmKey, join(dirs.path, 'pos-a4'), 'pos-a4', () => hubA.addr)
  t.teardown(fresh.stop)
  await fresh.journal.append({ kind: 'decision', waveId: WAVE, reason: 'fleet.halt', data: { verdict: 'defer', gate: 'fleet.halt' } })
  fresh.uplink.kick()
  t.ok(await until(() => fresh.orders.some(o => o.waveId === WAVE && o.action === 'halt')), 'the offline hub hands out the halt')
  t.ok(await until(async () => (await hubA.ledger.waveCounts(WAVE)).blockedByGate['fleet.halt'] === 1), 'and counts the device as blocked by fleet.halt')
  t.ok(await until(() => hubA.uplink.status().consecutiveFailures >= 1), 'its uplink fails without a super hub')
  t.ok(hubA.ledger.isWaveHalted(WAVE), 'and the halt stays')
})
