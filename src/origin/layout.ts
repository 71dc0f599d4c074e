/**
 * Where each object lives in an origin (protocols/origin/SPEC.md "Layout"), as a
 * relative key: the same key is a path under a folder and a path under a base URL,
 * so any static HTTP server, CDN or bucket serves a published folder as it is.
 */
import { StoremeshError } from '../interface/errors.js'
import { BUNDLE_ID_PREFIX, isBundleId, isHashHex } from '../interface/ids.js'
import { ORIGIN_CHUNKS_DIR, ORIGIN_INDEX_DIR, ORIGIN_MANIFESTS_DIR, ORIGIN_ROOTS_DIR } from './constants.js'

const DEVICE_CLASS_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

export function chunkKey (hash: string): string {
  if (!isHashHex(hash)) throw new StoremeshError('E_INVALID_ARGUMENT', `not a 64-hex BLAKE3 chunk hash: ${String(hash).slice(0, 80)}`)
  return `${ORIGIN_CHUNKS_DIR}/${hash.slice(0, 2)}/${hash}`
}

/** The id without its `b3:` prefix: a colon in a relative URL would read as a scheme. */
export function manifestKey (bundleId: string): string {
  if (!isBundleId(bundleId)) throw new StoremeshError('E_INVALID_ARGUMENT', `not a bundle id: ${String(bundleId).slice(0, 80)}`)
  return `${ORIGIN_MANIFESTS_DIR}/${bundleId.slice(BUNDLE_ID_PREFIX.length)}.json`
}

export function indexKey (deviceClass: string): string {
  if (!DEVICE_CLASS_RE.test(deviceClass)) throw new StoremeshError('E_INVALID_ARGUMENT', `not a device class: ${deviceClass.slice(0, 80)}`)
  return `${ORIGIN_INDEX_DIR}/${deviceClass}.json`
}

/** `roots/<version>.json`, the version in decimal (1, 2, … 10: no padding). */
export function rootKey (version: number): string {
  if (!(Number.isSafeInteger(version) && version >= 1)) throw new StoremeshError('E_INVALID_ARGUMENT', `not a root version: ${String(version).slice(0, 40)}`)
  return `${ORIGIN_ROOTS_DIR}/${version}.json`
}
