/**
 * `/storemesh/wan-pull/1.0.0`: a store hub pulls chunks by hash from a super hub over
 * the WAN (DESIGN.md section 5; spec protocols/wan-pull/SPEC.md). Where to look:
 *
 * - `index.ts`         this file: the public interface, the Inits, the factory
 * - `constants.ts`     protocol id, limits (citing the spec) and the puller's defaults
 * - `messages.ts`      framing (it-length-prefixed), request and answer codecs: the one
 *                      place messages are decoded and validated
 * - `pull-protocol.ts` both sides: PullServer (the super hub's handler) and PullClient
 *                      (one per stream a store hub opens)
 *
 * ```ts
 * // super hub: a libp2p service
 * services: { wanPull: pullServer({ source: store, limiterFor: peerId => chain }) }
 * // store hub: one client per stream
 * const stream = await node.dialProtocol(addr, WAN_PULL_PROTOCOL, { signal })
 * const client = new PullClient(stream, { limiter, onChunk: async ({ hash, bytes }) => { ... }, signal })
 * client.request([{ hash, size }]); client.end(); await client.done
 * ```
 */
import type { StreamHandler, StreamHandlerOptions } from '@libp2p/interface'
import type { ChunkSource } from '../../interface/types.js'
import type { Acquirer } from '../limiter.js'
import type { ByteBudget } from '../byte-budget.js'
import { PullServer } from './pull-protocol.js'

export * from './constants.js'
export { PULL_STATUS, decodePullAnswer, decodePullRequest, encodePullAnswer, encodePullRequest } from './messages.js'
export { PullClient, PullServer } from './pull-protocol.js'

/** The few components the super hub's side uses (a libp2p node fits). */
export interface PullServerComponents {
  registrar: {
    handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>
    unhandle(protocol: string): Promise<void>
  }
}

export interface PullServerInit {
  source: ChunkSource
  /** The limiters a store hub's bytes pass, e.g. a LimiterChain [perHub, global]. */
  limiterFor: (peerId: string) => Acquirer
  /** Called after each chunk went out whole (per-hash counts in tests, metrics). */
  onServed?: (event: { peerId: string, hash: string, bytes: number }) => void
  /** @default MAX_PULL_STREAMS */
  maxStreams?: number
  /**
   * Chunk bytes in flight for all store hubs together (taken before a chunk is read,
   * returned once its answer is handed to the stream); absent: no server-wide bound.
   */
  budget?: ByteBudget
  /** chunks of a request read ahead of the one being sent, per stream. @default DEFAULT_PULL_READ_AHEAD */
  readAhead?: number
  /**
   * An answer whose stream has not drained for this long has its stream reset
   * (E_SERVE_STALLED) and its grants given back. @default DEFAULT_SERVE_STALL_MS
   */
  stallMs?: number
  /** Called when a stalled stream is given up (logs; `stats().stalledAborts` counts them). */
  onStalled?: (event: { peerId: string, stallMs: number }) => void
}

export interface PullServerStats {
  /** streams reset because their store hub took nothing for the stall time mid-answer */
  stalledAborts: number
  /** answers that waited for their stream to drain (the store hub reading slower than we send) */
  drainWaits: number
}

export interface PulledChunk {
  hash: string
  /** undefined: the super hub does not hold it */
  bytes: Uint8Array | undefined
}

export interface PullClientInit {
  /** The store hub's download limit (Limiter with Infinity for none). */
  limiter: Acquirer
  /** Every byte read from or written to the stream, as it passes (WAN accounting). */
  onWireBytes?: (bytes: number, direction: 'in' | 'out') => void
  /** Each answer, in request order; awaited before more bytes are read (back-pressure). */
  onChunk: (chunk: PulledChunk) => Promise<void>
  signal?: AbortSignal
  /**
   * Reset the stream (E_TIMEOUT) when the super hub sends nothing for this long while
   * answers are outstanding and nothing that arrived is still held on our side.
   * @default DEFAULT_PULL_IDLE_TIMEOUT_MS
   */
  idleTimeoutMs?: number
}

/** The super hub's handler as a libp2p service factory. */
export function pullServer (init: PullServerInit): (components: PullServerComponents) => PullServer {
  return (components) => new PullServer(components, init)
}
