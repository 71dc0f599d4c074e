/**
 * Test-only attackers above the chunk wire (issue #20, items 1 and 7): a stolen tablet
 * that holds the fleet key and its own valid certificate (`identity enrol` wrote it into
 * its data dir), and a peer posing as a hub. Real libp2p nodes on loopback:
 *
 * - `lease-theft`:    asks the store hub for install leases in made-up device ids,
 *                     LEASE_ATTEMPTS_PER_SEC of them, round and round
 * - `report-forgery`: sends the hub device reports in made-up device ids, each a
 *                     rollback (enough of them would push a wave over its halt ratio)
 * - `older-bundle`:   poses as a hub (serves the lease protocol, so devices ask it first)
 *                     and answers every manifest question at once with an older,
 *                     validly signed bundle of the same class, whose chunks it serves
 *
 * `refusedAt` is when the victim first refused an act (a lease denied `wrong-peer`, a
 * report answered `bad-request`); `granted` counts acts the victim took (must stay 0).
 */
import type { Multiaddr } from '@multiformats/multiaddr'
import { join } from 'node:path'
import { loadNodeCertificate } from '../../src/identity/files.js'
import { PeerIdentities } from '../../src/identity/index.js'
import { identityProtocol } from '../../src/identity/protocol/index.js'
import type { TrustedKey } from '../../src/interface/types.js'
import { LeaseTable, leaseProtocol, type LeaseProtocol } from '../../src/lease/index.js'
import { reportProtocol, type ReportProtocol } from '../../src/ledger/report/index.js'
import { manifestProtocol } from '../../src/net/manifest/index.js'
import { loadOrCreatePeerKey } from '../../src/net/identity.js'
import { createStoremeshNode, type NodeInit, type StoremeshNode } from '../../src/net/node.js'
import type { SwarmKey } from '../../src/net/swarm-key.js'
import { storeManifestLookup, type ChunkStore } from '../../src/store/index.js'
import { chunkProtocol } from '../../src/swarm/index.js'

export type FleetAttack = 'lease-theft' | 'report-forgery' | 'older-bundle'
export const FLEET_ATTACKS: readonly FleetAttack[] = ['lease-theft', 'report-forgery', 'older-bundle']

export const LEASE_ATTEMPTS_PER_SEC = 20
/** the identity exchange runs right after the connection opens: its acts start this long after the dial */
export const CERTIFIED_AFTER_MS = 2000
const BUNDLE_REF = { bundleId: 'b3:' + 'e'.repeat(64), waveId: '1' }

export interface FleetAttackerInit {
  mode: FleetAttack
  /** its peer key and certificate (node-certificate.json) */
  dataDir: string
  swarmKey: SwarmKey | null
  enrolmentTrust: TrustedKey[]
  /** older-bundle: the store holding the older bundle it offers */
  store: ChunkStore
  /** older-bundle: found by the victim over mDNS too */
  serviceTag?: string
}

type Services = { lease: LeaseProtocol, report: ReportProtocol }

export class HostileFleetPeer {
  readonly node: StoremeshNode<Services>
  readonly mode: FleetAttack
  #stopped = false
  #timer: NodeJS.Timeout | undefined
  startedAt: number | undefined
  refusedAt: number | undefined
  attempts = 0
  refused = 0
  granted = 0

  private constructor (node: StoremeshNode<Services>, mode: FleetAttack) {
    this.node = node
    this.mode = mode
  }

  static async create (init: FleetAttackerInit): Promise<HostileFleetPeer> {
    const certificate = await loadNodeCertificate(init.dataDir)
    const poser = init.mode === 'older-bundle'
    const node = await createStoremeshNode<Services>({
      swarmKey: init.swarmKey,
      privateKey: await loadOrCreatePeerKey(init.dataDir),
      ...(init.serviceTag !== undefined ? { mdns: { serviceTag: init.serviceTag, intervalMs: 500, dialOnDiscovery: true } } : {}),
      services: {
        identity: identityProtocol({ identities: new PeerIdentities({ trust: init.enrolmentTrust }), ...(certificate !== undefined ? { certificate } : {}) }),
        // the poser answers leases like a hub would, so a device ranks it first
        lease: leaseProtocol(poser ? { authority: await LeaseTable.open({ maxConcurrentPerHub: 5, statePath: join(init.dataDir, 'leases.json') }) } : {}),
        report: reportProtocol(),
        ...(poser ? { manifest: manifestProtocol({ lookup: storeManifestLookup(init.store) }), chunks: chunkProtocol({ store: init.store }) } : {})
      } as unknown as NodeInit<Services>['services']
    })
    return new HostileFleetPeer(node, init.mode)
  }

  get peerId (): string { return this.node.peerId.toString() }

  /** Starts the attack on `target` (the hub; the device for older-bundle). */
  attack (target: Multiaddr[]): void {
    this.startedAt = Date.now()
    if (this.mode === 'older-bundle') {
      // its answers are the attack: be connected, and answer fast
      void this.node.dial(target).catch(() => {})
      return
    }
    let k = 0
    // connected and certified first: before the exchange, a hub that does not require
    // certificates binds it to nothing yet (as an uncertified peer; --require-certificates closes that)
    void this.node.dial(target).catch(() => {})
    const go = setTimeout(() => { this.#timer = this.#every(target, () => `pos-fake-${++k % 64}`) }, CERTIFIED_AFTER_MS)
    this.#timer = go
  }

  #every (target: Multiaddr[], fake: () => string): NodeJS.Timeout {
    return setInterval(() => {
      if (this.#stopped) return
      this.attempts++
      void this.#act(target, fake()).then(took => {
        if (took) this.granted++
        else {
          this.refused++
          this.refusedAt ??= Date.now()
        }
      }, () => {})
    }, 1000 / LEASE_ATTEMPTS_PER_SEC)
  }

  /** One act in a made-up device's name; true when the victim took it. */
  async #act (target: Multiaddr[], deviceId: string): Promise<boolean> {
    if (this.mode === 'lease-theft') {
      const res = await this.node.services.lease.request(target, { op: 'acquire', deviceId, ...BUNDLE_REF }, { timeoutMs: 5000 })
      return res.granted
    }
    try {
      await this.node.services.report.send(target, {
        type: 'device-events',
        deviceId,
        entries: [{ seq: 1, at: new Date().toISOString(), kind: 'transition', waveId: BUNDLE_REF.waveId, to: 'rolled-back' }]
      }, { timeoutMs: 5000 })
      return true
    } catch (err) {
      if ((err as { code?: string }).code === 'E_PEER_ERROR') return false
      throw err
    }
  }

  async stop (): Promise<void> {
    this.#stopped = true
    clearInterval(this.#timer)
    await this.node.stop()
  }
}
