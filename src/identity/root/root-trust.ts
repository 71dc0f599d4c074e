/**
 * A node's root of trust (protocols/root/SPEC.md "On a node"): the static key list as
 * the implicit version 0, the chain of signed roots it accepted in
 * `<data>/root-chain.json` (written atomically, re-verified on every load), and live
 * TrustOptions per role. A view's `keys`, `threshold`, `revoked` and `notAfterMs` read
 * the state in force at each verification, so every component handed a view (the
 * manifest client, the store import, the install decision) follows a rotation without
 * being rebuilt.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { canonicalize } from '../../bundle/canonical.js'
import { writeFileAtomic } from '../../interface/atomic-file.js'
import { StoremeshError } from '../../interface/errors.js'
import type { TrustedKey, TrustOptions } from '../../interface/types.js'
import { readBoundedFile } from '../files.js'
import { implicitRoot, type ImplicitRoles, revokedKeyIds, stateOfRoot, trustOptionsOf, verifySelfSigned, walkChain, type TrustState } from './chain.js'
import { MAX_ROOT_CHAIN, MAX_ROOT_CHAIN_BYTES, MAX_ROOTS_PER_ANSWER, ROOT_CHAIN_FILE, type RootRole } from './constants.js'
import { decodeRoot, parseRootJson, parseRootValue, rootDocumentSchema, type RootDocument } from './document.js'

/** A chain file, and the answer to `{rootsAfter}`: exactly `roots`, 1 … MAX_ROOT_CHAIN of them. */
export const rootChainSchema: z.ZodType<{ roots: RootDocument[] }> = z.strictObject({
  roots: z.array(rootDocumentSchema).min(1).max(MAX_ROOT_CHAIN)
}) as unknown as z.ZodType<{ roots: RootDocument[] }>

/** Bytes of a chain (file or wire) to well-formed roots; trusts nothing yet. E_ROOT_INVALID. */
export function decodeRootChain (bytes: Uint8Array): RootDocument[] {
  return parseRootValue(rootChainSchema, parseRootJson(bytes, MAX_ROOT_CHAIN_BYTES, 'root chain'), 'root chain').roots
}

/**
 * A root file or a chain file (`root install`'s and the root feed's inputs): a chain's
 * canonical form is the only one with a `roots` member (a root's members never name it).
 */
export function decodeRootOrChain (bytes: Uint8Array): RootDocument[] {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes('"roots"') ? decodeRootChain(bytes) : [decodeRoot(bytes)]
}

export function encodeRootChain (roots: readonly RootDocument[]): Uint8Array {
  return canonicalize({ roots })
}

export function rootChainPath (dataDir: string): string {
  return join(dataDir, ROOT_CHAIN_FILE)
}

export interface AcceptResult {
  from: number
  to: number
}

export class RootTrust {
  readonly #dataDir: string
  readonly #implicit: TrustState
  #chain: RootDocument[] = []
  #state: TrustState
  #revoked: Record<RootRole, Set<string>>
  /** mtime and size of the chain file at the last load: refresh() reloads when they change */
  #loadedStamp = ''
  #writing: Promise<unknown> = Promise.resolve()

  private constructor (dataDir: string, staticTrust: TrustOptions, implicitRoles: ImplicitRoles) {
    this.#dataDir = dataDir
    this.#implicit = implicitRoot(staticTrust, implicitRoles)
    this.#state = this.#implicit
    this.#revoked = revokedKeyIds([], this.#state)
  }

  /**
   * The node's trust: its chain file when there is one, else the static keys (version 0);
   * `implicitRoles` gives some roles of version 0 their own static keys (`--enrolment-trust`).
   */
  static async open (dataDir: string, staticTrust: TrustOptions, implicitRoles: ImplicitRoles = {}): Promise<RootTrust> {
    const t = new RootTrust(dataDir, staticTrust, implicitRoles)
    await t.refresh()
    return t
  }

  get version (): number { return this.#state.version }
  get state (): TrustState { return this.#state }
  get chain (): readonly RootDocument[] { return this.#chain }
  /** The static keys at their threshold, as given (the implicit version 0). */
  get staticKeys (): readonly TrustedKey[] { return this.#implicit.roles.release.keys }

  /** Live trust for one role (see the file comment). */
  trust (role: RootRole): TrustOptions {
    // getters read the instance, not the returned object
    const self = this
    return {
      get keys () { return self.#state.roles[role].keys },
      get threshold () { return self.#state.roles[role].threshold },
      get revoked () { return self.#revoked[role] },
      get notAfterMs () { return self.#state.expiresAtMs }
    }
  }

  /** This state's trust for one role, fixed (for one-shot commands and status lines). */
  snapshot (role: RootRole): TrustOptions {
    return trustOptionsOf(this.#state, role, this.#revoked[role])
  }

  /** Re-reads the chain file when it changed on disk (`root install` beside a running node). */
  async refresh (): Promise<boolean> {
    const path = rootChainPath(this.#dataDir)
    const st = await stat(path).catch(() => undefined)
    const stamp = st === undefined ? '' : `${st.mtimeMs}:${st.size}:${st.ino}`
    if (stamp === this.#loadedStamp) return false
    const bytes = await readBoundedFile(path, MAX_ROOT_CHAIN_BYTES)
    if (bytes === undefined) {
      this.#set([])
    } else {
      const roots = decodeRootChain(bytes)
      // our own file, checked again anyway: a chain that does not verify is no trust
      const first = verifySelfSigned(roots[0] as RootDocument)
      walkChain(first, roots.slice(1), Number.NEGATIVE_INFINITY) // expiry is judged at each use, not here
      this.#set(roots)
    }
    this.#loadedStamp = stamp
    return true
  }

  #set (roots: RootDocument[]): void {
    this.#chain = roots
    const states = roots.map(stateOfRoot)
    this.#state = states.at(-1) ?? this.#implicit
    this.#revoked = revokedKeyIds([this.#implicit, ...states], this.#state)
  }

  /**
   * Walks `offered` from the root in force and keeps what verified (see chain.ts).
   * Nothing newer: `{from, to}` equal and no write. A bad root throws its code and
   * leaves the trust and the file as they were.
   */
  async accept (offered: readonly RootDocument[], nowMs = Date.now()): Promise<AcceptResult> {
    return await this.#serial(async () => {
      await this.refresh()
      const from = this.#state.version
      const { accepted } = walkChain(this.#state, offered, nowMs)
      if (accepted.length === 0) return { from, to: from }
      await this.#persist([...this.#chain, ...accepted])
      return { from, to: this.#state.version }
    })
  }

  /**
   * Enrols a node that has only the static keys with a self-signed root (the operator's
   * act, as shipping a device with it). A node already on a signed root moves only
   * along the chain: E_ROOT_VERSION.
   */
  async enrol (root: RootDocument): Promise<AcceptResult> {
    return await this.#serial(async () => {
      await this.refresh()
      if (this.#chain.length > 0) {
        throw new StoremeshError('E_ROOT_VERSION', `this node already trusts root ${this.#state.version}; a new root must chain from it`,
          { current: this.#state.version })
      }
      verifySelfSigned(root)
      await this.#persist([root])
      return { from: 0, to: root.signed.version }
    })
  }

  /** Up to MAX_ROOTS_PER_ANSWER roots newer than `version`, oldest first; undefined when none. */
  rootsAfter (version: number): Uint8Array | undefined {
    const newer = this.#chain.filter(r => r.signed.version > version).slice(0, MAX_ROOTS_PER_ANSWER)
    return newer.length === 0 ? undefined : encodeRootChain(newer)
  }

  async #persist (roots: RootDocument[]): Promise<void> {
    const kept = roots.slice(-MAX_ROOT_CHAIN)
    const path = rootChainPath(this.#dataDir)
    await writeFileAtomic(path, Buffer.concat([encodeRootChain(kept), Buffer.from('\n')]), { mode: 0o644 })
    this.#set(kept)
    const st = await stat(path)
    this.#loadedStamp = `${st.mtimeMs}:${st.size}:${st.ino}`
  }

  async #serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.#writing.then(fn, fn)
    this.#writing = run.catch(() => {})
    return await run
  }
}
