// The WebAssembly gear kernel (gear-wasm.ts) against a plain reference, call by call:
// its main loop is unrolled, so a cut may fall on any position of a round, and the
// byte-by-byte tail handles what is left of a region; both must agree with the
// reference on the cut index and on the hash left behind.
import t from 'tap'
import { GEAR, topBitsMask } from '../../../src/bundle/fastcdc.js'
import { createGearScanner, WASM_PAGE_BYTES } from '../../../src/bundle/gear-wasm.js'

function reference (bytes: Uint8Array, p: number, end: number, h: number, mask: number): { at: number, h: number } {
  for (; p < end; p++) {
    h = ((h << 1) + (GEAR[bytes[p] as number] as number)) | 0
    if ((h & mask) === 0) return { at: p, h }
  }
  return { at: end, h }
}

/** xorshift32 */
function rng (seed: number): () => number {
  let x = seed | 0 || 1
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    return x >>> 0
  }
}

t.test('cut index and hash match the reference at every offset of the unrolled loop', async t => {
  const base = WASM_PAGE_BYTES // the gear table has the first page
  const dataBytes = 1 << 20
  const s = createGearScanner(GEAR, (base + dataBytes) / WASM_PAGE_BYTES, false)
  const next = rng(7)
  for (let i = 0; i < dataBytes; i++) s.bytes[base + i] = next() & 0xff
  const cutAtMod = new Set<number>()
  let calls = 0
  let cutsSeen = 0
  // Masks of 3..12 top bits cut every ~8..4096 bytes, so cuts land everywhere.
  for (let bits = 3; bits <= 12; bits++) {
    const mask = topBitsMask(bits)
    for (let trial = 0; trial < 300; trial++) {
      const p = base + (next() % (dataBytes - 70000))
      const end = p + (next() % 70000) // includes empty and shorter-than-a-round regions
      const h = next() | 0
      const want = reference(s.bytes, p, end, h, mask)
      const got = s.scan(p, end, h, mask)
      calls++
      if (got !== want.at || s.hashAfter() !== want.h) {
        t.fail(`scan(${p}, ${end}, ${h}, ${bits} bits) = ${got}/${s.hashAfter()}, want ${want.at}/${want.h}`)
        return
      }
      if (got < end) {
        cutsSeen++
        cutAtMod.add((got - p) % 16)
      }
    }
  }
  t.equal(calls, 3000)
  t.ok(cutsSeen > 2000, `most calls found a cut (${cutsSeen})`)
  t.equal(cutAtMod.size, 16, 'cuts fell on every position of a 16-byte round')
})

t.test('regions shorter than a round and the tail after the last round', async t => {
  const base = WASM_PAGE_BYTES
  const s = createGearScanner(GEAR, 2, false)
  const next = rng(99)
  for (let i = 0; i < 4096; i++) s.bytes[base + i] = next() & 0xff
  const never = -1 // all bits: cuts only where h === 0, i.e. (almost) never
  for (let len = 0; len <= 40; len++) {
    for (const h of [0, 1, -1, 0x12345678]) {
      const want = reference(s.bytes, base + 3, base + 3 + len, h, never)
      t.equal(s.scan(base + 3, base + 3 + len, h, never), want.at, `len ${len}`)
      t.equal(s.hashAfter(), want.h, `hash after len ${len}`)
    }
  }
})
