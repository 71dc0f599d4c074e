/**
 * Every protocol violation a raw remote commits closes its wire with a stable
 * violation code, scores it, and bans it at the threshold (in-memory duplex pairs).
 */
import { btFrame } from '../../support/bt-frame.js'
import t from 'tap'
import type { Duplex } from 'node:stream'
import { HANDSHAKE_BYTES, PSTR } from '../../../src/swarm/constants.js'
import { wirePeerId } from '../../../src/swarm/handshake.js'
import { MSG } from '../../../src/swarm/messages.js'
import { BanList, PeerScorer, type ViolationEvent } from '../../../src/swarm/scoring.js'
import { BundleSwarm } from '../../../src/swarm/session.js'
import { MemoryStore } from '../../support/memory-store.js'
import { waitFor } from '../../support/poll.js'
import { duplexPair, makeBundle } from './helpers.js'

const bundle = makeBundle([40_000, 50_000, 60_000])

function handshake (peer: string): Uint8Array {
  const hs = new Uint8Array(HANDSHAKE_BYTES)
  hs[0] = PSTR.length
  hs.set(new TextEncoder().encode(PSTR), 1)
  hs.set(bundle.info.infoHash, 1 + PSTR.length + 8)
  hs.set(wirePeerId(peer), 1 + PSTR.length + 28)
  return hs
}

async function victim (): Promise<{ swarm: BundleSwarm, scorer: PeerScorer, events: ViolationEvent[], attach: (peer: string) => Duplex }> {
  const scorer = new PeerScorer({ bans: new BanList() })
  const events: ViolationEvent[] = []
  scorer.on('violation', e => events.push(e))
  const swarm = new BundleSwarm({ bundle: bundle.info, store: new MemoryStore(), localPeerId: 'victim', scorer })
  await swarm.start()
  t.teardown(async () => { await swarm.stop() })
  return {
    swarm,
    scorer,
    events,
    attach: (peer: string) => {
      const [ours, theirs] = duplexPair()
      ours.on('error', () => {})
      theirs.on('error', () => {})
      theirs.resume()
      swarm.addPeer({ remotePeerId: peer, duplex: ours, link: 'lan', initiator: false })
      theirs.write(handshake(peer))
      return theirs
    }
  }
}

const cases: Array<{ name: string, bytes: Uint8Array[], violation: string, banned: boolean, end?: boolean }> = [
  // a piece frame announcing 40000 bytes, and the stream ends after 13 of them
  { name: 'a stream ending inside a piece', bytes: [Uint8Array.from([0, 0, 0x9c, 0x49, MSG.PIECE, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4])], violation: 'truncated-piece', banned: false, end: true },
  { name: 'a 2 GiB length prefix', bytes: [Uint8Array.from([0x80, 0, 0, 0, MSG.PIECE])], violation: 'oversized-frame', banned: true },
  { name: 'an unknown message id', bytes: [btFrame(9, [0, 0])], violation: 'malformed-frame', banned: false },
  { name: 'a second bitfield', bytes: [btFrame(MSG.BITFIELD, [0]), btFrame(MSG.BITFIELD, [0])], violation: 'bitfield-repeat', banned: false },
  { name: 'a keep-alive flood', bytes: Array.from({ length: 50 }, () => btFrame(undefined)), violation: 'keepalive-flood', banned: true },
  { name: 'an unsolicited piece', bytes: [btFrame(MSG.PIECE, [0, 0, 0, 1, 0, 0, 0, 0, 7, 7, 7])], violation: 'unsolicited-piece', banned: false },
  // 40000 bytes (chunk 0's size) asked 200 times while we choke: past a full pipeline twice over
  { name: 'requests while choked, repeatedly', bytes: Array.from({ length: 200 }, () => btFrame(MSG.REQUEST, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x9c, 0x40])), violation: 'choked-request-flood', banned: true }
]

for (const c of cases) {
  t.test(`${c.name} closes the wire as ${c.violation}`, async t => {
    const v = await victim()
    const remote = v.attach('evil')
    for (const b of c.bytes) remote.write(b)
    if (c.end === true) remote.end()
    await waitFor(() => v.events.length > 0, 5000, 'violation recorded')
    t.equal(v.events[0]?.violation, c.violation)
    t.equal(v.events[0]?.peerId, 'evil')
    t.equal(v.scorer.bans.isBanned('evil'), c.banned, c.banned ? 'banned at once' : 'not banned for one ambiguous fault')
    await waitFor(() => v.swarm.peerIds().length === 0, 5000, 'wire closed')
    if (!c.banned) {
      // the same fault again on new streams bans it: at the second (weight 5), the fifth (truncated-piece, 2)
      const times = Math.ceil(v.scorer.banScore / (v.events[0]?.score ?? 1))
      for (let i = 1; i < times; i++) {
        t.notOk(v.scorer.bans.isBanned('evil'), `not banned after ${i}`)
        const again = v.attach('evil')
        for (const b of c.bytes) again.write(b)
        if (c.end === true) again.end()
        await waitFor(() => v.events.length > i, 5000, `violation ${i + 1} recorded`)
      }
      t.ok(v.scorer.bans.isBanned('evil'), `banned at violation ${times}`)
    }
  })
}
