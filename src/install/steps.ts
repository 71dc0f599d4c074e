/**
 * The work done in each installer state, one function per state (the table in
 * state-machine.ts says where each event leads; these say which event a state
 * produces). Every step is idempotent: after a crash the same step runs again.
 */
import { isStoremeshError, toStoremeshError } from '../interface/errors.js'
import type { BootBackend } from './backend.js'
import { runHealthTrial, type HealthDeps } from './health.js'
import { canTransition, type InstallEvent, type InstallReason, type InstallRecord, type InstallState } from './state-machine.js'
import { verifySlot, writeImage } from './writer.js'

export type ImageSource = () => AsyncIterable<Uint8Array>

export interface StepContext {
  backend: BootBackend
  now: () => number
  healthDeps: HealthDeps
  image?: ImageSource
  signal?: AbortSignal
  /** persists a change that is not a transition (an attempt counter before a reboot) */
  savePatch: (patch: Partial<InstallRecord>) => Promise<InstallRecord>
  onProgress?: (bytes: number) => void
  onHealthCheck?: (r: { ok: boolean, detail: string }) => void
}

export type StepResult =
  | { kind: 'event', event: InstallEvent, patch?: Partial<InstallRecord>, reason?: InstallReason }
  /** the state's effects are done: a terminal state is settled */
  | { kind: 'settle', patch?: Partial<InstallRecord> }
  /** run this state's step again (after a simulated reboot) */
  | { kind: 'again' }
  /** stop driving; the state stays on disk for the next start */
  | { kind: 'stop', why: 'rebooting' | 'aborted' | 'error', reason: InstallReason }

type Step = (rec: InstallRecord, ctx: StepContext) => Promise<StepResult>

const opt = (signal?: AbortSignal): { signal?: AbortSignal } => signal !== undefined ? { signal } : {}

export function reasonOf (err: unknown): InstallReason {
  const e = toStoremeshError(err)
  return { code: e.code, detail: e.message.slice(0, 2000) }
}

const event = (e: InstallEvent, reason?: InstallReason, patch?: Partial<InstallRecord>): StepResult =>
  ({ kind: 'event', event: e, ...(reason !== undefined ? { reason } : {}), ...(patch !== undefined ? { patch } : {}) })

function watchdogExpired (rec: InstallRecord, now: number): boolean {
  return rec.trialStartedAtMs !== undefined && now > rec.trialStartedAtMs + rec.watchdogMs
}

const watchdogReason = (rec: InstallRecord): InstallReason =>
  ({ code: 'watchdog', detail: `trial not finished within ${rec.watchdogMs} ms of arming` })

const STEPS: Record<InstallState, Step> = {
  idle: async () => ({ kind: 'settle' }),

  staged: async (rec, ctx) => {
    if (rec.attempts.write >= rec.limits.maxWriteAttempts) {
      return event('attempts-exceeded', { code: 'write.attempts', detail: `slot write started ${rec.attempts.write} times; limit ${rec.limits.maxWriteAttempts}` })
    }
    if (ctx.image === undefined) {
      return event('error', { code: 'E_INSTALL_FAILED', detail: 'no image source to (re)write the slot; the next install run starts again' })
    }
    const inactive = await ctx.backend.inactiveSlot(opt(ctx.signal))
    if (inactive !== rec.targetSlot) {
      return event('error', { code: 'E_ACTIVE_SLOT_WRITE', detail: `target slot ${rec.targetSlot} is no longer the inactive slot` })
    }
    return event('write-start', undefined, { attempts: { ...rec.attempts, write: rec.attempts.write + 1 } })
  },

  writing: async (rec, ctx) => {
    if (ctx.image === undefined) return event('error', { code: 'E_INSTALL_FAILED', detail: 'no image source' })
    await writeImage({
      backend: ctx.backend,
      slot: rec.targetSlot,
      source: ctx.image(),
      expected: rec.expected,
      ...opt(ctx.signal),
      ...(ctx.onProgress !== undefined ? { onProgress: ctx.onProgress } : {})
    })
    return event('write-done')
  },

  written: async (rec, ctx) => {
    await verifySlot(ctx.backend, rec.targetSlot, rec.expected, ctx.signal)
    return event('verify-ok')
  },

  verified: async (rec, ctx) => {
    await ctx.backend.setNextBoot(rec.targetSlot, { tryBoot: true }, opt(ctx.signal))
    return event('arm', undefined, { trialStartedAtMs: rec.trialStartedAtMs ?? ctx.now(), attempts: { ...rec.attempts, boot: 0 } })
  },

  'try-boot': async (rec, ctx) => {
    const st = await ctx.backend.status(opt(ctx.signal))
    if (st.booted === rec.targetSlot) return event('boot-new')
    if (rec.attempts.boot > 0 && (st.primary !== rec.targetSlot || st.attempts?.pending === false)) {
      return event('boot-fallback', { code: 'boot.fallback', detail: `the bootloader booted slot ${st.booted}: it gave up on slot ${rec.targetSlot}` })
    }
    if (watchdogExpired(rec, ctx.now())) return event('watchdog-timeout', watchdogReason(rec))
    if (rec.attempts.boot >= rec.limits.maxBootAttempts) {
      return event('attempts-exceeded', { code: 'boot.attempts', detail: `slot ${rec.targetSlot} did not come up in ${rec.attempts.boot} boots` })
    }
    // count the boot before it happens: a real reboot never returns here
    await ctx.savePatch({ attempts: { ...rec.attempts, boot: rec.attempts.boot + 1 } })
    const r = await ctx.backend.reboot(opt(ctx.signal))
    return r === 'pending'
      ? { kind: 'stop', why: 'rebooting', reason: { code: 'rebooting', detail: `rebooting into slot ${rec.targetSlot} on trial` } }
      : { kind: 'again' }
  },

  'booted-trial': async (rec, ctx) => {
    const booted = await ctx.backend.activeSlot(opt(ctx.signal))
    if (booted !== rec.targetSlot) {
      return event('boot-fallback', { code: 'boot.fallback', detail: `slot ${booted} is running, not the trial slot ${rec.targetSlot}` })
    }
    if (rec.attempts.boot > rec.limits.maxBootAttempts) {
      return event('attempts-exceeded', { code: 'boot.attempts', detail: `trial of slot ${rec.targetSlot} restarted ${rec.attempts.boot} times; limit ${rec.limits.maxBootAttempts}` })
    }
    if (watchdogExpired(rec, ctx.now())) return event('watchdog-timeout', watchdogReason(rec))
    const deadlineMs = rec.trialStartedAtMs !== undefined ? rec.trialStartedAtMs + rec.watchdogMs : undefined
    const v = await runHealthTrial(rec.health, ctx.healthDeps, {
      ...opt(ctx.signal),
      ...(deadlineMs !== undefined ? { deadlineMs } : {}),
      ...(ctx.onHealthCheck !== undefined ? { onCheck: ctx.onHealthCheck } : {})
    })
    if (ctx.signal?.aborted === true) return { kind: 'stop', why: 'aborted', reason: { code: 'E_ABORTED', detail: 'health trial aborted' } }
    if (v.ok) return event('health-ok', { code: 'health.ok', detail: v.detail })
    if (v.reason === 'watchdog') return event('watchdog-timeout', { code: 'watchdog', detail: v.detail })
    return event('health-failed', { code: v.reason, detail: v.detail })
  },

  committed: async (rec, ctx) => {
    const booted = await ctx.backend.activeSlot(opt(ctx.signal))
    if (booted !== rec.targetSlot) {
      return event('boot-fallback', { code: 'boot.fallback', detail: `slot ${booted} is running before slot ${rec.targetSlot} was marked good` })
    }
    await ctx.backend.markGood(rec.targetSlot, opt(ctx.signal))
    return { kind: 'settle', patch: { slots: { ...rec.slots, [rec.targetSlot]: { bundleId: rec.bundleId, version: rec.version } } } }
  },

  'rolled-back': async (rec, ctx) => {
    await ctx.backend.markBad(rec.targetSlot, opt(ctx.signal))
    await ctx.backend.markActive(rec.previousSlot, opt(ctx.signal))
    const slots = { ...rec.slots }
    delete slots[rec.targetSlot]
    const rolledBack = rec.rolledBack.includes(rec.bundleId) ? rec.rolledBack : [...rec.rolledBack, rec.bundleId].slice(-64)
    if (await ctx.backend.activeSlot(opt(ctx.signal)) === rec.targetSlot) {
      await ctx.savePatch({ slots, rolledBack })
      const r = await ctx.backend.reboot(opt(ctx.signal))
      return r === 'pending'
        ? { kind: 'stop', why: 'rebooting', reason: { code: 'rebooting', detail: `rebooting back into slot ${rec.previousSlot}` } }
        : { kind: 'again' }
    }
    return { kind: 'settle', patch: { slots, rolledBack } }
  },

  failed: async (rec, ctx) => {
    // nothing was committed; make sure the bootloader still boots the running slot
    const st = await ctx.backend.status(opt(ctx.signal))
    if (st.primary !== rec.previousSlot || st.attempts?.pending === true) {
      await ctx.backend.markActive(rec.previousSlot, opt(ctx.signal))
    }
    const slots = { ...rec.slots }
    delete slots[rec.targetSlot]
    return { kind: 'settle', patch: { slots } }
  }
}

/** Runs the step of the record's state; a thrown error becomes the state's error event or a stop. */
export async function runStep (rec: InstallRecord, ctx: StepContext): Promise<StepResult> {
  try {
    return await STEPS[rec.state](rec, ctx)
  } catch (err) {
    if (ctx.signal?.aborted === true || isStoremeshError(err, 'E_ABORTED')) {
      return { kind: 'stop', why: 'aborted', reason: { code: 'E_ABORTED', detail: `aborted in ${rec.state}` } }
    }
    const reason = reasonOf(err)
    // before the switch an error fails the install; during the trial it rolls back;
    // in a terminal state the effects are retried at the next start
    if (canTransition(rec.state, 'error')) return event('error', reason)
    return { kind: 'stop', why: 'error', reason }
  }
}
