/** A bundle folder: `bundle.json` (the signed envelope) and `chunks/<2 hex>/<hash>`. */
import { join } from 'node:path'

export const BUNDLE_JSON = 'bundle.json'
export const CHUNKS_DIR = 'chunks'

export function bundleJsonPath (dir: string): string {
  return join(dir, BUNDLE_JSON)
}

export function chunkPathIn (dir: string, hash: string): string {
  return join(dir, CHUNKS_DIR, hash.slice(0, 2), hash)
}
