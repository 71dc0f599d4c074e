/**
 * A fuzz target that never returns on about one input in thirteen (byte sum divisible
 * by 13): what the supervisor's hang detection (bench/fuzz/supervise.ts) must kill and
 * name. Loaded by the fuzz worker thread as its targets module.
 */
import type { FuzzTarget } from '../../bench/fuzz/targets.js'

export function stuckOn (input: Uint8Array): boolean {
  let sum = 0
  for (const b of input) sum += b
  return sum % 13 === 0
}

export const TARGETS: readonly FuzzTarget[] = [{
  name: 'stuck',
  decoder: 'test: loops forever on some inputs',
  seeds: () => [new TextEncoder().encode('{"a":1,"b":[1,2,3]}')],
  run: (input: Uint8Array) => {
    // a busy loop: no timer or await can interrupt it, only terminating the thread
    if (stuckOn(input)) for (;;) {}
    return input.byteLength
  }
}]
