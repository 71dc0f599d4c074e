/**
 * The fleet wave state machine (docs/fleet-waves.md has the table and the diagram):
 *
 *   planned ─start─▶ prestaging ─batch 0 prestaged─▶ installing(k) ─batch k healthy─▶ waiting
 *      waiting ─batchDelayMinutes passed─▶ installing(k+1) … last batch healthy ─▶ done
 *   any of planned/prestaging/installing/waiting ─pause─▶ paused ─resume─▶ where it was
 *   any but done ─halt (operator) or rollback ratio (auto)─▶ halted ─resume─▶ where it was
 *
 * transition(state, event, nowMs, rules) → { state, actions } is pure: the input state is
 * not modified, the clock is a parameter, and the actions are the orders the control
 * plane sends (prestage a store, start a store, pause / resume / halt every store of the
 * wave). An auto-halt never clears by itself: only a `resume` event leaves `halted`.
 * Repeating an operator event (start, pause, halt, resume) in the state it leads to
 * changes nothing and sends nothing, so orders are idempotent.
 */
import { StoremeshError } from '../../interface/errors.js'
import { MAX_REASON_CHARS } from './constants.js'
import type { EffectiveRollout } from './effective-rollout.js'
import { haltVerdict } from './halt.js'
import { storeSettled, waveTotals, type ResumablePhase, type StoreProgress, type WaveState } from './plan.js'
import { nextBatchAtMs, prestageAtMs } from './schedule.js'

/** The figures the machine reads on every step (a tightened flag may change them mid-wave). */
export interface WaveRules {
  batchDelayMinutes: number
  prestageHours: number
  haltOnRollbackRatio: number
  minOutcomesForHalt: number
}

export function waveRulesOf (r: EffectiveRollout): WaveRules {
  return {
    batchDelayMinutes: r.batchDelayMinutes.value,
    prestageHours: r.prestageHours.value,
    haltOnRollbackRatio: r.haltOnRollbackRatio.value,
    minOutcomesForHalt: r.minOutcomesForHalt.value
  }
}

export interface StoreOutcomes {
  storeId: string
  /** selected devices of the store updated and healthy, as the ledger counts them now */
  updated: number
  rolledBack: number
}

export type WaveEvent =
  | { type: 'start' }
  /** time passed: due pre-staging and batch starts */
  | { type: 'tick' }
  /** a store hub reported the bundle complete and verified */
  | { type: 'prestaged', storeId: string }
  /** several did, since the last step (the same as one `prestaged` each, in one copy of the state) */
  | { type: 'prestaged-stores', storeIds: readonly string[] }
  /** outcome counts of some stores (absolute, not increments), one event per report batch */
  | { type: 'outcomes', stores: readonly StoreOutcomes[] }
  | { type: 'pause', reason: string }
  | { type: 'halt', reason: string }
  | { type: 'resume', reason?: string }

export type WaveAction =
  | { type: 'prestage', storeId: string }
  | { type: 'start-store', storeId: string, batch: number }
  | { type: 'pause', storeIds: string[], reason: string }
  | { type: 'halt', storeIds: string[], reason: string, source: 'auto' | 'operator' }
  | { type: 'resume', storeIds: string[] }

export interface WaveTransition {
  state: WaveState
  actions: WaveAction[]
  /** false: the event changed nothing (a repeat, or not applicable in this phase) */
  changed: boolean
  /** why nothing changed, or what happened, for the order's answer */
  note?: string
}

/** A copy deep enough that edits of the copy never reach the input. */
function copyState (s: WaveState): WaveState {
  const stores: Record<string, StoreProgress> = {}
  for (const [id, p] of Object.entries(s.stores)) stores[id] = { ...p }
  return { ...s, stores, batchHealthyAtMs: [...s.batchHealthyAtMs] }
}

function allStoreIds (s: WaveState): string[] {
  return s.batches.flat()
}

function reasonOf (reason: string): string {
  return reason.slice(0, MAX_REASON_CHARS)
}

function storeOf (s: WaveState, storeId: string): StoreProgress {
  const p = Object.hasOwn(s.stores, storeId) ? s.stores[storeId] : undefined
  if (p === undefined) throw new StoremeshError('E_WAVE_UNKNOWN_STORE', `store ${storeId.slice(0, 256)} is not in wave ${s.waveId}`, { wave: s.waveId, store: storeId.slice(0, 256) })
  return p
}

function checkCount (n: number, what: string, storeId: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new StoremeshError('E_INVALID_ARGUMENT', `${what} of store ${storeId} must be a non-negative integer, got ${n}`, { store: storeId })
}

/** Starts batch `k`: its stores are told to install (and to pull, if their pre-staging was not ordered yet). */
function startBatch (s: WaveState, k: number, out: WaveAction[]): void {
  s.phase = 'installing'
  s.batch = k
  delete s.nextBatchAtMs
  for (const id of s.batches[k] ?? []) {
    const p = s.stores[id]!
    if (!p.prestageOrdered) {
      p.prestageOrdered = true
      out.push({ type: 'prestage', storeId: id })
    }
    p.started = true
    out.push({ type: 'start-store', storeId: id, batch: k })
  }
}

/** Moves an active wave on as far as `nowMs` allows. */
function advance (s: WaveState, nowMs: number, rules: WaveRules, out: WaveAction[]): void {
  for (const id of allStoreIds(s)) {
    const p = s.stores[id]!
    if (!p.prestageOrdered && p.prestageAtMs !== undefined && p.prestageAtMs <= nowMs) {
      p.prestageOrdered = true
      out.push({ type: 'prestage', storeId: id })
    }
  }
  // each pass starts or finishes one batch, so batches + 1 passes always suffice
  for (let pass = 0; pass <= s.batches.length; pass++) {
    if (s.phase === 'prestaging') {
      if (s.batches.length === 0) { finish(s, nowMs); return }
      if (!(s.batches[0] ?? []).every(id => s.stores[id]!.prestaged)) return
      startBatch(s, 0, out)
    } else if (s.phase === 'installing') {
      if (!(s.batches[s.batch] ?? []).every(id => storeSettled(s.stores[id]!))) return
      // settled is not healthy while the wave's rollbacks are over the limit (too few outcomes to halt yet):
      // the next batch would install what may be a bad build (the demo's wave 145 did, at one device reported)
      if (!rollbacksWithinLimit(s, rules)) return
      s.batchHealthyAtMs[s.batch] = nowMs
      if (s.batch >= s.batches.length - 1) { finish(s, nowMs); return }
      s.phase = 'waiting'
      s.nextBatchAtMs = nextBatchAtMs(nowMs, rules.batchDelayMinutes)
    } else if (s.phase === 'waiting') {
      if (s.nextBatchAtMs === undefined || nowMs < s.nextBatchAtMs) return
      startBatch(s, s.batch + 1, out)
    } else {
      return
    }
  }
}

/**
 * The wave's rollback ratio is within haltOnRollbackRatio, or the operator accepted the
 * rollbacks seen so far by resuming a halt (rearmAtRolledBack). A batch whose stores all
 * settled is healthy only then; else it stays installing until more outcomes halt the
 * wave or bring the ratio back under the limit, or an operator halts and resumes it.
 */
export function rollbacksWithinLimit (s: WaveState, rules: Pick<WaveRules, 'haltOnRollbackRatio'>): boolean {
  const t = waveTotals(s)
  const outcomes = t.updated + t.rolledBack
  if (outcomes === 0 || t.rolledBack <= s.rearmAtRolledBack) return true
  return t.rolledBack / outcomes <= rules.haltOnRollbackRatio
}

function finish (s: WaveState, nowMs: number): void {
  s.phase = 'done'
  s.doneAtMs = nowMs
  delete s.nextBatchAtMs
}

function isActive (s: WaveState): boolean {
  return s.phase === 'prestaging' || s.phase === 'installing' || s.phase === 'waiting'
}

/** The phase a pause or halt remembers. */
function resumable (s: WaveState): ResumablePhase | undefined {
  if (s.phase === 'planned' || s.phase === 'prestaging' || s.phase === 'installing' || s.phase === 'waiting') return s.phase
  return s.resumeTo
}

function haltNow (s: WaveState, halt: { reason: string, source: 'auto' | 'operator' }, nowMs: number, out: WaveAction[]): void {
  s.resumeTo = resumable(s) ?? 'planned'
  s.phase = 'halted'
  s.halt = { reason: reasonOf(halt.reason), source: halt.source, atMs: nowMs }
  delete s.pause
  out.push({ type: 'halt', storeIds: allStoreIds(s), reason: s.halt.reason, source: halt.source })
}

function unchanged (state: WaveState, note: string): WaveTransition {
  return { state, actions: [], changed: false, note }
}

/** One step of the wave; throws E_WAVE_UNKNOWN_STORE / E_INVALID_ARGUMENT and leaves the input alone on bad input. */
export function transition (state: WaveState, event: WaveEvent, nowMs: number, rules: WaveRules): WaveTransition {
  const out: WaveAction[] = []
  switch (event.type) {
    case 'start': {
      if (state.phase !== 'planned') return unchanged(state, `wave ${state.waveId} is ${state.phase}, not planned: already started`)
      const s = copyState(state)
      s.phase = 'prestaging'
      s.startedAtMs = nowMs
      for (const id of allStoreIds(s)) {
        const p = s.stores[id]!
        p.prestageAtMs = prestageAtMs(p.window, rules.prestageHours, nowMs)
      }
      advance(s, nowMs, rules, out)
      return { state: s, actions: out, changed: true }
    }
    case 'tick': {
      if (!isActive(state)) return unchanged(state, `wave ${state.waveId} is ${state.phase}: time moves nothing`)
      const s = copyState(state)
      advance(s, nowMs, rules, out)
      return { state: s, actions: out, changed: out.length > 0 || s.phase !== state.phase }
    }
    case 'prestaged': {
      const known = storeOf(state, event.storeId)
      if (known.prestaged) return unchanged(state, `store ${event.storeId} already reported pre-staged`)
      const s = copyState(state)
      const p = s.stores[event.storeId]!
      p.prestaged = true
      p.prestageOrdered = true
      if (isActive(s)) advance(s, nowMs, rules, out)
      return { state: s, actions: out, changed: true }
    }
    case 'prestaged-stores': {
      // validate every id before touching anything, as for outcomes; a 10,000-store
      // fleet reports 10,000 of these, and one copy per store made that quadratic
      const fresh = event.storeIds.filter(id => !storeOf(state, id).prestaged)
      if (fresh.length === 0) return unchanged(state, 'every store already reported pre-staged')
      const s = copyState(state)
      for (const id of fresh) {
        const p = s.stores[id]!
        p.prestaged = true
        p.prestageOrdered = true
      }
      if (isActive(s)) advance(s, nowMs, rules, out)
      return { state: s, actions: out, changed: true }
    }
    case 'outcomes': {
      // validate every row before touching anything: a bad batch leaves the wave as it was
      for (const o of event.stores) {
        const p = storeOf(state, o.storeId)
        checkCount(o.updated, 'updated', o.storeId)
        checkCount(o.rolledBack, 'rolledBack', o.storeId)
        if (o.updated + o.rolledBack > p.selected) {
          throw new StoremeshError('E_INVALID_ARGUMENT', `store ${o.storeId} reports ${o.updated + o.rolledBack} outcomes for ${p.selected} selected devices`, { store: o.storeId })
        }
      }
      const s = copyState(state)
      for (const o of event.stores) {
        const p = s.stores[o.storeId]!
        p.updated = o.updated
        p.rolledBack = o.rolledBack
      }
      if (s.phase !== 'planned' && s.phase !== 'done' && s.phase !== 'halted') {
        const v = haltVerdict(waveTotals(s), rules, s.rearmAtRolledBack)
        if (v.halt) {
          haltNow(s, { reason: v.detail, source: 'auto' }, nowMs, out)
          return { state: s, actions: out, changed: true, note: `halted: ${v.detail}` }
        }
      }
      if (isActive(s)) advance(s, nowMs, rules, out)
      return { state: s, actions: out, changed: true }
    }
    case 'pause': {
      if (state.phase === 'paused') return unchanged(state, `wave ${state.waveId} is already paused`)
      if (state.phase === 'halted') return unchanged(state, `wave ${state.waveId} is halted, which holds more than a pause; resume it first`)
      if (state.phase === 'done') return unchanged(state, `wave ${state.waveId} is done`)
      const s = copyState(state)
      s.resumeTo = resumable(s)
      s.phase = 'paused'
      s.pause = { reason: reasonOf(event.reason), atMs: nowMs }
      out.push({ type: 'pause', storeIds: allStoreIds(s), reason: s.pause.reason })
      return { state: s, actions: out, changed: true }
    }
    case 'halt': {
      if (state.phase === 'halted') return unchanged(state, `wave ${state.waveId} is already halted (${state.halt?.source ?? 'operator'}: ${state.halt?.reason ?? ''})`)
      if (state.phase === 'done') return unchanged(state, `wave ${state.waveId} is done`)
      const s = copyState(state)
      haltNow(s, { reason: event.reason, source: 'operator' }, nowMs, out)
      return { state: s, actions: out, changed: true }
    }
    case 'resume': {
      if (state.phase !== 'paused' && state.phase !== 'halted') return unchanged(state, `wave ${state.waveId} is ${state.phase}: nothing to resume`)
      const s = copyState(state)
      const was = s.phase
      s.phase = s.resumeTo ?? 'planned'
      delete s.resumeTo
      delete s.pause
      delete s.halt
      // the operator accepts the rollbacks seen so far; the next one over the ratio halts again
      if (was === 'halted') s.rearmAtRolledBack = waveTotals(s).rolledBack
      if (s.phase !== 'planned') out.push({ type: 'resume', storeIds: allStoreIds(s) })
      if (isActive(s)) advance(s, nowMs, rules, out)
      return { state: s, actions: out, changed: true }
    }
  }
}

/** The earliest instant at which a `tick` would do something; undefined: only an event moves the wave. */
export function nextWakeMs (state: WaveState): number | undefined {
  if (!isActive(state)) return undefined
  let wake = state.phase === 'waiting' ? state.nextBatchAtMs : undefined
  for (const p of Object.values(state.stores)) {
    if (!p.prestageOrdered && p.prestageAtMs !== undefined && (wake === undefined || p.prestageAtMs < wake)) wake = p.prestageAtMs
  }
  return wake
}
