/**
 * The device's decision inputs, collected in one place, and the decision made from
 * them (issue 15, "One decision"). `storemesh device install --once`, the device agent
 * (through installOnce) and `storemesh policy explain --data <dir>` all call
 * collectDecisionInputs and decideDevice, so explain prints the gates the install path
 * applies next, from the same files.
 *
 * Sources, each taken from the live component when the caller has one, else from what
 * that component keeps in the data directory:
 *   facts, policy   device.yaml, the facts file, fact commands, probes (install/facts.ts)
 *   bundle          the chunk store (`<data>/store`, parsed and hashed by the store), or,
 *                   in the lab layout, `<data>/bundles/<id>/` (parsed and hashed here, once);
 *                   its signature is checked once against device.yaml's trust
 *   installer slot  the installer's state file and the backend's active slot
 *   freshness       `<data>/timestamp.json`, verified against the root's timestamp role
 *   fleet orders    the agent's WaveOrderBook, else `<data>/wave-orders.json` (what the
 *                   agent last heard from its hub: a paused wave stays paused offline)
 *   lease           install.yaml's `lease.kind`, for every caller (leaseProviderFor):
 *                   none: standalone, held, and the agent's LeaseKeeper is not asked;
 *                   hub: the agent's LeaseKeeper, or for a one-shot command, which cannot
 *                   reach the hub, unreachable (as the agent's keeper with no hub in
 *                   reach); in the lab layout, the facts file's lease
 *
 * Why here: it does I/O, so not in policy/ (pure); it composes the store, the
 * installer, the lease and the order book, which only roles/ may do.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { readTimestampFile, RootTrust } from '../identity/root/index.js'
import { toStoremeshError } from '../interface/errors.js'
import { readBundleFolder } from '../install/bundle-folder.js'
import { gatherDeviceInputs, type DeviceConfig, type StatfsFn, type TrustFromStatic } from '../install/facts.js'
import { createBackend, installPhaseOf, isTerminalState, StateStore, type BootBackend, type InstallRecord, type SlotName } from '../install/index.js'
import type { ExecFn } from '../install/probes.js'
import { decide, verifiedBundleOf, type FactsInput, type VerifiedBundle } from '../policy/decide.js'
import { waitsOnlyForLease } from '../policy/evaluate.js'
import type { VerifiedPolicy } from '../policy/signed.js'
import { openStore, type ChunkStore } from '../store/index.js'
import type { Decision, DeviceFacts, TimestampFacts, TrustOptions } from '../interface/types.js'
import { DEVICE_STORE_DIR, loadInstallConfig, type InstallConfig } from './device-install-config.js'
import { leaseProviderFor, type LeaseFacts, type LeaseProvider } from './lease-provider.js'
import { WaveOrderBook } from './wave-order-book.js'

/** The installed device's parts a decision reads (a DeviceHandle fits). */
export interface DeviceParts {
  config: InstallConfig
  store: ChunkStore
  backend: BootBackend
  /** the installer (its record on disk); default: the state file read directly */
  installer?: { status: () => Promise<InstallRecord | undefined> } | undefined
}

export interface DecisionSources {
  dataDir: string
  /** the device layout; undefined: the lab layout of `policy explain` (bundle folders, facts file only) */
  device?: DeviceParts | undefined
  /**
   * the agent's LeaseKeeper. Device layout: used only when install.yaml says `lease: {kind: hub}`
   * (with `none` no lease is asked); lab layout: used in place of the facts file's lease
   */
  lease?: LeaseProvider | undefined
  /** the agent's WaveOrderBook; default: the one it persisted in `<data>/wave-orders.json` */
  fleet?: ((waveId: string) => DeviceFacts['fleet'] | undefined) | undefined
}

export interface CollectDecisionOptions {
  /** evaluate at this time (ms since the epoch); default now */
  atMs?: number | undefined
  /** signed policy file; default `<data>/policy.signed.json` */
  policyPath?: string | undefined
  /** lab layout: the bundle.json to decide on; default the policy's bundle under `<data>/bundles/` */
  manifestPath?: string | undefined
  /** run the policy's peripheral probes (default true) */
  probes?: boolean | undefined
  exec?: ExecFn | undefined
  statfs?: StatfsFn | undefined
  signal?: AbortSignal | undefined
}

export interface DecisionInputs {
  config: DeviceConfig
  trust: TrustOptions
  policy?: VerifiedPolicy | undefined
  /** the policy's bundle, verified once; undefined when not here */
  bundle?: VerifiedBundle | undefined
  /** lab layout: the bundle.json read */
  manifestPath?: string | undefined
  waveId?: string | undefined
  facts: FactsInput
  /** the lease source the decision asks when only the lease is missing */
  lease: LeaseProvider
  nowMs: number
}

/** Whether `<data>` is an installed device's directory (it has a chunk store) rather than a lab folder. */
export async function isDeviceDir (dataDir: string): Promise<boolean> {
  try {
    return (await stat(join(dataDir, DEVICE_STORE_DIR))).isDirectory()
  } catch {
    return false
  }
}

/** The device's parts opened read-mostly for a decision without an install (`policy explain`). */
export interface OpenedParts {
  device: DeviceParts
  /** an install a crash or reboot left unfinished: `device install --once` and the agent resume it before they decide */
  unfinished?: { state: string, bundleId: string, version: string } | undefined
  close: () => Promise<void>
}

/**
 * Opens install.yaml, the bootloader backend and the chunk store of a device directory,
 * without the journal or the installer: nothing is journaled and nothing installed. The
 * store is a single-process database, so this fails with E_DATA_DIR_IN_USE while the
 * agent runs.
 */
export async function openDecisionParts (dataDir: string): Promise<OpenedParts> {
  const config = await loadInstallConfig(dataDir)
  const rec = await new StateStore(dataDir).load().catch(() => undefined)
  const unfinished = rec !== undefined && !(isTerminalState(rec.state) && rec.settled)
    ? { state: rec.state, bundleId: rec.bundleId, version: rec.version }
    : undefined
  const store = await openStore({ dataDir: join(dataDir, DEVICE_STORE_DIR) })
  return {
    device: { config, store, backend: createBackend(config.backend) },
    unfinished,
    close: async () => { await store.stop().catch(() => {}) }
  }
}

/** Chunk state of a bundle from the store; a `complete` bundle is verified end to end first. */
async function storeBundleFacts (store: ChunkStore, id: string, signal?: AbortSignal): Promise<DeviceFacts['bundle']> {
  let rec = store.getBundle(id)
  if (rec === undefined) return { complete: false, verified: false }
  // Every chunk was hashed when stored; this re-reads every artifact against its whole-file
  // hash once. A failure here is a hash failure of this run (exit 2) and the store drops the chunk.
  if (rec.state === 'complete') rec = await store.markVerified(id, signal !== undefined ? { signal } : {})
  if (rec.state === 'verified') return { complete: true, verified: true, missingChunks: 0, totalChunks: rec.pieceCount }
  const missing = (await store.missingPieces(id)).length
  return { complete: false, verified: false, missingChunks: missing, totalChunks: rec.pieceCount }
}

/** What the installer's record says about this device, over the facts file (it is newer). */
async function installerFacts (dev: DeviceParts, dataDir: string, signal?: AbortSignal): Promise<Partial<FactsInput>> {
  const rec = dev.installer !== undefined ? await dev.installer.status() : await new StateStore(dataDir).load()
  const out: Partial<FactsInput> = {}
  if (rec === undefined) return out
  const active: SlotName = await dev.backend.activeSlot(signal !== undefined ? { signal } : {})
  out.install = { phase: installPhaseOf(rec), version: rec.version, sinceMs: Date.parse(rec.stateEnteredAt) }
  const running = rec.slots[active]
  if (running !== undefined) out.installedVersion = running.version
  return out
}

/**
 * The root of trust in `<data>/root-chain.json` (src/identity/root/) over device.yaml's
 * static keys, which are its implicit root 0: a rotated or revoked release or policy key
 * counts for every decision the moment the agent stored the new root.
 */
function rootTrustIn (dataDir: string, timestampTrust: (t: TrustOptions) => void): TrustFromStatic {
  return async (staticTrust) => {
    const root = await RootTrust.open(dataDir, staticTrust)
    timestampTrust(root.snapshot('timestamp'))
    return { release: root.snapshot('release'), policy: root.snapshot('policy') }
  }
}

/**
 * The `trust.freshness` fact: `<data>/timestamp.json` (stored by the agent from its hub,
 * or by `root timestamp --data`) against the root's timestamp role. A statement that no
 * longer verifies is reported with why, so the gate defers rather than skip the check.
 */
async function freshnessFact (dataDir: string, trust: TrustOptions): Promise<TimestampFacts | undefined> {
  try {
    const ts = await readTimestampFile(dataDir, trust)
    return ts === undefined ? undefined : { expiresAtMs: Date.parse(ts.signed.expiresAt) }
  } catch (err) {
    return { error: toStoremeshError(err).toLine() }
  }
}

/** The lab layout's lease: what the facts file says, and asking changes nothing. */
function factsFileLease (facts: LeaseFacts): LeaseProvider {
  return { facts: () => ({ ...facts }), acquire: async () => ({ ...facts }), release: async () => {} }
}

/**
 * Every input of the device's next decision. Throws what the sources throw: E_CONFIG_INVALID
 * (device.yaml, facts file), E_SIGNATURE_* (policy), E_MANIFEST_INVALID (a lab bundle.json
 * that is not a manifest), E_STORE_CORRUPT (a stored bundle that fails its whole-file hash).
 */
export async function collectDecisionInputs (sources: DecisionSources, opts: CollectDecisionOptions = {}): Promise<DecisionInputs> {
  const { dataDir, device } = sources
  const { signal } = opts
  const nowMs = opts.atMs ?? Date.now()
  let timestampTrust: TrustOptions | undefined
  const gathered = await gatherDeviceInputs(dataDir, { trustFrom: rootTrustIn(dataDir, t => { timestampTrust = t }), exec: opts.exec, statfs: opts.statfs, policyPath: opts.policyPath, probes: opts.probes, signal })
  const { config, trust, policy } = gathered
  const spec = policy?.policy
  const bundleId = spec?.spec.bundle.id
  const waveId = spec !== undefined ? String(spec.metadata.wave) : undefined
  const facts: FactsInput = { ...gathered.facts, bundle: gathered.facts.bundle ?? { complete: false, verified: false } }
  const freshness = timestampTrust !== undefined ? await freshnessFact(dataDir, timestampTrust) : undefined
  if (freshness !== undefined) facts.freshness = freshness
  let bundle: VerifiedBundle | undefined
  let manifestPath: string | undefined
  let lease: LeaseProvider
  if (device !== undefined) {
    // The manifest comes from the store only: a bundle folder beside the policy is the lab layout.
    if (bundleId !== undefined && device.store.getBundle(bundleId) !== undefined) {
      bundle = verifiedBundleOf(await device.store.bundleInfo(bundleId), trust)
    }
    facts.bundle = bundleId !== undefined ? await storeBundleFacts(device.store, bundleId, signal) : { complete: false, verified: false }
    // the configured backend is A/B by construction; a facts file may still say otherwise
    facts.slotCount = gathered.facts.slotCount ?? 2
    Object.assign(facts, await installerFacts(device, dataDir, signal))
    lease = leaseProviderFor(device.config.lease.kind, sources.lease)
  } else {
    const folder = await readBundleFolder(dataDir, bundleId, trust, { manifestPath: opts.manifestPath, checkChunks: gathered.facts.bundle === undefined, signal })
    bundle = folder?.bundle
    manifestPath = folder?.manifestPath
    if (folder?.state !== undefined) facts.bundle = folder.state
    lease = sources.lease ?? factsFileLease(gathered.facts.lease)
  }
  facts.lease = lease.facts()
  if (waveId !== undefined) {
    const fleet = sources.fleet !== undefined ? sources.fleet(waveId) : (await WaveOrderBook.open(dataDir)).fleet(waveId)
    if (fleet !== undefined) facts.fleet = fleet
  }
  return { config, trust, policy, bundle, manifestPath, waveId, facts, lease, nowMs }
}

/**
 * The decision on collected inputs. A verdict that waits only for the hub lease asks
 * the lease source for one and decides again on the same verified bundle (nothing is
 * parsed or verified twice); a slot granted that this decision will not use goes back
 * at once; `inputs.facts.lease` then holds the answer. The caller releases a lease an
 * `install` verdict holds when the install ends.
 */
export async function decideDevice (inputs: DecisionInputs, opts: { signal?: AbortSignal | undefined } = {}): Promise<Decision> {
  const { policy, bundle, facts, nowMs, waveId, lease } = inputs
  const decideNow = (): Decision => decide({ policy: policy?.policy, bundle, facts, nowMs })
  let decision = decideNow()
  if (bundle !== undefined && waveId !== undefined && waitsOnlyForLease(decision)) {
    facts.lease = await lease.acquire({ bundleId: bundle.info.id, waveId }, opts.signal !== undefined ? { signal: opts.signal } : {})
    decision = decideNow()
    if (decision.verdict !== 'install') await lease.release().catch(() => {})
  }
  return decision
}
