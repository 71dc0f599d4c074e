/**
 * The wave orders (halt, pause, resume) in force at this device's store hub, as its
 * uplink last heard them, kept in `<data>/wave-orders.json` so that a device restarted
 * with no hub in reach still obeys a halt. They become the policy's `fleet` facts
 * (gates `fleet.halt`, `wave.paused`): the hub obeys its super hub offline, and the
 * devices obey their hub.
 */
import { join } from 'node:path'
import { readFileLimited, writeFileAtomic } from '../interface/atomic-file.js'
import { StoremeshError } from '../interface/errors.js'
import type { DeviceFacts } from '../interface/types.js'
import { fleetFactsOf, MAX_ORDERS, parseWaveOrder, type WaveOrder } from '../ledger/index.js'

export const WAVE_ORDERS_FILE = 'wave-orders.json'
/** MAX_ORDERS orders of at most a few hundred bytes each */
const MAX_WAVE_ORDERS_FILE_BYTES = 256 * 1024

export class WaveOrderBook {
  readonly #path: string
  #orders = new Map<string, WaveOrder>()
  #saved = ''

  private constructor (dataDir: string) {
    this.#path = join(dataDir, WAVE_ORDERS_FILE)
  }

  /** Loads the last orders heard; a missing file is no orders, a corrupt one fails closed (E_INSTALL_STATE_INVALID). */
  static async open (dataDir: string): Promise<WaveOrderBook> {
    const book = new WaveOrderBook(dataDir)
    const bytes = await readFileLimited(book.#path, MAX_WAVE_ORDERS_FILE_BYTES)
    if (bytes !== undefined) {
      try {
        const list = JSON.parse(bytes.toString('utf8')) as unknown
        if (!Array.isArray(list) || list.length > MAX_ORDERS) throw new Error(`not a list of at most ${MAX_ORDERS} orders`)
        book.#orders = new Map(list.map(parseWaveOrder).map(o => [o.waveId, o]))
        book.#saved = JSON.stringify(list)
      } catch (err) {
        throw new StoremeshError('E_INSTALL_STATE_INVALID', `${book.#path}: ${(err as Error).message}`, { path: book.#path })
      }
    }
    return book
  }

  /** The full set in force at the hub after an exchange; written through when it changed. */
  async replace (orders: readonly WaveOrder[]): Promise<void> {
    const text = JSON.stringify(orders)
    this.#orders = new Map(orders.map(o => [o.waveId, o]))
    if (text === this.#saved) return
    await writeFileAtomic(this.#path, text)
    this.#saved = text
  }

  /** The policy's fleet facts for a wave, or undefined when the hub gave no order for it. */
  fleet (waveId: string): DeviceFacts['fleet'] | undefined {
    const order = this.#orders.get(waveId)
    return order !== undefined ? fleetFactsOf(order) : undefined
  }
}
