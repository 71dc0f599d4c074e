/**
 * Freshness statements (protocols/root/SPEC.md section 6): the root's `timestamp` role
 * signs, for a short time, the newest bundle id (and policy id) per device class. A
 * node whose newest statement has expired knows it may be kept on an old but validly
 * signed state (the freeze attack) and says so: the store is `stale`.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { canonicalize } from '../../bundle/canonical.js'
import { signEnvelope, verifyEnvelope } from '../../bundle/envelope.js'
import type { SigningKey } from '../../bundle/keys.js'
import { writeFileAtomic } from '../../interface/atomic-file.js'
import { StoremeshError } from '../../interface/errors.js'
import { BUNDLE_ID_RE } from '../../interface/ids.js'
import type { Envelope, TrustOptions } from '../../interface/types.js'
import { isoTimeSchema } from '../certificate.js'
import { DEVICE_CLASS_RE } from '../constants.js'
import { readBoundedFile } from '../files.js'
import { timeMs } from '../signed.js'
import { MAX_ROOT_SIGNATURES, MAX_TIMESTAMP_BYTES, MAX_TIMESTAMP_ENTRIES, MAX_TIMESTAMP_LIFETIME_MS, TIMESTAMP_FILE, TIMESTAMP_TYPE } from './constants.js'
import { parseRootJson, parseRootValue } from './document.js'

export interface TimestampEntry {
  deviceClass: string
  bundleId: string
  /** the policy in force for the class, when there is one */
  policyId?: string | undefined
}

export interface TimestampBody {
  type: typeof TIMESTAMP_TYPE
  specVersion: 1
  issuedAt: string
  expiresAt: string
  /** sorted by deviceClass, unique */
  entries: TimestampEntry[]
}

export type Timestamp = Envelope<TimestampBody>

const SIG_B64_RE = /^[A-Za-z0-9+/]{85}[AQgw]==$/
const POLICY_ID_RE = /^p3:[0-9a-f]{64}$/

const entrySchema = z.strictObject({
  deviceClass: z.string().regex(DEVICE_CLASS_RE, 'malformed'),
  bundleId: z.string().regex(BUNDLE_ID_RE, 'malformed'),
  policyId: z.string().regex(POLICY_ID_RE, 'malformed').optional()
})

export const timestampBodySchema: z.ZodType<TimestampBody> = z.strictObject({
  type: z.literal(TIMESTAMP_TYPE),
  specVersion: z.literal(1),
  issuedAt: isoTimeSchema,
  expiresAt: isoTimeSchema,
  entries: z.array(entrySchema).max(MAX_TIMESTAMP_ENTRIES)
    .refine(es => es.every((e, i) => i === 0 || (es[i - 1] as TimestampEntry).deviceClass < e.deviceClass), 'must be sorted by deviceClass and unique')
}).superRefine((b, ctx) => {
  const lifeMs = timeMs(b.expiresAt) - timeMs(b.issuedAt)
  if (lifeMs <= 0) ctx.addIssue({ code: 'custom', message: 'must be after issuedAt', path: ['expiresAt'] })
  if (lifeMs > MAX_TIMESTAMP_LIFETIME_MS) ctx.addIssue({ code: 'custom', message: `a statement lives at most ${MAX_TIMESTAMP_LIFETIME_MS / 86_400_000} days`, path: ['expiresAt'] })
}) as unknown as z.ZodType<TimestampBody>

export const timestampSchema: z.ZodType<Timestamp> = z.strictObject({
  signed: timestampBodySchema,
  signatures: z.array(z.strictObject({ keyid: z.string().regex(/^[0-9a-f]{32}$/, 'malformed key id'), sig: z.string().regex(SIG_B64_RE, 'must be canonical base64 of 64 bytes') }))
    .min(1).max(MAX_ROOT_SIGNATURES)
}) as unknown as z.ZodType<Timestamp>

/** Root errors renamed: a statement is not a root. */
function asTimestampError (err: unknown): unknown {
  if (err instanceof StoremeshError && err.code === 'E_ROOT_INVALID') return new StoremeshError('E_TIMESTAMP_INVALID', err.message.replace(/^bad root/, 'bad timestamp'), err.meta)
  return err
}

export function decodeTimestamp (bytes: Uint8Array): Timestamp {
  try {
    return parseRootValue(timestampSchema, parseRootJson(bytes, MAX_TIMESTAMP_BYTES, 'timestamp'), 'timestamp')
  } catch (err) {
    throw asTimestampError(err)
  }
}

export function encodeTimestamp (ts: Timestamp): Uint8Array {
  return canonicalize(ts)
}

export interface TimestampFields {
  entries: TimestampEntry[]
  /** @default now */
  issuedAt?: Date
  expiresAt: Date
}

export function signTimestamp (fields: TimestampFields, keys: readonly SigningKey[]): Timestamp {
  const body: TimestampBody = {
    type: TIMESTAMP_TYPE,
    specVersion: 1,
    issuedAt: (fields.issuedAt ?? new Date()).toISOString(),
    expiresAt: fields.expiresAt.toISOString(),
    entries: [...fields.entries].sort((a, b) => (a.deviceClass < b.deviceClass ? -1 : 1))
      .map(e => ({ deviceClass: e.deviceClass, bundleId: e.bundleId, ...(e.policyId !== undefined ? { policyId: e.policyId } : {}) }))
  }
  try {
    return signEnvelope(parseRootValue(timestampBodySchema, body, 'timestamp'), [...keys])
  } catch (err) {
    throw asTimestampError(err)
  }
}

/** Signatures by the root's timestamp role (a RootTrust view): E_SIGNATURE_*, E_KEY_REVOKED, E_ROOT_EXPIRED. */
export function verifyTimestamp (ts: Timestamp, trust: TrustOptions): Timestamp {
  verifyEnvelope(ts, trust)
  return ts
}

/** `next` replaces `current` only when issued later (a replayed older statement would hide a freeze). */
export function newerTimestamp (current: Timestamp | undefined, next: Timestamp): Timestamp {
  if (current === undefined) return next
  if (timeMs(next.signed.issuedAt) < timeMs(current.signed.issuedAt)) {
    throw new StoremeshError('E_TIMESTAMP_ROLLBACK', `timestamp issued ${next.signed.issuedAt} is older than the one in force (${current.signed.issuedAt})`)
  }
  return timeMs(next.signed.issuedAt) === timeMs(current.signed.issuedAt) ? current : next
}

export type FreshnessState = 'fresh' | 'stale' | 'none'

export interface Freshness {
  state: FreshnessState
  /** the statement's expiry, when there is one */
  expiresAt?: string
}

/** `fresh` until the statement expires, then `stale`; `none` without a statement. */
export function freshnessOf (ts: Timestamp | undefined, nowMs: number): Freshness {
  if (ts === undefined) return { state: 'none' }
  return { state: nowMs > timeMs(ts.signed.expiresAt) ? 'stale' : 'fresh', expiresAt: ts.signed.expiresAt }
}

export function timestampPath (dataDir: string): string {
  return join(dataDir, TIMESTAMP_FILE)
}

/** The statement in `<data>/timestamp.json`, verified against `trust`; undefined when absent. */
export async function readTimestampFile (dataDir: string, trust: TrustOptions): Promise<Timestamp | undefined> {
  const bytes = await readBoundedFile(timestampPath(dataDir), MAX_TIMESTAMP_BYTES)
  return bytes === undefined ? undefined : verifyTimestamp(decodeTimestamp(bytes), trust)
}

/** Verifies `next`, checks it is not older than the stored one, and stores it atomically. */
export async function installTimestamp (dataDir: string, next: Timestamp, trust: TrustOptions): Promise<Timestamp> {
  verifyTimestamp(next, trust)
  const current = await readTimestampFile(dataDir, trust).catch(() => undefined)
  const kept = newerTimestamp(current, next)
  if (kept !== current) await writeFileAtomic(timestampPath(dataDir), Buffer.concat([encodeTimestamp(kept), Buffer.from('\n')]))
  return kept
}

/**
 * The freshness a status line shows, re-read only when the file changed (a status tick
 * runs every second). A statement that does not verify counts as none, and says why.
 */
export class FreshnessWatch {
  readonly #dataDir: string
  readonly #trust: TrustOptions
  #stamp = ''
  #ts: Timestamp | undefined
  #error: string | undefined

  constructor (dataDir: string, trust: TrustOptions) {
    this.#dataDir = dataDir
    this.#trust = trust
  }

  async read (nowMs = Date.now()): Promise<Freshness & { error?: string }> {
    const st = await stat(timestampPath(this.#dataDir)).catch(() => undefined)
    const stamp = st === undefined ? '' : `${st.mtimeMs}:${st.size}:${st.ino}`
    if (stamp !== this.#stamp) {
      this.#stamp = stamp
      try {
        this.#ts = await readTimestampFile(this.#dataDir, this.#trust)
        this.#error = undefined
      } catch (err) {
        this.#ts = undefined
        this.#error = err instanceof StoremeshError ? err.toLine() : String(err)
      }
    }
    return { ...freshnessOf(this.#ts, nowMs), ...(this.#error !== undefined ? { error: this.#error } : {}) }
  }
}
