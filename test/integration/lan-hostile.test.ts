/**
 * Hostile peers on the chunk wire (issue #20: floods and forgiven violations), with
 * real libp2p nodes on loopback under one fleet key: a hub capped at 1 MiB/s, one
 * honest device, and an attacker (test/support/hostile-chunk-peer.ts) that dials the
 * device and abuses its chunk streams, reopening them as fast as they are closed.
 *
 * For each attack: the device bans the attacker within 10 s and drops its connection,
 * the honest download completes, and every chunk the device stores re-hashes to the
 * manifest. No bound on speed (shared machines are noisy) beyond that 10 s.
 */
import t, { type Test } from 'tap'
import { blake3Hex } from '../../src/bundle/hash.js'
import { createStoremeshNode, type StoremeshNode } from '../../src/net/node.js'
import { generateSwarmKey } from '../../src/net/swarm-key.js'
import { AddressBans, addressBanGater, noteAddressesOnBan } from '../../src/net/address-bans.js'
import { BanList, chunkProtocol, type ChunkProtocol } from '../../src/swarm/index.js'
import { HostileChunkPeer, type HostileMode } from '../support/hostile-chunk-peer.js'
import { MemoryStore } from '../support/memory-store.js'
import { startCappedHub } from '../support/capped-hub.js'
import { waitFor } from '../support/poll.js'
import { chunkSizes, makeBundle, within } from '../unit/swarm/helpers.js'

type Node = StoremeshNode<{ chunks: ChunkProtocol }>

const BAN_WITHIN_MS = 10_000
const HUB_RATE_BYTES_PER_SEC = 1024 * 1024
// ~3 MiB: about 3 s from the capped hub, long enough for every attack to land mid-download
const bundle = makeBundle(chunkSizes(16, 128 * 1024, 256 * 1024, 20))

// the slow peer commits no violation: it is demoted (its own test below); a choking hoarder is disconnected first (lan-choking-hoarder.test.ts)
const EXPECTED: Record<Exclude<HostileMode, 'slow' | 'choking-hoarder'>, string> = {
  keepalive: 'keepalive-flood',
  have: 'have-flood',
  extended: 'extended-flood',
  unsolicited: 'unsolicited-piece',
  'wrong-length': 'wrong-length-piece',
  truncated: 'truncated-piece',
  'huge-length': 'oversized-frame',
  // handshakes naming unknown bundles, past the per-peer budget (chunk-protocol.ts)
  'random-infohash': 'unknown-bundle-flood'
}

/** A capped hub, a device, and the attacker (not started yet), torn down with the test. */
async function setup (t: Test, mode: HostileMode, hubRateBytesPerSec = HUB_RATE_BYTES_PER_SEC, attackerAddress?: string) {
  const swarmKey = generateSwarmKey()
  const hub: Node = await startCappedHub(swarmKey, new MemoryStore(bundle.chunks), hubRateBytesPerSec)
  const bans = new BanList()
  const store = new MemoryStore()
  // as the roles wire it (roles/peer.ts): bans by peer id, and by address before Noise
  const addressBans = new AddressBans()
  const device: Node = await createStoremeshNode({ swarmKey, gater: addressBanGater(addressBans, bans.isBanned), services: { chunks: chunkProtocol({ store, bans }) } })
  noteAddressesOnBan(bans, addressBans, () => device.getConnections())
  const attacker = await HostileChunkPeer.create({ mode, bundle: bundle.info, chunks: bundle.chunks, swarmKey, ...(attackerAddress !== undefined ? { dialFromAddress: attackerAddress } : {}) })
  t.teardown(async () => { await Promise.all([attacker.stop(), hub.stop(), device.stop()]) })

  await hub.services.chunks.join(bundle.info, { superseed: true })
  const swarm = await device.services.chunks.join(bundle.info)
  return { hub, device, bans, addressBans, store, attacker, swarm }
}

/** The honest download completes, and every chunk the device stored re-hashes to the manifest. */
async function assertHonestDownload (t: Test, { hub, device, bans, store, swarm }: Awaited<ReturnType<typeof setup>>): Promise<void> {
  await within(swarm.done, 60_000, 'honest download')
  t.equal(swarm.progress().heldChunks, bundle.info.pieces.length, 'download complete')
  t.notOk(bans.isBanned(hub.peerId.toString()), 'the hub is not banned')
  t.equal(device.services.chunks.scorer.score(hub.peerId.toString()), 0, 'the honest hub committed no violation')
  t.equal(hub.services.chunks.scorer.violationCounts.size, 0, 'nor did the device, seen from the hub')
  // re-hash every stored chunk against the manifest's piece list
  const expected = new Set(bundle.info.pieces.map(p => p.hash))
  let good = 0
  for (const [hash, data] of store.chunks) {
    if (expected.has(hash) && blake3Hex(data) === hash) good++
    else t.fail(`corrupt or foreign chunk ${hash}`)
  }
  t.equal(good, bundle.info.pieces.length, 'every stored chunk re-hashes to the manifest')
  t.equal(store.rejectedPuts, 0, 'no corrupt chunk ever reached the store')
}

for (const mode of Object.keys(EXPECTED) as Array<keyof typeof EXPECTED>) {
  t.test(`${mode} attack: the attacker is banned within 10 s, the honest download completes, no corrupt chunk`, async t => {
    const parts = await setup(t, mode)
    const { hub, device, bans, attacker } = parts
    const violations: string[] = []
    // the node's scorer: it also hears violations outside a bundle's swarm (unknown bundles)
    device.services.chunks.scorer.on('violation', e => { if (e.peerId === attacker.peerId) violations.push(e.violation) })
    await device.dial(hub.getMultiaddrs())
    attacker.attack(device.getMultiaddrs())

    await within(waitFor(() => bans.isBanned(attacker.peerId), BAN_WITHIN_MS + 5000, 'attacker banned'), BAN_WITHIN_MS + 6000, 'ban')
    const bannedAfterMs = Date.now() - (attacker.startedAt ?? 0)
    t.comment(`${mode}: banned after ${bannedAfterMs} ms, ${attacker.streams} streams, ${attacker.bytesSent} bytes sent; violations ${violations.join(', ')}`)
    t.ok(bannedAfterMs <= BAN_WITHIN_MS, `banned within ${BAN_WITHIN_MS} ms (${bannedAfterMs} ms)`)
    t.equal(violations[0], EXPECTED[mode], `the violation is ${EXPECTED[mode]}`)
    t.ok(violations.every(v => v === EXPECTED[mode]), 'and only that one')
    t.match(bans.list().find(b => b.peerId === attacker.peerId)?.reason ?? '', EXPECTED[mode])
    await waitFor(() => device.getConnections(attacker.node.peerId).length === 0, 5000, 'attacker disconnected')
    t.pass('the attacker has no connection to the device')
    await assertHonestDownload(t, parts)
  })
}

t.test('slow attack (a piece that stalls mid-frame, then trickles): demoted within 10 s, the hub asked instead, no corrupt chunk', async t => {
  // a slower hub: at 1 MiB/s the device is in endgame (and asks the hub for the slow
  // peer's chunk too) before a request could wait DEFAULT_SUSPECT_AFTER_MS
  const parts = await setup(t, 'slow', HUB_RATE_BYTES_PER_SEC * 3 / 8)
  const { hub, device, attacker, swarm } = parts
  // the slow peer first, so that it holds a request when the hub comes
  attacker.attack(device.getMultiaddrs())
  await waitFor(() => swarm.peerIds().includes(attacker.peerId), 10_000, 'the slow peer joined the swarm')
  const joinedAt = Date.now()
  // handshake, bitfield and unchoke are under 100 bytes: more means it is answering a request
  await waitFor(() => attacker.bytesSent > 100, 10_000, 'the slow peer was asked for a chunk')
  await device.dial(hub.getMultiaddrs())
  await within(waitFor(() => swarm.suspectPeers === 1, BAN_WITHIN_MS + 5000, 'slow peer demoted'), BAN_WITHIN_MS + 6000, 'demotion')
  const demotedAfterMs = Date.now() - joinedAt
  t.comment(`slow: demoted after ${demotedAfterMs} ms, ${attacker.bytesSent} bytes sent`)
  t.ok(demotedAfterMs <= BAN_WITHIN_MS, `demoted within ${BAN_WITHIN_MS} ms (${demotedAfterMs} ms)`)
  await assertHonestDownload(t, parts)
  // it never delivered a chunk: still demoted at the end, or disconnected as a hoarder once its requests waited DEFAULT_HOARDER_AFTER_MS
  t.ok(swarm.suspectPeers === 1 || swarm.droppedHoarders === 1, `still demoted or dropped at the end (suspects ${swarm.suspectPeers}, dropped ${swarm.droppedHoarders})`)
})

t.test('keepalive attack from a LAN address of its own (127.0.0.2): after its ban no redial reaches Noise; honest peers on 127.0.0.1 are never refused by address', async t => {
  const parts = await setup(t, 'keepalive', HUB_RATE_BYTES_PER_SEC, '127.0.0.2')
  const { hub, device, bans, addressBans, attacker } = parts
  await device.dial(hub.getMultiaddrs())
  attacker.attack(device.getMultiaddrs())
  await within(waitFor(() => bans.isBanned(attacker.peerId), BAN_WITHIN_MS + 5000, 'attacker banned'), BAN_WITHIN_MS + 6000, 'ban')
  // it redials 100 ms after each refusal, and each refusal is held DEFAULT_REFUSAL_HOLD_MS (2 s) first
  await waitFor(() => addressBans.refusals().address >= 5, 30_000, 'five redials refused before Noise',
    { detail: () => JSON.stringify(addressBans.refusals()) })
  const r = addressBans.refusals()
  t.comment(`refusals by stage: ${JSON.stringify(r)}`)
  t.equal(r.encrypted, 0, 'its address was noted at the ban: no redial got as far as the encrypted stage (no Noise handshake)')
  t.ok(attacker.refusedAt !== undefined, 'the attacker saw its dials refused')
  await assertHonestDownload(t, parts)
  t.ok(device.getConnections(hub.peerId).length > 0, 'the hub, on 127.0.0.1, kept its connection')
})
