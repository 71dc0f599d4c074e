/**
 * The attackers of test/support/hostile-chunk-peer.ts and hoarder-node.ts as a process
 * of their own (bench:hostile spawns one per attack):
 *
 *   node --import tsx --import ./src/polyfill.ts test/support/hostile-chunk-peer-main.ts \
 *     <attack> <dataDir> <bundleDir> <swarmKeyFile> <trustFile> <victimMultiaddr> <serviceTag> [enrolmentPubFile]
 *
 * <attack> is a HostileMode, or `hoarders[:N]` (N hoarding peers, 20 by default, that
 * join the bundle's swarm over mDNS at once; `hoarders-partial[:N]`: each claims every
 * chunk but the last, a partial claim), or a FleetAttack (hostile-fleet-peer.ts:
 * lease-theft and report-forgery against the hub at <victimMultiaddr>, certified by the
 * certificate `identity enrol` wrote into <dataDir>; older-bundle against the device,
 * offering the bundle of <bundleDir>). The bundle directory gives the info and the
 * chunk bytes (imported into <dataDir>/store).
 *
 * stdout, one JSON line each: `{"event":"ready","peerIds":[...]}` once the nodes exist;
 * for the hoarders (whose <victimMultiaddr> names the device, /p2p/ included), per
 * hoarder `{"event":"hoarder","what":"connect"|"claim"|"request"|"disconnect","peerId","atMs"}`:
 * its connection to the device opened, its wire to the device up (its full bitfield
 * sent), the first chunk request it held (only the
 * device asks: the hub holds the bundle), its connection to the device closed;
 * a HostileMode attack then waits for a line `go` on stdin and prints
 * `{"event":"attacking","atMs"}`, `{"event":"refused","atMs"}` when the victim first
 * refused a dial or a stream, and on SIGTERM `{"event":"stats",...}` before exiting.
 */
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { readTrustedKeyFiles } from '../../src/bundle/keys.js'
import { readSwarmKeyFile } from '../../src/net/swarm-key.js'
import { openStore } from '../../src/store/index.js'
import { HOSTILE_MODES, HostileChunkPeer, type HostileMode } from './hostile-chunk-peer.js'
import { startHoarder } from './hoarder-node.js'
import { FLEET_ATTACKS, HostileFleetPeer, type FleetAttack } from './hostile-fleet-peer.js'

const [attack, dataDir, bundleDir, swarmKeyFile, trustFile, victim, serviceTag, enrolmentPubFile] = process.argv.slice(2) as [string, string, string, string, string, string, string, string?]
const say = (x: Record<string, unknown>): void => { process.stdout.write(JSON.stringify(x) + '\n') }

const trust = { keys: await readTrustedKeyFiles([trustFile]) }
const store = await openStore({ dataDir: join(dataDir, 'store') })
const { bundle } = await store.importBundleDir(bundleDir, trust)
const info = await store.bundleInfo(bundle.id)
const swarmKey = await readSwarmKeyFile(swarmKeyFile)
const stops: Array<() => Promise<void>> = []
let stats: () => Record<string, unknown> = () => ({})

if (attack.startsWith('hoarders')) {
  const n = Number(attack.split(':')[1] ?? 20)
  const last = info.pieces[info.pieces.length - 1]?.hash
  const withhold = attack.startsWith('hoarders-partial') && last !== undefined ? new Set([last]) : undefined
  const device = multiaddr(victim).getComponents().find(c => c.name === 'p2p')?.value
  const nodes = []
  for (let i = 0; i < n; i++) {
    let requested = false
    let id = ''
    const node = await startHoarder({
      store, info, swarmKey, serviceTag,
      ...(withhold !== undefined ? { withhold } : {}),
      ...(device !== undefined ? { allowPeers: new Set([device]) } : {}),
      onRequest: () => {
        if (!requested) say({ event: 'hoarder', what: 'request', peerId: id, atMs: Date.now() })
        requested = true
      }
    })
    id = node.peerId.toString()
    // its claim: the wire to the device is up and its full bitfield sent
    node.services.chunks.swarm(info.id)?.on('peer:add', (peer: string) => { if (peer === device) say({ event: 'hoarder', what: 'claim', peerId: id, atMs: Date.now() }) })
    for (const what of ['connect', 'disconnect'] as const) {
      node.addEventListener(`peer:${what}`, e => { if (e.detail.toString() === device) say({ event: 'hoarder', what, peerId: id, atMs: Date.now() }) })
    }
    nodes.push(node)
  }
  for (const node of nodes) stops.push(async () => { await node.stop() })
  say({ event: 'ready', peerIds: nodes.map(x => x.peerId.toString()) })
} else if ((FLEET_ATTACKS as readonly string[]).includes(attack)) {
  const peer = await HostileFleetPeer.create({
    mode: attack as FleetAttack,
    dataDir,
    swarmKey,
    enrolmentTrust: enrolmentPubFile !== undefined ? await readTrustedKeyFiles([enrolmentPubFile]) : [],
    store,
    serviceTag
  })
  stops.push(async () => { await peer.stop() })
  stats = () => ({ attempts: peer.attempts, refused: peer.refused, granted: peer.granted, refusedAtMs: peer.refusedAt, startedAtMs: peer.startedAt })
  say({ event: 'ready', peerIds: [peer.peerId] })
  goOn(() => {
    peer.attack([multiaddr(victim)])
    return peer
  })
} else {
  if (!(HOSTILE_MODES as readonly string[]).includes(attack)) throw new Error(`unknown attack ${attack}; one of ${HOSTILE_MODES.join(', ')}, hoarders[:N]`)
  const chunks: Uint8Array[] = []
  for (const p of info.pieces) {
    const bytes = await store.get(p.hash)
    if (bytes === undefined) throw new Error(`chunk ${p.hash} missing from the imported bundle`)
    chunks.push(bytes)
  }
  // HOSTILE_DIAL_FROM (bench:hostile --attacker-addr): 127.0.0.2 plays a store device of its own, 127.0.0.1 shares the host's address
  const dialFrom = process.env.HOSTILE_DIAL_FROM
  const peer = await HostileChunkPeer.create({ mode: attack as HostileMode, bundle: info, chunks, swarmKey, ...(dialFrom !== undefined && dialFrom !== '' ? { dialFromAddress: dialFrom } : {}) })
  stops.push(async () => { await peer.stop() })
  stats = () => ({ streams: peer.streams, bytesSent: peer.bytesSent, refusedAtMs: peer.refusedAt, closedAtMs: peer.closedAt, startedAtMs: peer.startedAt })
  say({ event: 'ready', peerIds: [peer.peerId] })
  goOn(() => {
    peer.attack([multiaddr(victim)])
    return peer
  })
}

/** On a `go` line: start the attack, say so, and say when the victim first refused it. */
function goOn (start: () => { startedAt: number | undefined, refusedAt: number | undefined }): void {
  const lines = createInterface({ input: process.stdin })
  lines.once('line', () => {
    const peer = start()
    say({ event: 'attacking', atMs: peer.startedAt })
    const timer = setInterval(() => {
      if (peer.refusedAt === undefined) return
      say({ event: 'refused', atMs: peer.refusedAt })
      clearInterval(timer)
    }, 50)
    timer.unref()
  })
}

const stop = async (): Promise<void> => {
  say({ event: 'stats', ...stats() })
  for (const s of stops) await s().catch(() => {})
  await store.stop()
  process.exit(0)
}
process.once('SIGTERM', () => { void stop() })
process.once('SIGINT', () => { void stop() })
