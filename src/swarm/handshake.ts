/**
 * The BitTorrent handshake as a router sees it: an inbound stream is routed to its
 * bundle swarm by the info-hash in the first 68 bytes, read here with a size bound
 * and a timeout (parsed by messages.ts), and handed on with those bytes as a prefix.
 * Also the 20-byte wire peer id derived from a libp2p peer id.
 */
import { blake3Bytes } from '../bundle/hash.js'
import { StoremeshError } from '../interface/errors.js'
import { HANDSHAKE_BYTES, PSTR, WIRE_PEER_ID_BYTES } from './constants.js'
import { parseHandshake, type Handshake } from './messages.js'
import type { ByteDuplex } from './transport.js'

const PEER_ID_CONTEXT = 'storemesh/chunks wire peer id v1:'

/** BitTorrent needs a 20-byte peer id; ours is a hash of the libp2p peer id (Noise-authenticated). */
export function wirePeerId (libp2pPeerId: string): Uint8Array {
  return blake3Bytes(new TextEncoder().encode(PEER_ID_CONTEXT + libp2pPeerId)).slice(0, WIRE_PEER_ID_BYTES)
}

export interface ReadHandshakeOptions {
  timeoutMs: number
  signal?: AbortSignal
}

export interface ReadHandshakeResult extends Handshake {
  /** every byte read so far (the handshake and anything after it): feed it to the wire first */
  prefix: Uint8Array
}

/**
 * Reads the remote's handshake from a duplex and pauses it, so a PeerWire can take
 * over without losing a byte. Never buffers more than one read past 68 bytes.
 */
export async function readHandshake (duplex: ByteDuplex, options: ReadHandshakeOptions): Promise<ReadHandshakeResult> {
  const chunks: Uint8Array[] = []
  let total = 0
  return await new Promise<ReadHandshakeResult>((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      duplex.off('data', onData)
      duplex.off('end', onEnd)
      duplex.off('close', onEnd)
      duplex.off('error', onError)
    }
    const fail = (err: Error): void => { cleanup(); reject(err) }
    const onData = (chunk: Uint8Array): void => {
      chunks.push(chunk)
      total += chunk.length
      if (chunks.length === 1 && (chunk[0] ?? 0) !== PSTR.length) {
        fail(new StoremeshError('E_WIRE_MALFORMED', 'not a BitTorrent handshake'))
        return
      }
      if (total < HANDSHAKE_BYTES) return
      duplex.pause?.()
      cleanup()
      const prefix = chunks.length === 1 ? chunks[0] as Uint8Array : Buffer.concat(chunks, total)
      try {
        resolve({ ...parseHandshake(prefix), prefix })
      } catch (err) {
        reject(err)
      }
    }
    const onEnd = (): void => { fail(new StoremeshError('E_NOT_CONNECTED', 'stream closed before the handshake')) }
    const onError = (err: Error): void => { fail(new StoremeshError('E_NOT_CONNECTED', 'stream failed before the handshake', {}, { cause: err })) }
    const onAbort = (): void => { fail(new StoremeshError('E_ABORTED', 'aborted while reading the handshake')) }
    const timer = setTimeout(() => {
      fail(new StoremeshError('E_TIMEOUT', `no handshake within ${options.timeoutMs} ms`, { timeoutMs: options.timeoutMs }))
    }, options.timeoutMs)
    if (options.signal?.aborted === true) { onAbort(); return }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    duplex.on('data', onData)
    duplex.on('end', onEnd)
    duplex.on('close', onEnd)
    duplex.on('error', onError)
  })
}
