/**
 * Protocol violations on `/storemesh/chunks/1.0.0` (protocols/chunks/SPEC.md,
 * "Budgets and violations"): one stable code per kind, its weight in the peer's
 * misbehaviour score (scoring.ts), and how a wire's closing error names it.
 *
 * Weights are in points against DEFAULT_VIOLATION_BAN_SCORE (10): an honest peer
 * never commits any of these (budgets sit far above what it sends, and the races
 * an honest wire has — a piece crossing our cancel, a request crossing our choke —
 * are allowed for), so one clear abuse bans at once and one ambiguous fault costs
 * half a ban. The score is forgotten after DEFAULT_VIOLATION_QUIET_MS without one.
 */
import type { StoremeshError } from '../interface/errors.js'

export const VIOLATION_WEIGHTS = {
  /** more keep-alive frames than the keep-alive budget */
  'keepalive-flood': 10,
  /** more `have` messages than the have budget */
  'have-flood': 10,
  /** more BEP 10 extended messages than the extended budget */
  'extended-flood': 10,
  /** more non-piece bytes per second than the byte budget */
  'non-piece-flood': 10,
  /** more handshakes naming info-hashes we never joined than the unknown-bundle budget */
  'unknown-bundle-flood': 10,
  /** requests while we choke it, past the choked-request budget */
  'choked-request-flood': 10,
  /** more queued requests than maxQueuedPeerRequests */
  'request-flood': 10,
  /** a piece we never asked for (nor withdrew) */
  'unsolicited-piece': 5,
  /** a piece of another length (or offset) than its chunk: wrong-length or truncated */
  'wrong-length-piece': 5,
  /**
   * the stream ended inside a piece frame. Light: an honest peer that stops or leaves
   * the bundle mid-upload does it too; a peer cutting pieces on purpose is banned at the fifth.
   */
  'truncated-piece': 2,
  /** a request of another length than its chunk, or for a chunk it already asked */
  'bad-request': 5,
  /**
   * a request for a chunk already sent it MAX_SENDS_PER_CHUNK times over this wire
   * (uploader.ts): an honest peer re-asks a chunk only after a copy it could not store
   */
  'repeat-request': 10,
  /** a second bitfield */
  'bitfield-repeat': 5,
  /** a handshake for another bundle, another peer id, or a second one */
  'bad-handshake': 5,
  /** a frame the frame guard refused: unknown id, wrong size, index out of range */
  'malformed-frame': 5,
  /** a length prefix over the largest frame we accept (a 2 GiB prefix) */
  'oversized-frame': 10,
  /**
   * claimed chunks and delivered none while our requests waited at it for
   * DEFAULT_HOARDER_AFTER_MS (picker.ts): disconnected; a second time bans
   */
  'hoarding': 5,
  /** a chunk that failed BLAKE3 (weight set by badChunkThreshold, see PeerScorer) */
  'bad-chunk': 5
} as const

export type ViolationCode = keyof typeof VIOLATION_WEIGHTS

/**
 * Violations an honest peer may commit by accident (see each): scored, but its
 * connection is kept (it carries leases and reports too). Every other one closes it.
 */
export const LENIENT_VIOLATIONS: ReadonlySet<ViolationCode> = new Set(['truncated-piece'])

export const VIOLATION_CODES = Object.keys(VIOLATION_WEIGHTS) as ViolationCode[]

export function isViolationCode (s: unknown): s is ViolationCode {
  return typeof s === 'string' && Object.hasOwn(VIOLATION_WEIGHTS, s)
}

/** The violation a wire's closing error stands for, if any (its `meta.violation`). */
export function violationOf (err: StoremeshError | undefined): ViolationCode | undefined {
  const v = err?.meta.violation
  return isViolationCode(v) ? v : undefined
}
