/**
 * Condensation: from a device's journal entries to its one state per wave
 * (protocols/report/SPEC.md "Condensation"). Pure functions, no I/O.
 *
 * Each entry that says something about a wave is a *contribution* of one of two kinds:
 *   install   an installer transition or outcome (`to` = the installer state)
 *   decision  a policy or installer decision (`data.verdict`, the deciding gate)
 * A record keeps, per kind, only the contribution with the highest journal seq, and the
 * condensed state is a function of those two alone:
 *   the install contribution, when it is terminal (updated, rolled-back, failed) or newer
 *   than the decision; else the decision.
 * So the result does not depend on the order entries arrive in, and applying an entry
 * twice changes nothing: duplicates and reorderings cannot move a count.
 */
import type { Decision, JournalEntry } from '../interface/types.js'
import { GATE_RE } from './report/constants.js'
import type { DeviceWaveState } from './report/messages.js'

export interface Contribution {
  kind: 'install' | 'decision'
  /** the device journal seq it came from */
  seq: number
  state: DeviceWaveState
  gate?: string
}

/** What the hub keeps per (wave, device). */
export interface DeviceWaveRecord {
  install?: Contribution
  decision?: Contribution
  state: DeviceWaveState
  gate?: string
  /** highest journal seq behind the record */
  version: number
  updatedAtMs: number
  /** the outbox entry that carries this state up and is not acked yet */
  outboxSeq?: number
}

/** Installer states (src/install/state-machine.ts) and what they mean for a wave. */
const INSTALL_STATE_MAP: Readonly<Record<string, DeviceWaveState>> = {
  staged: 'pending',
  writing: 'pending',
  written: 'pending',
  verified: 'pending',
  'try-boot': 'pending',
  'booted-trial': 'pending',
  committed: 'updated',
  'rolled-back': 'rolled-back',
  failed: 'failed'
}

const TERMINAL: ReadonlySet<DeviceWaveState> = new Set(['updated', 'rolled-back', 'failed'])

/** Gate names the hub records when an entry names none it can use. */
export const UNKNOWN_GATE = 'unknown'

/**
 * Gates that only say the device is waiting its turn (its chunks are still arriving, or
 * the store's install slots are taken): a device deferred by these alone is pending.
 */
const WAITING_GATES: ReadonlySet<string> = new Set(['bundle.complete', 'bundle.verified', 'hub.lease'])

/** The store hub's hold for a wave whose gate it has not heard yet (lease/wave-gated.ts): a wait, not a block. */
const STORE_PENDING_HOLD = 'wave.store-pending'

function gateName (...candidates: unknown[]): string {
  for (const c of candidates) if (typeof c === 'string' && GATE_RE.test(c)) return c
  return UNKNOWN_GATE
}

/**
 * The contribution of one journal entry, or undefined when it says nothing about a
 * wave's state (notes, errors, health samples, entries without a wave).
 */
export function classify (entry: JournalEntry): Contribution | undefined {
  if (entry.waveId === undefined) return undefined
  const { seq } = entry
  if (entry.kind === 'transition' || entry.kind === 'outcome') {
    const state = entry.to !== undefined ? INSTALL_STATE_MAP[entry.to] : undefined
    if (state === undefined) return undefined
    return state === 'failed'
      ? { kind: 'install', seq, state, gate: gateName(entry.reason) }
      : { kind: 'install', seq, state }
  }
  if (entry.kind !== 'decision') return undefined
  const verdict = entry.data?.verdict
  switch (verdict) {
    case 'defer':
    case 'refuse': {
      // waiting only for its chunks or a lease is pending; any other deciding gate blocks, and names the block
      const gates = typeof entry.data?.gates === 'string' ? entry.data.gates.split(',').filter(g => g !== '') : []
      const blocking = gates.filter(g => !WAITING_GATES.has(g))
      if (gates.length > 0 && blocking.length === 0) {
        // a lease refused because the hub holds the wave (paused, halted) blocks; a store
        // still waiting for its gate to be heard (`wave.store-pending`) only waits
        const hold = entry.data?.hold
        if (typeof hold === 'string' && hold !== STORE_PENDING_HOLD && GATE_RE.test(hold)) return { kind: 'decision', seq, state: 'blocked', gate: hold }
        return { kind: 'decision', seq, state: 'pending' }
      }
      return { kind: 'decision', seq, state: 'blocked', gate: gateName(blocking[0], entry.data?.gate, entry.reason) }
    }
    case 'install':
    case 'rollback':
      return { kind: 'decision', seq, state: 'pending' }
    case 'idle':
      // idle because this version already runs: the device is updated
      return entry.data?.gate === 'version.monotonic' || entry.reason === 'version.monotonic' || entry.reason === 'already-installed'
        ? { kind: 'decision', seq, state: 'updated' }
        : undefined
    case undefined:
      // the installer's own decisions (src/install/installer.ts) carry no verdict
      if (entry.reason === 'already-installed') return { kind: 'decision', seq, state: 'updated' }
      if (entry.reason === 'previously-rolled-back') return { kind: 'decision', seq, state: 'blocked', gate: entry.reason }
      return undefined
    default:
      return undefined
  }
}

/**
 * The journal event a device writes for a policy decision, in the form classify()
 * reads: `data.verdict`, `data.gate` (the first deciding gate) and `data.gates` (all of
 * them, comma separated). The device role appends it when the verdict or the deciding
 * gates change, not on every re-evaluation.
 */
export function decisionJournalEvent (
  decision: Decision, ids: { waveId?: string, bundleId?: string, version?: string }
): Omit<JournalEntry, 'seq' | 'at'> {
  const deciding = decision.gates.filter(g => !g.ok && g.effect === decision.verdict)
  const first = deciding[0]
  const detail = deciding.length === 0
    ? `${decision.verdict}: all ${decision.gates.length} gates pass`
    : `${decision.verdict}: ${deciding.map(g => `${g.gate} ${g.detail}`).join('; ')}`
  return {
    kind: 'decision',
    ...(ids.waveId !== undefined ? { waveId: ids.waveId } : {}),
    ...(ids.bundleId !== undefined ? { bundleId: ids.bundleId } : {}),
    ...(ids.version !== undefined ? { version: ids.version } : {}),
    reason: first?.gate ?? decision.verdict,
    detail: detail.slice(0, 1024),
    data: {
      verdict: decision.verdict,
      ...(first !== undefined ? { gate: first.gate } : {}),
      gates: deciding.map(g => g.gate).join(',').slice(0, 1024)
    }
  }
}

function condensed (install: Contribution | undefined, decision: Contribution | undefined): Contribution | undefined {
  if (install === undefined) return decision
  if (decision === undefined || TERMINAL.has(install.state) || install.seq > decision.seq) return install
  return decision
}

/**
 * Folds one contribution into a record. Returns the new record and whether the
 * condensed state (state or gate) changed; an older or repeated contribution returns
 * the record unchanged.
 */
export function mergeContribution (
  record: DeviceWaveRecord | undefined, c: Contribution, nowMs: number
): { record: DeviceWaveRecord, changed: boolean } {
  const slot = c.kind
  const current = record?.[slot]
  if (record !== undefined && current !== undefined && current.seq >= c.seq) return { record, changed: false }
  const install = slot === 'install' ? c : record?.install
  const decision = slot === 'decision' ? c : record?.decision
  const winner = condensed(install, decision)!
  const next: DeviceWaveRecord = {
    ...(install !== undefined ? { install } : {}),
    ...(decision !== undefined ? { decision } : {}),
    state: winner.state,
    ...(winner.gate !== undefined ? { gate: winner.gate } : {}),
    version: Math.max(record?.version ?? 0, c.seq),
    updatedAtMs: nowMs,
    ...(record?.outboxSeq !== undefined ? { outboxSeq: record.outboxSeq } : {})
  }
  const changed = record === undefined || record.state !== next.state || record.gate !== next.gate
  return { record: next, changed }
}

/** Devices per state in one wave; `blockedByGate` splits `blocked`, `failedByReason` splits `failed`. */
export interface WaveCounts {
  updated: number
  rolledBack: number
  failed: number
  pending: number
  blocked: number
  /** every device with a state in this wave */
  total: number
  blockedByGate: Record<string, number>
  failedByReason: Record<string, number>
}

export function emptyCounts (): WaveCounts {
  return { updated: 0, rolledBack: 0, failed: 0, pending: 0, blocked: 0, total: 0, blockedByGate: {}, failedByReason: {} }
}

const FIELD: Readonly<Record<DeviceWaveState, 'updated' | 'rolledBack' | 'failed' | 'pending' | 'blocked'>> = {
  updated: 'updated', 'rolled-back': 'rolledBack', failed: 'failed', pending: 'pending', blocked: 'blocked'
}

function bump (map: Record<string, number>, key: string, delta: number): void {
  const n = (map[key] ?? 0) + delta
  if (n === 0) delete map[key]
  else map[key] = n
}

/** Adds (`delta` 1) or removes (`delta` -1) one device in `state` to the counts, in place. */
export function countDevice (counts: WaveCounts, state: DeviceWaveState, gate: string | undefined, delta: 1 | -1): void {
  counts[FIELD[state]] += delta
  counts.total += delta
  if (state === 'blocked') bump(counts.blockedByGate, gate ?? UNKNOWN_GATE, delta)
  if (state === 'failed') bump(counts.failedByReason, gate ?? UNKNOWN_GATE, delta)
}

/** Moves one device from its old state (if any) to its new one, in place. */
export function moveDevice (
  counts: WaveCounts, from: { state: DeviceWaveState, gate?: string } | undefined, to: { state: DeviceWaveState, gate?: string }
): void {
  if (from !== undefined) countDevice(counts, from.state, from.gate, -1)
  countDevice(counts, to.state, to.gate, 1)
}

/**
 * The rollback ratio of a wave: rolledBack / (updated + rolledBack), the share of
 * devices that finished a trial of the new version and went back. Devices still
 * pending, blocked by a gate, or failed before the boot switch never ran the new
 * version, so they are in neither term. Undefined while no device has an outcome.
 */
export function rollbackRatio (counts: Pick<WaveCounts, 'updated' | 'rolledBack'>): number | undefined {
  const outcomes = counts.updated + counts.rolledBack
  return outcomes === 0 ? undefined : counts.rolledBack / outcomes
}
