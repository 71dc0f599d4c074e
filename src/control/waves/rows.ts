/**
 * The fleet ledger's rows for a wave state machine's state (docs/fleet-waves.md
 * "States"): waves.state / state_reason / current_batch, one row per batch, one per
 * store. The machine's `waiting` is the ledger's `installing` (between two batches) with
 * the next batch's start time in the reason and in the batch's not_before_ms. Pure.
 */
import type { BatchRecord, StoreState, WaveState as LedgerWaveState, WaveStoreRecord } from '../wave-store.js'
import { storeSettled, type StoreProgress, type WaveState } from './plan.js'

export interface WaveRow {
  state: LedgerWaveState
  reason: string
  currentBatch?: number
}

/** The wave row: state and a reason an operator can read. */
export function waveRowOf (s: WaveState, waitingForStores: boolean): WaveRow {
  const n = s.batches.length
  const at = s.batch >= 0 ? { currentBatch: s.batch } : {}
  switch (s.phase) {
    case 'planned':
      return { state: 'planned', reason: waitingForStores ? 'started; waiting for a store hub to report devices of the wave' : 'planned', ...at }
    case 'prestaging':
      return { state: 'prestaging', reason: `pre-staging batch 1 of ${n}`, ...at }
    case 'installing': {
      // every store settled and still installing: held by rollbacks over the limit (state-machine.ts rollbacksWithinLimit)
      const held = (s.batches[s.batch] ?? []).every(id => storeSettled(s.stores[id]!))
      return {
        state: 'installing',
        reason: held
          ? `batch ${s.batch + 1} of ${n} settled with rollbacks over the wave's limit (too few outcomes to halt yet): the next batch waits for more outcomes, or an operator's halt and resume`
          : `batch ${s.batch + 1} of ${n} installing`,
        ...at
      }
    }
    case 'waiting':
      return { state: 'installing', reason: `batch ${s.batch + 1} of ${n} healthy; batch ${s.batch + 2} starts at ${new Date(s.nextBatchAtMs ?? 0).toISOString()}`, ...at }
    case 'paused':
      return { state: 'paused', reason: s.pause?.reason ?? '', ...at }
    case 'halted':
      return { state: 'halted', reason: `${s.halt?.source ?? 'operator'}: ${s.halt?.reason ?? ''}`, ...at }
    case 'done':
      return { state: 'done', reason: `all ${n} batches healthy`, ...at }
  }
}

export function storeStateOf (p: StoreProgress, s: WaveState): StoreState {
  if (s.phase === 'done') return 'done'
  const settled = p.started && storeSettled(p)
  if (settled) return 'healthy'
  if (s.phase === 'halted') return 'halted'
  if (s.phase === 'paused') return 'paused'
  if (p.started) return 'installing'
  if (p.prestaged) return 'prestaged'
  return p.prestageOrdered ? 'prestaging' : 'planned'
}

/** Per batch: its state and times; `startedAtMs` is the runner's record of when each batch started. */
export function batchRowsOf (s: WaveState, startedAtMs: readonly (number | undefined)[]): BatchRecord[] {
  return s.batches.map((ids, k) => {
    const started = startedAtMs[k]
    const healthy = s.batchHealthyAtMs[k]
    let state: BatchRecord['state']
    if (healthy !== undefined) state = s.phase === 'done' ? 'done' : 'healthy'
    else if (started !== undefined) state = s.phase === 'halted' ? 'halted' : 'installing'
    else if (ids.some(id => s.stores[id]!.prestageOrdered)) state = 'prestaging'
    else state = 'planned'
    const b: BatchRecord = { batchNo: k, state }
    if (started !== undefined) b.startedMs = started
    if (healthy !== undefined) b.healthyMs = healthy
    if (s.phase === 'waiting' && k === s.batch + 1 && s.nextBatchAtMs !== undefined) b.notBeforeMs = s.nextBatchAtMs
    return b
  })
}

export function storeRowsOf (s: WaveState, startedAtMs: readonly (number | undefined)[]): WaveStoreRecord[] {
  return Object.entries(s.stores).map(([hubId, p]) => {
    const r: WaveStoreRecord = { hubId, batchNo: p.batch, state: storeStateOf(p, s), devicesSelected: p.selected }
    const at = startedAtMs[p.batch]
    if (p.started && at !== undefined) r.startedMs = at
    return r
  })
}
