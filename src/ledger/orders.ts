/**
 * Wave orders (halt, pause, resume): per wave the newest order is in force
 * (protocols/report/SPEC.md "Orders"). Pure functions shared by both ledgers.
 *
 *   halt    the super hub stopped the wave (rollback ratio over the policy's limit, or an
 *           operator): no device starts, a device on trial rolls back (policy `fleet.halt`)
 *   pause   an operator held the wave: no device starts (policy `wave.paused`)
 *   resume  lifts either
 */
import { StoremeshError } from '../interface/errors.js'
import type { DeviceFacts } from '../interface/types.js'
import { MAX_REASON_CHARS } from './report/constants.js'
import { parseWaveOrder, type WaveAction, type WaveOrder } from './report/messages.js'

/**
 * The reason of the `pause` a control plane sends a store whose batch of the wave has not
 * started (src/control/store-gate.ts): the store's devices fetch and verify, and hold.
 */
export const BATCH_NOT_STARTED_REASON = 'wave-batch-not-started'

/** Equal times resolve to the stronger order, so every hub picks the same one. */
const ACTION_RANK: Readonly<Record<WaveAction, number>> = { resume: 0, pause: 1, halt: 2 }

/** True when `incoming` replaces `current` as the order in force. */
export function supersedes (incoming: WaveOrder, current: WaveOrder | undefined): boolean {
  if (current === undefined) return true
  if (incoming.issuedAtMs !== current.issuedAtMs) return incoming.issuedAtMs > current.issuedAtMs
  return ACTION_RANK[incoming.action] > ACTION_RANK[current.action]
}

export function isHaltOrder (order: WaveOrder | undefined): boolean {
  return order?.action === 'halt'
}

export function isPauseOrder (order: WaveOrder | undefined): boolean {
  return order?.action === 'pause'
}

/** The `fleet` facts the policy gates read (wave.paused, fleet.halt) for the order in force. */
export function fleetFactsOf (order: WaveOrder | undefined): DeviceFacts['fleet'] {
  if (order === undefined || order.action === 'resume') return { paused: false, halted: false }
  return {
    paused: order.action === 'pause',
    halted: order.action === 'halt',
    ...(order.reason !== '' ? { reason: order.reason } : {})
  }
}

/** Checks an order given by a caller (API, CLI); the reason is cut to its limit. E_INVALID_ARGUMENT. */
export function checkOrder (order: WaveOrder): WaveOrder {
  try {
    return parseWaveOrder({ ...order, reason: String(order.reason ?? '').slice(0, MAX_REASON_CHARS) })
  } catch (err) {
    throw new StoremeshError('E_INVALID_ARGUMENT', (err as Error).message.replace('bad report order', 'bad wave order'), { waveId: order.waveId })
  }
}
