/**
 * Streams an image into the INACTIVE slot and proves it landed: the bytes are hashed
 * on the way in (a bad source fails before the read-back), fsynced by the backend,
 * then read back from the slot and hashed again against the manifest's whole-file
 * BLAKE3 and size. Never more bytes than declared (no endless data).
 */
import { Blake3Hasher } from '@napi-rs/blake-hash'
import { StoremeshError } from '../interface/errors.js'
import type { BootBackend, SlotName } from './backend.js'

export interface ExpectedImage {
  /** whole-file BLAKE3-256, lower-case hex */
  blake3: string
  sizeBytes: number
}

export interface WriteImageOptions {
  backend: BootBackend
  slot: SlotName
  source: AsyncIterable<Uint8Array>
  expected: ExpectedImage
  signal?: AbortSignal
  /** progress, in bytes written so far */
  onProgress?: (bytes: number) => void
}

export interface SlotCheck {
  bytes: number
  blake3: string
}

function hashMismatch (phase: 'stream' | 'read-back', slot: SlotName, expected: ExpectedImage, got: string): StoremeshError {
  return new StoremeshError('E_ARTIFACT_HASH_MISMATCH',
    `image in slot ${slot} does not match the manifest (${phase}): expected ${expected.blake3.slice(0, 16)}…, got ${got.slice(0, 16)}…`,
    { slot, phase, expected: expected.blake3, actual: got })
}

function sizeMismatch (phase: 'stream' | 'read-back', slot: SlotName, expected: ExpectedImage, got: number): StoremeshError {
  return new StoremeshError('E_SIZE_MISMATCH',
    `image for slot ${slot} is ${got} bytes (${phase}), the manifest says ${expected.sizeBytes}`,
    { slot, phase, expectedBytes: expected.sizeBytes, actualBytes: got })
}

/** Refuses the running slot with E_ACTIVE_SLOT_WRITE before the backend is asked to open anything. */
export async function assertInactive (backend: BootBackend, slot: SlotName, signal?: AbortSignal): Promise<void> {
  const active = await backend.activeSlot(signal !== undefined ? { signal } : {})
  if (slot === active) {
    throw new StoremeshError('E_ACTIVE_SLOT_WRITE', `refusing to write slot ${slot}: it is the running slot`, { slot, backend: backend.kind })
  }
}

export async function writeImage (opts: WriteImageOptions): Promise<SlotCheck> {
  const { backend, slot, expected, signal } = opts
  await assertInactive(backend, slot, signal)
  const hasher = new Blake3Hasher()
  let bytes = 0
  const source = opts.source
  const guarded = (async function * () {
    for await (const chunk of source) {
      if (signal?.aborted === true) throw new StoremeshError('E_ABORTED', 'slot write aborted', { slot })
      bytes += chunk.byteLength
      // stop at the first byte past the declared size: never write endless data
      if (bytes > expected.sizeBytes) throw sizeMismatch('stream', slot, expected, bytes)
      hasher.update(chunk)
      yield chunk
      opts.onProgress?.(bytes)
    }
  })()
  await backend.writeSlot(slot, guarded, signal !== undefined ? { signal } : {})
  if (bytes !== expected.sizeBytes) throw sizeMismatch('stream', slot, expected, bytes)
  const got = hasher.digestBuffer().toString('hex')
  if (got !== expected.blake3) throw hashMismatch('stream', slot, expected, got)
  return { bytes, blake3: got }
}

/** Reads the slot back (the image's size from byte zero) and checks BLAKE3 and size. */
export async function verifySlot (backend: BootBackend, slot: SlotName, expected: ExpectedImage, signal?: AbortSignal): Promise<SlotCheck> {
  const hasher = new Blake3Hasher()
  let bytes = 0
  for await (const chunk of backend.readSlot(slot, { bytes: expected.sizeBytes, ...(signal !== undefined ? { signal } : {}) })) {
    bytes += chunk.byteLength
    if (bytes > expected.sizeBytes) throw sizeMismatch('read-back', slot, expected, bytes)
    hasher.update(chunk)
  }
  if (bytes !== expected.sizeBytes) throw sizeMismatch('read-back', slot, expected, bytes)
  const got = hasher.digestBuffer().toString('hex')
  if (got !== expected.blake3) throw hashMismatch('read-back', slot, expected, got)
  return { bytes, blake3: got }
}
