/**
 * An in-memory ChunkSink for unit tests: put() verifies BLAKE3 before storing, like
 * the real store, and counts what it accepted and refused. `corruptReads` makes get()
 * return flipped bytes: a lying peer for ban tests.
 */
import { blake3Hex } from '../../src/bundle/hash.js'
import { StoremeshError } from '../../src/interface/errors.js'
import type { ChunkSink } from '../../src/interface/types.js'

export class MemoryStore implements ChunkSink {
  readonly chunks = new Map<string, Uint8Array>()
  /** put() calls that stored a chunk */
  puts = 0
  /** putVerified() calls that stored a chunk the caller had hashed */
  verifiedPuts = 0
  /** put() calls refused for a hash mismatch: must stay 0 behind a swarm */
  rejectedPuts = 0
  /** serve corrupted bytes from get() (the stored copy stays intact) */
  corruptReads = false

  constructor (initial: Iterable<Uint8Array> = []) {
    for (const data of initial) this.chunks.set(blake3Hex(data), data)
  }

  async has (hash: string): Promise<boolean> {
    return this.chunks.has(hash)
  }

  async get (hash: string): Promise<Uint8Array | undefined> {
    const data = this.chunks.get(hash)
    if (data === undefined || !this.corruptReads) return data
    const bad = Uint8Array.from(data)
    bad[0] = (bad[0] ?? 0) ^ 0xff
    return bad
  }

  async put (hash: string, data: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<void> {
    options.signal?.throwIfAborted()
    const actual = blake3Hex(data)
    if (actual !== hash) {
      this.rejectedPuts++
      throw new StoremeshError('E_CHUNK_HASH_MISMATCH', `chunk ${hash} hashes to ${actual}`, { hash })
    }
    this.puts++
    this.chunks.set(hash, Uint8Array.from(data))
  }

  /** The caller hashed `data` (the swarm does); verifyAll() still checks what was kept. */
  async putVerified (hash: string, data: Uint8Array, signal?: AbortSignal): Promise<boolean> {
    signal?.throwIfAborted()
    if (this.chunks.has(hash)) return false
    this.verifiedPuts++
    this.chunks.set(hash, Uint8Array.from(data))
    return true
  }

  /** Every stored chunk re-hashes to its key. */
  verifyAll (): boolean {
    for (const [hash, data] of this.chunks) if (blake3Hex(data) !== hash) return false
    return true
  }
}
