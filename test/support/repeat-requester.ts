/**
 * Test-only peer that asks for the same chunk over and over (issue #19, bad input: "a
 * peer that asks for the same piece repeatedly is metered by the upload cap and then
 * banned, never served for free"). A real libp2p node under the fleet key: it dials
 * the victim, opens one chunk stream, says it holds nothing and is interested, and once
 * unchoked asks for the first chunk the victim offers, waits for that piece to arrive
 * whole, and asks for the same chunk again, until the victim closes the stream. It
 * writes raw BitTorrent frames (protocols/chunks/SPEC.md "Framing"), so nothing of our
 * own wire code stands between the abuse and the victim. It does not redial.
 */
import type { Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { BundleInfo } from '../../src/interface/types.js'
import { createStoremeshNode, type StoremeshNode } from '../../src/net/node.js'
import type { SwarmKey } from '../../src/net/swarm-key.js'
import { toNodeDuplex } from '../../src/net/stream.js'
import { Bits } from '../../src/swarm/bits.js'
import { CHUNK_PROTOCOL, HANDSHAKE_BYTES, PSTR } from '../../src/swarm/constants.js'
import { wirePeerId } from '../../src/swarm/handshake.js'
import { MSG } from '../../src/swarm/messages.js'
import { btFrame, readBtFrames } from './bt-frame.js'

/** dial and stream open: generous, the Noise handshake of a process niced on a loaded machine takes seconds */
const DIAL_TIMEOUT_MS = 60_000

/** It stops asking after this many copies (the test's bound: an unbanned repeater is caught by the count, not by a hang). */
export const REPEAT_MAX_COPIES = 40

function u32 (...values: number[]): Uint8Array {
  const b = new Uint8Array(4 * values.length)
  const v = new DataView(b.buffer)
  values.forEach((x, i) => { v.setUint32(4 * i, x) })
  return b
}

export class RepeatRequester {
  readonly node: StoremeshNode
  readonly #bundle: BundleInfo
  /** the chunk it asks for again and again (the first one offered), once known */
  index: number | undefined
  /** whole copies of that chunk received, and when each arrived (ms since epoch) */
  readonly copiesAt: number[] = []
  /** when its stream was closed by the victim (ms since epoch) */
  closedAt: number | undefined
  /** when it sent its first request */
  firstAskAt: number | undefined

  private constructor (node: StoremeshNode, bundle: BundleInfo) {
    this.node = node
    this.#bundle = bundle
  }

  static async create (bundle: BundleInfo, swarmKey: SwarmKey | null): Promise<RepeatRequester> {
    return new RepeatRequester(await createStoremeshNode({ swarmKey }), bundle)
  }

  get peerId (): string { return this.node.peerId.toString() }

  async stop (): Promise<void> {
    await this.node.stop()
  }

  /** Runs the abuse on one stream; resolves when the victim closed it or after REPEAT_MAX_COPIES copies. */
  async run (victim: Multiaddr[]): Promise<void> {
    const conn = await this.node.dial(victim, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
    const stream: Stream = await conn.newStream(CHUNK_PROTOCOL, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
    const duplex = toNodeDuplex(stream)
    const sizes = this.#bundle.pieces.map(p => p.size)
    let ask: (() => void) | undefined
    let destroyed = false
    const done = new Promise<void>(resolve => {
      const end = (): void => { if (!destroyed) this.closedAt ??= Date.now(); resolve() }
      duplex.on('close', end)
      duplex.on('error', end)
      duplex.on('end', end)
    })
    let unchoked = false
    const step = (): void => {
      if (unchoked && this.index !== undefined && ask !== undefined) { const a = ask; ask = undefined; a() }
    }
    readBtFrames(duplex, HANDSHAKE_BYTES, frame => {
      const id = frame.length > 0 ? frame[0] : undefined
      if (id === MSG.UNCHOKE) unchoked = true
      if (id === MSG.CHOKE) unchoked = false
      if (id === MSG.HAVE && frame.length === 5) this.index ??= frame.readUInt32BE(1)
      if (id === MSG.BITFIELD && this.index === undefined) {
        const bits = Bits.from(Uint8Array.from(frame.subarray(1)), sizes.length)
        const first = bits.indices().next()
        if (first.done !== true) this.index = first.value
      }
      if (id === MSG.PIECE && frame.readUInt32BE(1) === this.index && frame.length === 9 + (sizes[this.index] ?? -1)) this.copiesAt.push(Date.now())
    }, step)
    const hs = new Uint8Array(HANDSHAKE_BYTES)
    hs[0] = PSTR.length
    hs.set(new TextEncoder().encode(PSTR), 1)
    hs.set(this.#bundle.infoHash, 1 + PSTR.length + 8)
    hs.set(wirePeerId(this.peerId), 1 + PSTR.length + 28)
    duplex.write(Buffer.concat([hs, btFrame(MSG.BITFIELD, new Bits(sizes.length).bytes), btFrame(MSG.INTERESTED)]))
    while (this.closedAt === undefined && this.copiesAt.length < REPEAT_MAX_COPIES) {
      const copies = this.copiesAt.length
      // wait until unchoked with a chunk to ask for, then ask and wait for that copy
      await Promise.race([done, new Promise<void>(resolve => { ask = resolve; step() })])
      if (this.closedAt !== undefined || this.index === undefined) break
      this.firstAskAt ??= Date.now()
      duplex.write(btFrame(MSG.REQUEST, u32(this.index, 0, sizes[this.index] ?? 0)))
      // the copy arrives, or the victim closes the stream (or chokes us: then ask again once unchoked)
      while (this.closedAt === undefined && this.copiesAt.length === copies && unchoked) {
        await Promise.race([done, new Promise(resolve => setTimeout(resolve, 20))])
      }
    }
    destroyed = true
    duplex.destroy()
    await done
  }
}
