/**
 * The FastCDC inner loop as a tiny WebAssembly function, assembled here byte by byte
 * so that no toolchain or binary blob is needed. In V8 (Node 20) it scans about
 * 2.4-2.9 GiB of input per CPU-second (2-core EPYC VM) against 0.7-0.8 for the same
 * loop in JavaScript (no typed-array bounds checks, sixteen bytes per round): about
 * the speed of one BLAKE3 pass (see the profile that bench/bundle.ts prints).
 *
 * The function, in WAT terms:
 *
 *   (func $scan (param $p i32) (param $end i32) (param $h i32) (param $mask i32) (result i32)
 *     ;; for each byte b at $p .. $end-1:
 *     ;;   $h = ($h << 1) + i32.load(GEAR_OFFSET + b * 4)
 *     ;;   if ($h & $mask) == 0: global $hout = $h; return $p     (the cut byte)
 *     ;; global $hout = $h; return $end                          (no cut)
 *
 * The loop body is unrolled UNROLL (16) times, then finishes byte by byte. The loop is
 * bound by instruction throughput, not by the hash's dependency chain: TurboFan emits
 * six x64 instructions a byte (movzx, shl, load gear word, lea, test, jz), about one
 * cycle a byte. Unrolling pays only by amortising the loop's own compare, branch and
 * V8's stack check (5-10% over four bytes a round). Measured no faster: two
 * interleaved lanes (the hash depends on the last 32 bytes only, so lanes are exact
 * after 32 bytes of warm-up), and loading 4 or 8 bytes at once and extracting them
 * with shifts (trades the byte loads for as many ALU operations). SIMD128 has no
 * gather, so the table lookups would stay scalar. FastCDC 2020's "two bytes per step"
 * only tests every other position, which would move the cut points the format fixes. The memory is
 * imported so that the caller can make it shared (a hashing worker reads the same
 * bytes) and can read files straight into it.
 */

/** Byte offset of the 256-entry little-endian u32 gear table inside the memory. */
export const GEAR_OFFSET = 0
export const WASM_PAGE_BYTES = 65536

const I32 = 0x7f
const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  return: 0x0f,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  globalSet: 0x24,
  i32Load: 0x28,
  i32Load8u: 0x2d,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32GtU: 0x4b,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32And: 0x71,
  i32Shl: 0x74,
  void: 0x40
} as const

// Parameters and locals of $scan.
const P = 0
const END = 1
const H = 2
const MASK = 3

/** Bytes per round of the main loop (see the module comment). */
const UNROLL = 16

function uleb (n: number): number[] {
  const out: number[] = []
  do {
    let byte = n & 0x7f
    n >>>= 7
    if (n !== 0) byte |= 0x80
    out.push(byte)
  } while (n !== 0)
  return out
}

/** Signed LEB128 for small non-negative constants (< 2^31). */
function sleb (n: number): number[] {
  const out: number[] = []
  for (;;) {
    const byte = n & 0x7f
    n >>= 7
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte)
      return out
    }
    out.push(byte | 0x80)
  }
}

function str (s: string): number[] {
  const b = [...new TextEncoder().encode(s)]
  return [...uleb(b.length), ...b]
}

function section (id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body]
}

/** One byte of the loop: hash the byte at $p + k; on a cut return $p + k. */
function step (k: number): number[] {
  return [
    OP.localGet, H, OP.i32Const, 1, OP.i32Shl,
    OP.localGet, P, OP.i32Load8u, 0, ...uleb(k),
    OP.i32Const, 2, OP.i32Shl,
    OP.i32Load, 2, ...uleb(GEAR_OFFSET),
    OP.i32Add, OP.localTee, H,
    OP.localGet, MASK, OP.i32And, OP.i32Eqz,
    OP.if, OP.void,
    OP.localGet, H, OP.globalSet, 0,
    OP.localGet, P, ...(k === 0 ? [] : [OP.i32Const, ...sleb(k), OP.i32Add]),
    OP.return,
    OP.end
  ]
}

function scanBody (): number[] {
  const unrolled = [
    OP.block, OP.void,
    OP.loop, OP.void,
    // while ($p + UNROLL <= $end); memory is at most 4 GiB and $end <= its size, and
    // i32.add wraps, so this relies on addresses below 2^32 - UNROLL (they are)
    OP.localGet, P, OP.i32Const, ...sleb(UNROLL), OP.i32Add, OP.localGet, END, OP.i32GtU, OP.brIf, 1,
    ...Array.from({ length: UNROLL }, (_, k) => step(k)).flat(),
    OP.localGet, P, OP.i32Const, ...sleb(UNROLL), OP.i32Add, OP.localSet, P,
    OP.br, 0,
    OP.end,
    OP.end
  ]
  const tail = [
    OP.block, OP.void,
    OP.loop, OP.void,
    OP.localGet, P, OP.localGet, END, OP.i32GeU, OP.brIf, 1,
    ...step(0),
    OP.localGet, P, OP.i32Const, 1, OP.i32Add, OP.localSet, P,
    OP.br, 0,
    OP.end,
    OP.end
  ]
  const code = [...unrolled, ...tail, OP.localGet, H, OP.globalSet, 0, OP.localGet, END, OP.end]
  return [0 /* no extra locals */, ...code]
}

/** Largest memory a 32-bit WebAssembly module can address. */
const MAX_PAGES = 65536

/** The module's bytes; it imports `env.mem` of any size, shared or not. */
export function gearWasmBytes (shared: boolean): Uint8Array<ArrayBuffer> {
  const memLimits = shared ? [0x03, 1, ...uleb(MAX_PAGES)] : [0x00, 1]
  const body = scanBody()
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 4, I32, I32, I32, I32, 1, I32]),
    ...section(2, [1, ...str('env'), ...str('mem'), 0x02, ...memLimits]),
    ...section(3, [1, 0]),
    ...section(6, [1, I32, 1, OP.i32Const, 0, OP.end]),
    ...section(7, [2, ...str('scan'), 0x00, 0, ...str('hout'), 0x03, 0]),
    ...section(10, [1, ...uleb(body.length), ...body])
  ]
  return new Uint8Array(bytes)
}

export interface GearScanner {
  /** The whole WebAssembly memory; the gear table sits at GEAR_OFFSET. */
  memory: WebAssembly.Memory
  bytes: Uint8Array
  /** Index of the first cut byte in [p, end), or `end`; `hashAfter()` then holds the hash. */
  scan: (p: number, end: number, h: number, mask: number) => number
  hashAfter: () => number
}

const moduleCache = new Map<boolean, WebAssembly.Module>()

/**
 * A scanner over a fresh memory of `pages` 64 KiB pages with `gear` written at
 * GEAR_OFFSET. A shared memory can be handed to a worker thread.
 */
export function createGearScanner (gear: Int32Array, pages: number, shared: boolean): GearScanner {
  const memory = new WebAssembly.Memory(shared ? { initial: pages, maximum: pages, shared: true } : { initial: pages })
  let mod = moduleCache.get(shared)
  if (mod === undefined) {
    mod = new WebAssembly.Module(gearWasmBytes(shared))
    moduleCache.set(shared, mod)
  }
  const instance = new WebAssembly.Instance(mod, { env: { mem: memory } })
  const bytes = new Uint8Array(memory.buffer)
  // WebAssembly memory is little-endian whatever the host is.
  const view = new DataView(memory.buffer)
  for (let i = 0; i < 256; i++) view.setInt32(GEAR_OFFSET + i * 4, gear[i] ?? 0, true)
  const scan = instance.exports.scan as GearScanner['scan']
  const hout = instance.exports.hout as WebAssembly.Global
  return { memory, bytes, scan, hashAfter: () => hout.value as number }
}
