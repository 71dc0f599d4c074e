/**
 * A wave's progress as `fleet status` shows it: the phase, batch k of n, stores by
 * state and devices by outcome, and the halt or pause with its reason. Pure.
 */
import { storeSettled, waveTotals, type WaveHalt, type WavePhase, type WaveState } from './plan.js'

export type StoreWaveState = 'waiting' | 'prestaging' | 'prestaged' | 'installing' | 'healthy'

export interface WaveSummary {
  waveId: string
  phase: WavePhase
  /** 1-based batch installing (or last healthy while waiting); 0 before the first */
  batch: number
  batches: number
  nextBatchAtMs?: number
  stores: Record<StoreWaveState, number>
  devices: { selected: number, updated: number, rolledBack: number, pending: number }
  halt?: WaveHalt
  pause?: { reason: string, atMs: number }
}

export function storeWaveState (s: WaveState['stores'][string]): StoreWaveState {
  if (s.started) return storeSettled(s) ? 'healthy' : 'installing'
  if (s.prestaged) return 'prestaged'
  return s.prestageOrdered ? 'prestaging' : 'waiting'
}

export function summarizeWave (state: WaveState): WaveSummary {
  const stores: Record<StoreWaveState, number> = { waiting: 0, prestaging: 0, prestaged: 0, installing: 0, healthy: 0 }
  for (const s of Object.values(state.stores)) stores[storeWaveState(s)]++
  const t = waveTotals(state)
  return {
    waveId: state.waveId,
    phase: state.phase,
    batch: state.batch + 1,
    batches: state.batches.length,
    ...(state.nextBatchAtMs !== undefined ? { nextBatchAtMs: state.nextBatchAtMs } : {}),
    stores,
    devices: { ...t, pending: t.selected - t.updated - t.rolledBack },
    ...(state.halt !== undefined ? { halt: state.halt } : {}),
    ...(state.pause !== undefined ? { pause: state.pause } : {})
  }
}
