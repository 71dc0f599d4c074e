/**
 * A store as the super hub sees it, for the fleet API and dashboard tests: a real libp2p
 * node on 127.0.0.1 that pulls bundles over `/storemesh/wan-pull/1.0.0` (a WanPuller and
 * a chunk store) and sends its hub ledger's outbox over `/storemesh/report/1.0.0` with
 * increasing seqs, as a store hub does.
 */
import { createHash } from 'node:crypto'
import type { Multiaddr } from '@multiformats/multiaddr'
import { reportProtocol, type HubBatch, type ReportAck, type ReportProtocol } from '../../src/ledger/report/index.js'
import { createStoremeshNode, type StoremeshNode } from '../../src/net/node.js'
import { openStore } from '../../src/store/index.js'
import { createWanPuller } from '../../src/wan/puller.js'
import { addPrefetch } from '../../src/wan/prefetch-queue.js'
import { tempDir } from '../support/store-fixture.js'
import { nextEvent, swarmKey, trust } from './wan-fixture.js'

type T = { teardown: (fn: () => Promise<void>) => void }
export type Outcome = 'updated' | 'rolled-back' | 'failed' | 'pending' | 'blocked'

export interface FleetStoreFixture {
  hubId: string
  node: StoremeshNode<{ report: ReportProtocol }>
  /** pulls the bundle over the WAN until it is pre-staged */
  prefetch(bundleId: string): Promise<void>
  /** reports device outcomes (next outbox seqs) */
  report(outcomes: Array<[waveId: string, deviceId: string, state: Outcome]>): Promise<ReportAck>
}

export async function fleetStore (t: T, superAddr: string, superMa: () => Multiaddr, hubId: string): Promise<FleetStoreFixture> {
  const dir = await tempDir(t, `fleet-${hubId}-`)
  const chunks = await openStore({ dataDir: dir })
  const node = await createStoremeshNode({ swarmKey, dataDir: dir, listen: ['/ip4/127.0.0.1/tcp/0'], services: { report: reportProtocol() } })
  const puller = createWanPuller({ node, store: chunks, dataDir: dir, supers: [superAddr], trust, pollMs: 200, retryBaseMs: 100, retryMaxMs: 400 })
  t.teardown(async () => { await puller.stop(); await node.stop(); await chunks.stop() })
  await puller.start()
  const epoch = createHash('md5').update(hubId).digest('hex')
  let seq = 0
  const versions = new Map<string, number>()
  return {
    hubId,
    node,
    async prefetch (bundleId) {
      const staged = nextEvent(puller, 'prestaged', 60_000)
      await addPrefetch(dir, { bundleId })
      puller.poke()
      await staged
    },
    async report (outcomes) {
      const entries: HubBatch['entries'] = outcomes.map(([waveId, deviceId, state]) => {
        const key = `${waveId}/${deviceId}`
        const version = (versions.get(key) ?? 0) + 1
        versions.set(key, version)
        return { seq: ++seq, waveId, deviceId, state, version, atMs: Date.now() }
      })
      return await node.services.report.send(superMa(), { type: 'hub-ledger', hubId, epoch, entries })
    }
  }
}
