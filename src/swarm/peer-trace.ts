/**
 * Debug lines on the requesting side of one bundle's swarm, per peer, with the time
 * since the peer's wire came up (issue #20: hoarders were first asked 6-9 s after
 * their claim, and nothing said why). One line when the wire is ready, when the peer's
 * claim arrives (bitfield, or a have that makes it hold everything), when it unchokes
 * us, when it is first asked, and each time the reason it is not asked changes
 * (Picker.notAskedWhy), so a run at `--log-level debug` shows the whole story of a
 * peer in a few lines and an honest swarm's log does not grow per request.
 */
import type { Log } from '../interface/log.js'

interface Seen {
  readyAtMs: number
  claimed: boolean
  asked: number
  reason: string | undefined
}

/** Peers traced at once: far more than a store's peers; older ones are forgotten. */
const MAX_TRACED_PEERS = 1024

export class PeerTrace {
  readonly #log: Log | undefined
  readonly #now: () => number
  readonly #bundle: string
  readonly #seen = new Map<string, Seen>()

  constructor (init: { log?: Log | undefined, bundleId: string, now: () => number }) {
    this.#log = init.log
    this.#now = init.now
    this.#bundle = init.bundleId
  }

  get enabled (): boolean { return this.#log !== undefined }

  ready (id: string): void {
    if (this.#log === undefined) return
    this.#seen.delete(id)
    this.#seen.set(id, { readyAtMs: this.#now(), claimed: false, asked: 0, reason: undefined })
    if (this.#seen.size > MAX_TRACED_PEERS) this.#seen.delete(this.#seen.keys().next().value as string)
    this.#line(id, 'wire ready')
  }

  /** The peer's bitfield or a have: `held` of `total` chunks announced (a partial bitfield's claim is judged too). */
  claim (id: string, held: number, total: number, bitfield = false): void {
    const s = this.#seen.get(id)
    if (s === undefined || s.claimed || held < total && !(bitfield && held > 0)) return
    s.claimed = true
    this.#line(id, held < total ? `claims ${held}/${total} chunks` : `claims every chunk (${held}/${total})`)
  }

  unchoked (id: string): void {
    this.#line(id, 'unchoked us')
  }

  /**
   * fill() considered the peer: `asked` requests went out, else `kind` says why not,
   * and `why` in full (with counts) is logged when the kind changes. Logged at each
   * change of the counts, 20 hoarders wrote a line per hoarder per chunk the device got,
   * and each line cost a pass over the hoarder's chunks (bench:hostile, issue #20).
   */
  considered (id: string, asked: number, kind: () => string, why: () => string = kind): void {
    const s = this.#seen.get(id)
    if (s === undefined) return
    if (asked > 0) {
      if (s.asked === 0) this.#line(id, `first asked (${asked} request${asked === 1 ? '' : 's'})`)
      s.asked += asked
      s.reason = undefined
      return
    }
    const reason = kind()
    if (reason === s.reason) return
    s.reason = reason
    this.#line(id, `not asked: ${why()}`)
  }

  forget (id: string): void {
    this.#seen.delete(id)
  }

  #line (id: string, what: string): void {
    const s = this.#seen.get(id)
    const since = s !== undefined ? ` +${this.#now() - s.readyAtMs} ms` : ''
    this.#log?.debug({ bundle: this.#bundle, peer: id }, `peer ${id} ${what}${since}`)
  }
}
