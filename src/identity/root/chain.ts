/**
 * What a node accepts as its root of trust (protocols/root/SPEC.md "Chain rules"),
 * without I/O:
 *
 * - a next root has version current + 1 and is signed by a threshold of the current
 *   root's `root` keys AND by a threshold of its own `root` keys (so neither a stolen
 *   old key set nor a self-made new one alone can move trust);
 * - a node that missed versions walks them one by one; expiry is checked only on the
 *   newest (an intermediate root may have expired in the meantime, as in TUF);
 * - a static key list (`--trust`, device.yaml) is the implicit version 0: every role
 *   is those keys at that threshold, with no expiry, so a fleet moves onto a signed
 *   root in-band when root 1 carries a threshold of signatures by its release keys;
 * - a key that an earlier root (or the static list) named for a role and the current
 *   root no longer does is revoked for that role.
 */
import { verifyEnvelope } from '../../bundle/envelope.js'
import { isStoremeshError, StoremeshError } from '../../interface/errors.js'
import type { TrustedKey, TrustOptions } from '../../interface/types.js'
import { perRole, ROOT_ROLES, type RootRole } from './constants.js'
import { roleKeysOf, type RootDocument } from './document.js'

/** A role's keys and threshold, whether from a signed root or the static list. */
export interface RoleTrust {
  keys: TrustedKey[]
  threshold: number
}

/** The trust in force: a signed root, or the implicit version 0 of a static key list. */
export interface TrustState {
  version: number
  /** undefined: the implicit version 0 */
  root?: RootDocument | undefined
  roles: Record<RootRole, RoleTrust>
  /** ms; undefined for the implicit root */
  expiresAtMs?: number | undefined
}

/** Static keys for some roles of the implicit version 0 (`--enrolment-trust` for `enrolment`). */
export type ImplicitRoles = Partial<Record<RootRole, TrustOptions | undefined>>

/**
 * The implicit version 0: every role is the static keys at the static threshold, except
 * the roles given their own static keys (a fleet that enrolled its nodes with
 * `--enrolment-trust` keeps those keys as root 0's enrolment role).
 */
export function implicitRoot (staticTrust: TrustOptions, roles: ImplicitRoles = {}): TrustState {
  const of = (t: TrustOptions): RoleTrust => ({ keys: [...t.keys], threshold: t.threshold ?? 1 })
  const base = of(staticTrust)
  return { version: 0, roles: perRole(r => { const own = roles[r]; return own !== undefined ? of(own) : base }) }
}

export function stateOfRoot (root: RootDocument): TrustState {
  const roles = perRole(r => ({ keys: roleKeysOf(root.signed, r), threshold: root.signed.roles[r].threshold }))
  return { version: root.signed.version, root, roles, expiresAtMs: Date.parse(root.signed.expiresAt) }
}

/** A threshold of `trust`'s keys signed `root`; E_ROOT_SIGNATURE otherwise, naming `whose`. */
function assertSignedBy (root: RootDocument, trust: RoleTrust, whose: string): void {
  try {
    verifyEnvelope(root, { keys: trust.keys, threshold: trust.threshold })
  } catch (err) {
    if (isStoremeshError(err) && err.code.startsWith('E_SIGNATURE_')) {
      throw new StoremeshError('E_ROOT_SIGNATURE', `root ${root.signed.version}: not signed by a threshold of ${whose} root keys (${err.message})`,
        { version: root.signed.version, threshold: trust.threshold }, { cause: err })
    }
    throw err
  }
}

/** A root signed by a threshold of its own root keys: what an operator enrols a node with. */
export function verifySelfSigned (root: RootDocument): TrustState {
  const state = stateOfRoot(root)
  assertSignedBy(root, state.roles.root, 'its own')
  return state
}

/** One step of the chain: `next` after `current` (see the file comment). */
export function verifyNextRoot (current: TrustState, next: RootDocument): TrustState {
  const v = next.signed.version
  if (v !== current.version + 1) {
    throw new StoremeshError('E_ROOT_VERSION', `root ${v} cannot follow root ${current.version} (must be ${current.version + 1})`,
      { version: v, current: current.version })
  }
  assertSignedBy(next, current.roles.root, `root ${current.version}'s`)
  return verifySelfSigned(next)
}

/** Refuses a state whose root expired at `nowMs`: E_ROOT_EXPIRED. */
export function assertUnexpired (state: TrustState, nowMs: number): void {
  if (state.expiresAtMs !== undefined && nowMs > state.expiresAtMs) {
    throw new StoremeshError('E_ROOT_EXPIRED', `root ${state.version} expired at ${new Date(state.expiresAtMs).toISOString()}`,
      { version: state.version })
  }
}

export interface WalkResult {
  state: TrustState
  /** the roots accepted, in order (none when nothing was newer) */
  accepted: RootDocument[]
}

/**
 * Walks `offered` (any order; versions at or below the current one are skipped, as a
 * peer may send its whole chain) from `current`. A gap is E_ROOT_VERSION; a bad step
 * stops the walk with its error, and nothing after it is taken. The newest root must
 * not have expired at `nowMs` (E_ROOT_EXPIRED).
 */
export function walkChain (current: TrustState, offered: readonly RootDocument[], nowMs: number): WalkResult {
  const newer = offered.filter(r => r.signed.version > current.version).sort((a, b) => a.signed.version - b.signed.version)
  let state = current
  const accepted: RootDocument[] = []
  for (const root of newer) {
    if (root.signed.version === state.version) continue // the same version twice: the first one decides
    state = verifyNextRoot(state, root)
    accepted.push(root)
  }
  if (accepted.length > 0) assertUnexpired(state, nowMs)
  return { state, accepted }
}

/**
 * Per role, the key ids that any earlier state named and `current` does not: what
 * verification refuses as E_KEY_REVOKED rather than as merely untrusted.
 */
export function revokedKeyIds (history: readonly TrustState[], current: TrustState): Record<RootRole, Set<string>> {
  const out = perRole(() => new Set<string>())
  for (const role of ROOT_ROLES) {
    const now = new Set(current.roles[role].keys.map(k => k.keyid))
    for (const s of history) for (const k of s.roles[role].keys) if (!now.has(k.keyid)) out[role].add(k.keyid)
  }
  return out
}

/** The TrustOptions of one role of `state`: keys, threshold, revoked ids and the root's expiry. */
export function trustOptionsOf (state: TrustState, role: RootRole, revoked: ReadonlySet<string>): TrustOptions {
  return {
    keys: state.roles[role].keys,
    threshold: state.roles[role].threshold,
    revoked,
    ...(state.expiresAtMs !== undefined ? { notAfterMs: state.expiresAtMs } : {})
  }
}
