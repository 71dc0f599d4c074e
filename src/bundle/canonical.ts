/**
 * Canonical JSON (protocols/bundle/SPEC.md section "Canonical serialisation"):
 * object keys sorted by UTF-16 code unit order, no whitespace, strings and numbers
 * as JSON.stringify writes them, UTF-8 bytes. Manifests and policies are hashed and
 * signed over these bytes, so two peers always agree on a bundle id.
 */
import { StoremeshError } from '../interface/errors.js'

/** Nesting deeper than this is refused: no honest manifest or policy needs it. */
export const MAX_CANONICAL_DEPTH = 32

function write (value: unknown, depth: number, out: string[]): void {
  if (depth > MAX_CANONICAL_DEPTH) {
    throw new StoremeshError('E_MANIFEST_INVALID', `nested deeper than ${MAX_CANONICAL_DEPTH} levels`)
  }
  if (value === null || typeof value === 'boolean' || typeof value === 'string') {
    out.push(JSON.stringify(value))
    return
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new StoremeshError('E_MANIFEST_INVALID', 'non-finite number in canonical JSON')
    out.push(JSON.stringify(value))
    return
  }
  if (Array.isArray(value)) {
    out.push('[')
    value.forEach((item, i) => {
      if (i > 0) out.push(',')
      if (item === undefined) throw new StoremeshError('E_MANIFEST_INVALID', 'undefined in an array')
      write(item, depth + 1, out)
    })
    out.push(']')
    return
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    out.push('{')
    entries.forEach(([k, v], i) => {
      if (i > 0) out.push(',')
      out.push(JSON.stringify(k), ':')
      write(v, depth + 1, out)
    })
    out.push('}')
    return
  }
  throw new StoremeshError('E_MANIFEST_INVALID', `cannot serialise a ${typeof value} canonically`)
}

export function canonicalString (value: unknown): string {
  const out: string[] = []
  write(value, 0, out)
  return out.join('')
}

export function canonicalize (value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalString(value))
}
