/**
 * A fleet wave's plan and state, as the control plane stores them (docs/fleet-waves.md).
 * planWave() turns the signed policy's selection (percentage, hubBudget) and the fleet's
 * stores into batches; the state machine (state-machine.ts) moves the plan through time.
 * Pure: plain JSON-able objects, so the ledger can store a state as it is.
 */
import { StoremeshError } from '../../interface/errors.js'
import { isValidTimezone, parseWindow } from '../../time/index.js'
import { MAX_STORE_DEVICES, MAX_WAVE_STORES } from './constants.js'
import type { EffectiveRollout } from './effective-rollout.js'
import { storeWindow, type StoreWindow } from './schedule.js'
import { batchesOf, orderStores, selectStores, type StoreDevices } from './selection.js'

export type WavePhase = 'planned' | 'prestaging' | 'installing' | 'waiting' | 'paused' | 'halted' | 'done'
/** Where a resume goes back to. */
export type ResumablePhase = 'planned' | 'prestaging' | 'installing' | 'waiting'

export interface StoreProgress {
  /** index of the store's batch */
  batch: number
  /** devices of the store the wave selected */
  selected: number
  window: StoreWindow
  /** set when the wave starts */
  prestageAtMs?: number
  prestageOrdered: boolean
  /** the store hub reported the bundle complete and verified */
  prestaged: boolean
  /** the store was told to install (its batch started) */
  started: boolean
  /** selected devices with an outcome, as last reported */
  updated: number
  rolledBack: number
}

export interface WaveHalt {
  reason: string
  /** `auto`: the rollback ratio; `operator`: an order */
  source: 'auto' | 'operator'
  atMs: number
}

export interface WaveState {
  waveId: string
  phase: WavePhase
  /** store ids per batch, in order */
  batches: string[][]
  /** the batch installing, or the last healthy one while waiting; -1 before the first */
  batch: number
  stores: Record<string, StoreProgress>
  startedAtMs?: number
  /** while waiting: when the next batch starts */
  nextBatchAtMs?: number
  /** per batch, when it was healthy */
  batchHealthyAtMs: number[]
  /** while paused or halted: the phase a resume returns to */
  resumeTo?: ResumablePhase
  pause?: { reason: string, atMs: number }
  halt?: WaveHalt
  /** rolled-back devices the operator accepted with a resume; the auto-halt fires only above it */
  rearmAtRolledBack: number
  doneAtMs?: number
}

export interface WaveStoreInput extends StoreDevices, Partial<StoreWindow> {}

export interface WavePlanInput {
  waveId: string
  /** the policy's metadata.name: the selection hash's key (src/policy/wave.ts) */
  policyName: string
  /** the policy's schedule: the window of stores that name none */
  schedule: { maintenanceWindow?: string | undefined, timezone: string }
  /** percentage and hubBudget are read from here (effectiveRollout) */
  rollout: Pick<EffectiveRollout, 'percentage' | 'hubBudget'>
  stores: readonly WaveStoreInput[]
}

function checkStore (s: WaveStoreInput, seen: Set<string>): void {
  if (typeof s.storeId !== 'string' || s.storeId === '' || s.storeId.length > 256) throw new StoremeshError('E_INVALID_ARGUMENT', 'a store id must be 1 to 256 characters')
  if (seen.has(s.storeId)) throw new StoremeshError('E_INVALID_ARGUMENT', `store ${s.storeId} is listed twice`, { store: s.storeId })
  seen.add(s.storeId)
  if (s.deviceIds.length > MAX_STORE_DEVICES) throw new StoremeshError('E_INVALID_ARGUMENT', `store ${s.storeId} lists ${s.deviceIds.length} devices, limit ${MAX_STORE_DEVICES}`, { store: s.storeId })
  if (s.maintenanceWindow !== undefined) parseWindow(s.maintenanceWindow)
  if (s.timezone !== undefined && !isValidTimezone(s.timezone)) throw new StoremeshError('E_INVALID_ARGUMENT', `store ${s.storeId}: not an IANA time zone: ${s.timezone.slice(0, 64)}`, { store: s.storeId })
}

/** The wave as planned: selected devices per store, stores in batches of at most hubBudget. */
export function planWave (input: WavePlanInput): WaveState {
  if (input.stores.length > MAX_WAVE_STORES) throw new StoremeshError('E_INVALID_ARGUMENT', `${input.stores.length} stores, limit ${MAX_WAVE_STORES}`)
  const seen = new Set<string>()
  for (const s of input.stores) checkStore(s, seen)
  const selected = selectStores(input.policyName, input.rollout.percentage.value, input.stores)
  const batches = batchesOf(orderStores(input.policyName, selected.map(s => s.storeId)), input.rollout.hubBudget.value)
  const byId = new Map(input.stores.map(s => [s.storeId, s]))
  const count = new Map(selected.map(s => [s.storeId, s.deviceIds.length]))
  const stores: Record<string, StoreProgress> = {}
  batches.forEach((ids, batch) => {
    for (const id of ids) {
      const s = byId.get(id)!
      stores[id] = {
        batch,
        selected: count.get(id) ?? 0,
        window: storeWindow(s, input.schedule),
        prestageOrdered: false,
        prestaged: false,
        started: false,
        updated: 0,
        rolledBack: 0
      }
    }
  })
  return { waveId: input.waveId, phase: 'planned', batches, batch: -1, stores, batchHealthyAtMs: [], rearmAtRolledBack: 0 }
}

/** Every selected device of the store has an outcome (updated or rolled back). */
export function storeSettled (s: StoreProgress): boolean {
  return s.updated + s.rolledBack >= s.selected
}

export function waveTotals (state: WaveState): { selected: number, updated: number, rolledBack: number } {
  let selected = 0
  let updated = 0
  let rolledBack = 0
  for (const s of Object.values(state.stores)) {
    selected += s.selected
    updated += s.updated
    rolledBack += s.rolledBack
  }
  return { selected, updated, rolledBack }
}
