/**
 * Shared parts of the ledger integration tests (test/integration/ledger-*.test.ts):
 * real libp2p nodes on 127.0.0.1 with a fleet key, real level databases in temp dirs,
 * devices with a real journal and uplink. Not a test file itself.
 */
import { createServer } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { Journal } from '../../src/install/journal.js'
import type { JournalEntry } from '../../src/interface/types.js'
import { HubLedger } from '../../src/ledger/hub-ledger.js'
import type { WaveOrder } from '../../src/ledger/report/index.js'
import { ChangeFeed, reportProtocol, type ReportProtocol } from '../../src/ledger/report/index.js'
import { SuperLedger, type SuperLedgerOptions } from '../../src/ledger/super-ledger.js'
import { DeviceUplink, HubUplink } from '../../src/ledger/uplink.js'
import type { UplinkOptions } from '../../src/ledger/constants.js'
import { loadOrCreatePeerKey } from '../../src/net/identity.js'
import { createStoremeshNode, type StoremeshNode } from '../../src/net/node.js'
import type { SwarmKey } from '../../src/net/swarm-key.js'

/** Short waits so a test takes seconds; still exponential, still jittered. */
export const TEST_UPLINK: Partial<UplinkOptions> = { retryBaseMs: 50, retryMaxMs: 400, pollIntervalMs: 250, timeoutMs: 10_000 }
export const WAVE = '142'

export async function tempDir (prefix: string): Promise<{ path: string, remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `storemesh-${prefix}-`))
  return { path, remove: async () => { await rm(path, { recursive: true, force: true }) } }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => { resolve(typeof addr === 'object' && addr !== null ? addr.port : 0) })
    })
  })
}

/** The fixed address of a peer whose identity lives in `dataDir`, before it runs. */
export async function plannedAddr (dataDir: string, port: number): Promise<Multiaddr> {
  const key = await loadOrCreatePeerKey(dataDir)
  return multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${peerIdFromPrivateKey(key).toString()}`)
}

export type Outcome = 'committed' | 'rolled-back' | 'blocked'

/** What a device journals in one wave, ending in `outcome`. */
export function waveHistory (outcome: Outcome, wave = WAVE): Array<Omit<JournalEntry, 'seq' | 'at'>> {
  const head: Array<Omit<JournalEntry, 'seq' | 'at'>> = [
    { kind: 'decision', waveId: wave, reason: 'schedule.window', data: { verdict: 'defer', gate: 'schedule.window' } },
    { kind: 'decision', waveId: wave, reason: 'install', data: { verdict: 'install' } }
  ]
  if (outcome === 'blocked') {
    return [...head, { kind: 'decision', waveId: wave, reason: 'device.battery', data: { verdict: 'defer', gate: 'device.battery' } }]
  }
  const steps = ['staged', 'writing', 'written', 'verified', 'try-boot', 'booted-trial']
  return [
    ...head,
    ...steps.map((to, i) => ({ kind: 'transition', waveId: wave, installId: 'i1', step: i + 1, to })),
    { kind: 'note', detail: 'health probe ok' },
    { kind: 'transition', waveId: wave, installId: 'i1', step: 7, to: outcome },
    { kind: 'outcome', waveId: wave, installId: 'i1', to: outcome }
  ]
}

export interface Device {
  id: string
  node: StoremeshNode<{ report: ReportProtocol }>
  journal: Journal
  uplink: DeviceUplink
  orders: WaveOrder[]
  stop: () => Promise<void>
}

export async function startDevice (swarmKey: SwarmKey, dataDir: string, id: string, hub: () => Multiaddr | undefined): Promise<Device> {
  const node = await createStoremeshNode({ swarmKey, services: { report: reportProtocol() } })
  const journal = await Journal.open(dataDir)
  const dev: Device = {
    id, node, journal, orders: [],
    uplink: undefined as unknown as DeviceUplink,
    stop: async () => {
      await dev.uplink.stop()
      await node.stop()
      await journal.close()
    }
  }
  dev.uplink = new DeviceUplink({
    deviceId: id, journal, client: node.services.report, hub, options: TEST_UPLINK,
    onOrders: (o) => { dev.orders = o }
  })
  dev.uplink.start()
  return dev
}

export interface Hub {
  id: string
  node: StoremeshNode<{ report: ReportProtocol }>
  ledger: HubLedger
  uplink: HubUplink
  addr: Multiaddr
  stop: () => Promise<void>
}

export async function startHub (swarmKey: SwarmKey, dataDir: string, id: string, superHub: () => Multiaddr | undefined, port = 0): Promise<Hub> {
  // a new order wakes the devices' held polls (report 1.2.0), as the store hub's operator wires it
  const changes = new ChangeFeed()
  const ledger = await HubLedger.open(dataDir, { onOrder: () => { changes.changed() } })
  const node = await createStoremeshNode({
    swarmKey, dataDir, listen: [`/ip4/127.0.0.1/tcp/${port}`], services: { report: reportProtocol({ devices: ledger, changes }) }
  })
  const uplink = new HubUplink({ hubId: id, ledger, client: node.services.report, superHub, options: TEST_UPLINK })
  uplink.start()
  return {
    id, node, ledger, uplink, addr: node.getMultiaddrs()[0]!,
    stop: async () => {
      await uplink.stop()
      await node.stop()
      await ledger.close()
    }
  }
}

export interface Super {
  node: StoremeshNode<{ report: ReportProtocol }>
  ledger: SuperLedger
  addr: Multiaddr
  stop: () => Promise<void>
}

export async function startSuper (swarmKey: SwarmKey, dataDir: string, options: SuperLedgerOptions, port = 0): Promise<Super> {
  // a halt wakes the hubs' held polls (report 1.2.0)
  const changes = new ChangeFeed()
  const ledger = await SuperLedger.open(dataDir, { ...options, onOrder: (o, src) => { options.onOrder?.(o, src); changes.changed() } })
  const node = await createStoremeshNode({
    swarmKey, dataDir, listen: [`/ip4/127.0.0.1/tcp/${port}`], services: { report: reportProtocol({ hubs: ledger, changes }) }
  })
  return {
    node, ledger, addr: node.getMultiaddrs()[0]!,
    stop: async () => {
      await node.stop()
      await ledger.close()
    }
  }
}

/** Appends a device's whole history, kicking the uplink after each entry as a device role would. */
export async function journalHistory (dev: Device, outcome: Outcome, wave = WAVE): Promise<number> {
  let last = 0
  for (const e of waveHistory(outcome, wave)) {
    last = (await dev.journal.append(e)).seq
    dev.uplink.kick()
  }
  return last
}
