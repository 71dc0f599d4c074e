/**
 * FastCDC content-defined chunking (Xia et al., USENIX ATC 2016) with normalized
 * chunking, as fixed in protocols/bundle/SPEC.md section "Chunking":
 *
 * - a 32-bit gear hash `h = (h << 1) + GEAR[byte] mod 2^32`, restarted at 0 for each
 *   chunk and fed from the chunk's byte `minBytes` on (the first minBytes are skipped:
 *   no cut can fall there, so they need no hashing);
 * - two masks of the top bits of h: before offset `avgBytes` the harder maskS
 *   (log2(avg) + 2 bits), from there the easier maskL (log2(avg) - 2 bits), which pulls
 *   chunk sizes towards the average;
 * - the chunk ends after the first byte whose hash has no mask bit set, or at maxBytes.
 *
 * The chunker is streaming: feed it buffers of any size and it reports cut offsets; its
 * state is two numbers, so boundaries never depend on how the stream was split. The
 * inner loop runs in WebAssembly (gear-wasm.ts); a plain JS scanner is kept as the
 * reference that tests hold the WebAssembly one to.
 */
import { StoremeshError } from '../interface/errors.js'
import type { ChunkingParams } from '../interface/types.js'
import { blake3Bytes } from './hash.js'
import { createGearScanner, WASM_PAGE_BYTES, type GearScanner } from './gear-wasm.js'
import { MAX_CHUNK_BYTES_LIMIT } from './manifest.js'

/** @default 64 KiB */
export const DEFAULT_MIN_CHUNK_BYTES = 64 * 1024
/** @default 256 KiB */
export const DEFAULT_AVG_CHUNK_BYTES = 256 * 1024
/** @default 1 MiB */
export const DEFAULT_MAX_CHUNK_BYTES = 1024 * 1024
/** The smallest minimum chunk size the manifest schema accepts. */
export const MIN_CHUNK_BYTES_FLOOR = 64
/** avgBytes is a power of two in [2^8, 2^23] so both masks fit in 32 bits. */
export const MIN_AVG_CHUNK_BITS = 8
export const MAX_AVG_CHUNK_BITS = 23
/** Normalization level 2: maskS has 2 bits more than log2(avg), maskL 2 fewer. */
export const NORMALIZATION_BITS = 2
/** Domain-separation string of the gear table derivation (SPEC.md). */
export const GEAR_SEED = 'storemesh/fastcdc/gear/v1'

export const defaultChunkingParams: ChunkingParams = Object.freeze({
  algorithm: 'fastcdc',
  minBytes: DEFAULT_MIN_CHUNK_BYTES,
  avgBytes: DEFAULT_AVG_CHUNK_BYTES,
  maxBytes: DEFAULT_MAX_CHUNK_BYTES
})

/**
 * Named chunking settings for `bundle build --chunking`. `disk-image`: scattered small
 * edits in a large image cost about one average chunk each on top of the edit, so a
 * 32 KiB average keeps a 5% change near 7% over the WAN (bench:wan (b)) where the
 * default's 256 KiB costs 24%. The price: about 90 manifest bytes per chunk (the 4 MiB
 * manifest limit holds some 45,000 chunks, ~1.4 GiB at 32 KiB) and 8x the chunk files.
 */
export const CHUNKING_PRESETS: Readonly<Record<string, Readonly<Omit<ChunkingParams, 'algorithm'>>>> = Object.freeze({
  default: Object.freeze({ minBytes: DEFAULT_MIN_CHUNK_BYTES, avgBytes: DEFAULT_AVG_CHUNK_BYTES, maxBytes: DEFAULT_MAX_CHUNK_BYTES }),
  'disk-image': Object.freeze({ minBytes: 8 * 1024, avgBytes: 32 * 1024, maxBytes: 128 * 1024 })
})

/** Scratch space in the WebAssembly memory for input that lives elsewhere. */
const SCRATCH_BYTES = 1024 * 1024
/** The gear table gets the first page to itself; scratch follows. */
const SCRATCH_OFFSET = WASM_PAGE_BYTES

function isPowerOfTwo (n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0
}

/** Fills in defaults and checks the sizes; throws E_INVALID_ARGUMENT. */
export function chunkingParams (p: Partial<Omit<ChunkingParams, 'algorithm'>> = {}): ChunkingParams {
  const minBytes = p.minBytes ?? DEFAULT_MIN_CHUNK_BYTES
  const avgBytes = p.avgBytes ?? DEFAULT_AVG_CHUNK_BYTES
  const maxBytes = p.maxBytes ?? DEFAULT_MAX_CHUNK_BYTES
  const bad = (msg: string): never => {
    throw new StoremeshError('E_INVALID_ARGUMENT', `chunking: ${msg}`, { minBytes, avgBytes, maxBytes })
  }
  for (const [k, v] of [['minBytes', minBytes], ['avgBytes', avgBytes], ['maxBytes', maxBytes]] as const) {
    if (!Number.isSafeInteger(v)) bad(`${k} must be an integer`)
  }
  if (minBytes < MIN_CHUNK_BYTES_FLOOR) bad(`minBytes must be at least ${MIN_CHUNK_BYTES_FLOOR}`)
  if (maxBytes > MAX_CHUNK_BYTES_LIMIT) bad(`maxBytes must be at most ${MAX_CHUNK_BYTES_LIMIT}`)
  if (!isPowerOfTwo(avgBytes) || avgBytes < 2 ** MIN_AVG_CHUNK_BITS || avgBytes > 2 ** MAX_AVG_CHUNK_BITS) {
    bad(`avgBytes must be a power of two from ${2 ** MIN_AVG_CHUNK_BITS} to ${2 ** MAX_AVG_CHUNK_BITS}`)
  }
  if (!(minBytes <= avgBytes && avgBytes <= maxBytes)) bad('sizes must satisfy min <= avg <= max')
  return { algorithm: 'fastcdc', minBytes, avgBytes, maxBytes }
}

/** GEAR[i] = first 4 bytes, little-endian, of BLAKE3(utf8(GEAR_SEED) || byte i). */
function deriveGear (): Int32Array {
  const seed = new TextEncoder().encode(GEAR_SEED)
  const input = new Uint8Array(seed.length + 1)
  input.set(seed)
  const gear = new Int32Array(256)
  for (let i = 0; i < 256; i++) {
    input[seed.length] = i
    const d = blake3Bytes(input)
    gear[i] = ((d[0] ?? 0) | ((d[1] ?? 0) << 8) | ((d[2] ?? 0) << 16) | ((d[3] ?? 0) << 24)) | 0
  }
  return gear
}

export const GEAR: Int32Array = deriveGear()

/** A mask of the top `bits` bits of a 32-bit word, as a signed int32. */
export function topBitsMask (bits: number): number {
  if (bits <= 0) return 0
  if (bits >= 32) return -1
  return (0xffffffff << (32 - bits)) | 0
}

export function masksFor (avgBytes: number): { maskS: number, maskL: number } {
  const bits = Math.round(Math.log2(avgBytes))
  return { maskS: topBitsMask(bits + NORMALIZATION_BITS), maskL: topBitsMask(bits - NORMALIZATION_BITS) }
}

/** The reference scanner in plain JavaScript, same contract as the WebAssembly one. */
class JsScanner {
  bytes: Uint8Array = new Uint8Array(0)
  private h = 0
  scan (p: number, end: number, h: number, mask: number): number {
    const b = this.bytes
    for (; p < end; p++) {
      h = ((h << 1) + (GEAR[b[p] as number] as number)) | 0
      if ((h & mask) === 0) {
        this.h = h
        return p
      }
    }
    this.h = h
    return end
  }

  hashAfter (): number {
    return this.h
  }
}

export type ScanEngine = 'wasm' | 'js'

export interface ChunkerOptions {
  /**
   * Bytes of WebAssembly memory reserved for the caller (see `arena`): data read
   * straight into it is scanned without a copy. @default 0
   */
  arenaBytes?: number
  /** Make the memory shared so a worker thread can hash the arena. @default false */
  shared?: boolean
  /** @default 'wasm' */
  engine?: ScanEngine
}

export class FastCdcChunker {
  readonly params: ChunkingParams
  private readonly maskS: number
  private readonly maskL: number
  private readonly wasm: GearScanner | undefined
  private readonly js = new JsScanner()
  private readonly arenaOffset: number
  private readonly arenaBytes: number
  /** bytes of the current, unfinished chunk seen so far */
  private chunkLen = 0
  private h = 0

  constructor (params: Partial<Omit<ChunkingParams, 'algorithm'>> = {}, options: ChunkerOptions = {}) {
    this.params = chunkingParams(params)
    const m = masksFor(this.params.avgBytes)
    this.maskS = m.maskS
    this.maskL = m.maskL
    this.arenaBytes = Math.max(0, Math.ceil((options.arenaBytes ?? 0) / WASM_PAGE_BYTES) * WASM_PAGE_BYTES)
    this.arenaOffset = SCRATCH_OFFSET + SCRATCH_BYTES
    if ((options.engine ?? 'wasm') === 'wasm') {
      const pages = (this.arenaOffset + this.arenaBytes) / WASM_PAGE_BYTES
      this.wasm = createGearScanner(GEAR, pages, options.shared === true)
    } else if (this.arenaBytes > 0 || options.shared === true) {
      throw new StoremeshError('E_INVALID_ARGUMENT', 'an arena needs the wasm engine')
    }
  }

  /** The caller's part of the WebAssembly memory (empty without arenaBytes). */
  get arena (): Uint8Array {
    if (this.wasm === undefined) return new Uint8Array(0)
    return new Uint8Array(this.wasm.memory.buffer, this.arenaOffset, this.arenaBytes)
  }

  /** The memory's buffer, to hand to a worker thread (a SharedArrayBuffer when shared). */
  get memoryBuffer (): ArrayBuffer | SharedArrayBuffer | undefined {
    return this.wasm?.memory.buffer
  }

  /** Bytes of the unfinished chunk seen so far. */
  get pending (): number {
    return this.chunkLen
  }

  /**
   * Scans `data`, the next bytes of the stream. Appends to `cuts` the offsets within
   * `data` just past the end of each chunk that ends inside it; returns how many.
   */
  push (data: Uint8Array, cuts: number[]): number {
    const before = cuts.length
    const w = this.wasm
    if (w === undefined) {
      this.js.bytes = data
      this.scanRegion(this.js, 0, data.length, cuts, 0)
      this.js.bytes = new Uint8Array(0)
    } else if (data.buffer === w.memory.buffer) {
      this.scanRegion(w, data.byteOffset, data.length, cuts, -data.byteOffset)
    } else {
      for (let off = 0; off < data.length; off += SCRATCH_BYTES) {
        const piece = data.subarray(off, off + SCRATCH_BYTES)
        w.bytes.set(piece, SCRATCH_OFFSET)
        this.scanRegion(w, SCRATCH_OFFSET, piece.length, cuts, off - SCRATCH_OFFSET)
      }
    }
    return cuts.length - before
  }

  /** End of stream: the length of the last chunk (0 if the stream ended on a cut). */
  finish (): number {
    const last = this.chunkLen
    this.reset()
    return last
  }

  reset (): void {
    this.chunkLen = 0
    this.h = 0
  }

  /** Scans memory [base, base + len) of `s`; cut offsets are reported as index + cutShift. */
  private scanRegion (s: JsScanner | GearScanner, base: number, len: number, cuts: number[], cutShift: number): void {
    const { minBytes, avgBytes, maxBytes } = this.params
    let p = base
    const end = base + len
    while (p < end) {
      if (this.chunkLen < minBytes) {
        const skip = Math.min(minBytes - this.chunkLen, end - p)
        this.chunkLen += skip
        p += skip
      } else {
        const small = this.chunkLen < avgBytes
        const n = Math.min((small ? avgBytes : maxBytes) - this.chunkLen, end - p)
        const r = s.scan(p, p + n, this.h, small ? this.maskS : this.maskL)
        if (r < p + n) {
          p = r + 1
          cuts.push(p + cutShift)
          this.reset()
          continue
        }
        this.h = s.hashAfter()
        this.chunkLen += n
        p += n
      }
      if (this.chunkLen >= maxBytes) {
        cuts.push(p + cutShift)
        this.reset()
      }
    }
  }
}

/** Chunk sizes of a whole in-memory buffer (tests, vectors, small inputs). */
export function chunkSizes (bytes: Uint8Array, params: Partial<Omit<ChunkingParams, 'algorithm'>> = {},
  engine: ScanEngine = 'wasm'): number[] {
  const c = new FastCdcChunker(params, { engine })
  const cuts: number[] = []
  c.push(bytes, cuts)
  const sizes: number[] = []
  let prev = 0
  for (const cut of cuts) {
    sizes.push(cut - prev)
    prev = cut
  }
  const last = c.finish()
  if (last > 0) sizes.push(last)
  return sizes
}
