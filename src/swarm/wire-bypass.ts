/**
 * The hook into bittorrent-protocol's Wire internals that lets wire.ts feed its
 * parser and take its output without the library's streamx queues: the one place
 * that depends on the library's private fields, so an update that moves them
 * breaks here, loudly.
 */
import type Wire from 'bittorrent-protocol'
import { StoremeshError } from '../interface/errors.js'

/** The two internals of bittorrent-protocol 5.0.9's Wire (index.js) used by bypassStreamx. */
interface WireInternals {
  /** streamx Writable's sink: parses what it is given, synchronously */
  _write: (data: Uint8Array, cb: (err?: Error | null) => void) => void
  /** every outbound message goes through it (header and payload as two calls) */
  _push: (data: Uint8Array) => unknown
  _finished: boolean
}

const noop = (): void => {}

/**
 * Feeds whole frames straight to the library's parser and takes its output straight
 * into the transport: without it each frame went through a streamx Writable queue in
 * and a streamx Readable (push, queue, 'data') out, per piece and per 13-byte have.
 * The guard hands over whole frames only, so `_write` concatenates nothing; a piece's
 * header and chunk reach the transport as two buffers, sent as one write uncopied.
 * Fails loudly at construction if a library update moved these internals.
 */
export function bypassStreamx (wire: Wire, out: (data: Uint8Array) => void): (frame: Uint8Array) => void {
  const w = wire as unknown as WireInternals
  if (typeof w._write !== 'function' || typeof w._push !== 'function' || typeof w._finished !== 'boolean') {
    throw new StoremeshError('E_INTERNAL', 'bittorrent-protocol internals changed: _write/_push/_finished expected (5.0.9)')
  }
  w._push = (data: Uint8Array) => {
    if (!w._finished) out(data)
    return true
  }
  return frame => { w._write(frame, noop) }
}
