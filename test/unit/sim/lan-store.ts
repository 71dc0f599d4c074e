/** A small LAN store for the simulator's tests: 24 chunks of 256 KiB, every upload at 256 KiB/s, downloads uncapped. */
import type { LanSwarmInit } from '../../../src/sim/lan-swarm.js'
import { Rng } from '../../../src/sim/rng.js'

export const KiB = 1024
export const STORE_CHUNKS = 24

export const store = (n: number, extra: Partial<LanSwarmInit> = {}): LanSwarmInit => ({
  pieceSizes: Array.from({ length: STORE_CHUNKS }, () => 256 * KiB),
  hubUpBytesPerSec: 256 * KiB,
  deviceUpBytesPerSec: Array(n).fill(256 * KiB),
  deviceDownBytesPerSec: Array(n).fill(Infinity),
  latencyMs: 1,
  connectMs: 0,
  corruptPeers: 0,
  rng: new Rng(3),
  ...extra
})
