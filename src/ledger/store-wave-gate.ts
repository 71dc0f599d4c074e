/**
 * The store hub's wave gate (docs/fleet-waves.md "The store hub's wave gate"): a store
 * hub with a super hub uplink grants no install lease for a wave until it has heard
 * from its super hub this store's word on that wave.
 *
 * How the hub knows a wave is a fleet wave: it asks. The super hub answers every store
 * hub, in every report answer, with an order for each wave its control plane runs
 * (src/control/store-gate.ts: `pause` reason `wave-batch-not-started` until the store's
 * batch starts, then `resume`; `halt` / `pause` in force). So:
 *
 *   heard      the hub ledger holds an order for the wave (from the super hub, or the
 *              store's own operator): halt or pause hold its leases, resume lets them go
 *   local      an answer to a request the hub sent after it first saw the wave carried
 *              no order for it: no control plane runs it, the store decides (as before
 *              this gate); kept in `<data>/wave-gates.json`, so it holds offline too
 *   pending    neither yet: held (`wave.store-pending`); the first sight kicks the
 *              uplink, so the answer that settles it comes within one round trip
 *
 * A hub with no super hub uplink builds no gate: its leases follow its own table.
 * Offline, a hub obeys the last order it heard (kept in the hub ledger); one that never
 * heard holds. Wall-clock free: "after it first saw" compares a monotonic clock.
 */
import { join } from 'node:path'
import { readFileLimited, writeFileAtomic } from '../interface/atomic-file.js'
import { StoremeshError } from '../interface/errors.js'
import { BATCH_NOT_STARTED_REASON } from './orders.js'
import type { WaveOrder } from './report/messages.js'

export const WAVE_GATES_FILE = 'wave-gates.json'
/** Waves remembered as store-local; the oldest are forgotten first (and asked about again). @default 256 */
export const MAX_LOCAL_WAVES = 256
const MAX_WAVE_GATES_FILE_BYTES = 64 * 1024
/** A device held while the hub asks its super hub asks again this soon: the answer is one round trip away. @default 1 s */
export const PENDING_RETRY_MS = 1_000
/** A device held by its store's gate (batch not started, paused, halted) asks again after this; a change of gate wakes it sooner through its own orders. @default 5 s */
export const GATED_RETRY_MS = 5_000

export type WaveGateState = 'pending' | 'held' | 'open' | 'local'

export interface WaveGateVerdict {
  state: WaveGateState
  /** held / pending: the device's gate vocabulary (`wave.store-pending`, `wave.paused`, `fleet.halt`) */
  code?: string
  detail: string
}

/** The orders in force at the hub (HubLedger fits). */
export interface WaveOrderLookup {
  order(waveId: string): WaveOrder | undefined
}

export interface StoreWaveGateInit {
  dataDir: string
  orders: WaveOrderLookup
  /** ask the super hub now (HubUplink.kick) */
  ask?: () => void
  /** a monotonic clock in ms. @default performance.now */
  monoNow?: () => number
}

export class StoreWaveGate {
  readonly #init: StoreWaveGateInit
  readonly #path: string
  readonly #monoNow: () => number
  /** waves seen in a lease request and not settled yet: when first seen (monotonic) */
  readonly #pending = new Map<string, number>()
  /** waves no control plane runs, oldest first */
  #local: string[] = []

  private constructor (init: StoreWaveGateInit) {
    this.#init = init
    this.#path = join(init.dataDir, WAVE_GATES_FILE)
    this.#monoNow = init.monoNow ?? (() => performance.now())
  }

  /** Loads the waves judged local; a missing file is none, a corrupt one fails closed (E_INSTALL_STATE_INVALID). */
  static async open (init: StoreWaveGateInit): Promise<StoreWaveGate> {
    const gate = new StoreWaveGate(init)
    const bytes = await readFileLimited(gate.#path, MAX_WAVE_GATES_FILE_BYTES)
    if (bytes !== undefined) {
      try {
        const doc = JSON.parse(bytes.toString('utf8')) as { localWaves?: unknown }
        const list = doc.localWaves
        if (!Array.isArray(list) || list.length > MAX_LOCAL_WAVES || !list.every(w => typeof w === 'string')) throw new Error(`localWaves is not a list of at most ${MAX_LOCAL_WAVES} wave ids`)
        gate.#local = [...new Set(list as string[])]
      } catch (err) {
        throw new StoremeshError('E_INSTALL_STATE_INVALID', `${gate.#path}: ${(err as Error).message}`, { path: gate.#path })
      }
    }
    return gate
  }

  /** The gate of one wave now; a wave seen for the first time becomes pending and the super hub is asked. */
  check (waveId: string): WaveGateVerdict {
    const order = this.#init.orders.order(waveId)
    if (order !== undefined) {
      this.#pending.delete(waveId)
      return verdictOf(order)
    }
    if (this.#local.includes(waveId)) return { state: 'local', detail: `wave ${waveId}: no control plane runs it (the super hub sent no order for it); the store's own leases apply` }
    if (!this.#pending.has(waveId)) {
      this.#pending.set(waveId, this.#monoNow())
      this.#init.ask?.()
    }
    return { state: 'pending', code: 'wave.store-pending', detail: `wave ${waveId}: this store's gate not heard from the super hub yet; no install starts until it is` }
  }

  /** The clock an exchange's send time is read on (HubUplinkInit.onAnswer). */
  monoNow (): number {
    return this.#monoNow()
  }

  /**
   * An answer from the super hub to a request sent at `sentAtMonoMs`: a pending wave
   * first seen before that send and absent from the answer is local. Call after the
   * answer's orders were applied to the ledger.
   */
  async noteAnswer (sentAtMonoMs: number, orders: readonly WaveOrder[]): Promise<void> {
    const named = new Set(orders.map(o => o.waveId))
    const settled: string[] = []
    for (const [waveId, seenAt] of this.#pending) {
      if (named.has(waveId) || this.#init.orders.order(waveId) !== undefined) {
        this.#pending.delete(waveId)
      } else if (seenAt < sentAtMonoMs) {
        this.#pending.delete(waveId)
        settled.push(waveId)
      }
    }
    if (settled.length === 0) return
    this.#local = [...this.#local.filter(w => !settled.includes(w)), ...settled].slice(-MAX_LOCAL_WAVES)
    await writeFileAtomic(this.#path, JSON.stringify({ localWaves: this.#local }) + '\n')
  }

  /** For the hub's status: pending waves and those judged local. */
  view (): { pending: string[], local: string[] } {
    return { pending: [...this.#pending.keys()], local: [...this.#local] }
  }
}

/** What an order in force says of the store's leases. */
export function verdictOf (order: WaveOrder): WaveGateVerdict {
  const why = order.reason !== '' ? `: ${order.reason}` : ''
  switch (order.action) {
    case 'halt':
      return { state: 'held', code: 'fleet.halt', detail: `wave ${order.waveId} halted${why}` }
    case 'pause':
      return order.reason === BATCH_NOT_STARTED_REASON
        ? { state: 'held', code: 'wave.paused', detail: `wave ${order.waveId}: this store's batch has not started (${BATCH_NOT_STARTED_REASON})` }
        : { state: 'held', code: 'wave.paused', detail: `wave ${order.waveId} paused${why}` }
    case 'resume':
      return { state: 'open', detail: `wave ${order.waveId}: this store may install` }
  }
}
