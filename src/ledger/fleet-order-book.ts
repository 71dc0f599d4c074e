/**
 * The store hub's copy of the fleet orders its super hub sent (protocols/report/SPEC.md
 * "1.2.0", "Fleet orders: store, ack, act"): each order is written here, in one fsynced
 * batch, before the hub acks it or acts on it, so a crash between the two never loses
 * an order the super hub believes delivered; an order already held is neither stored
 * nor acted on again.
 *
 * Keys (the hub ledger's level database, beside hub-ledger-keys.ts):
 *   f!<orderId>   FleetOrderRecord
 *
 * Holds: per bundle the newest hold or release (by issuedAtMs, then order id) is in
 * force; a held bundle gets no install lease on this hub.
 */
import { commit, put, scan, type LedgerDb } from './db.js'
import type { FleetOrderWire } from './report/messages-v12.js'

export interface FleetOrderRecord {
  order: FleetOrderWire
  /** hub clock when it was stored */
  receivedAtMs: number
}

const PREFIX = 'f!'
const key = (orderId: string): string => PREFIX + orderId

function newer (a: FleetOrderWire, b: FleetOrderWire | undefined): boolean {
  return b === undefined || a.issuedAtMs > b.issuedAtMs || (a.issuedAtMs === b.issuedAtMs && a.orderId > b.orderId)
}

export class FleetOrderBook {
  readonly #db: LedgerDb
  readonly #now: () => number
  readonly #records = new Map<string, FleetOrderRecord>()
  /** per bundle: its newest hold or release */
  readonly #bundles = new Map<string, FleetOrderWire>()

  private constructor (db: LedgerDb, now: () => number) {
    this.#db = db
    this.#now = now
  }

  /** Reads what the database holds. */
  static async open (db: LedgerDb, options: { now?: () => number } = {}): Promise<FleetOrderBook> {
    const book = new FleetOrderBook(db, options.now ?? Date.now)
    for await (const [, r] of scan<FleetOrderRecord>(db, PREFIX)) book.#remember(r)
    return book
  }

  #remember (r: FleetOrderRecord): void {
    this.#records.set(r.order.orderId, r)
    const o = r.order
    if ((o.action === 'hold' || o.action === 'release') && o.bundleId !== undefined && newer(o, this.#bundles.get(o.bundleId))) this.#bundles.set(o.bundleId, o)
  }

  /** Stores the orders not yet held, durably and in one batch; returns those (the ones to act on). */
  async store (orders: readonly FleetOrderWire[]): Promise<FleetOrderWire[]> {
    const fresh: FleetOrderRecord[] = []
    const seen = new Set<string>()
    for (const order of orders) {
      if (this.#records.has(order.orderId) || seen.has(order.orderId)) continue
      seen.add(order.orderId)
      fresh.push({ order, receivedAtMs: this.#now() })
    }
    await commit(this.#db, fresh.map(r => put(key(r.order.orderId), r)))
    for (const r of fresh) this.#remember(r)
    return fresh.map(r => r.order)
  }

  /** The hold in force for a bundle, or undefined. */
  holdOf (bundleId: string): FleetOrderWire | undefined {
    const o = this.#bundles.get(bundleId)
    return o?.action === 'hold' ? o : undefined
  }

  /** Bundles held now. */
  heldBundles (): FleetOrderWire[] {
    return [...this.#bundles.values()].filter(o => o.action === 'hold')
  }

  /** Every order held, oldest first. */
  list (): FleetOrderRecord[] {
    return [...this.#records.values()].sort((a, b) => a.order.issuedAtMs - b.order.issuedAtMs || a.order.orderId.localeCompare(b.order.orderId))
  }
}
