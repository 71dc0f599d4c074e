/**
 * The store hub's share of the signed rollout policy (docs/fleet-waves.md): the
 * policy's `rollout.maxConcurrentPerHub` sets the hub's lease limit, and the hub's
 * `--max-concurrent-installs` flag may only tighten it (src/control/waves/
 * effective-rollout.ts). A looser flag is refused with E_POLICY_CONFLICT at start,
 * against `--policy` and the kept policies alike; a policy that reaches the running hub
 * later wins over a looser flag (it tightens; the status names the flag set aside). Policies
 * come from `storemesh hub --policy` and from prefetch requests to the running hub's
 * API; each is verified with the hub's trust and kept in `<data>/rollout-policies/`,
 * one per policy name (the highest wave wins), so a restarted hub keeps the limit the
 * policy set instead of falling back to a looser default. With policies of several
 * waves the tightest figure applies: the hub has one lease table for all of them.
 *
 * Composition: verification is policy/, the rule is control/waves/, the limit lives in
 * the lease table; this file holds the set of policies and their files.
 */
import { mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { effectiveField, tightestPolicy, type ConflictMode, type RolloutSource } from '../control/waves/index.js'
import { readFileLimited, writeFileAtomic } from '../interface/atomic-file.js'
import { StoremeshError, toStoremeshError } from '../interface/errors.js'
import { silentLog, type Log } from '../interface/log.js'
import type { TrustOptions } from '../interface/types.js'
import type { LeaseTable } from '../lease/index.js'
import { MAX_SIGNED_POLICY_BYTES } from '../policy/constants.js'
import { decodeSignedPolicy, encodeSignedPolicy, verifyPolicy, type SignedPolicy, type VerifiedPolicy } from '../policy/index.js'

/** `<data>/rollout-policies/<policy name>.json`: the signed policies the hub applies. */
export const ROLLOUT_POLICY_DIR = 'rollout-policies'
/** Policy names kept; each wave of a name replaces the last, so this bounds a hub's files. */
const MAX_ROLLOUT_POLICIES = 256
const FLAG_NAME = '--max-concurrent-installs'

export interface AppliedValue {
  value: number
  source: RolloutSource
  /** the policy the value (or the figure the flag tightened) came from */
  policyId?: string
  policyName?: string
  wave?: number
  /** the flag as given, when given */
  flag?: number
  /** the flag was looser than a policy that reached the running hub, and set aside */
  flagOverridden?: boolean
}

/** What `storemesh status` and GET /api/status show under `rollout`. */
export interface HubRolloutView {
  maxConcurrentPerHub: AppliedValue
  policies: Array<{ policyId: string, name: string, wave: number, bundleId: string, maxConcurrentPerHub: number, prestageHours: number }>
}

export interface HubRolloutInit {
  dataDir: string
  trust: TrustOptions
  leases: LeaseTable
  /** `--max-concurrent-installs`: tightens the policy's maxConcurrentPerHub, never loosens it */
  maxConcurrentFlag?: number | undefined
  log?: Log
}

export class HubRollout {
  readonly #init: HubRolloutInit
  readonly #log: Log
  /** by policy name */
  readonly #policies = new Map<string, VerifiedPolicy & { env: SignedPolicy }>()
  #applied: AppliedValue

  private constructor (init: HubRolloutInit) {
    this.#init = init
    this.#log = init.log ?? silentLog
    this.#applied = this.#compute([])
  }

  /**
   * The kept policies, then `given` (envelopes from `--policy`), verified and applied.
   * Throws E_POLICY_CONFLICT when the flag would loosen one of them, E_POLICY_INVALID /
   * E_SIGNATURE_* for a given policy that does not verify; a kept file that no longer
   * verifies (trust changed) is logged and skipped.
   */
  static async open (init: HubRolloutInit, given: readonly unknown[] = []): Promise<HubRollout> {
    const r = new HubRollout(init)
    for (const env of await r.#readKept()) {
      try {
        r.#add(verifyPolicy(env, init.trust), env as SignedPolicy)
      } catch (err) {
        r.#log.warn(`kept rollout policy skipped: ${toStoremeshError(err).toLine()}`)
      }
    }
    const fresh: Array<VerifiedPolicy & { env: SignedPolicy }> = []
    for (const env of given) fresh.push({ ...verifyPolicy(env, init.trust), env: env as SignedPolicy })
    for (const v of fresh) r.#add(v, v.env)
    r.#setLimit(r.#compute([...r.#policies.values()]))
    // a given policy older than the kept one of its name is not written over it
    for (const v of fresh) if (r.#policies.get(v.policy.metadata.name)?.policyId === v.policyId) await r.#save(v.env, v.policy.metadata.name)
    return r
  }

  /** A signed policy handed to the running hub (prefetch): verified, kept, applied; it wins over a looser flag. */
  async apply (env: unknown): Promise<{ changed: boolean, applied: AppliedValue, policyId: string }> {
    const v = verifyPolicy(env, this.#init.trust)
    const name = v.policy.metadata.name
    const old = this.#policies.get(name)
    if (old !== undefined && (old.policyId === v.policyId || old.policy.metadata.wave > v.policy.metadata.wave)) {
      return { changed: false, applied: this.#applied, policyId: v.policyId }
    }
    const next = new Map(this.#policies)
    next.set(name, { ...v, env: env as SignedPolicy })
    if (next.size > MAX_ROLLOUT_POLICIES) throw new StoremeshError('E_INVALID_ARGUMENT', `the hub keeps at most ${MAX_ROLLOUT_POLICIES} rollout policies`)
    const applied = this.#compute([...next.values()], 'tighten')
    await this.#save(env as SignedPolicy, name)
    this.#policies.set(name, next.get(name)!)
    const before = this.#applied.value
    this.#setLimit(applied)
    return { changed: applied.value !== before || old?.policyId !== v.policyId, applied, policyId: v.policyId }
  }

  get maxConcurrentPerHub (): AppliedValue {
    return { ...this.#applied }
  }

  view (): HubRolloutView {
    return {
      maxConcurrentPerHub: { ...this.#applied },
      policies: [...this.#policies.values()].sort((a, b) => a.policy.metadata.name.localeCompare(b.policy.metadata.name)).map(v => ({
        policyId: v.policyId,
        name: v.policy.metadata.name,
        wave: v.policy.metadata.wave,
        bundleId: v.policy.spec.bundle.id,
        maxConcurrentPerHub: v.policy.spec.rollout.maxConcurrentPerHub,
        prestageHours: v.policy.spec.schedule.prestageHours
      }))
    }
  }

  #add (v: VerifiedPolicy, env: SignedPolicy): void {
    const old = this.#policies.get(v.policy.metadata.name)
    if (old === undefined || old.policy.metadata.wave <= v.policy.metadata.wave) this.#policies.set(v.policy.metadata.name, { ...v, env })
  }

  /** The tightest policy's figure against the flag; `refuse` throws E_POLICY_CONFLICT for a looser flag. */
  #compute (policies: ReadonlyArray<VerifiedPolicy & { env: SignedPolicy }>, mode: ConflictMode = 'refuse'): AppliedValue {
    const flag = this.#init.maxConcurrentFlag
    const tightest = tightestPolicy('maxConcurrentPerHub', policies.map(p => p.policy))
    const from = policies.find(p => p.policy === tightest)
    const e = effectiveField('maxConcurrentPerHub', tightest, flag, FLAG_NAME, mode)
    return {
      value: e.value as number,
      source: e.source,
      ...(from !== undefined ? { policyId: from.policyId, policyName: from.policy.metadata.name, wave: from.policy.metadata.wave } : {}),
      ...(flag !== undefined ? { flag } : {}),
      ...(e.overriddenFlag !== undefined ? { flagOverridden: true } : {})
    }
  }

  #setLimit (applied: AppliedValue): void {
    this.#applied = applied
    this.#init.leases.setLimit(applied.value)
    this.#log.info(`install leases at once: ${applied.value} (${applied.source}${applied.policyName !== undefined ? `; policy ${applied.policyName} wave ${applied.wave ?? ''}` : ''})`)
  }

  async #readKept (): Promise<unknown[]> {
    const dir = join(this.#init.dataDir, ROLLOUT_POLICY_DIR)
    let names: string[]
    try {
      names = (await readdir(dir)).filter(n => n.endsWith('.json')).sort().slice(0, MAX_ROLLOUT_POLICIES)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw toStoremeshError(err)
    }
    const out: unknown[] = []
    for (const n of names) {
      try {
        const bytes = await readFileLimited(join(dir, n), MAX_SIGNED_POLICY_BYTES)
        if (bytes !== undefined) out.push(decodeSignedPolicy(bytes))
      } catch (err) {
        this.#log.warn(`kept rollout policy ${n} unreadable: ${toStoremeshError(err).toLine()}`)
      }
    }
    return out
  }

  async #save (env: SignedPolicy, name: string): Promise<void> {
    const dir = join(this.#init.dataDir, ROLLOUT_POLICY_DIR)
    await mkdir(dir, { recursive: true })
    // policy names are [A-Za-z0-9._-] (schema NAME_RE) and never start with a dot: a safe file name
    await writeFileAtomic(join(dir, `${name}.json`), encodeSignedPolicy(env))
  }
}
