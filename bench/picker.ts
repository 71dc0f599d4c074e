/**
 * `npm run bench:picker [-- --pieces 4096 --peers 16]`: what one pick costs the swarm's
 * piece picker on a 1 GiB bundle (4,096 chunks of 256 KiB), issue #19.
 *
 * A device that holds half the bundle at random picks, for each of `--peers` full
 * peers in turn, its next requests until the bundle is complete (the real Picker:
 * rarest first through the wanted buckets, rarity-map.ts). Beside it, the same picks
 * by the full scan every pick used to make (RarityMap.pick over all chunks with the
 * same candidate test), in the same run. Printed: microseconds per pick for both and
 * their ratio; the buckets' advantage grows with the chunk count.
 */
import { Bits } from '../src/swarm/bits.js'
import { Picker } from '../src/swarm/picker.js'
import { RarityMap } from '../src/swarm/rarity-map.js'
import { Rng } from '../src/sim/rng.js'

/** the simulator's seeded generator (xoshiro128**): the same seed, the same picks */
const seeded = (seed: number): (() => number) => new Rng(seed).random

const args = process.argv.slice(2)
const opt = (name: string, dflt: string): string => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] ?? dflt : dflt }
const PIECES = Number(opt('pieces', '4096'))
const PEERS = Number(opt('peers', '16'))
const CHUNK_BYTES = 256 * 1024


/**
 * One completion of a half-held bundle, picking with `how`: the wanted buckets
 * (pickWanted) or the full scan (pick). Same state, same candidate test, same seed;
 * returns microseconds per pick.
 */
function complete (how: 'buckets' | 'scan', seed: number): { picks: number, usPerPick: number } {
  const random = seeded(seed)
  const rarity = new RarityMap(PIECES, random, { trackWanted: true })
  const have = new Bits(PIECES)
  const full = new Bits(PIECES)
  for (let i = 0; i < PIECES; i++) full.set(i)
  for (let p = 0; p < PEERS; p++) rarity.addBits(full)
  for (let i = 0; i < PIECES; i++) if (random() < 0.5) { have.set(i); rarity.setHeld(i) }
  const isCandidate = (j: number): boolean => !have.get(j) && full.get(j)
  let picks = 0
  const t0 = process.hrtime.bigint()
  for (let k = 0; k < PIECES; k++) {
    const i = how === 'buckets' ? rarity.pickWanted(isCandidate) : rarity.pick(isCandidate)
    if (i === undefined) break
    have.set(i)
    rarity.setHeld(i)
    picks++
  }
  return { picks, usPerPick: Number(process.hrtime.bigint() - t0) / 1e3 / Math.max(1, picks) }
}

/** The real Picker end to end (next() for each peer in turn, setHave), for context. */
function pickerUsPerPick (seed: number): number {
  const random = seeded(seed)
  const picker = new Picker({
    pieceSizes: Array(PIECES).fill(CHUNK_BYTES), pipelineBytes: 4 * CHUNK_BYTES, pipelineMinRequests: 2, pipelineMaxRequests: 8,
    endgameMaxPeersPerPiece: 2, reaskAfterMs: 60_000, random
  })
  const full = new Bits(PIECES)
  for (let i = 0; i < PIECES; i++) full.set(i)
  for (let p = 0; p < PEERS; p++) { picker.addPeer(`p${p}`); picker.peerBitfield(`p${p}`, full) }
  for (let i = 0; i < PIECES; i++) if (random() < 0.5) picker.setHave(i)
  let picks = 0
  const t0 = process.hrtime.bigint()
  for (let round = 0; !picker.complete && round < 10 * PIECES; round++) {
    for (const i of picker.next(`p${round % PEERS}`)) { picks++; picker.setHave(i) }
  }
  return Number(process.hrtime.bigint() - t0) / 1e3 / Math.max(1, picks)
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const TRIALS = 7
const b: number[] = []
const s: number[] = []
const e2e: number[] = []
let picks = 0
// alternating trials after a warm-up of each, medians printed (the machine may be shared)
complete('buckets', 1); complete('scan', 1); pickerUsPerPick(1)
for (let k = 0; k < TRIALS; k++) {
  const r = complete('buckets', 100 + k)
  picks = r.picks
  b.push(r.usPerPick)
  s.push(complete('scan', 100 + k).usPerPick)
  e2e.push(pickerUsPerPick(100 + k))
}
const usB = median(b)
const usS = median(s)
console.log(`bench:picker  ${PIECES} chunks, ${PEERS} full peers, half held at start, ${picks} picks per trial, median of ${TRIALS}`)
console.log(`  rarest wanted chunk, buckets (rarity-map.ts pickWanted)  ${usB.toFixed(2)} us/pick`)
console.log(`  the same pick by a full scan (RarityMap.pick)            ${usS.toFixed(2)} us/pick`)
console.log(`  ratio: ${(usB / usS).toPrecision(2)}x the scan's cost (${(usS / usB).toFixed(1)}x faster); Picker.next end to end ${median(e2e).toFixed(2)} us/pick`)
