/**
 * A store hub with several super hubs (`--super a --super b`) reports to one at a time
 * and moves on when an exchange with it fails (protocols/report/SPEC.md "Uplinks",
 * docs/fleet.md "Several super hubs"). The uplink keeps every entry in its outbox
 * until one of them acks it, so what the failed super hub never acknowledged is sent
 * again to the next; the super hubs share one fleet database, whose (hub, outbox seq)
 * watermark makes a report that both of them saw count once.
 *
 * The hub stays with the super hub that answered last (no flapping back to the first):
 * one exchange tries each super hub at most once, starting with the current one, and
 * fails only when every one of them failed; the uplink's back-off then applies.
 */
import type { Multiaddr } from '@multiformats/multiaddr'
import { toStoremeshError, type StoremeshError } from '../interface/errors.js'
import type { ReportAckV12, ReportClient, ReportRequestOptions, ReportRequestV12, ReportTarget } from './report/index.js'

export interface SuperHubSwitch {
  from: string
  to: string
  /** why the exchange with `from` failed */
  error: StoremeshError
}

export class SuperHubFailover implements ReportClient {
  readonly #client: ReportClient
  readonly #targets: readonly Multiaddr[]
  readonly #onSwitch: ((s: SuperHubSwitch) => void) | undefined
  #current = 0
  /** exchanges that moved to another super hub */
  switches = 0

  constructor (client: ReportClient, targets: readonly Multiaddr[], options: { onSwitch?: (s: SuperHubSwitch) => void } = {}) {
    if (targets.length === 0) throw new TypeError('SuperHubFailover needs at least one super hub')
    this.#client = client
    this.#targets = targets
    this.#onSwitch = options.onSwitch
  }

  /** The super hub reports go to now (the uplink's `superHub`). */
  current (): Multiaddr {
    return this.#targets[this.#current]!
  }

  /**
   * Sends to `target` (the current super hub) and, when that fails, to each other one
   * in turn; the first answer wins and its sender becomes current. An abort ends it at
   * once. Throws the last failure when none answered.
   */
  async send (target: ReportTarget, req: ReportRequestV12, options: ReportRequestOptions = {}): Promise<ReportAckV12> {
    const start = Math.max(0, this.#targets.indexOf(target as Multiaddr))
    let last: StoremeshError | undefined
    for (let k = 0; k < this.#targets.length; k++) {
      const i = (start + k) % this.#targets.length
      if (last !== undefined) {
        this.switches++
        this.#onSwitch?.({ from: this.#targets[(i + this.#targets.length - 1) % this.#targets.length]!.toString(), to: this.#targets[i]!.toString(), error: last })
      }
      try {
        const ack = await this.#client.send(this.#targets[i]!, req, options)
        this.#current = i
        return ack
      } catch (err) {
        if (options.signal?.aborted === true) throw err
        last = toStoremeshError(err)
      }
    }
    throw last!
  }
}
