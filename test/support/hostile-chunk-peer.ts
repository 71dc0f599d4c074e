/**
 * Test-only attacker on `/storemesh/chunks/1.0.0`: a real libp2p node (fleet key,
 * loopback) that dials a victim, opens chunk streams for a bundle and abuses them,
 * writing raw BitTorrent frames (protocols/chunks/SPEC.md "Framing") so that nothing
 * in our own wire code stands between the attack and the victim:
 *
 * - `keepalive`:  keep-alive frames as fast as the stream takes them
 * - `have`:       `have` messages for the bundle's chunks, round and round
 * - `extended`:   BEP 10 extended messages of 8 KiB each
 * - `unsolicited`: pieces nobody asked for (the right bytes of chunk 0)
 * - `wrong-length`: claims every chunk, unchokes, and answers each request with half the chunk
 * - `truncated`:  the same, but the piece frame announces the whole chunk and the stream
 *                 ends after half of it
 * - `huge-length`: after the handshake, a frame whose length prefix says 2 GiB
 * - `slow`:       claims every chunk, unchokes, and answers the first request with the
 *                 start of its piece frame, then trickles SLOW_TRICKLE_BYTES every
 *                 SLOW_TRICKLE_MS: a piece that stalls mid-frame and never completes
 * - `random-infohash`: each stream's handshake names a random info-hash (an unknown
 *                 bundle), RANDOM_INFOHASH_PARALLEL streams at a time
 * - `choking-hoarder`: claims every chunk and never unchokes: it holds none of the
 *                 victim's requests, only its interest (our own choker unchokes an
 *                 interested peer it never served at once: choker.ts)
 *
 * Like the attacks measured in issue #20, it reopens a stream as soon as one is
 * closed and redials a closed connection, until the victim refuses it; `refusedAt`
 * is when that first happened.
 */
import { btFrame, readBtFrames } from './bt-frame.js'
import { randomBytes } from 'node:crypto'
import type { Connection, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { BundleInfo } from '../../src/interface/types.js'
import { createStoremeshNode, type StoremeshNode } from '../../src/net/node.js'
import type { SwarmKey } from '../../src/net/swarm-key.js'
import { toNodeDuplex } from '../../src/net/stream.js'
import { CHUNK_PROTOCOL, HANDSHAKE_BYTES, PSTR } from '../../src/swarm/constants.js'
import { wirePeerId } from '../../src/swarm/handshake.js'
import { MSG } from '../../src/swarm/messages.js'
import { Bits } from '../../src/swarm/bits.js'

export type HostileMode = 'keepalive' | 'have' | 'extended' | 'unsolicited' | 'wrong-length' | 'truncated' | 'huge-length' | 'random-infohash' | 'slow' | 'choking-hoarder'

export const HOSTILE_MODES: readonly HostileMode[] = ['keepalive', 'have', 'extended', 'unsolicited', 'wrong-length', 'truncated', 'huge-length', 'random-infohash', 'slow', 'choking-hoarder']

/** The slow attacker sends this much of its piece at a time... */
export const SLOW_TRICKLE_BYTES = 16
/** ...this often: enough to keep a wire's idle timeout away, never enough to finish a chunk. */
export const SLOW_TRICKLE_MS = 500

/** Streams the random-infohash attacker keeps in their handshake at once (the victim's pending cap). */
export const RANDOM_INFOHASH_PARALLEL = 8

export interface HostileInit {
  mode: HostileMode
  bundle: BundleInfo
  /** chunk bytes by piece index (the unsolicited attack sends the right bytes) */
  chunks: Uint8Array[]
  swarmKey: SwarmKey | null
  /** its dials leave from this address (127.0.0.2: a host of its own, as the victim's address bans see it) @default 127.0.0.1 */
  dialFromAddress?: string
}

function u32 (...values: number[]): Uint8Array {
  const b = new Uint8Array(4 * values.length)
  const v = new DataView(b.buffer)
  values.forEach((x, i) => { v.setUint32(4 * i, x) })
  return b
}

function piece (index: number, data: Uint8Array): Uint8Array {
  const p = new Uint8Array(8 + data.length)
  p.set(u32(index, 0))
  p.set(data, 8)
  return btFrame(MSG.PIECE, p)
}

export class HostileChunkPeer {
  readonly node: StoremeshNode
  readonly #init: HostileInit
  #stopped = false
  /** streams opened on the victim */
  streams = 0
  /** bytes written to the victim */
  bytesSent = 0
  /** when a dial or a stream was first refused (ms since epoch) */
  refusedAt: number | undefined
  /** when the victim first ended one of our streams (ms since epoch) */
  closedAt: number | undefined
  startedAt: number | undefined

  private constructor (node: StoremeshNode, init: HostileInit) {
    this.node = node
    this.#init = init
  }

  static async create (init: HostileInit): Promise<HostileChunkPeer> {
    const node = await createStoremeshNode({ swarmKey: init.swarmKey, ...(init.dialFromAddress !== undefined ? { dialFromAddress: init.dialFromAddress } : {}) })
    return new HostileChunkPeer(node, init)
  }

  get peerId (): string { return this.node.peerId.toString() }

  /** Attacks until stop(); resolves at once (the attack runs in the background). */
  attack (victim: Multiaddr[]): void {
    this.startedAt = Date.now()
    void this.#loop(victim)
  }

  async stop (): Promise<void> {
    this.#stopped = true
    await this.node.stop()
  }

  async #loop (victim: Multiaddr[]): Promise<void> {
    while (!this.#stopped) {
      let conn: Connection
      let stream: Stream
      try {
        conn = await this.node.dial(victim, { signal: AbortSignal.timeout(5000) })
        stream = await conn.newStream(CHUNK_PROTOCOL, { signal: AbortSignal.timeout(5000) })
      } catch {
        this.refusedAt ??= Date.now()
        await new Promise(resolve => setTimeout(resolve, 100))
        continue
      }
      this.streams++
      if (this.#init.mode === 'random-infohash') {
        // names unknown bundles on several streams at once, as a peer after amplification would
        const more = await Promise.all(Array.from({ length: RANDOM_INFOHASH_PARALLEL - 1 }, async () => await conn.newStream(CHUNK_PROTOCOL, { signal: AbortSignal.timeout(5000) }).catch(() => undefined)))
        const opened = more.filter((x): x is Stream => x !== undefined)
        this.streams += opened.length
        await Promise.all([stream, ...opened].map(async s => { await this.#abuse(s).catch(() => {}) }))
      } else {
        await this.#abuse(stream).catch(() => {})
      }
      // like the measured attacker: straight back in
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }

  /** One stream's worth of abuse; resolves when the victim closes it. */
  async #abuse (stream: Stream): Promise<void> {
    const { bundle, chunks, mode } = this.#init
    const duplex = toNodeDuplex(stream)
    const n = bundle.pieces.length
    let closed = false
    const done = new Promise<void>(resolve => {
      const end = (): void => {
        if (!closed && !this.#stopped) this.closedAt ??= Date.now()
        closed = true
        resolve()
      }
      duplex.on('close', end)
      duplex.on('error', end)
      duplex.on('end', end)
    })
    const write = async (bytes: Uint8Array): Promise<void> => {
      if (closed || this.#stopped) return
      this.bytesSent += bytes.length
      if (!duplex.write(bytes)) await new Promise(resolve => { duplex.once('drain', resolve); duplex.once('close', resolve) })
    }
    const hs = new Uint8Array(HANDSHAKE_BYTES)
    hs[0] = PSTR.length
    hs.set(new TextEncoder().encode(PSTR), 1)
    hs.set(mode === 'random-infohash' ? randomBytes(bundle.infoHash.length) : bundle.infoHash, 1 + PSTR.length + 8)
    hs.set(wirePeerId(this.peerId), 1 + PSTR.length + 28)

    // the victim's requests, for the wrong-length attack: a minimal frame reader
    const requests: number[] = []
    readBtFrames(duplex, HANDSHAKE_BYTES, frame => {
      if (frame.length === 13 && frame[0] === MSG.REQUEST) requests.push(frame.readUInt32BE(1))
    })

    await write(hs)
    const all = new Bits(n)
    for (let i = 0; i < n; i++) all.set(i)
    let i = 0
    while (!closed && !this.#stopped) {
      switch (mode) {
        case 'keepalive':
          await write(Buffer.concat(Array.from({ length: 256 }, () => btFrame(undefined))))
          break
        case 'have':
          await write(Buffer.concat(Array.from({ length: 256 }, () => btFrame(MSG.HAVE, u32(i++ % n)))))
          break
        case 'extended':
          await write(btFrame(MSG.EXTENDED, Uint8Array.from([1, ...new Uint8Array(8 * 1024)])))
          break
        case 'unsolicited':
          await write(piece(0, chunks[0] as Uint8Array))
          break
        case 'wrong-length':
          if (i++ === 0) await write(Buffer.concat([btFrame(MSG.BITFIELD, all.bytes), btFrame(MSG.UNCHOKE)]))
          for (const index of requests.splice(0)) {
            const data = chunks[index] as Uint8Array
            await write(piece(index, data.subarray(0, Math.max(1, data.length >> 1))))
          }
          break
        case 'truncated': {
          if (i++ === 0) await write(Buffer.concat([btFrame(MSG.BITFIELD, all.bytes), btFrame(MSG.UNCHOKE)]))
          const index = requests.shift()
          if (index !== undefined) {
            const whole = piece(index, chunks[index] as Uint8Array)
            await write(whole.subarray(0, whole.length >> 1))
            duplex.end()
            await done
          }
          break
        }
        case 'huge-length':
          // a 2 GiB length prefix, then some of its "payload": a victim that buffered up to the prefix would hold it all
          await write(Buffer.concat([u32(0x80000000), new Uint8Array(64 * 1024)]))
          await Promise.race([done, new Promise(resolve => setTimeout(resolve, 5000))])
          closed = true
          break
        case 'slow': {
          if (i++ === 0) await write(Buffer.concat([btFrame(MSG.BITFIELD, all.bytes), btFrame(MSG.UNCHOKE)]))
          const index = requests.shift()
          if (index === undefined) {
            await new Promise(resolve => setTimeout(resolve, 50))
            break
          }
          // one piece frame, never finished: the header and a first few bytes, then a trickle
          const whole = piece(index, chunks[index] as Uint8Array)
          let sent = 0
          while (!closed && !this.#stopped && sent < whole.length - 1) {
            const n = Math.min(sent === 0 ? 13 + SLOW_TRICKLE_BYTES : SLOW_TRICKLE_BYTES, whole.length - 1 - sent)
            await write(whole.subarray(sent, sent + n))
            sent += n
            await new Promise(resolve => setTimeout(resolve, SLOW_TRICKLE_MS))
          }
          break
        }
        case 'choking-hoarder':
          if (i++ === 0) await write(btFrame(MSG.BITFIELD, all.bytes))
          // nothing more to say: the victim's requests cannot come while it is choked
          await Promise.race([done, new Promise(resolve => setTimeout(resolve, 1000))])
          break
        case 'random-infohash':
          // nothing more to say: wait for the victim to refuse the unknown bundle (or give up on it)
          await Promise.race([done, new Promise(resolve => setTimeout(resolve, 5000))])
          closed = true
          break
      }
      // yield to the event loop so the victim's answers and close arrive
      await new Promise(resolve => setImmediate(resolve))
      if (mode === 'wrong-length' || mode === 'unsolicited' || mode === 'truncated') await new Promise(resolve => setTimeout(resolve, 10))
    }
    duplex.destroy()
    await done
  }
}
