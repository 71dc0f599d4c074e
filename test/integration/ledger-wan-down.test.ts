/**
 * WAN down for a whole wave: the super hub is not running while every device of the
 * store goes through the wave and reports to its hub over `/storemesh/report/1.0.0`.
 * Then the super hub starts on the address the hub was given all along: its totals
 * must equal the devices' outcomes exactly, and stay so when everything is sent again.
 */
import t from 'tap'
import type { Multiaddr } from '@multiformats/multiaddr'
import { generateSwarmKey } from '../../src/net/swarm-key.js'
import {
  freePort, journalHistory, plannedAddr, startDevice, startHub, startSuper, tempDir, WAVE,
  type Device, type Outcome, type Super
} from './ledger-fixture.js'
import { until } from '../support/poll.js'

const swarmKey = generateSwarmKey()
const OUTCOMES: Outcome[] = ['committed', 'committed', 'rolled-back', 'committed', 'blocked', 'committed', 'rolled-back', 'blocked']

t.test('the super hub, started after the wave, counts every device exactly once', async t => {
  const dirs = await tempDir('ledger-wan')
  t.teardown(dirs.remove)
  const superDir = `${dirs.path}/super`
  const superPort = await freePort()
  const superAddr: Multiaddr = await plannedAddr(superDir, superPort)

  const hub = await startHub(swarmKey, `${dirs.path}/hub`, 'store-0042', () => superAddr)
  t.teardown(hub.stop)
  const devices: Device[] = []
  for (let i = 0; i < OUTCOMES.length; i++) {
    const dev = await startDevice(swarmKey, `${dirs.path}/dev-${i}`, `pos-${i}`, () => hub.addr)
    devices.push(dev)
    t.teardown(dev.stop)
  }
  const lastSeqs = await Promise.all(devices.map(async (d, i) => await journalHistory(d, OUTCOMES[i]!)))

  t.ok(await until(async () => {
    const acked = await Promise.all(devices.map(async d => await d.journal.ackedSeq()))
    return acked.every((a, i) => a === lastSeqs[i])
  }), 'every device journal is acked by the hub')
  const hubCounts = await hub.ledger.waveCounts(WAVE)
  t.same([hubCounts.updated, hubCounts.rolledBack, hubCounts.blocked, hubCounts.total], [4, 2, 2, 8], 'the hub condensed the wave')
  t.same(hubCounts.blockedByGate, { 'device.battery': 2 })
  t.ok(await until(() => hub.uplink.status().consecutiveFailures >= 3), 'the hub keeps trying a WAN that is down')
  t.match(hub.uplink.status().lastError, /^E_(NOT_CONNECTED|TIMEOUT)/)
  t.equal((await hub.ledger.outboxStatus()).pending, OUTCOMES.length, 'one outbox entry per device waits (coalesced)')

  const waiting = await hub.ledger.readOutbox()

  // the WAN comes back: the super hub starts where the hub expects it
  let sup: Super | undefined = await startSuper(swarmKey, superDir, { haltOnRollbackRatio: 0.5 }, superPort)
  t.teardown(async () => { await sup?.stop() })
  t.equal(sup.addr.toString(), superAddr.toString())
  hub.uplink.kick({ reconnected: true })
  t.ok(await until(async () => (await hub.ledger.outboxStatus()).pending === 0), 'the outbox drains')

  const expected = {
    updated: OUTCOMES.filter(o => o === 'committed').length,
    rolledBack: OUTCOMES.filter(o => o === 'rolled-back').length,
    failed: 0,
    pending: 0,
    blocked: OUTCOMES.filter(o => o === 'blocked').length,
    total: OUTCOMES.length,
    blockedByGate: { 'device.battery': 2 },
    failedByReason: {}
  }
  t.same(await sup.ledger.waveTotals(WAVE), expected, 'super hub totals equal the devices\' outcomes')
  const perDevice = await sup.ledger.devices(WAVE)
  t.same(perDevice.map(d => d.state), OUTCOMES.map(o => (o === 'committed' ? 'updated' : o)), 'each device in its own state')
  t.notOk(sup.ledger.isWaveHalted(WAVE), 'ratio 2/6 is under 0.5')

  // a replay of everything over the wire (a hub that lost its acks) changes nothing
  const replay = await hub.node.services.report.send(superAddr, { type: 'hub-ledger', hubId: 'store-0042', epoch: hub.ledger.epoch, entries: waiting })
  t.equal(replay.ackedSeq, waiting.at(-1)!.seq, 'the replay is acked')
  t.same(await sup.ledger.waveTotals(WAVE), expected, 'and counted nothing twice')
  for (const d of devices) t.same(await d.journal.readFrom(0), [], `${d.id}: nothing left unacked`)
  await sup.stop()
  sup = await startSuper(swarmKey, superDir, { haltOnRollbackRatio: 0.5 }, superPort)
  t.same(await sup.ledger.waveTotals(WAVE), expected, 'totals survive a super hub restart')
  t.same((await sup.ledger.hubs()).map(h => [h.hubId, h.epoch]), [['store-0042', hub.ledger.epoch]])
})
