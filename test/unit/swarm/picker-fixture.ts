/** What the picker's tests share: bitfields, a seeded random source and a picker with test defaults. */
import { Bits } from '../../../src/swarm/bits.js'
import { Picker } from '../../../src/swarm/picker.js'
import type { PickerInit } from '../../../src/swarm/picker-types.js'

export function bits (n: number, set: number[]): Bits {
  const b = new Bits(n)
  for (const i of set) b.set(i)
  return b
}

/** A deterministic random source (LCG) so tie-breaks are reproducible. */
export function seeded (seed: number): () => number {
  let x = seed
  return () => { x = (x * 1103515245 + 12345) % 2147483648; return x / 2147483648 }
}

export const base = (sizes: number[], over: Partial<PickerInit> = {}): Picker => new Picker({
  pieceSizes: sizes,
  pipelineBytes: Number.MAX_SAFE_INTEGER,
  pipelineMinRequests: 1,
  pipelineMaxRequests: 64,
  endgameMaxPeersPerPiece: 3,
  reaskAfterMs: 1000,
  random: seeded(1),
  ...over
})
