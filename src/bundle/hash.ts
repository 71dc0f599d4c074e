/** BLAKE3-256 through the native @napi-rs/blake-hash binding (several GiB/s). */
import { blake3, Blake3Hasher } from '@napi-rs/blake-hash'

export const HASH_BYTES = 32
export const HASH_HEX_RE = /^[0-9a-f]{64}$/

export function blake3Bytes (bytes: Uint8Array): Uint8Array {
  return new Uint8Array(blake3(bytes))
}

export function blake3Hex (bytes: Uint8Array): string {
  return blake3(bytes).toString('hex')
}

/** Incremental hasher for whole files read in pieces. */
export class StreamHasher {
  private readonly hasher = new Blake3Hasher()
  update (bytes: Uint8Array): this {
    this.hasher.update(bytes)
    return this
  }

  digestHex (): string {
    return this.hasher.digestBuffer().toString('hex')
  }
}

export function isHashHex (s: unknown): s is string {
  return typeof s === 'string' && HASH_HEX_RE.test(s)
}
