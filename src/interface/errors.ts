/**
 * Typed errors with stable codes. A code is API: scripts and operators match on it,
 * so never rename one; add a new code instead. Each code maps to the process exit
 * code of DESIGN.md section 8 so the CLI can exit without a table of its own.
 */
import type { Verdict } from './types.js'

/** Exit codes of one-shot commands (DESIGN.md section 8). */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  HASH: 2,
  TRUST: 3,
  ROLLED_BACK: 4,
  USAGE: 64,
  DEFERRED: 75
} as const

export type ExitCode = typeof EXIT[keyof typeof EXIT]

/**
 * What a policy verdict makes a one-shot command exit with: `device install --once`
 * (when it does not install) and `policy explain` read this one table, so explain
 * exits with what the install would. Every refusal is a trust-class exit (3), as
 * DESIGN.md section 8 lists expiry, target and version refusals with signatures.
 */
export const VERDICT_EXIT: Readonly<Record<Verdict, ExitCode>> = {
  install: EXIT.OK,
  idle: EXIT.OK,
  defer: EXIT.DEFERRED,
  refuse: EXIT.TRUST,
  rollback: EXIT.ROLLED_BACK
}

/** Every stable error code, with the exit code a one-shot command returns for it. */
export const ERROR_CODES = {
  // usage and input
  E_USAGE: EXIT.USAGE,
  E_INVALID_ARGUMENT: EXIT.USAGE,
  /** a fleet simulator parameter outside its range (src/sim/params.ts) */
  E_SIM_PARAM: EXIT.USAGE,
  /** a fleet simulation whose memory estimate exceeds the limit, refused before it starts */
  E_SIM_MEMORY: EXIT.USAGE,
  E_FILE_NOT_FOUND: EXIT.FAILURE,
  /** an input path that is a directory, FIFO, socket or device, not a regular file (src/interface/regular-file.ts) */
  E_FILE_NOT_REGULAR: EXIT.FAILURE,
  /** an input file over its decoder's size limit */
  E_FILE_TOO_LARGE: EXIT.FAILURE,
  /** an input file that exists but cannot be opened or read (permissions, I/O error) */
  E_FILE_UNREADABLE: EXIT.FAILURE,
  /** a document that is not strict JSON: BOM, invalid UTF-8, duplicate key, trailing data (src/interface/strict-json.ts) */
  E_JSON_STRICT: EXIT.TRUST,
  /** a base64 field that is not canonical base64 (src/interface/base64.ts) */
  E_BASE64_INVALID: EXIT.TRUST,
  E_KEY_INVALID: EXIT.TRUST,
  // bundle content (exit 2)
  E_CHUNK_HASH_MISMATCH: EXIT.HASH,
  E_ARTIFACT_HASH_MISMATCH: EXIT.HASH,
  E_CHUNK_MISSING: EXIT.HASH,
  E_SIZE_MISMATCH: EXIT.HASH,
  // manifest and trust (exit 3)
  E_MANIFEST_INVALID: EXIT.TRUST,
  E_MANIFEST_TOO_LARGE: EXIT.TRUST,
  E_SIGNATURE_INVALID: EXIT.TRUST,
  E_SIGNATURE_UNTRUSTED: EXIT.TRUST,
  E_SIGNATURE_THRESHOLD: EXIT.TRUST,
  E_MANIFEST_EXPIRED: EXIT.TRUST,
  E_VERSION_ROLLBACK: EXIT.TRUST,
  E_PATH_ESCAPE: EXIT.TRUST,
  E_POLICY_INVALID: EXIT.TRUST,
  // node identity (src/identity/, protocols/identity/SPEC.md; exit 3)
  /** a certificate or revocation list that is not well formed (bytes, JSON, members, limits) */
  E_CERT_INVALID: EXIT.TRUST,
  /** a certificate not signed by a trusted enrolment key, or edited after signing */
  E_CERT_SIGNATURE: EXIT.TRUST,
  /** a certificate whose expiry has passed */
  E_CERT_EXPIRED: EXIT.TRUST,
  /** a certificate issued in the future (past the allowed clock skew) */
  E_CERT_NOT_YET_VALID: EXIT.TRUST,
  /** a certificate whose serial or peer id is on the revocation list */
  E_CERT_REVOKED: EXIT.TRUST,
  /** a certificate bound to another peer id (or another store, or role) than the one presenting it */
  E_CERT_MISMATCH: EXIT.TRUST,
  /** a peer that presented no certificate where one is required */
  E_CERT_MISSING: EXIT.TRUST,
  /** a revocation list that is malformed or not signed by a trusted enrolment key */
  E_REVOCATION_INVALID: EXIT.TRUST,
  /** a revocation list older than the one in force */
  E_REVOCATION_ROLLBACK: EXIT.TRUST,
  // root of trust (src/identity/root/, protocols/root/SPEC.md; exit 3)
  /** a root document or chain that is not well formed (bytes, JSON, members, keys, limits) */
  E_ROOT_INVALID: EXIT.TRUST,
  /** a root not signed by a threshold of the previous root's root keys, or of its own */
  E_ROOT_SIGNATURE: EXIT.TRUST,
  /** a root whose version is not the current one plus one (a gap, a replay, a rollback) */
  E_ROOT_VERSION: EXIT.TRUST,
  /** the newest root known has expired: nothing is trusted from it until a newer one arrives */
  E_ROOT_EXPIRED: EXIT.TRUST,
  /** a root at or below the version in force that is not the root held there (a feed or origin replaying or forking the chain) */
  E_ROOT_ROLLBACK: EXIT.TRUST,
  /** a freshness statement that is malformed */
  E_TIMESTAMP_INVALID: EXIT.TRUST,
  /** a freshness statement issued before the one in force (a replay would hide a freeze) */
  E_TIMESTAMP_ROLLBACK: EXIT.TRUST,
  /** signed only by keys a newer root removed from the role (revoked) */
  E_KEY_REVOKED: EXIT.TRUST,
  // store
  E_DATA_DIR_IN_USE: EXIT.FAILURE,
  E_DISK_FULL: EXIT.FAILURE,
  E_QUOTA_EXCEEDED: EXIT.FAILURE,
  /** the store quota cannot hold one bundle (refused at start, with both sizes) */
  E_QUOTA_TOO_SMALL: EXIT.USAGE,
  /** a pinned bundle (running, installing, last-known-good or pinned by hand) cannot be evicted */
  E_BUNDLE_PINNED: EXIT.FAILURE,
  E_BUNDLE_NOT_FOUND: EXIT.FAILURE,
  E_STORE_CORRUPT: EXIT.HASH,
  E_STORE_CLOSED: EXIT.FAILURE,
  // wire and network
  E_WIRE_MESSAGE_TOO_LARGE: EXIT.FAILURE,
  E_WIRE_MALFORMED: EXIT.FAILURE,
  E_PEER_BANNED: EXIT.FAILURE,
  /** a peer sent more of a message class than its budget on the chunk wire (src/swarm/wire-budget.ts) */
  E_PEER_OVER_BUDGET: EXIT.FAILURE,
  /** a peer claimed chunks and delivered none while our requests waited at it (src/swarm/picker.ts) */
  E_PEER_HOARDING: EXIT.FAILURE,
  E_TIMEOUT: EXIT.FAILURE,
  E_ABORTED: EXIT.FAILURE,
  E_NOT_CONNECTED: EXIT.FAILURE,
  /** the remote peer answered a request with an error status */
  E_PEER_ERROR: EXIT.FAILURE,
  /** a store hub took nothing from its wan-pull stream for the stall time mid-answer: the super hub reset the stream and took its chunk bytes in flight back (src/wan/pull/constants.ts DEFAULT_SERVE_STALL_MS) */
  E_SERVE_STALLED: EXIT.FAILURE,
  // HTTP/file origin a super hub pulls through from (src/origin/, protocols/origin/SPEC.md)
  /** the origin has no such object (HTTP 404 or a missing file) */
  E_ORIGIN_NOT_FOUND: EXIT.FAILURE,
  /** the origin answered with another error status (5xx, 403, ...) */
  E_ORIGIN_HTTP: EXIT.FAILURE,
  /** the origin's body ended before its declared or expected length */
  E_ORIGIN_TRUNCATED: EXIT.FAILURE,
  /** the origin sent no byte for longer than the stall timeout, or no answer within the request timeout */
  E_ORIGIN_STALLED: EXIT.FAILURE,
  /** the origin could not be reached (refused, reset, DNS) */
  E_ORIGIN_UNREACHABLE: EXIT.FAILURE,
  // policy and install
  E_DEFERRED: EXIT.DEFERRED,
  E_INSTALL_FAILED: EXIT.ROLLED_BACK,
  E_ROLLED_BACK: EXIT.ROLLED_BACK,
  E_BACKEND: EXIT.FAILURE,
  E_LEASE_DENIED: EXIT.DEFERRED,
  // installer (src/install/)
  E_ACTIVE_SLOT_WRITE: EXIT.FAILURE,
  E_INSTALL_STATE_INVALID: EXIT.FAILURE,
  E_INSTALL_TRANSITION: EXIT.FAILURE,
  E_BACKEND_UNAVAILABLE: EXIT.FAILURE,
  E_JOURNAL: EXIT.FAILURE,
  // device config and facts (src/install/facts.ts)
  E_CONFIG_INVALID: EXIT.FAILURE,
  // operator plane
  E_UNAUTHORIZED: EXIT.FAILURE,
  /** the wave ledger's database cannot be opened or holds a record it cannot read */
  E_LEDGER: EXIT.FAILURE,
  /** the API has no such route or resource */
  E_NOT_FOUND: EXIT.FAILURE,
  /** an API request body over its limit */
  E_REQUEST_TOO_LARGE: EXIT.FAILURE,
  /** an API request whose Host header names none of the server's names (DNS rebinding) */
  E_MISDIRECTED_REQUEST: EXIT.FAILURE,
  /** the request contradicts the state in force (e.g. starting a wave the super hub halted) */
  E_CONFLICT: EXIT.FAILURE,
  /** a flag that would loosen a value of the signed policy (a flag may only tighten; docs/fleet-waves.md) */
  E_POLICY_CONFLICT: EXIT.USAGE,
  /** a wave event or order names a store that is not in the wave's plan */
  E_WAVE_UNKNOWN_STORE: EXIT.FAILURE,
  /** the role has no way to do this yet (e.g. a device rollback order with no order channel) */
  E_NOT_IMPLEMENTED: EXIT.FAILURE,
  // fleet ledger (src/control/)
  /** the fleet database cannot be reached (server down, connection lost): reports stay unacknowledged */
  E_DB_UNAVAILABLE: EXIT.FAILURE,
  /** a report from a hub the fleet does not know (not registered, not certified) */
  E_HUB_UNKNOWN: EXIT.FAILURE,
  /** an order or query for a wave the fleet ledger has no record of */
  E_WAVE_UNKNOWN: EXIT.FAILURE,
  /** an order for a store (hub id) the fleet ledger has no record of */
  E_STORE_UNKNOWN: EXIT.FAILURE,
  /** an order for a device no store reported */
  E_DEVICE_UNKNOWN: EXIT.FAILURE,
  E_INTERNAL: EXIT.FAILURE
} as const

export type ErrorCode = keyof typeof ERROR_CODES

export type ErrorMeta = Record<string, string | number | boolean | undefined>

/**
 * An error that prints as one line an operator can act on:
 * `E_CHUNK_HASH_MISMATCH chunk 41 of artifact rootfs.img in bundle b3:9f...`.
 */
export class StoremeshError extends Error {
  readonly code: ErrorCode
  readonly meta: ErrorMeta

  constructor (code: ErrorCode, message: string, meta: ErrorMeta = {}, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StoremeshError'
    this.code = code
    this.meta = meta
  }

  get exitCode (): ExitCode {
    return ERROR_CODES[this.code]
  }

  /** One line: the code, the message, and the metadata as key=value. */
  toLine (): string {
    const extra = Object.entries(this.meta)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' ')
    return extra.length > 0 ? `${this.code} ${this.message} (${extra})` : `${this.code} ${this.message}`
  }

  toJSON (): { code: ErrorCode, message: string, meta: ErrorMeta } {
    return { code: this.code, message: this.message, meta: this.meta }
  }
}

export function isStoremeshError (err: unknown, code?: ErrorCode): err is StoremeshError {
  return err instanceof StoremeshError && (code === undefined || err.code === code)
}

/** Wrap any thrown value so the CLI can always print one line with a code. */
export function toStoremeshError (err: unknown): StoremeshError {
  if (err instanceof StoremeshError) return err
  const e = err as NodeJS.ErrnoException
  if (e?.code === 'ENOSPC') return new StoremeshError('E_DISK_FULL', 'no space left on device', { path: e.path }, { cause: err })
  if (e?.code === 'ENOENT') return new StoremeshError('E_FILE_NOT_FOUND', `no such file: ${e.path ?? ''}`, {}, { cause: err })
  if (e?.name === 'AbortError') return new StoremeshError('E_ABORTED', 'aborted', {}, { cause: err })
  return new StoremeshError('E_INTERNAL', e?.message ?? String(err), {}, { cause: err })
}
