/**
 * Measures how closely a byte stream kept to a target rate, for tests and for
 * `npm run bench:wan`: long-run error, per-second samples and their error (p95,
 * worst), and the largest burst. Feed it (bytes, time) as bytes pass, e.g. from a
 * throttle's onBytes with the same clock; it does no I/O and reads no clock.
 *
 * The burst is the token-bucket depth the stream needed: the largest excess of bytes
 * over `target * duration` in any interval. A stream paced in 25 ms slices shows
 * about 25 ms worth (more after a stall it catches up on); a stream that sends a
 * whole 1 MiB chunk at once shows 1 MiB.
 */
import { StoremeshError } from '../interface/errors.js'
import { DEFAULT_RATE_SAMPLE_MS, MS_PER_SECOND } from './constants.js'

export interface RateSample {
  startMs: number
  bytes: number
  bytesPerSec: number
  /** |bytesPerSec - target| / target */
  error: number
}

export interface RateReport {
  targetBytesPerSec: number
  startMs: number
  endMs: number
  totalBytes: number
  achievedBytesPerSec: number
  /** |achieved - target| / target over the whole run */
  longRunError: number
  /** Full sample bins only; a partial last bin is left out. */
  samples: RateSample[]
  /** 95th percentile (nearest rank) of the samples' error; 0 with no samples */
  p95SampleError: number
  maxSampleError: number
  /** Largest excess over the target in any interval, in bytes */
  maxBurstBytes: number
  /** maxBurstBytes as time at the target rate */
  maxBurstMs: number
}

export interface RateMeterInit {
  targetBytesPerSec: number
  /** Start of the measured run (the clock of the recorded times). */
  startMs: number
  /** @default DEFAULT_RATE_SAMPLE_MS (per-second samples) */
  sampleMs?: number
}

export class RateMeter {
  private readonly target: number
  private readonly startMs: number
  private readonly sampleMs: number
  private times: number[] = []
  private sizes: number[] = []
  private sorted = true

  constructor (init: RateMeterInit) {
    if (!(Number.isFinite(init.targetBytesPerSec) && init.targetBytesPerSec > 0)) {
      throw new StoremeshError('E_INVALID_ARGUMENT', 'RateMeter needs a positive finite target rate', { target: String(init.targetBytesPerSec) })
    }
    const sampleMs = init.sampleMs ?? DEFAULT_RATE_SAMPLE_MS
    if (!(Number.isFinite(sampleMs) && sampleMs > 0)) {
      throw new StoremeshError('E_INVALID_ARGUMENT', 'RateMeter sampleMs must be positive', { sampleMs: String(sampleMs) })
    }
    this.target = init.targetBytesPerSec
    this.startMs = init.startMs
    this.sampleMs = sampleMs
  }

  /** Records `bytes` passing at `atMs`; times before startMs are ignored. */
  record (bytes: number, atMs: number): void {
    if (atMs < this.startMs || bytes === 0) return
    const last = this.times[this.times.length - 1]
    if (last !== undefined && atMs < last) this.sorted = false
    this.times.push(atMs)
    this.sizes.push(bytes)
  }

  /** The report for the run from startMs to `endMs`; events at or after endMs are left out. */
  report (endMs: number): RateReport {
    if (!(endMs > this.startMs)) {
      throw new StoremeshError('E_INVALID_ARGUMENT', 'RateMeter.report needs endMs after startMs', { startMs: this.startMs, endMs })
    }
    this.sortEvents()
    const r = this.target / MS_PER_SECOND // bytes per ms
    const bins = Math.floor((endMs - this.startMs) / this.sampleMs)
    const binBytes = new Array<number>(bins).fill(0)
    let total = 0
    let maxBurst = 0
    let cum = 0
    let minBase = Number.POSITIVE_INFINITY
    for (let i = 0; i < this.times.length; i++) {
      const t = this.times[i] as number
      const b = this.sizes[i] as number
      if (t >= endMs) break
      total += b
      const bin = Math.floor((t - this.startMs) / this.sampleMs)
      if (bin < bins) binBytes[bin] = (binBytes[bin] ?? 0) + b
      // excess over [t_i, t_j] = (C_j - C_{i-1}) - r (t_j - t_i); keep min of C_{i-1} - r t_i.
      minBase = Math.min(minBase, cum - r * t)
      cum += b
      maxBurst = Math.max(maxBurst, cum - r * t - minBase)
    }
    const samples = binBytes.map((bytes, i) => {
      const bytesPerSec = bytes * MS_PER_SECOND / this.sampleMs
      return { startMs: this.startMs + i * this.sampleMs, bytes, bytesPerSec, error: Math.abs(bytesPerSec - this.target) / this.target }
    })
    const errors = samples.map(s => s.error).sort((a, b) => a - b)
    const achieved = total * MS_PER_SECOND / (endMs - this.startMs)
    return {
      targetBytesPerSec: this.target,
      startMs: this.startMs,
      endMs,
      totalBytes: total,
      achievedBytesPerSec: achieved,
      longRunError: Math.abs(achieved - this.target) / this.target,
      samples,
      p95SampleError: percentile(errors, 0.95),
      maxSampleError: errors[errors.length - 1] ?? 0,
      maxBurstBytes: maxBurst,
      maxBurstMs: maxBurst / r
    }
  }

  private sortEvents (): void {
    if (this.sorted) return
    const order = this.times.map((_, i) => i).sort((a, b) => (this.times[a] as number) - (this.times[b] as number))
    this.times = order.map(i => this.times[i] as number)
    this.sizes = order.map(i => this.sizes[i] as number)
    this.sorted = true
  }
}

/** Nearest-rank percentile of ascending `values`; 0 for none. */
export function percentile (values: readonly number[], q: number): number {
  if (values.length === 0) return 0
  const rank = Math.min(values.length, Math.max(1, Math.ceil(q * values.length)))
  return values[rank - 1] as number
}
