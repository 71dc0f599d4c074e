/**
 * The per-peer budgets of one wire (protocols/chunks/SPEC.md, "Budgets and
 * violations"): how many keep-alives, haves, extended messages and requests-while-
 * choked a remote may send, and how many bytes of everything that is not a piece.
 * Each is a GCRA (rate-budget.ts) sized from what an honest peer sends
 * (constants.ts says how). The wire asks `admit()` for every whole frame the frame
 * guard passes, before the library sees it; a frame over budget is a violation and
 * the wire is closed.
 *
 * Pieces are not budgeted here: a piece is allowed only as the answer to a request of
 * ours (wire.ts), so the piece bytes a peer can push are bounded by what we asked.
 */
import type { MessageBudget, WireBudgets } from './constants.js'
import { MSG, readUint32 } from './messages.js'
import { RateBudget } from './rate-budget.js'
import type { ViolationCode } from './violations.js'

const LENGTH_BYTES = 4

export interface WireBudgetInit {
  budgets: WireBudgets
  /** chunks in the bundle: the have and byte budgets grow with it */
  numPieces: number
  now?: () => number
}

export interface OverBudget {
  violation: ViolationCode
  /** the class's limits, for the log line */
  ratePerSec: number
  burst: number
}

function budgetOf (b: MessageBudget, numPieces: number, nowMs: number): RateBudget {
  return new RateBudget({ ratePerSec: b.ratePerSec, burst: b.burst + b.burstPerPiece * numPieces }, nowMs)
}

export class WireBudget {
  readonly #now: () => number
  readonly #keepAlive: RateBudget
  readonly #have: RateBudget
  readonly #extended: RateBudget
  readonly #chokedRequest: RateBudget
  readonly #nonPieceBytes: RateBudget

  constructor (init: WireBudgetInit) {
    this.#now = init.now ?? Date.now
    const now = this.#now()
    const b = init.budgets
    const n = init.numPieces
    this.#keepAlive = budgetOf(b.keepAlive, n, now)
    this.#have = budgetOf(b.have, n, now)
    this.#extended = budgetOf(b.extended, n, now)
    this.#chokedRequest = budgetOf(b.chokedRequest, n, now)
    // the one bitfield counts against the byte budget too: make room for it
    this.#nonPieceBytes = budgetOf({ ...b.nonPieceBytes, burst: b.nonPieceBytes.burst + LENGTH_BYTES + 1 + Math.ceil(n / 8) }, n, now)
  }

  /**
   * Charges one whole frame (length prefix included, the handshake excluded).
   * `amChoking`: we choke the remote now, so a request is one that crossed our choke.
   * Returns what was exceeded, or undefined when the frame is within budget.
   */
  admit (frame: Uint8Array, amChoking: boolean): OverBudget | undefined {
    const now = this.#now()
    const bodyLen = readUint32(frame, 0)
    const id = bodyLen === 0 ? undefined : frame[LENGTH_BYTES]
    if (id === MSG.PIECE) return undefined
    const over = (violation: ViolationCode, b: RateBudget): OverBudget => ({ violation, ratePerSec: b.ratePerSec, burst: b.burst })
    if (id === undefined && !this.#keepAlive.take(1, now)) return over('keepalive-flood', this.#keepAlive)
    if (id === MSG.HAVE && !this.#have.take(1, now)) return over('have-flood', this.#have)
    if (id === MSG.EXTENDED && !this.#extended.take(1, now)) return over('extended-flood', this.#extended)
    if (id === MSG.REQUEST && amChoking && !this.#chokedRequest.take(1, now)) return over('choked-request-flood', this.#chokedRequest)
    if (!this.#nonPieceBytes.take(frame.length, now)) return over('non-piece-flood', this.#nonPieceBytes)
    return undefined
  }
}
