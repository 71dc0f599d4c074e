/**
 * The wanted-chunk buckets behind the picker (rarity-map.ts): pickWanted() must name
 * a candidate of the lowest count, exactly as the full scan does, whatever sequence of
 * bitfields, haves, departures and arrivals led there.
 */
import t from 'tap'
import fc from 'fast-check'
import { Bits } from '../../../src/swarm/bits.js'
import { RarityMap } from '../../../src/swarm/rarity-map.js'
import { Rng } from '../../../src/sim/rng.js'

/** the simulator's seeded generator (xoshiro128**): the same seed, the same picks */
const seeded = (seed: number): (() => number) => new Rng(seed).random

const N = 64

type Op = { kind: 'add' | 'remove' | 'held', i: number } | { kind: 'bits' | 'unbits', set: number[] }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom('add' as const, 'remove' as const, 'held' as const), i: fc.integer({ min: 0, max: N - 1 }) }),
  fc.record({ kind: fc.constantFrom('bits' as const, 'unbits' as const), set: fc.array(fc.integer({ min: 0, max: N - 1 }), { maxLength: N }) })
)

t.test('pickWanted picks a candidate of the lowest count among wanted chunks, or none when there is none', async t => {
  fc.assert(fc.property(fc.array(op, { maxLength: 120 }), fc.array(fc.boolean(), { minLength: N, maxLength: N }), fc.integer(), (ops, candidate, seed) => {
    let x = seed >>> 0
    const random = (): number => { x = (x * 1664525 + 1013904223) >>> 0; return x / 2 ** 32 }
    const m = new RarityMap(N, random, { trackWanted: true })
    const held = new Set<number>()
    for (const o of ops) {
      if (!('set' in o)) {
        if (o.kind === 'add') m.add(o.i)
        else if (o.kind === 'remove') m.remove(o.i)
        else { m.setHeld(o.i); held.add(o.i) }
      } else {
        const b = new Bits(N)
        for (const i of o.set) b.set(i)
        if (o.kind === 'bits') m.addBits(b); else m.removeBits(b)
      }
    }
    // a chunk no peer holds is never a pick (no one could send it)
    const isCandidate = (i: number): boolean => candidate[i] === true && !held.has(i) && m.count(i) > 0
    const got = m.pickWanted(i => candidate[i] === true)
    const expected = m.pick(isCandidate)
    if (expected === undefined) return got === undefined
    return got !== undefined && isCandidate(got) && m.count(got) === m.count(expected)
  }), { numRuns: 500, seed: 19 })
})

t.test('equally rare chunks are spread: different random starts pick different chunks', async t => {
  const seen = new Set<number>()
  for (let s = 0; s < 40; s++) {
    const m = new RarityMap(16, seeded(s), { trackWanted: true })
    for (let i = 0; i < 16; i++) m.add(i)
    const p = m.pickWanted(() => true)
    if (p !== undefined) seen.add(p)
  }
  t.ok(seen.size >= 8, `first picks of 40 swarms spread over ${seen.size} of 16 chunks`)
})


t.test('pickAtCount looks only at the chunks held by that many peers, each of them reachable', async t => {
  const m = new RarityMap(64, new Rng(3).random, { trackWanted: true })
  for (let i = 0; i < 64; i++) if (i % 4 !== 0) m.add(i)
  const seen = new Set<number>()
  for (let k = 0; k < 400; k++) {
    const i = m.pickAtCount(0, () => true)
    t.equal(i === undefined ? -1 : i % 4, 0, 'only chunks nobody holds')
    if (i !== undefined) seen.add(i)
  }
  t.equal(seen.size, 16, 'every chunk nobody holds comes up')
  t.equal(m.pickAtCount(0, i => i === 8), 8)
  t.equal(m.pickAtCount(0, i => i === 9), undefined, 'a candidate in another bucket is not seen')
  t.equal(m.pickAtCount(7, () => true), undefined, 'an empty bucket')
})
