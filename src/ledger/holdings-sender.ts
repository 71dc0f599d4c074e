/**
 * What a store hub's uplink puts in `holdings` (protocols/report/SPEC.md "1.2.0"
 * `holdings`): the bundles it holds, sent when they changed since the last answered
 * request, and again every HOLDINGS_REFRESH_MS so a super hub whose database lost them
 * (or a second super hub on another database) learns them without a change.
 *
 * A super hub from before `holdings` answers `bad-request` naming the member (its
 * strict decoder): the uplink then stops sending it for the life of the process and
 * sends the same batch again without it, so an old super hub costs one refused
 * exchange and nothing else (SPEC.md "1.2.0", "Holdings and older super hubs").
 */
import { createHash } from 'node:crypto'
import { isStoremeshError } from '../interface/errors.js'
import type { Holdings } from './report/index.js'

/** A hub resends unchanged holdings this often. @default 5 min */
export const HOLDINGS_REFRESH_MS = 5 * 60_000

export type HoldingsSource = () => Promise<Holdings['bundles']>

/** True when the peer refused a request because of its `holdings` member. */
export function refusedHoldings (err: unknown): boolean {
  if (!isStoremeshError(err, 'E_PEER_ERROR') || err.meta.reason !== 'bad-request') return false
  return /holdings/.test(String(err.meta.detail ?? ''))
}

export class HoldingsSender {
  readonly #source: HoldingsSource
  readonly #now: () => number
  /** the digest and time of the holdings the peer last took */
  #sent: { digest: string, atMs: number } | undefined
  /** the super hub refused the member: not sent again by this process */
  refused = false

  constructor (source: HoldingsSource, now: () => number = Date.now) {
    this.#source = source
    this.#now = now
  }

  /** The member for the next request, or undefined when the peer has it (or refused it). */
  async next (): Promise<{ holdings: Holdings, digest: string } | undefined> {
    if (this.refused) return undefined
    const bundles = [...await this.#source()].sort((a, b) => a.bundleId.localeCompare(b.bundleId))
    const digest = createHash('sha256').update(JSON.stringify(bundles)).digest('hex')
    const now = this.#now()
    if (this.#sent !== undefined && this.#sent.digest === digest && now - this.#sent.atMs < HOLDINGS_REFRESH_MS) return undefined
    return { holdings: { atMs: now, bundles }, digest }
  }

  /** The peer answered a request that carried these holdings. */
  taken (digest: string): void {
    this.#sent = { digest, atMs: this.#now() }
  }

  /** A new super hub (failover) or a restart of the exchange: send them again. */
  forget (): void {
    this.#sent = undefined
  }
}
