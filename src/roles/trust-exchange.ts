/**
 * Trust news over `/storemesh/report/1.2.0` (protocols/report/SPEC.md "1.2.0",
 * protocols/root/SPEC.md "Travel"): roots, the peer revocation list and the newest
 * timestamp statement ride in report answers, each round, whether or not a bundle is
 * new. One object per node plays both sides:
 *
 * - asker (a device's uplink to its hub, a hub's uplink to its super hub): `have()`
 *   says what it holds; `accept(news)` verifies each document with its own verifier
 *   (roots: the chain rules; timestamp: the root's timestamp role and "not older";
 *   revocations: the root's enrolment role) and keeps what is newer. A bad document
 *   is refused and logged, and the others still count.
 * - answerer (the hub's and the super hub's report handler): `newsFor(have)` gives what
 *   the asker lacks: the next roots, the list, the statement if issued later.
 *
 * So a store's devices get a new timestamp statement from their hub the round after the
 * hub got it from the WAN, even when no bundle changed.
 */
import { decodeRootChain, installTimestamp, readTimestampFile, type RootTrust, type Timestamp } from '../identity/root/index.js'
import type { PeerIdentities } from '../identity/peer-identities.js'
import { revocationNews } from '../identity/revocation-news.js'
import { toStoremeshError, type StoremeshError } from '../interface/errors.js'
import { silentLog, type Log } from '../interface/log.js'
import { MAX_REPORT_ROOTS } from '../ledger/report/constants.js'
import type { Have, TrustNews } from '../ledger/report/index.js'
import type { TrustSink } from '../ledger/uplink.js'

export interface TrustExchangeInit {
  dataDir: string
  root: RootTrust
  /** the node's peer identities, when certificates are on: their revocation list travels too */
  identities?: PeerIdentities | undefined
  /**
   * puts a newer revocation list in force (IdentityProtocol.adoptRevocations: refuses and
   * disconnects the revoked peers at once); absent: the identities adopt it alone
   */
  adoptRevocations?: (list: unknown) => boolean
  /** a document that did not verify (the rest of the answer still counts) */
  onRefused?: (what: 'roots' | 'timestamp' | 'revocations', err: StoremeshError) => void
  /** a document that was newer and is now in force, in one line */
  onKept?: (what: 'roots' | 'timestamp', line: string) => void
}

export class TrustExchange implements TrustSink {
  readonly #init: TrustExchangeInit

  constructor (init: TrustExchangeInit) {
    this.#init = init
  }

  /** The statement held, verified against the root in force; undefined when none or it no longer verifies. */
  async timestamp (): Promise<Timestamp | undefined> {
    return await readTimestampFile(this.#init.dataDir, this.#init.root.trust('timestamp')).catch(() => undefined)
  }

  async have (): Promise<Omit<Have, 'orderCursor'>> {
    await this.#init.root.refresh().catch(() => false)
    const ts = await this.timestamp()
    return {
      rootVersion: this.#init.root.version,
      timestampIssuedMs: ts !== undefined ? Date.parse(ts.signed.issuedAt) : 0,
      ...(this.#init.identities !== undefined ? { revocationVersion: this.#init.identities.revocationVersion } : {})
    }
  }

  async accept (news: TrustNews): Promise<boolean> {
    let kept = false
    // roots first: a statement or list may be signed by keys only the new root names
    if (news.roots !== undefined && news.roots.length > 0) {
      await this.#each('roots', async () => {
        const r = await this.#init.root.accept(news.roots ?? [])
        if (r.to !== r.from) this.#init.onKept?.('roots', `root version ${r.from} -> ${r.to}`)
        kept ||= r.to !== r.from
      })
    }
    if (news.timestamp !== undefined) {
      const offered = news.timestamp
      await this.#each('timestamp', async () => {
        const before = await this.timestamp()
        const after = await installTimestamp(this.#init.dataDir, offered, this.#init.root.trust('timestamp'))
        const newer = before === undefined || after.signed.issuedAt !== before.signed.issuedAt
        if (newer) this.#init.onKept?.('timestamp', `timestamp statement issued ${after.signed.issuedAt}, expires ${after.signed.expiresAt}`)
        kept ||= newer
      })
    }
    if (news.revocations !== undefined && this.#init.identities !== undefined) {
      const identities = this.#init.identities
      const list = news.revocations
      await this.#each('revocations', async () => {
        const from = identities.revocationVersion
        if (this.#init.adoptRevocations !== undefined) this.#init.adoptRevocations(list)
        else identities.adoptRevocations(list)
        kept ||= identities.revocationVersion !== from
      })
    }
    return kept
  }

  async #each (what: 'roots' | 'timestamp' | 'revocations', fn: () => Promise<void>): Promise<void> {
    try {
      await fn()
    } catch (err) {
      this.#init.onRefused?.(what, toStoremeshError(err))
    }
  }

  /**
   * What an asker holding `have` lacks; undefined when nothing. Only what the asker says
   * it keeps: an asker whose `have` has no `rootVersion` (no trust sink) gets no roots.
   */
  async newsFor (have: Have | undefined): Promise<TrustNews | undefined> {
    const news: TrustNews = {}
    const root = this.#init.root
    if (have?.rootVersion !== undefined) {
      await root.refresh().catch(() => false)
      const rootBytes = root.rootsAfter(have.rootVersion)
      if (rootBytes !== undefined) news.roots = decodeRootChain(rootBytes).slice(0, MAX_REPORT_ROOTS)
    }
    if (have?.timestampIssuedMs !== undefined) {
      const ts = await this.timestamp()
      if (ts !== undefined && Date.parse(ts.signed.issuedAt) > have.timestampIssuedMs) news.timestamp = ts
    }
    if (this.#init.identities !== undefined) Object.assign(news, revocationNews(this.#init.identities).newsFor(have))
    return Object.keys(news).length > 0 ? news : undefined
  }
}

/** The node's exchange, logging what it refuses. */
export function trustExchangeOf (dataDir: string, root: RootTrust, identities: PeerIdentities | undefined, log: Log | undefined,
  identity?: { adoptRevocations: (list: unknown) => boolean }): TrustExchange {
  const tlog = (log ?? silentLog).child({ component: 'trust' })
  return new TrustExchange({
    dataDir,
    root,
    identities,
    ...(identity !== undefined ? { adoptRevocations: (list: unknown) => identity.adoptRevocations(list) } : {}),
    onRefused: (what, err) => { tlog.warn({ code: err.code }, `refused ${what} from a report answer: ${err.toLine()}`) },
    onKept: (_what, line) => { tlog.info(`from a report answer: ${line}`) }
  })
}
