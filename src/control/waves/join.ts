/**
 * Stores join a fleet wave as their hubs report devices of it (issue 16: the stores of
 * a wave are the hubs whose devices reported for it). Pure, like the state machine:
 *   - before the wave starts (`planned`), the plan is redrawn with every store seen,
 *     so the batches are exactly planWave()'s;
 *   - after it started, a new store goes into the last batch when that batch has not
 *     started and has room under hubBudget, else into a new batch at the end, so a
 *     batch that started never changes and a late store never installs early;
 *   - a store already planned only grows its selected count (a device that reported
 *     later): a count never shrinks, so a store that was healthy stays healthy;
 *   - a `done` wave takes no store (its stores are no longer held).
 * Devices are selected with the wave's own hash (selection.ts), so a device the plan
 * counts is one whose `wave.admitted` gate passes.
 */
import type { StoreProgress, WaveState } from './plan.js'
import { prestageAtMs, storeWindow } from './schedule.js'
import { batchesOf, orderStores, selectDevices, type StoreDevices } from './selection.js'
import type { WaveRules } from './state-machine.js'

/** What the plan was drawn from: the signed policy's figures as applied. */
export interface WaveSelection {
  policyName: string
  percentage: number
  /** stores installing at once; absent: one batch of all */
  hubBudget?: number
  schedule: { maintenanceWindow?: string, timezone: string }
}

export interface JoinResult {
  state: WaveState
  /** stores that joined now */
  added: string[]
  /** stores whose selected count grew */
  grown: string[]
}

function newProgress (batch: number, selected: number, sel: WaveSelection): StoreProgress {
  return { batch, selected, window: storeWindow({}, sel.schedule), prestageOrdered: false, prestaged: false, started: false, updated: 0, rolledBack: 0 }
}

function batchStarted (s: WaveState, k: number): boolean {
  return (s.batches[k] ?? []).some(id => s.stores[id]?.started === true)
}

export function joinStores (state: WaveState, seen: readonly StoreDevices[], sel: WaveSelection, nowMs: number, rules: Pick<WaveRules, 'prestageHours'>): JoinResult {
  const added: string[] = []
  const grown: string[] = []
  if (state.phase === 'done') return { state, added, grown }
  const stores: Record<string, StoreProgress> = {}
  for (const [id, p] of Object.entries(state.stores)) stores[id] = { ...p }
  const batches = state.batches.map(b => [...b])
  const fresh: Array<{ id: string, selected: number }> = []
  for (const s of seen) {
    const selected = selectDevices(sel.policyName, sel.percentage, s.deviceIds).length
    const p = Object.hasOwn(stores, s.storeId) ? stores[s.storeId] : undefined
    if (p !== undefined) {
      if (selected > p.selected) {
        p.selected = selected
        grown.push(s.storeId)
      }
    } else if (selected > 0) {
      fresh.push({ id: s.storeId, selected })
    }
  }
  if (fresh.length === 0 && grown.length === 0) return { state, added, grown }
  const next: WaveState = { ...state, stores, batches, batchHealthyAtMs: [...state.batchHealthyAtMs] }
  if (state.phase === 'planned') {
    for (const f of fresh) stores[f.id] = newProgress(0, f.selected, sel)
    next.batches = batchesOf(orderStores(sel.policyName, Object.keys(stores)), sel.hubBudget)
    next.batches.forEach((ids, k) => { for (const id of ids) stores[id]!.batch = k })
    added.push(...fresh.map(f => f.id))
    return { state: next, added, grown }
  }
  const budget = sel.hubBudget === undefined ? Number.POSITIVE_INFINITY : Math.max(1, Math.floor(sel.hubBudget))
  for (const id of orderStores(sel.policyName, fresh.map(f => f.id))) {
    const last = batches.length - 1
    const k = last >= 0 && !batchStarted(next, last) && batches[last]!.length < budget ? last : batches.push([]) - 1
    batches[k]!.push(id)
    const p = newProgress(k, fresh.find(f => f.id === id)!.selected, sel)
    // the wave has started: the store's pre-staging time counts from now
    p.prestageAtMs = prestageAtMs(p.window, rules.prestageHours, nowMs)
    stores[id] = p
    added.push(id)
  }
  return { state: next, added, grown }
}
