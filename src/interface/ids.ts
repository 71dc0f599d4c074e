/**
 * The spelling of content ids, written once (protocols/bundle/SPEC.md): a BLAKE3-256
 * hash in lower-case hex names a chunk or an artifact, and `b3:` before the hash of the
 * canonical signed body names a bundle. No dependencies, so that pure modules (policy,
 * the installer's state machine) and wire decoders can check an id without loading
 * the hashing binding.
 */
export const HASH_BYTES = 32
const HASH_HEX = `[0-9a-f]{${HASH_BYTES * 2}}`
export const HASH_HEX_RE = new RegExp(`^${HASH_HEX}$`)
export const BUNDLE_ID_PREFIX = 'b3:'
export const BUNDLE_ID_RE = new RegExp(`^${BUNDLE_ID_PREFIX}${HASH_HEX}$`)

export function isHashHex (s: unknown): s is string {
  return typeof s === 'string' && HASH_HEX_RE.test(s)
}

export function isBundleId (s: unknown): s is string {
  return typeof s === 'string' && BUNDLE_ID_RE.test(s)
}

/**
 * Device ids: a label an operator types (`pos-17`), a serial number, or a peer id.
 * One spelling for the wire (lease, report), the API paths and the CLI.
 */
export const DEVICE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/
/** Wave ids: the policy's `metadata.wave`, as text (`142`, `pos-q4-142`). */
export const WAVE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
