/**
 * The A/B installer (DESIGN.md section 8): drives one install through the state
 * machine, persisting and journaling every transition, and picks an unfinished
 * install up again at start-up. It reads the image as a plain byte stream plus its
 * expected BLAKE3 and size, so it knows nothing of the chunk store.
 *
 *   runOnce(request)  one install, or the decision that there is nothing to do
 *   resume()          at start-up: finish, or fall back from, what a crash left
 */
import { randomUUID } from 'node:crypto'
import { ERROR_CODES, EXIT, StoremeshError, type ExitCode } from '../interface/errors.js'
import { isHashHex } from '../interface/ids.js'
import type { InstallPhase } from '../interface/types.js'
import { otherSlot, type BootBackend } from './backend.js'
import { DEFAULT_MAX_BOOT_ATTEMPTS, DEFAULT_MAX_WRITE_ATTEMPTS } from './constants.js'
import { defaultHealthConfig, defaultHealthDeps, watchdogMsOf, type HealthDeps } from './health.js'
import type { JournalEvent } from './journal.js'
import { Serial } from './serial.js'
import { applyEvent, isTerminalState, isTrialState, type HealthCheckConfig, type InstallEvent, type InstallReason, type InstallRecord, type InstallState } from './state-machine.js'
import { StateStore } from './state-store.js'
import { runStep, type ImageSource, type StepContext } from './steps.js'
import type { ExpectedImage } from './writer.js'

export type { ImageSource }

/** Where the installer writes its journal; the level Journal fits, tests may pass a fake. */
export interface JournalSink {
  append: (event: JournalEvent) => Promise<unknown>
  lastInstallStep?: (installId: string) => Promise<number | undefined>
}

export interface InstallLimits {
  /** @default DEFAULT_MAX_BOOT_ATTEMPTS */
  maxBootAttempts: number
  /** @default DEFAULT_MAX_WRITE_ATTEMPTS */
  maxWriteAttempts: number
}

export const defaultInstallLimits: InstallLimits = {
  maxBootAttempts: DEFAULT_MAX_BOOT_ATTEMPTS,
  maxWriteAttempts: DEFAULT_MAX_WRITE_ATTEMPTS
}

export interface InstallerOptions {
  dataDir: string
  backend: BootBackend
  journal: JournalSink
  now?: () => number
  healthDeps?: Partial<HealthDeps>
  limits?: Partial<InstallLimits>
  /** after every persisted transition (metrics, progress, crash tests) */
  onStep?: (record: InstallRecord) => void | Promise<void>
  onProgress?: (bytesWritten: number) => void
  /** a journal write failed; the install goes on (the device must not brick for a log) */
  onJournalError?: (err: unknown) => void
  newInstallId?: () => string
}

export interface InstallRequest {
  bundleId: string
  version: string
  waveId: string
  /** opens the image from byte zero; called again when a crash restarts the write */
  image: ImageSource
  expected: ExpectedImage
  /** @default defaultHealthConfig (no check: the boot itself is the test) */
  health?: HealthCheckConfig
  signal?: AbortSignal
  /** install a bundle even though it was rolled back on this device before */
  retryRolledBack?: boolean
}

export interface ResumeOptions {
  /** the image of the install in progress, needed only if it must rewrite the slot */
  image?: ImageSource
  signal?: AbortSignal
}

export type InstallOutcomeKind = 'installed' | 'nothing' | 'rolled-back' | 'failed' | 'rebooting'

export interface InstallOutcome {
  outcome: InstallOutcomeKind
  /** the state on disk when the call returned */
  state: InstallState
  /** the deciding reason: a failure name (`health.timeout`, `boot.fallback`) or an error code */
  reason: string
  detail: string
  /** DESIGN.md section 8: 0 installed/nothing/rebooting, 2 hash, 3 trust, 4 rolled back */
  exitCode: ExitCode
  installId?: string
  bundleId?: string
  version?: string
  waveId?: string
}

/** Exit code of a failure reason: an error code maps through ERROR_CODES, anything else is 1. */
export function exitCodeOfReason (code: string): ExitCode {
  return (ERROR_CODES as Record<string, ExitCode>)[code] ?? EXIT.FAILURE
}

/** The installer state as the policy engine's facts name it (`failed` left nothing behind). */
export function installPhaseOf (record: InstallRecord | undefined): InstallPhase {
  if (record === undefined || record.state === 'failed') return 'idle'
  return record.state
}

const MAX_STEPS_PER_RUN = 64

export class Installer {
  readonly store: StateStore
  private readonly backend: BootBackend
  private readonly journal: JournalSink
  private readonly now: () => number
  private readonly healthDeps: HealthDeps
  private readonly limits: InstallLimits
  private readonly serial = new Serial()

  constructor (private readonly options: InstallerOptions) {
    this.store = new StateStore(options.dataDir)
    this.backend = options.backend
    this.journal = options.journal
    this.now = options.now ?? Date.now
    this.healthDeps = { ...defaultHealthDeps, now: this.now, ...options.healthDeps }
    this.limits = { ...defaultInstallLimits, ...options.limits }
  }

  /** The record on disk, or undefined before the first install. */
  async status (): Promise<InstallRecord | undefined> {
    return await this.store.load()
  }

  async runOnce (req: InstallRequest): Promise<InstallOutcome> {
    return await this.serial.run(async () => await this.runOnceLocked(req))
  }

  async resume (opts: ResumeOptions = {}): Promise<InstallOutcome> {
    return await this.serial.run(async () => {
      const rec = await this.load(opts.signal)
      if (rec === undefined || (isTerminalState(rec.state) && rec.settled)) {
        await this.confirmRunningSlot(opts.signal)
        return nothing(rec, 'no-install-in-progress', 'no install was in progress')
      }
      return await this.drive(await this.pickUp(rec), opts.image, opts.signal)
    })
  }

  /** An operator's rollback (`storemesh device rollback`): from a trial or after a commit. */
  async requestRollback (detail: string, opts: { signal?: AbortSignal } = {}): Promise<InstallOutcome> {
    return await this.serial.run(async () => {
      const rec = await this.load(opts.signal)
      if (rec === undefined || !(isTrialState(rec.state) || rec.state === 'committed')) {
        throw new StoremeshError('E_INSTALL_TRANSITION', `nothing to roll back (state ${rec?.state ?? 'idle'})`, { state: rec?.state ?? 'idle' })
      }
      const next = await this.transition(rec, 'rollback-requested', { reason: { code: 'operator', detail: detail.slice(0, 2000) } })
      return await this.drive(next, undefined, opts.signal)
    })
  }

  private async runOnceLocked (req: InstallRequest): Promise<InstallOutcome> {
    if (!isHashHex(req.expected.blake3) || !Number.isSafeInteger(req.expected.sizeBytes) || req.expected.sizeBytes < 0) {
      throw new StoremeshError('E_INVALID_ARGUMENT', 'install request: expected.blake3 must be 64 hex characters and expected.sizeBytes a byte count', { bundleId: req.bundleId })
    }
    let rec = await this.load(req.signal)
    if (rec !== undefined && !(isTerminalState(rec.state) && rec.settled)) {
      if (rec.bundleId === req.bundleId && rec.version === req.version) {
        return await this.drive(await this.pickUp(rec), req.image, req.signal)
      }
      if (!isTrialState(rec.state) && !isTerminalState(rec.state)) {
        // an unfinished write of another bundle: nothing was switched, drop it
        rec = await this.transition(rec, 'error', { reason: { code: 'superseded', detail: `superseded by ${req.bundleId} ${req.version}` } })
      } else {
        rec = await this.pickUp(rec)
      }
      const done = await this.drive(rec, undefined, req.signal)
      if (done.outcome === 'rebooting') return done
      rec = await this.store.load()
      if (rec !== undefined && !(isTerminalState(rec.state) && rec.settled)) return done
    }

    const active = await this.backend.activeSlot(req.signal !== undefined ? { signal: req.signal } : {})
    if (rec?.slots[active]?.bundleId === req.bundleId) {
      return await this.decide(rec, req, 'already-installed', `${req.bundleId} ${req.version} is running in slot ${active}`)
    }
    if (rec?.rolledBack.includes(req.bundleId) === true && req.retryRolledBack !== true) {
      return await this.decide(rec, req, 'previously-rolled-back', `${req.bundleId} ${req.version} was rolled back on this device; not retried`)
    }
    const health = req.health ?? defaultHealthConfig
    const at = new Date(this.now()).toISOString()
    const base: InstallRecord = {
      schema: 1,
      installId: this.options.newInstallId?.() ?? randomUUID(),
      state: rec?.state ?? 'idle',
      step: 0,
      settled: true,
      lastEvent: rec?.lastEvent ?? 'resume',
      bundleId: req.bundleId,
      version: req.version,
      waveId: req.waveId,
      targetSlot: otherSlot(active),
      previousSlot: active,
      expected: { blake3: req.expected.blake3, sizeBytes: req.expected.sizeBytes },
      health,
      attempts: { write: 0, boot: 0 },
      limits: { ...this.limits },
      createdAt: at,
      updatedAt: at,
      stateEnteredAt: at,
      watchdogMs: watchdogMsOf(health),
      slots: rec?.slots ?? {},
      rolledBack: rec?.rolledBack ?? []
    }
    return await this.drive(await this.transition(base, 'stage'), req.image, req.signal)
  }

  /** A record found on disk unfinished: the previous run ended (crash, reboot, stop). */
  private async pickUp (rec: InstallRecord): Promise<InstallRecord> {
    await this.reconcileJournal(rec)
    // a new start inside the trial is one more boot of the new slot
    const patch: Partial<InstallRecord> = rec.state === 'booted-trial' ? { attempts: { ...rec.attempts, boot: rec.attempts.boot + 1 } } : {}
    return await this.transition(rec, 'resume', patch)
  }

  private async drive (start: InstallRecord, image: ImageSource | undefined, signal: AbortSignal | undefined): Promise<InstallOutcome> {
    let rec = start
    const ctx: StepContext = {
      backend: this.backend,
      now: this.now,
      healthDeps: this.healthDeps,
      ...(image !== undefined ? { image } : {}),
      ...(signal !== undefined ? { signal } : {}),
      ...(this.options.onProgress !== undefined ? { onProgress: this.options.onProgress } : {}),
      savePatch: async (patch) => {
        rec = { ...rec, ...patch, updatedAt: new Date(this.now()).toISOString() }
        await this.store.save(rec)
        return rec
      }
    }
    for (let i = 0; i < MAX_STEPS_PER_RUN; i++) {
      if (isTerminalState(rec.state) && rec.settled) return outcomeOf(rec)
      const r = await runStep(rec, ctx)
      switch (r.kind) {
        case 'event':
          rec = await this.transition(rec, r.event, { ...r.patch, ...(r.reason !== undefined ? { reason: r.reason } : {}) })
          break
        case 'settle':
          rec = { ...rec, ...r.patch, settled: true, updatedAt: new Date(this.now()).toISOString() }
          await this.store.save(rec)
          await this.journalAppend(entryOf(rec, { kind: 'outcome', to: rec.state, detail: outcomeOf(rec).detail, reason: outcomeOf(rec).reason }))
          break
        case 'again':
          break
        case 'stop':
          await this.journalAppend(entryOf(rec, { kind: r.why === 'rebooting' ? 'note' : 'error', reason: r.reason.code, detail: r.reason.detail }))
          return stopOutcome(rec, r.why, r.reason)
      }
    }
    throw new StoremeshError('E_INTERNAL', `installer did not settle within ${MAX_STEPS_PER_RUN} steps`, { state: rec.state })
  }

  private async transition (rec: InstallRecord, event: InstallEvent, patch: Partial<InstallRecord> = {}): Promise<InstallRecord> {
    const next = applyEvent(rec, event, this.now(), patch)
    await this.store.save(next)
    await this.journalAppend(entryOf(next, { kind: 'transition', from: rec.state, to: next.state, event }))
    await this.options.onStep?.(next)
    return next
  }

  private async decide (rec: InstallRecord | undefined, req: InstallRequest, reason: string, detail: string): Promise<InstallOutcome> {
    await this.journalAppend({ kind: 'decision', waveId: req.waveId, bundleId: req.bundleId, version: req.version, reason, detail })
    return { ...nothing(rec, reason, detail), bundleId: req.bundleId, version: req.version, waveId: req.waveId }
  }

  private async journalAppend (e: JournalEvent): Promise<void> {
    try {
      await this.journal.append(e)
    } catch (err) {
      this.options.onJournalError?.(err)
    }
  }

  /** The last transition may have been persisted and not journaled (crash in between). */
  private async reconcileJournal (rec: InstallRecord): Promise<void> {
    if (this.journal.lastInstallStep === undefined) return
    const step = await this.journal.lastInstallStep(rec.installId).catch(() => undefined)
    if (step !== undefined && step >= rec.step) return
    await this.journalAppend(entryOf(rec, { kind: 'transition', to: rec.state, event: rec.lastEvent, data: { reconciled: true } }))
  }

  /** Loads the record; a corrupt one is moved aside and the bootloader put back on safe ground. */
  private async load (signal?: AbortSignal): Promise<InstallRecord | undefined> {
    try {
      return await this.store.load()
    } catch (err) {
      if (!(err instanceof StoremeshError) || err.code !== 'E_INSTALL_STATE_INVALID') throw err
      const aside = await this.store.moveAside(this.now())
      await this.journalAppend({ kind: 'error', reason: err.code, detail: `${err.message}; moved to ${aside}` })
      const opt = signal !== undefined ? { signal } : {}
      const st = await this.backend.status(opt)
      if (st.attempts?.pending === true || st.primary !== st.booted) {
        // an unconfirmed trial of the running slot: the other slot is the known-good one
        await this.backend.markBad(st.booted, opt)
        await this.backend.markActive(otherSlot(st.booted), opt)
        await this.journalAppend({ kind: 'decision', reason: 'state.corrupt', detail: `rolled the bootloader back from unconfirmed slot ${st.booted}` })
        if (await this.backend.reboot(opt) === 'pending') {
          throw new StoremeshError('E_INSTALL_STATE_INVALID', 'install state was corrupt during a trial; rebooting into the known-good slot', { slot: otherSlot(st.booted) })
        }
      }
      return undefined
    }
  }

  /** No install in flight and the running slot is the bootloader's choice: confirm it (RAUC's mark-good at boot). */
  private async confirmRunningSlot (signal?: AbortSignal): Promise<void> {
    const opt = signal !== undefined ? { signal } : {}
    const st = await this.backend.status(opt)
    if (st.primary === st.booted && st.attempts?.pending !== true) await this.backend.markGood(st.booted, opt)
  }
}

function entryOf (rec: InstallRecord, e: JournalEvent): JournalEvent {
  return {
    waveId: rec.waveId,
    bundleId: rec.bundleId,
    version: rec.version,
    installId: rec.installId,
    ...(e.kind === 'transition' ? { step: rec.step } : {}),
    ...(rec.reason !== undefined && e.kind === 'transition' ? { reason: rec.reason.code, detail: rec.reason.detail } : {}),
    ...e
  }
}

function nothing (rec: InstallRecord | undefined, reason: string, detail: string): InstallOutcome {
  return { outcome: 'nothing', state: rec?.state ?? 'idle', reason, detail, exitCode: EXIT.OK }
}

function ids (rec: InstallRecord): Pick<InstallOutcome, 'installId' | 'bundleId' | 'version' | 'waveId'> {
  return { installId: rec.installId, bundleId: rec.bundleId, version: rec.version, waveId: rec.waveId }
}

export function outcomeOf (rec: InstallRecord): InstallOutcome {
  const reason: InstallReason = rec.reason ?? { code: rec.state, detail: '' }
  switch (rec.state) {
    case 'committed':
      return { outcome: 'installed', state: rec.state, reason: 'committed', detail: `${rec.bundleId} ${rec.version} committed in slot ${rec.targetSlot}`, exitCode: EXIT.OK, ...ids(rec) }
    case 'rolled-back':
      return { outcome: 'rolled-back', state: rec.state, reason: reason.code, detail: `rolled back to slot ${rec.previousSlot}: ${reason.detail}`, exitCode: EXIT.ROLLED_BACK, ...ids(rec) }
    case 'failed':
      return { outcome: 'failed', state: rec.state, reason: reason.code, detail: reason.detail, exitCode: exitCodeOfReason(reason.code), ...ids(rec) }
    default:
      return { ...nothing(rec, 'idle', 'no install'), ...ids(rec) }
  }
}

function stopOutcome (rec: InstallRecord, why: 'rebooting' | 'aborted' | 'error', reason: InstallReason): InstallOutcome {
  if (why === 'rebooting') return { outcome: 'rebooting', state: rec.state, reason: reason.code, detail: reason.detail, exitCode: EXIT.OK, ...ids(rec) }
  return { outcome: 'failed', state: rec.state, reason: reason.code, detail: reason.detail, exitCode: exitCodeOfReason(reason.code), ...ids(rec) }
}
