import { randomBytes } from 'node:crypto'
import t from 'tap'
import {
  chunkingParams, chunkSizes, DEFAULT_MAX_CHUNK_BYTES, FastCdcChunker, GEAR, masksFor, topBitsMask
} from '../../../src/bundle/fastcdc.js'

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
function prng (size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size)
  let x = seed | 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

function sizesByFeeding (data: Uint8Array, params: Parameters<typeof chunkSizes>[1], pieceSizes: () => number): number[] {
  const c = new FastCdcChunker(params)
  const sizes: number[] = []
  let last = 0
  let consumed = 0
  for (let off = 0; off < data.length;) {
    const n = Math.min(pieceSizes(), data.length - off)
    const cuts: number[] = []
    c.push(data.subarray(off, off + n), cuts)
    for (const cut of cuts) {
      sizes.push(consumed + cut - last)
      last = consumed + cut
    }
    off += n
    consumed += n
  }
  const tail = c.finish()
  if (tail > 0) sizes.push(tail)
  t.equal(sizes.reduce((a, b) => a + b, 0), data.length, 'sizes cover the input')
  return sizes
}

t.test('parameters: defaults, validation', async t => {
  t.same(chunkingParams(), { algorithm: 'fastcdc', minBytes: 65536, avgBytes: 262144, maxBytes: 1048576 })
  for (const bad of [
    { minBytes: 32 }, { avgBytes: 300000 }, { avgBytes: 128 }, { maxBytes: 32 * 1024 * 1024 },
    { minBytes: 512 * 1024 }, { maxBytes: 128 * 1024 }, { minBytes: 1.5 }
  ]) {
    t.throws(() => chunkingParams(bad), { code: 'E_INVALID_ARGUMENT' }, JSON.stringify(bad))
  }
  t.same(chunkingParams({ minBytes: 64, avgBytes: 256, maxBytes: 256 }).maxBytes, 256)
})

t.test('gear table and masks', async t => {
  t.equal(GEAR.length, 256)
  t.equal(new Set(GEAR).size, 256, 'no repeated entries')
  t.equal(topBitsMask(20) >>> 0, 0xfffff000)
  t.same(masksFor(262144), { maskS: topBitsMask(20), maskL: topBitsMask(16) })
})

t.test('WebAssembly and JavaScript scanners cut identically', async t => {
  const data = prng(8 * 1024 * 1024 + 777, 42)
  for (const params of [{}, { minBytes: 64, avgBytes: 256, maxBytes: 1024 }, { minBytes: 2048, avgBytes: 8192, maxBytes: 65536 },
    { minBytes: 4096, avgBytes: 4096, maxBytes: 4096 }]) {
    const wasm = chunkSizes(data, params, 'wasm')
    t.same(wasm, chunkSizes(data, params, 'js'), JSON.stringify(params))
    const p = chunkingParams(params)
    wasm.slice(0, -1).forEach(s => {
      if (s <= p.minBytes && p.minBytes !== p.maxBytes) t.fail(`chunk of ${s} bytes at or below min`)
      if (s > p.maxBytes) t.fail(`chunk of ${s} bytes above max`)
    })
  }
})

t.test('boundaries do not depend on how the stream is split', async t => {
  const params = { minBytes: 256, avgBytes: 1024, maxBytes: 4096 }
  const small = prng(96 * 1024, 7)
  const whole = chunkSizes(small, params)
  t.ok(whole.length > 40, `enough chunks to mean something (${whole.length})`)
  t.same(sizesByFeeding(small, params, () => 1), whole, 'one byte at a time')
  t.same(sizesByFeeding(small, params, () => 7), whole, '7 bytes at a time')

  const big = prng(6 * 1024 * 1024 + 3, 9)
  const bigWhole = chunkSizes(big)
  let x = 5
  const randomPiece = (): number => { x = (x * 1103515245 + 12345) & 0x7fffffff; return 1 + (x % (3 * 1024 * 1024)) }
  t.same(sizesByFeeding(big, {}, randomPiece), bigWhole, 'random pieces up to 3 MiB')
  t.same(sizesByFeeding(big, {}, () => 65536), bigWhole, '64 KiB pieces')
})

t.test('a run of one byte gives maxBytes chunks; tiny and empty inputs', async t => {
  t.same(chunkSizes(new Uint8Array(2 * DEFAULT_MAX_CHUNK_BYTES + 5)), [DEFAULT_MAX_CHUNK_BYTES, DEFAULT_MAX_CHUNK_BYTES, 5])
  t.same(chunkSizes(new Uint8Array(0)), [])
  t.same(chunkSizes(prng(1000, 3)), [1000])
})

t.test('content-defined: an insertion disturbs only nearby chunks', async t => {
  const a = randomBytes(16 * 1024 * 1024)
  const mid = a.length >> 1
  const b = Buffer.concat([a.subarray(0, mid), Buffer.from([0x5a]), a.subarray(mid)])
  const cutsOf = (d: Uint8Array): Set<number> => {
    const s = new Set<number>()
    let off = 0
    for (const size of chunkSizes(d)) { off += size; s.add(off) }
    return s
  }
  const ca = cutsOf(a)
  const cb = cutsOf(b)
  // every cut before the insertion is kept; after it, cuts are shifted by one
  const before = [...ca].filter(c => c < mid)
  t.ok(before.every(c => cb.has(c)), 'cuts before the insertion unchanged')
  const after = [...ca].filter(c => c > mid + DEFAULT_MAX_CHUNK_BYTES * 2)
  t.ok(after.every(c => cb.has(c + 1)), 'cuts well after the insertion shifted by one byte')
})

t.test('an arena is scanned in place and matches the copying path', async t => {
  const data = prng(3 * 1024 * 1024, 11)
  const c = new FastCdcChunker({}, { arenaBytes: data.length })
  c.arena.set(data)
  const cuts: number[] = []
  c.push(c.arena.subarray(0, data.length), cuts)
  const sizes: number[] = []
  let prev = 0
  for (const cut of cuts) { sizes.push(cut - prev); prev = cut }
  const tail = c.finish()
  if (tail > 0) sizes.push(tail)
  t.same(sizes, chunkSizes(data))
  t.throws(() => new FastCdcChunker({}, { engine: 'js', arenaBytes: 1024 }))
})
