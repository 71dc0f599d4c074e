/** BLAKE3-256 through the native @napi-rs/blake-hash binding (several GiB/s). */
import { blake3, Blake3Hasher } from '@napi-rs/blake-hash'

// the ids' spelling lives in interface/ids.ts; re-exported for the bundle code's callers
export { BUNDLE_ID_PREFIX, BUNDLE_ID_RE, HASH_BYTES, HASH_HEX_RE, isBundleId, isHashHex } from '../interface/ids.js'

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

