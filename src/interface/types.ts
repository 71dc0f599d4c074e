/**
 * Shared shapes of the bundle format (protocols/bundle/SPEC.md) and the seams that
 * the swarm, WAN, installer and operator plane use to reach the chunk store.
 * Hashes are lower-case hex BLAKE3-256 (64 characters); ids carry a `b3:` prefix.
 */

/** One chunk of an artifact: its BLAKE3-256 hash (hex) and its length in bytes. */
export interface ChunkRef {
  hash: string
  size: number
}

export interface ArtifactEntry {
  /** Relative file name inside the bundle folder; never absolute, never `..`. */
  name: string
  size: number
  /** BLAKE3-256 of the whole file, hex. */
  blake3: string
  chunks: ChunkRef[]
}

export interface ChunkingParams {
  algorithm: 'fastcdc'
  minBytes: number
  avgBytes: number
  maxBytes: number
}

/** The signed body of a bundle manifest (DESIGN.md section 3). */
export interface ManifestBody {
  type: 'storemesh/bundle'
  specVersion: 1
  name: string
  /** semver */
  version: string
  cycle?: string
  deviceClass: string
  osVariant?: string
  /** semver range the device's config version must satisfy */
  requiresConfig?: string
  /** ISO 8601 UTC */
  created: string
  /** ISO 8601 UTC */
  expires: string
  chunking: ChunkingParams
  artifacts: ArtifactEntry[]
}

export interface Signature {
  keyid: string
  /** base64 Ed25519 signature over the canonical bytes of `signed` */
  sig: string
}

/** TUF-style signed envelope, used for manifests and rollout policies alike. */
export interface Envelope<T> {
  signed: T
  signatures: Signature[]
}

export type SignedManifest = Envelope<ManifestBody>

/** A public key trusted to sign manifests and policies. */
export interface TrustedKey {
  keyid: string
  /** raw 32-byte Ed25519 public key */
  publicKey: Uint8Array
}

export interface TrustOptions {
  keys: TrustedKey[]
  /** signatures from distinct trusted keys required; default 1 */
  threshold?: number
  /** the clock for expiry checks; default Date.now() */
  nowMs?: number
  /**
   * key ids a root of trust removed from this role (src/identity/root/): a document
   * signed only by them is refused E_KEY_REVOKED, not merely E_SIGNATURE_UNTRUSTED
   */
  revoked?: ReadonlySet<string> | undefined
  /** the expiry of the root these keys come from (ms); past it, E_ROOT_EXPIRED */
  notAfterMs?: number | undefined
}

/** What every layer knows about a bundle once its manifest verified. */
export interface BundleInfo {
  /** `b3:` + hex BLAKE3 of the canonical signed body */
  id: string
  /** first 20 bytes of the id's hash: the BitTorrent info-hash */
  infoHash: Uint8Array
  manifest: SignedManifest
  /** unique chunks in first-appearance order: the swarm's pieces */
  pieces: ChunkRef[]
  totalBytes: number
}

/** Link classes for byte accounting and metrics labels. */
export type Link = 'wan' | 'lan'

/**
 * The chunk store as the swarm, WAN and installer see it. Chunks are addressed by
 * hash alone, so a chunk held for one bundle counts for every bundle that lists it.
 */
export interface ChunkSource {
  has(hash: string): Promise<boolean>
  /** verified bytes, or undefined when not held */
  get(hash: string, options?: { signal?: AbortSignal }): Promise<Uint8Array | undefined>
  /** the chunk's size when known without reading it (a manifest lists it); sizes the server's in-flight grant */
  sizeOf?(hash: string): number | undefined
}

export interface ChunkSink extends ChunkSource {
  /** Verifies the hash before anything is written; throws E_CHUNK_HASH_MISMATCH. */
  put(hash: string, data: Uint8Array, options?: { signal?: AbortSignal }): Promise<void>
  /**
   * Stores `data` that the caller hashed to `hash` just before, without hashing it
   * again (a second BLAKE3 pass over every received chunk). Resolves true when it
   * was written, false when the chunk was already held.
   */
  putVerified?(hash: string, data: Uint8Array, signal?: AbortSignal): Promise<boolean>
}

// ---- policy engine (DESIGN.md section 7; src/policy/) ----

/** Verdicts of the policy engine. Precedence when gates disagree: rollback > idle > refuse > defer > install. */
export type Verdict = 'install' | 'defer' | 'refuse' | 'rollback' | 'idle'

/** One gate's outcome; `gate` is a stable name such as `device.battery` or `probe.scanner`. */
export interface GateReport {
  gate: string
  ok: boolean
  detail: string
  /** failures only: the verdict this failure asks for */
  effect?: Exclude<Verdict, 'install'>
}

export interface Decision {
  verdict: Verdict
  /** every gate, in a fixed order, passing or not */
  gates: GateReport[]
  /** ms since epoch when the verdict may next change by the clock alone (or a fact poll); null: only new input changes it */
  nextCheckAt: number | null
}

/** Installer states of DESIGN.md section 8 as the policy engine sees them. */
export type InstallPhase = 'idle' | 'staged' | 'writing' | 'written' | 'verified' | 'try-boot' | 'booted-trial' |
'committed' | 'rolled-back'

/** A peripheral probe's result (`probe.<name>` gates). */
export interface ProbeResult {
  ok: boolean
  detail: string
  exitCode?: number | null
  durationMs?: number
}

/** Install lease from the store hub: held, not asked yet, denied (cap reached) or hub unreachable. */
export type LeaseStateName = 'held' | 'none' | 'denied' | 'unreachable'

/** A local hold (operator order or an earlier rollback); matches by bundle id and/or version, or every bundle when neither is given. */
export interface BundleHold {
  bundleId?: string
  version?: string
  reason: string
  /** ms since epoch; absent: until lifted */
  untilMs?: number
}

/** Everything the policy gates read about a device; gathered by src/install/facts.ts or a role. */
/** What the `trust.freshness` gate reads: the statement's expiry, or why the one held does not verify. */
export interface TimestampFacts {
  /** ms since the epoch; absent when the statement held does not verify (then `error` says why) */
  expiresAtMs?: number
  error?: string
}

export interface DeviceFacts {
  deviceId: string
  deviceClass: string
  labels: Record<string, string>
  osVariant?: string
  /** semver of the active, committed slot; absent on a fresh device */
  installedVersion?: string
  configVersion?: string
  batteryPercent?: number
  /** on mains power: the battery guardrail is met whatever the charge */
  onMains?: boolean
  temperatureC?: number
  freeDiskMiB?: number
  /** boot slots present: 2 for an A/B device */
  slotCount?: number
  bundle: { complete: boolean, verified: boolean, missingChunks?: number, totalChunks?: number }
  manifestSignature: { ok: boolean, detail: string }
  probes: Record<string, ProbeResult>
  /**
   * `hold`: when the hub denied the lease because it holds the wave at this store, the
   * hold's stable code (`wave.store-pending`, `wave.paused`, `fleet.halt`), so the ledger
   * can count the device as blocked by that gate rather than waiting for a slot
   */
  lease: { state: LeaseStateName, expiresAtMs?: number, retryAtMs?: number, detail?: string, hold?: string }
  hubReachable?: boolean
  /** orders and figures from the hub's wave ledger */
  fleet: { paused?: boolean, halted?: boolean, rollbackRatio?: number, reason?: string }
  install: { phase: InstallPhase, version?: string, sinceMs?: number }
  health: { state: 'unknown' | 'healthy' | 'unhealthy', sinceMs?: number, detail?: string }
  holds: BundleHold[]
  /**
   * the newest timestamp statement the device holds (protocols/root/SPEC.md section 6),
   * verified against its root's timestamp role; absent: none held (fleets without a
   * timestamp role), and the `trust.freshness` gate does not check
   */
  freshness?: TimestampFacts
  /** why a fact is missing: fact name -> error (command failed, timed out) */
  factErrors: Record<string, string>
}

// ---- device journal (src/install/journal.ts; read by the ledger) ----

/** One journal record: every installer transition and decision, numbered for exactly-once upload. */
export interface JournalEntry {
  /** monotonic per device, from 1; the ledger's dedup key together with the device id */
  seq: number
  /** ISO 8601 UTC */
  at: string
  /** `transition`, `decision`, `health`, `error`, `note` */
  kind: string
  waveId?: string
  bundleId?: string
  version?: string
  /** one install attempt (state.json installId) and its step: transitions are unique by both */
  installId?: string
  step?: number
  from?: string
  to?: string
  event?: string
  /** stable gate or failure name (`health.timeout`, `E_ARTIFACT_HASH_MISMATCH`) */
  reason?: string
  detail?: string
  data?: Record<string, string | number | boolean | null>
}
