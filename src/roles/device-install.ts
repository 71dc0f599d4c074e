/**
 * The device's one-shot install (`storemesh device install --once`, issue 5), as
 * composition only: the decision inputs and the decision of src/roles/device-decision.ts
 * (the same ones `policy explain` prints), the install lease, and the A/B installer
 * streaming the slot image out of the store.
 *
 *   resume   an install a crash or reboot left unfinished is finished or undone first,
 *            and that outcome is the run's result
 *   decide   every gate, with the bundle's state from the store (a `complete` bundle is
 *            re-read end to end once and marked `verified`); a verdict that waits only
 *            for the hub lease asks the LeaseProvider for one and decides again
 *   install  Installer.runOnce with the slot artifact streamed from the store and the
 *            manifest's whole-file BLAKE3 and size; on commit the bundle is pinned
 *            `active` and the one it replaced `last-known-good` (kept for offline rollback)
 *
 * Exit codes (DESIGN.md section 8): 0 installed or nothing to do, 2 chunk or bundle hash
 * failure, 3 signature or trust failure (and every `refuse` verdict), 4 install failed
 * and rolled back, 75 deferred by a gate; a verdict's code is VERDICT_EXIT of
 * src/interface/errors.ts, the table `policy explain` exits with too.
 *
 * A chunk corrupted on disk after the bundle was verified is found while the image
 * streams (every chunk is re-hashed on read): the install fails with E_STORE_CORRUPT
 * (exit 2), the store drops the chunk, so the bundle is `partial` again and the next
 * run defers on `bundle.complete` until the chunk is fetched anew.
 */
import { join } from 'node:path'
import { EXIT, StoremeshError, VERDICT_EXIT, isStoremeshError, toStoremeshError } from '../interface/errors.js'
import type { Decision, DeviceFacts } from '../interface/types.js'
import {
  createBackend, Installer, isTerminalState, isTrialState, Journal,
  type BackendSeams, type BootBackend, type ImageSource, type InstallOutcome, type InstallRecord, type JournalEvent
} from '../install/index.js'
import { decidingGates } from '../policy/evaluate.js'
import { openStore, type ChunkStore } from '../store/index.js'
import { DEVICE_STORE_DIR, healthOfPolicy, loadInstallConfig, slotArtifactOf, type InstallConfig } from './device-install-config.js'
import { decidingText, decisionLine, outcomeLine } from './device-install-lines.js'
import { collectDecisionInputs, decideDevice } from './device-decision.js'
import { cleanupDevice, type BeforeEvict } from './store-lifecycle.js'
import type { LeaseProvider } from './lease-provider.js'

/** Journal details are cut to this (an entry has a hard size limit). */
const MAX_DETAIL_CHARS = 2000

export interface DeviceOpenOptions {
  dataDir: string
  signal?: AbortSignal
  /** bootloader seams (tests; the agent's reboot hook) */
  backendSeams?: BackendSeams
  onProgress?: (bytesWritten: number) => void
  /** an open chunk store (the agent's, shared with its swarm); default: `<data>/store`, opened and closed here */
  store?: ChunkStore
  /** an open journal (the agent's); default: `<data>/journal`, opened and closed here */
  journal?: Journal
  /** called before the clean-up after a commit evicts a bundle (the agent leaves its swarm) */
  beforeEvict?: BeforeEvict
}

export interface DeviceInstallOptions extends DeviceOpenOptions {
  /** evaluate the policy at this time (ms since the epoch; `--at`); default now */
  atMs?: number
  /** the device agent's hub LeaseKeeper: used only when install.yaml says `lease: {kind: hub}` (leaseProviderFor) */
  lease?: LeaseProvider
  /** the wave's fleet facts from the store hub's orders (the agent's WaveOrderBook); win over the facts file */
  fleet?: (waveId: string) => DeviceFacts['fleet'] | undefined
}

export type DeviceInstallResultKind = 'installed' | 'nothing' | 'deferred' | 'refused' | 'rollback' | 'rolled-back' | 'failed' | 'rebooting'

export interface DeviceInstallResult {
  result: DeviceInstallResultKind
  exitCode: number
  /** one line naming the deciding gate or failure */
  line: string
  decision?: Decision
  bundle?: { id: string, name: string, version: string }
  waveId?: string
  policyId?: string
  outcome?: InstallOutcome
  /** the result is that of an install a previous run left unfinished */
  resumed: boolean
}

/** The device's parts, open for one command (or for the agent's lifetime). */
export interface DeviceHandle {
  dataDir: string
  config: InstallConfig
  backend: BootBackend
  journal: Journal
  store: ChunkStore
  installer: Installer
  beforeEvict?: BeforeEvict
  /** closes what openDevice opened; an injected store or journal stays open */
  close: () => Promise<void>
}

/** Opens install.yaml, the bootloader backend, the journal, the chunk store and the installer. */
export async function openDevice (opts: DeviceOpenOptions): Promise<DeviceHandle> {
  const config = await loadInstallConfig(opts.dataDir)
  const backend = createBackend(config.backend, opts.backendSeams ?? {})
  const journal = opts.journal ?? await Journal.open(opts.dataDir)
  let store: ChunkStore
  try {
    store = opts.store ?? await openStore({ dataDir: join(opts.dataDir, DEVICE_STORE_DIR) })
  } catch (err) {
    if (opts.journal === undefined) await journal.close().catch(() => {})
    throw err
  }
  const limits = Object.fromEntries(Object.entries(config.limits).filter(([, v]) => v !== undefined))
  const installer = new Installer({
    dataDir: opts.dataDir,
    backend,
    journal,
    limits,
    ...(opts.onProgress !== undefined ? { onProgress: opts.onProgress } : {})
  })
  return {
    dataDir: opts.dataDir, config, backend, journal, store, installer,
    ...(opts.beforeEvict !== undefined ? { beforeEvict: opts.beforeEvict } : {}),
    close: async () => {
      if (opts.store === undefined) await store.stop().catch(() => {})
      if (opts.journal === undefined) await journal.close().catch(() => {})
    }
  }
}

function shortId (id: string): string {
  return id.length > 15 ? id.slice(0, 15) + '…' : id
}

const OUTCOME_RESULT: Readonly<Record<InstallOutcome['outcome'], DeviceInstallResultKind>> = {
  installed: 'installed', nothing: 'nothing', 'rolled-back': 'rolled-back', failed: 'failed', rebooting: 'rebooting'
}

/** The last decision each open device journaled (see decideAndInstall). */
const lastDecisionKey = new WeakMap<DeviceHandle, string>()

async function appendJournal (journal: Journal, e: JournalEvent): Promise<void> {
  await journal.append({ ...e, ...(e.detail !== undefined ? { detail: e.detail.slice(0, MAX_DETAIL_CHARS) } : {}) })
}

/** The image of a stored bundle's slot artifact; undefined when the store lacks the bundle. */
async function imageOf (dev: DeviceHandle, bundleId: string, signal?: AbortSignal): Promise<ImageSource | undefined> {
  if (dev.store.getBundle(bundleId) === undefined) return undefined
  const art = slotArtifactOf(await dev.store.bundleInfo(bundleId), dev.config.slotArtifact)
  return () => dev.store.artifactStream(bundleId, art.name, signal !== undefined ? { signal } : {})
}

/**
 * Keeps the store's pins in step with the slots: after a commit the new bundle is
 * `active` and the one in the other slot `last-known-good`, and versions older than
 * that are evicted (the device's clean-up); after a rollback the bundle in the slot now
 * running is `active` again. The `installing` pin ends with the install. A pin or
 * clean-up failure never changes the install's outcome; it is journaled.
 */
export async function syncPins (dev: DeviceHandle, o: InstallOutcome): Promise<void> {
  if (o.outcome === 'nothing' || o.outcome === 'rebooting') return
  const rec = await dev.installer.status()
  if (rec === undefined) return
  const { store } = dev
  const held = (id: string | undefined): id is string => id !== undefined && store.getBundle(id) !== undefined
  let step = 'pin'
  try {
    const previous = rec.slots[rec.previousSlot]?.bundleId
    if (o.outcome === 'installed' && held(rec.bundleId)) {
      const cls = store.getBundle(rec.bundleId)?.deviceClass
      const lkg = previous ?? store.listBundles().find(b => b.deviceClass === cls && b.pins.includes('active'))?.id
      if (held(lkg) && lkg !== rec.bundleId) await store.pin(lkg, 'last-known-good')
      await store.pin(rec.bundleId, 'active')
    } else if (o.outcome === 'rolled-back') {
      if (held(previous)) {
        await store.pin(previous, 'active')
        // it runs now; the other slot holds the version that failed, nothing to return to
        if (store.getBundle(previous)?.pins.includes('last-known-good') === true) await store.unpin(previous, 'last-known-good')
      } else if (store.getBundle(rec.bundleId)?.pins.includes('active') === true) await store.unpin(rec.bundleId, 'active')
    }
    if (store.getBundle(rec.bundleId)?.pins.includes('installing') === true) await store.unpin(rec.bundleId, 'installing')
    if (o.outcome === 'installed') {
      step = 'clean-up'
      await cleanupDevice(store, { ...(dev.beforeEvict !== undefined ? { beforeEvict: dev.beforeEvict } : {}) })
    }
  } catch (err) {
    const e = toStoremeshError(err)
    await appendJournal(dev.journal, { kind: 'error', waveId: rec.waveId, bundleId: rec.bundleId, version: rec.version, reason: e.code, detail: `${step} after ${o.outcome}: ${e.message}` }).catch(() => {})
  }
}

/** An install that threw: the `installing` pin stays only while a resume will go on with it. */
async function unpinUnlessResumable (dev: DeviceHandle, bundleId: string): Promise<void> {
  const rec = await dev.installer.status().catch(() => undefined)
  if (rec !== undefined && rec.bundleId === bundleId && !isTerminalState(rec.state)) return
  await dev.store.unpin(bundleId, 'installing').catch(() => {})
}

/** Pins the bundle about to be written: its chunks stay until the install ends. */
async function pinInstalling (dev: DeviceHandle, bundleId: string): Promise<void> {
  try {
    await dev.store.pin(bundleId, 'installing')
  } catch (err) {
    const e = toStoremeshError(err)
    await appendJournal(dev.journal, { kind: 'error', bundleId, reason: e.code, detail: `pin before install: ${e.message}` }).catch(() => {})
  }
}

async function resultOfOutcome (dev: DeviceHandle, o: InstallOutcome, resumed: boolean): Promise<DeviceInstallResult> {
  await syncPins(dev, o)
  const rec = await dev.installer.status().catch(() => undefined)
  const id = o.bundleId ?? rec?.bundleId
  const stored = id !== undefined ? dev.store.getBundle(id) : undefined
  const name = stored?.name ?? (id !== undefined ? shortId(id) : '')
  const line = outcomeLine(o, rec, name)
  return {
    result: OUTCOME_RESULT[o.outcome],
    exitCode: o.exitCode,
    line: resumed ? `${line} (resumed)` : line,
    ...(id !== undefined ? { bundle: { id, name, version: o.version ?? rec?.version ?? '' } } : {}),
    ...(o.waveId !== undefined ? { waveId: o.waveId } : {}),
    outcome: o,
    resumed
  }
}

/** Finishes or undoes what a crash left; undefined when nothing was in progress. */
async function resumeFirst (dev: DeviceHandle, signal?: AbortSignal): Promise<DeviceInstallResult | undefined> {
  let rec: InstallRecord | undefined
  try {
    rec = await dev.installer.status()
  } catch (err) {
    // a corrupt state file: resume() moves it aside and puts the bootloader on safe ground
    if (!isStoremeshError(err, 'E_INSTALL_STATE_INVALID')) throw err
  }
  const image = rec !== undefined ? await imageOf(dev, rec.bundleId, signal) : undefined
  const o = await dev.installer.resume({ ...(image !== undefined ? { image } : {}), ...(signal !== undefined ? { signal } : {}) })
  return o.outcome === 'nothing' ? undefined : await resultOfOutcome(dev, o, true)
}

/** `storemesh device install --once`: one decision and at most one install. */
export async function runDeviceInstallOnce (opts: DeviceInstallOptions): Promise<DeviceInstallResult> {
  const dev = await openDevice(opts)
  try {
    return await installOnce(dev, opts)
  } finally {
    await dev.close()
  }
}

export { decisionLine }

/** One decision and at most one install on an open device (the agent calls this in its loop). */
export async function installOnce (dev: DeviceHandle, opts: Omit<DeviceInstallOptions, 'dataDir'>): Promise<DeviceInstallResult> {
  try {
    const resumed = await resumeFirst(dev, opts.signal)
    if (resumed !== undefined) return resumed
    return await decideAndInstall(dev, opts)
  } catch (err) {
    const e = toStoremeshError(err)
    await appendJournal(dev.journal, { kind: 'error', reason: e.code, detail: e.message }).catch(() => {})
    throw err
  }
}

async function decideAndInstall (dev: DeviceHandle, opts: Omit<DeviceInstallOptions, 'dataDir'>): Promise<DeviceInstallResult> {
  const { signal } = opts
  const inputs = await collectDecisionInputs({ dataDir: dev.dataDir, device: dev, lease: opts.lease, fleet: opts.fleet }, { atMs: opts.atMs, signal })
  const { policy: verified, waveId, lease } = inputs
  const policy = verified?.policy
  const bundle = inputs.bundle?.info
  const decision = await decideDevice(inputs, { signal })
  const body = bundle?.manifest.signed
  const base = {
    decision,
    ...(bundle !== undefined && body !== undefined ? { bundle: { id: bundle.id, name: body.name, version: body.version } } : {}),
    ...(waveId !== undefined ? { waveId } : {}),
    ...(verified !== undefined ? { policyId: verified.policyId } : {}),
    resumed: false
  }
  const line = decisionLine(decision)
  const deciding = decidingGates(decision).map(g => g.gate)
  // The agent decides every round; the journal (and the ledger above it) hears of a
  // decision when its verdict or deciding gates change, not once per round.
  // a lease the hub denies because it holds the wave here names the hold, so the ledger
  // counts the device blocked by it (ledger/condense.ts), not waiting for a slot
  const leaseHold = deciding.includes('hub.lease') ? lease.facts().hold : undefined
  const key = [waveId, bundle?.id, decision.verdict, leaseHold, ...deciding].join('|')
  if (lastDecisionKey.get(dev) !== key) {
    await appendJournal(dev.journal, {
      kind: 'decision',
      ...(waveId !== undefined ? { waveId } : {}),
      ...(bundle !== undefined ? { bundleId: bundle.id, version: body?.version } : {}),
      reason: deciding[0] ?? decision.verdict,
      detail: line,
      data: {
        verdict: decision.verdict,
        ...(deciding[0] !== undefined ? { gate: deciding[0] } : {}),
        gates: deciding.join(',').slice(0, 1024),
        ...(leaseHold !== undefined ? { hold: leaseHold } : {}),
        policyId: verified?.policyId ?? null,
        nextCheckAt: decision.nextCheckAt
      }
    })
    lastDecisionKey.set(dev, key)
  }

  if (decision.verdict === 'rollback') return await rollbackByPolicy(dev, base, line, signal)
  if (decision.verdict !== 'install' || bundle === undefined || body === undefined || policy === undefined || waveId === undefined) {
    const result = decision.verdict === 'defer' ? 'deferred' : decision.verdict === 'refuse' ? 'refused' : 'nothing'
    return { ...base, result, exitCode: VERDICT_EXIT[decision.verdict], line }
  }

  const art = slotArtifactOf(bundle, dev.config.slotArtifact)
  let outcome: InstallOutcome
  await pinInstalling(dev, bundle.id)
  try {
    outcome = await dev.installer.runOnce({
      bundleId: bundle.id,
      version: body.version,
      waveId,
      image: () => dev.store.artifactStream(bundle.id, art.name, signal !== undefined ? { signal } : {}),
      expected: { blake3: art.blake3, sizeBytes: art.size },
      health: healthOfPolicy(policy),
      ...(signal !== undefined ? { signal } : {})
    })
  } catch (err) {
    await unpinUnlessResumable(dev, bundle.id)
    throw err
  } finally {
    await lease.release().catch(() => {})
  }
  return { ...await resultOfOutcome(dev, outcome, false), ...base }
}

/**
 * The policy asks to roll back the version this device runs (health lost, a fleet halt
 * during a trial): undo the committed install of that bundle, if it is ours to undo.
 */
async function rollbackByPolicy (dev: DeviceHandle, base: Omit<DeviceInstallResult, 'result' | 'exitCode' | 'line'> & { decision: Decision }, line: string,
  signal?: AbortSignal): Promise<DeviceInstallResult> {
  const rec = await dev.installer.status()
  if (rec === undefined || rec.bundleId !== base.bundle?.id || !(rec.state === 'committed' || isTrialState(rec.state))) {
    return { ...base, result: 'rollback', exitCode: EXIT.ROLLED_BACK, line: `${line} (no install of this bundle by storemesh to roll back)` }
  }
  const why = decidingText(base.decision)
  const o = await dev.installer.requestRollback(`policy: ${why}`, signal !== undefined ? { signal } : {})
  const r = await resultOfOutcome(dev, o, false)
  const line2 = o.outcome === 'rolled-back' ? `rolled back ${base.bundle?.name ?? ''} ${base.bundle?.version ?? ''} to slot ${rec.previousSlot}: ${why}` : r.line
  return { ...r, ...base, line: line2 }
}

export interface RollbackLocalOptions extends DeviceOpenOptions {
  reason: string
}

/** `storemesh device rollback --local`: the operator's rollback of the last install on this device. */
export async function rollbackLocal (opts: RollbackLocalOptions): Promise<DeviceInstallResult> {
  if (opts.reason.trim() === '') throw new StoremeshError('E_INVALID_ARGUMENT', '--reason must say why')
  const dev = await openDevice(opts)
  try {
    const o = await dev.installer.requestRollback(opts.reason, opts.signal !== undefined ? { signal: opts.signal } : {})
    return await resultOfOutcome(dev, o, false)
  } finally {
    await dev.close()
  }
}
