/**
 * Raw slot I/O for backends whose slots are paths (a partition device, or a file in
 * labs and tests): stream an image in from byte zero and fsync; stream a prefix back.
 */
import { open, stat } from 'node:fs/promises'
import { abortError, throwIfAborted } from '../interface/abort.js'
import { SLOT_READ_CHUNK_BYTES } from './constants.js'


/**
 * Writes `source` to `path` from offset 0 and fsyncs. A regular file is truncated
 * first (its size is the image's); a block device is written in place.
 */
export async function writeSlotPath (
  path: string,
  source: AsyncIterable<Uint8Array>,
  options: { signal?: AbortSignal } = {}
): Promise<{ bytes: number }> {
  options.signal?.throwIfAborted()
  let regular = true
  try {
    regular = (await stat(path)).isFile()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const fh = await open(path, regular ? 'w' : 'r+')
  let bytes = 0
  try {
    for await (const chunk of source) {
      if (options.signal?.aborted === true) throw abortError(options.signal, 'slot write')
      let off = 0
      while (off < chunk.byteLength) {
        const { bytesWritten } = await fh.write(chunk, off, chunk.byteLength - off, bytes + off)
        off += bytesWritten
      }
      bytes += chunk.byteLength
    }
    await fh.sync()
  } finally {
    await fh.close()
  }
  return { bytes }
}

/** Yields the first `bytes` bytes of `path`; a shorter slot ends early (the caller sees the size). */
export async function * readSlotPath (
  path: string,
  bytes: number,
  options: { signal?: AbortSignal } = {}
): AsyncGenerator<Uint8Array> {
  const fh = await open(path, 'r')
  try {
    let pos = 0
    while (pos < bytes) {
      throwIfAborted(options.signal, 'slot read')
      const want = Math.min(SLOT_READ_CHUNK_BYTES, bytes - pos)
      const buf = new Uint8Array(want)
      const { bytesRead } = await fh.read(buf, 0, want, pos)
      if (bytesRead === 0) return
      pos += bytesRead
      yield bytesRead === want ? buf : buf.subarray(0, bytesRead)
    }
  } finally {
    await fh.close()
  }
}
