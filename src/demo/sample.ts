/**
 * Deterministic sample artifacts for the store-in-a-box demo: a v1 image and a v2 that
 * changes a few percent of it in scattered edits and insertions, as a real OS update does.
 * Same seed, same bytes, same bundle ids on every machine.
 */
import { writeFile } from 'node:fs/promises'

export const DEFAULT_SAMPLE_IMAGE_BYTES = 24 * 1024 * 1024
// A few larger edits, as a package update rewrites whole files: about 4% of 24 MiB.
export const SAMPLE_EDITS = 3
export const SAMPLE_EDIT_BYTES = 256 * 1024
export const SAMPLE_INSERTS = 2
export const SAMPLE_INSERT_BYTES = 16 * 1024

/** xorshift32 filler: fast, and the bytes do not compress, like a real rootfs image. */
export function fillSeeded (out: Uint8Array, seed: number): Uint8Array {
  let x = (seed * 2654435761) >>> 0 || 1
  const words = new Uint32Array(out.buffer, out.byteOffset, out.byteLength >>> 2)
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    words[i] = x
  }
  for (let i = words.length * 4; i < out.length; i++) out[i] = i & 0xff
  return out
}

export function sampleImageV1 (sizeBytes = DEFAULT_SAMPLE_IMAGE_BYTES): Uint8Array {
  return fillSeeded(new Uint8Array(sizeBytes), 1)
}

/** v1 with SAMPLE_EDITS overwritten regions and SAMPLE_INSERTS inserted ones, evenly spread. */
export function sampleImageV2 (v1: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = []
  const events = SAMPLE_EDITS + SAMPLE_INSERTS
  const stride = Math.floor(v1.length / (events + 1))
  let pos = 0
  for (let e = 0; e < events; e++) {
    const at = stride * (e + 1)
    parts.push(v1.subarray(pos, at))
    const fresh = fillSeeded(new Uint8Array(e < SAMPLE_EDITS ? SAMPLE_EDIT_BYTES : SAMPLE_INSERT_BYTES), 1000 + e)
    parts.push(fresh)
    pos = e < SAMPLE_EDITS ? Math.min(v1.length, at + SAMPLE_EDIT_BYTES) : at
  }
  parts.push(v1.subarray(pos))
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0))
  let off = 0
  for (const p of parts) { out.set(p, off); off += p.length }
  return out
}

export function sampleConfig (version: string): string {
  return `# store configuration\nversion=${version}\nscanner=enabled\nreceipt_printer=enabled\n`
}

export async function writeSample (path: string, bytes: Uint8Array | string): Promise<void> {
  await writeFile(path, bytes)
}
