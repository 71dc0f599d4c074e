/**
 * Throttling as a stream stage, in the manner of webtorrent's peer wire: bytes pass
 * through a limiter (or a chain of limiters) in slices of at most the limiter's
 * burst, and each slice is counted as it goes out. Two shapes of the same stage:
 * a Node Transform for Node streams and an async generator for async iterables
 * (libp2p streams, it-pipe). Both pull no faster than the limit lets them emit,
 * so back-pressure reaches the producer.
 */
import { Transform } from 'node:stream'
import type { TransformCallback } from 'node:stream'
import { StoremeshError } from '../interface/errors.js'
import { abortError } from '../interface/abort.js'
import type { Acquirer } from './limiter.js'

export interface ThrottleOptions {
  /** A Limiter or a LimiterChain such as `[hub, global]`. */
  limiter: Acquirer
  /** Stops the stage: the Transform is destroyed, the generator throws E_ABORTED. */
  signal?: AbortSignal
  /** Called after each slice passed, with its length in bytes (byte accounting, metrics). */
  onBytes?: (bytes: number) => void
  /** Cap on the slice size in bytes, below the limiter's own burst. */
  maxSliceBytes?: number
}

/** The slice size to use now: the limiter's burst (which follows setRate) or the cap. */
function sliceBytesOf (options: ThrottleOptions): number {
  const cap = options.maxSliceBytes ?? Number.POSITIVE_INFINITY
  const slice = Math.min(options.limiter.sliceBytes, cap)
  return Number.isFinite(slice) ? Math.max(1, Math.floor(slice)) : Number.POSITIVE_INFINITY
}

function checkOptions (options: ThrottleOptions): void {
  const cap = options.maxSliceBytes
  if (cap !== undefined && !(Number.isFinite(cap) && cap >= 1)) {
    throw new StoremeshError('E_INVALID_ARGUMENT', 'maxSliceBytes must be a number >= 1', { maxSliceBytes: String(cap) })
  }
}

/** Passes `chunk` through the limiter slice by slice, handing each slice to `emit`. */
async function passChunk (chunk: Uint8Array, options: ThrottleOptions, signal: AbortSignal | undefined, emit: (slice: Uint8Array) => void): Promise<void> {
  let offset = 0
  while (offset < chunk.byteLength) {
    const size = Math.min(chunk.byteLength - offset, sliceBytesOf(options))
    await options.limiter.acquire(size, signal)
    emit(chunk.subarray(offset, offset + size))
    offset += size
    options.onBytes?.(size)
  }
}

/** A Node Transform that paces bytes through `options.limiter`. */
export class ThrottleStream extends Transform {
  private readonly options: ThrottleOptions
  private readonly controller = new AbortController()
  private readonly unlink: () => void

  constructor (options: ThrottleOptions) {
    checkOptions(options)
    super()
    this.options = options
    const outer = options.signal
    const onAbort = (): void => { this.destroy(abortError(outer)) }
    if (outer?.aborted === true) queueMicrotask(onAbort)
    else outer?.addEventListener('abort', onAbort, { once: true })
    this.unlink = () => outer?.removeEventListener('abort', onAbort)
  }

  override _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    passChunk(chunk, this.options, this.controller.signal, slice => { this.push(slice) })
      .then(() => { callback() }, (err: Error) => { callback(err) })
  }

  override _flush (callback: TransformCallback): void {
    this.unlink()
    callback()
  }

  override _destroy (err: Error | null, callback: (error?: Error | null) => void): void {
    this.unlink()
    // Frees the limiter queue slot of a slice still waiting.
    this.controller.abort(err ?? undefined)
    callback(err)
  }
}

export function createThrottle (options: ThrottleOptions): ThrottleStream {
  return new ThrottleStream(options)
}

/** The same stage for async iterables: yields `source`'s bytes in paced slices. */
export async function * throttle (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: ThrottleOptions): AsyncGenerator<Uint8Array, void, undefined> {
  checkOptions(options)
  for await (const chunk of source) {
    let offset = 0
    while (offset < chunk.byteLength) {
      const size = Math.min(chunk.byteLength - offset, sliceBytesOf(options))
      await options.limiter.acquire(size, options.signal)
      const slice = chunk.subarray(offset, offset + size)
      offset += size
      options.onBytes?.(size)
      yield slice
    }
  }
}
