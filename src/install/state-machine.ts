/**
 * The installer's state machine (DESIGN.md section 8) as one transition table over
 * events, in the manner of Mender's daemon: every move is a row of TRANSITIONS, and
 * the record is persisted after every step so a crash or reboot resumes or falls back.
 *
 *   idle → staged → writing → written → verified → try-boot → booted-trial → committed
 *                                                   └────────────┴──→ rolled-back
 *   staged | writing | written | verified ──error──→ failed   (nothing was switched)
 *
 * `failed` is not in DESIGN.md's list: it is where an install ends that never reached
 * the boot switch (hash mismatch, backend error), so there is nothing to roll back.
 */
import { z } from 'zod'
import { StoremeshError } from '../interface/errors.js'
import { HASH_HEX_RE } from '../interface/ids.js'
import { SLOT_NAMES } from './constants.js'

export const INSTALL_STATES = [
  'idle', 'staged', 'writing', 'written', 'verified',
  'try-boot', 'booted-trial', 'committed', 'rolled-back', 'failed'
] as const
export type InstallState = typeof INSTALL_STATES[number]

export const INSTALL_EVENTS = [
  /** a new install begins: bundle, version, wave and target slot recorded */
  'stage',
  /** the slot write begins (from byte zero) */
  'write-start',
  /** every byte written and fsynced */
  'write-done',
  /** read-back hash and size match */
  'verify-ok',
  /** the bootloader is told to try the new slot on the next boot */
  'arm',
  /** after a reboot the new slot is the one running */
  'boot-new',
  /** after a reboot the old slot is running: the bootloader gave up on the new one */
  'boot-fallback',
  'health-ok',
  'health-failed',
  'watchdog-timeout',
  /** more boot (or write) attempts than the limit */
  'attempts-exceeded',
  /** an operator asked for a rollback (`storemesh device rollback`) */
  'rollback-requested',
  /** anything that went wrong in a step: hash mismatch, backend failure, abort */
  'error',
  /** the process started again and found this state on disk */
  'resume'
] as const
export type InstallEvent = typeof INSTALL_EVENTS[number]

/** States in which the new slot is (about to be) booted and not yet committed. */
export const TRIAL_STATES: readonly InstallState[] = ['try-boot', 'booted-trial']
/** States from which no step follows by itself; a new install may start from them. */
export const TERMINAL_STATES: readonly InstallState[] = ['idle', 'committed', 'rolled-back', 'failed']

type Table = { readonly [S in InstallState]: Partial<Readonly<Record<InstallEvent, InstallState>>> }

const ROLLBACK_ROWS = {
  'boot-fallback': 'rolled-back',
  'watchdog-timeout': 'rolled-back',
  'attempts-exceeded': 'rolled-back',
  'rollback-requested': 'rolled-back',
  error: 'rolled-back'
} as const

/**
 * The whole machine. A (state, event) pair missing here is an illegal move and
 * throws E_INSTALL_TRANSITION: scattered ifs cannot drift from this table.
 * `resume` rows say what a restart does in each state: most re-enter their state
 * and redo its (idempotent) step; `writing` falls back to `staged`, so the slot is
 * written again from byte zero.
 */
export const TRANSITIONS: Table = {
  idle: { stage: 'staged', resume: 'idle' },
  staged: { 'write-start': 'writing', error: 'failed', 'attempts-exceeded': 'failed', resume: 'staged' },
  writing: { 'write-done': 'written', error: 'failed', resume: 'staged' },
  written: { 'verify-ok': 'verified', error: 'failed', resume: 'written' },
  verified: { arm: 'try-boot', error: 'failed', resume: 'verified' },
  'try-boot': { 'boot-new': 'booted-trial', ...ROLLBACK_ROWS, resume: 'try-boot' },
  'booted-trial': { 'health-ok': 'committed', 'health-failed': 'rolled-back', ...ROLLBACK_ROWS, resume: 'booted-trial' },
  // the previous slot is intact until the next install writes it: an operator may still go back
  // boot-fallback: the bootloader gave up on the slot before the commit reached it
  committed: { stage: 'staged', 'rollback-requested': 'rolled-back', 'boot-fallback': 'rolled-back', resume: 'committed' },
  'rolled-back': { stage: 'staged', resume: 'rolled-back' },
  failed: { stage: 'staged', resume: 'failed' }
}

export function nextState (state: InstallState, event: InstallEvent): InstallState {
  const to = TRANSITIONS[state][event]
  if (to === undefined) {
    throw new StoremeshError('E_INSTALL_TRANSITION', `no transition from ${state} on ${event}`, { state, event })
  }
  return to
}

export function canTransition (state: InstallState, event: InstallEvent): boolean {
  return TRANSITIONS[state][event] !== undefined
}

export function isTrialState (state: InstallState): boolean {
  return TRIAL_STATES.includes(state)
}

export function isTerminalState (state: InstallState): boolean {
  return TERMINAL_STATES.includes(state)
}

// ---- the persisted record ------------------------------------------------------

const slotSchema = z.enum(SLOT_NAMES)
const hashSchema = z.string().regex(HASH_HEX_RE)
const boundedString = z.string().max(1024)

export const healthConfigSchema = z.strictObject({
  url: z.string().max(2048).optional(),
  command: z.union([boundedString, z.array(boundedString).max(64)]).optional(),
  budgetMs: z.number().int().nonnegative(),
  intervalMs: z.number().int().positive(),
  attemptTimeoutMs: z.number().int().positive(),
  observeMs: z.number().int().nonnegative(),
  maxConsecutiveFailures: z.number().int().positive(),
  probes: z.array(z.strictObject({
    name: z.string().min(1).max(64),
    run: z.union([boundedString, z.array(boundedString).max(64)]),
    timeoutMs: z.number().int().positive()
  })).max(32)
})

const reasonSchema = z.strictObject({
  /** a gate-like name (`health.timeout`) or an error code (`E_ARTIFACT_HASH_MISMATCH`) */
  code: z.string().max(128),
  detail: z.string().max(2048)
})

const slotContentSchema = z.strictObject({ bundleId: z.string().max(128), version: z.string().max(128) })

export const installRecordSchema = z.strictObject({
  schema: z.literal(1),
  installId: z.string().min(1).max(64),
  state: z.enum(INSTALL_STATES),
  /** transitions taken by this install, monotonic: the journal's dedup key */
  step: z.number().int().nonnegative(),
  /** the state's step (bootloader effects, write, check) has finished */
  settled: z.boolean(),
  lastEvent: z.enum(INSTALL_EVENTS),
  bundleId: z.string().max(128),
  version: z.string().max(128),
  waveId: z.string().max(128),
  targetSlot: slotSchema,
  previousSlot: slotSchema,
  expected: z.strictObject({ blake3: hashSchema, sizeBytes: z.number().int().nonnegative() }),
  health: healthConfigSchema,
  attempts: z.strictObject({ write: z.number().int().nonnegative(), boot: z.number().int().nonnegative() }),
  limits: z.strictObject({ maxBootAttempts: z.number().int().positive(), maxWriteAttempts: z.number().int().positive() }),
  createdAt: z.string().max(64),
  updatedAt: z.string().max(64),
  stateEnteredAt: z.string().max(64),
  /** ms since the epoch when the first trial boot was armed; the watchdog counts from here */
  trialStartedAtMs: z.number().int().optional(),
  watchdogMs: z.number().int().positive(),
  reason: reasonSchema.optional(),
  /** what each slot holds as far as this device knows (last-known-good for rollback) */
  slots: z.strictObject({ a: slotContentSchema.optional(), b: slotContentSchema.optional() }),
  /** bundle ids rolled back on this device, newest last, bounded */
  rolledBack: z.array(z.string().max(128)).max(64)
})

export type InstallRecord = z.infer<typeof installRecordSchema>
export type HealthCheckConfig = z.infer<typeof healthConfigSchema>
export type InstallReason = z.infer<typeof reasonSchema>

/**
 * The record after one event: a new state, the step counter moved on, not yet
 * settled. Pure: the caller persists it before doing the new state's work.
 */
export function applyEvent (
  record: InstallRecord,
  event: InstallEvent,
  nowMs: number,
  patch: Partial<InstallRecord> = {}
): InstallRecord {
  const to = nextState(record.state, event)
  const at = new Date(nowMs).toISOString()
  return {
    ...record,
    ...patch,
    state: to,
    step: record.step + 1,
    settled: false,
    lastEvent: event,
    updatedAt: at,
    stateEnteredAt: to === record.state ? record.stateEnteredAt : at
  }
}
