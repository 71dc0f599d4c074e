/**
 * Issue 16 item 5 (lab): two `storemesh super-hub` processes on one real PostgreSQL
 * (the server this file starts), six store hubs reporting to both (the hub ledger,
 * its uplink and the super hub failover of `storemesh hub --super a --super b`, each
 * on its own libp2p node), and synthetic devices sending their journals to the hubs
 * over the real `/storemesh/report` protocol. Super hub A is SIGKILLed mid-wave, while
 * the outcomes are on their way: every hub moves on to B, resends what A never
 * acknowledged, and the fleet ledger ends holding every device's outcome exactly
 * once, each store's counts equal to what its devices sent.
 */
import t from 'tap'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Multiaddr } from '@multiformats/multiaddr'
import { multiaddr } from '@multiformats/multiaddr'
import type { JournalEntry } from '../../src/interface/types.js'
import { HubLedger } from '../../src/ledger/hub-ledger.js'
import { reportProtocol, type ReportProtocol } from '../../src/ledger/report/index.js'
import { SuperHubFailover } from '../../src/ledger/super-failover.js'
import { HubUplink } from '../../src/ledger/uplink.js'
import { createStoremeshNode, type StoremeshNode } from '../../src/net/node.js'
import { readSwarmKeyFile } from '../../src/net/swarm-key.js'
import { spawnCli } from '../support/cli.js'
import { adopt, lanFixture, type Proc } from '../support/lan-fixture.js'
import { until } from '../support/poll.js'
import { postgresSkipReason, startPostgres } from '../support/postgres.js'
import { superHubAddr } from '../support/super-hub-proc.js'
import { TEST_UPLINK, waveHistory, type Outcome } from './ledger-fixture.js'

const HUBS = 6
const DEVICES_PER_HUB = 8
const WAVE = 'lab-7'
const skip = postgresSkipReason()

type Node = StoremeshNode<{ report: ReportProtocol }>

async function superHub (f: Awaited<ReturnType<typeof lanFixture>>, name: string, url: string): Promise<{ proc: Proc, addr: Multiaddr }> {
  const dataDir = join(f.dir, name)
  const bundles = join(f.dir, 'no-bundles')
  await mkdir(bundles, { recursive: true })
  // the halt stays out of the way: this test is about counting, not halting
  const proc = adopt(f, spawnCli(['super-hub', '--data', dataDir, '--bundles', bundles, '--swarm-key', f.swarmKeyPath, '--trust', f.trustPath,
    '--listen', '/ip4/127.0.0.1/tcp/0', '--db', url, '--name', name, '--halt-on-rollback-ratio', '1', '--json']), dataDir)
  const addr = await superHubAddr(proc, `${name} listening`)
  return { proc, addr: multiaddr(addr) }
}

/** Device d of hub h ends the wave this way (some of each). */
function outcomeOf (h: number, d: number): Outcome {
  const k = (h * DEVICES_PER_HUB + d) % 7
  return k === 3 ? 'rolled-back' : k === 5 ? 'blocked' : 'committed'
}
const ledgerState = (o: Outcome): string => o === 'committed' ? 'updated' : o

t.test('two super hubs on one PostgreSQL, one SIGKILLed mid-wave: every outcome once', { skip: skip ?? false }, async t => {
  const f = await lanFixture(t)
  const pg = await startPostgres()
  t.teardown(async () => { await pg.close() })
  const url = await pg.createDatabase('lab')
  const [a, b] = await Promise.all([superHub(f, 'super-a', url), superHub(f, 'super-b', url)])
  const pgMod = (await import('pg')).default
  const sql = new pgMod.Client({ connectionString: url })
  await sql.connect()
  t.teardown(async () => { await sql.end() })
  const rows = async <R> (q: string, params: unknown[] = []): Promise<R[]> => (await sql.query(q, params)).rows as R[]

  const swarmKey = await readSwarmKeyFile(f.swarmKeyPath)
  const hubs: Array<{ id: string, ledger: HubLedger, node: Node, uplink: HubUplink, failover: SuperHubFailover }> = []
  for (let h = 0; h < HUBS; h++) {
    const dataDir = join(f.dir, `hub-${h}`)
    const ledger = await HubLedger.open(dataDir, { onOutbox: () => { hubs[h]?.uplink.kick() } })
    const node: Node = await createStoremeshNode({ swarmKey, dataDir, listen: ['/ip4/127.0.0.1/tcp/0'], services: { report: reportProtocol({ devices: ledger }) } })
    // what storemesh hub --super A --super B composes (roles/hub-operator.ts)
    const failover = new SuperHubFailover(node.services.report, [a.addr, b.addr])
    const uplink = new HubUplink({ hubId: `lab-store-${h}`, ledger, client: failover, superHub: () => failover.current(), options: TEST_UPLINK })
    hubs.push({ id: `lab-store-${h}`, ledger, node, uplink, failover })
    uplink.start()
    t.teardown(async () => { await uplink.stop(); await node.stop(); await ledger.close() })
  }
  const devices: Node = await createStoremeshNode({ swarmKey, services: { report: reportProtocol() } })
  t.teardown(async () => { await devices.stop() })

  // each device's journal, sent in two halves: the first leaves it pending, the second ends the wave for it
  const histories = hubs.map((_, h) => Array.from({ length: DEVICES_PER_HUB }, (_, d) =>
    waveHistory(outcomeOf(h, d), WAVE).map((e, i): JournalEntry => ({ ...e, seq: i + 1, at: new Date(1_000 + i).toISOString() }) as JournalEntry)))
  // one device at a time per hub: a hub takes few report streams per connection at once
  const send = async (part: 0 | 1): Promise<void> => {
    await Promise.all(hubs.map(async (hub, h) => {
      for (const [d, entries] of histories[h]!.entries()) {
        const cut = Math.ceil(entries.length / 2)
        const ack = await devices.services.report.send(hub.node.getMultiaddrs()[0]!, { type: 'device-events', deviceId: `lab-${h}-d${d}`, entries: part === 0 ? entries.slice(0, cut) : entries.slice(cut) })
        if (ack.ackedSeq !== (part === 0 ? cut : entries.length)) throw new Error(`hub ${h} device ${d} acked ${ack.ackedSeq}`)
      }
    }))
  }

  await send(0)
  t.ok(await until(async () => (await rows<{ n: string }>("SELECT count(*) AS n FROM hubs WHERE acked_seq > 0 AND hub_id LIKE 'lab-store-%'"))[0]!.n === String(HUBS), 60_000),
    'every store hub reported the first half to the fleet ledger')
  t.same((await rows<{ via: string }>('SELECT DISTINCT via FROM hub_reports')).map(r => r.via), ['super-a'], 'all through super hub A so far')

  // the second half goes out; A dies once some of it reached the ledger through it, the rest still on its way
  const second = send(1)
  t.ok(await until(async () => Number((await rows<{ n: string }>("SELECT count(*) AS n FROM device_outcomes WHERE state IN ('updated', 'rolled-back')"))[0]!.n) > 0, 60_000),
    'outcomes are arriving through A')
  a.proc.child.kill('SIGKILL')
  await a.proc.exited
  const atKill = Number((await rows<{ n: string }>("SELECT count(*) AS n FROM device_outcomes WHERE state IN ('updated', 'rolled-back')"))[0]!.n)
  await second
  t.ok(await until(async () => {
    for (const hub of hubs) if ((await hub.ledger.readOutbox({ limit: 1 })).length > 0) return false
    return true
  }, 60_000), 'every hub\'s outbox emptied: each entry acknowledged by a super hub')

  // the set the devices sent, against what the ledger holds
  const expected = hubs.flatMap((hub, h) => Array.from({ length: DEVICES_PER_HUB }, (_, d) => [`lab-${h}-d${d}`, hub.id, ledgerState(outcomeOf(h, d))]))
  const held = (await rows<{ device_id: string, hub_id: string, state: string }>('SELECT device_id, hub_id, state FROM device_outcomes WHERE wave_id = $1 ORDER BY device_id', [WAVE]))
    .map(r => [r.device_id, r.hub_id, r.state])
  t.same(held, [...expected].sort((x, y) => x[0]! < y[0]! ? -1 : 1), `all ${expected.length} devices once, each with its final outcome and store (${atKill} outcomes had arrived when A died)`)
  for (const [h, hub] of hubs.entries()) {
    const want = { updated: 0, rolled_back: 0, blocked: 0, pending: 0, failed: 0, total: DEVICES_PER_HUB }
    for (let d = 0; d < DEVICES_PER_HUB; d++) {
      const o = outcomeOf(h, d)
      if (o === 'committed') want.updated++
      else if (o === 'rolled-back') want.rolled_back++
      else want.blocked++
    }
    const got = (await rows<Record<string, number>>('SELECT updated, rolled_back, blocked, pending, failed, total FROM wave_hub_counts WHERE wave_id = $1 AND hub_id = $2', [WAVE, hub.id]))[0]
    t.same(got, want, `${hub.id}: the fleet counts its devices once each`)
    const own = await hub.ledger.waveCounts(WAVE)
    t.same([own.updated, own.rolledBack, own.blocked, own.total], [want.updated, want.rolled_back, want.blocked, want.total], `${hub.id}: the same as the hub's own ledger`)
  }
  const via = await rows<{ hub_id: string }>("SELECT DISTINCT hub_id FROM hub_reports WHERE via = 'super-b' ORDER BY hub_id")
  t.same(via.map(r => r.hub_id), hubs.map(h => h.id), 'every store hub moved on to super hub B')
  t.ok(hubs.every(h => String(h.failover.current()) === String(b.addr)), 'and stays there')
  t.equal(b.proc.child.exitCode, null, 'super hub B still running')
})
