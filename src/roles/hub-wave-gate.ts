/**
 * The store hub's wave gate, composed (docs/fleet-waves.md "The store hub's wave
 * gate"): built only when the hub has a super hub uplink. The gate (ledger/
 * store-wave-gate.ts) reads the orders in force from the hub ledger and hears every
 * answer through the uplink; its verdicts become lease holds (lease/wave-gated.ts).
 */
import type { Log } from '../interface/log.js'
import type { AnswerSink } from '../ledger/uplink.js'
import { GATED_RETRY_MS, PENDING_RETRY_MS, StoreWaveGate, type WaveOrderLookup } from '../ledger/store-wave-gate.js'
import type { WaveHold, WaveHoldLookup } from '../lease/wave-gated.js'
import type { WaveGateStatus } from './peer-status.js'

export interface HubWaveGate {
  readonly gate: StoreWaveGate
  /** hand to HubUplinkInit.answers */
  readonly answers: AnswerSink
  /** hand to StoreHub.waveHoldOf */
  readonly holdOf: WaveHoldLookup
  /** each wave asked about (newest last) as the gate judges it now (StoreHub.waveGates: the status) */
  readonly view: () => WaveGateStatus[]
}

/** Waves the status lists, newest kept. @default 32 */
const MAX_STATUS_WAVES = 32

export async function startHubWaveGate (init: { dataDir: string, orders: WaveOrderLookup, ask: () => void, log?: Log }): Promise<HubWaveGate> {
  const gate = await StoreWaveGate.open({ dataDir: init.dataDir, orders: init.orders, ask: init.ask })
  const told = new Map<string, WaveGateStatus>()
  return {
    gate,
    answers: gate,
    // judged again at each read: a gate heard since the last lease request shows at once
    view: () => [...told.keys()].map(waveId => {
      const v = gate.check(waveId)
      return { waveId, state: v.state, detail: v.detail }
    }),
    holdOf: (waveId: string): WaveHold | undefined => {
      const v = gate.check(waveId)
      // one log line per change of a wave's gate, not per lease request
      if (told.get(waveId)?.detail !== v.detail) {
        told.delete(waveId)
        told.set(waveId, { waveId, state: v.state, detail: v.detail })
        if (told.size > MAX_STATUS_WAVES) told.delete(told.keys().next().value!)
        init.log?.info({ wave: waveId }, `wave gate: ${v.state}: ${v.detail}`)
      }
      if (v.state !== 'held' && v.state !== 'pending') return undefined
      return { code: v.code ?? 'wave.store-pending', detail: v.detail, retryAfterMs: v.state === 'pending' ? PENDING_RETRY_MS : GATED_RETRY_MS }
    }
  }
}
