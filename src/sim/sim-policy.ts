/**
 * The rollout policy and manifest the simulated devices evaluate: one per device
 * class, validated by the product's own schema (parsePolicy), so evaluate() sees what
 * a signed policy would give it. Signatures are not simulated: the facts say the
 * manifest signature checked out (a bad one is refused before any gate matters).
 */
import type { ManifestBody } from '../interface/types.js'
import { evaluate, parsePolicy, type ManifestInput, type RolloutPolicy } from '../policy/index.js'
import type { SimParams } from './params.js'

export const FROM_VERSION = '1.0.0'
export const TO_VERSION = '2.0.0'

export interface ClassRollout {
  policy: RolloutPolicy
  manifest: ManifestInput
  bundleId: string
}

function bundleIdOf (cls: string): string {
  let h = 0x811c9dc5
  for (const c of cls) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0
  return 'b3:' + h.toString(16).padStart(8, '0').repeat(8)
}

export function makeRollout (cls: string, p: SimParams, startMs: number, timezone: string): ClassRollout {
  const bundleId = bundleIdOf(cls)
  const policy = parsePolicy({
    apiVersion: 'storemesh/v1',
    kind: 'RolloutPolicy',
    metadata: { name: `sim-${cls}`, wave: 1 },
    spec: {
      bundle: { id: bundleId, version: TO_VERSION },
      targets: { deviceClass: cls, percentage: 100, hubBudget: p.hubBudget },
      schedule: { maintenanceWindow: p.maintenanceWindow, timezone, prestageHours: p.prestageHours },
      rollout: { maxConcurrentPerHub: p.maxConcurrentPerHub, haltOnRollbackRatio: p.haltOnRollbackRatio, batchDelayMinutes: p.batchDelayMinutes, minOutcomesForHalt: p.minOutcomesForHalt },
      guardrails: { minBattery: p.minBattery, requireDualPartition: true }
    }
  })
  const body: ManifestBody = {
    type: 'storemesh/bundle',
    specVersion: 1,
    name: `sim-${cls}`,
    version: TO_VERSION,
    deviceClass: cls,
    created: new Date(startMs).toISOString(),
    expires: new Date(startMs + 365 * 24 * 3600_000).toISOString(),
    chunking: { algorithm: 'fastcdc', minBytes: 65536, avgBytes: 262144, maxBytes: 1048576 } as unknown as ManifestBody['chunking'],
    artifacts: []
  }
  return { policy, bundleId, manifest: { id: bundleId, manifest: { signed: body, signatures: [] } } as unknown as ManifestInput }
}

/** Rollouts per (class, time zone): the maintenance window is in the store's zone. */
export class Rollouts {
  readonly #byKey = new Map<string, ClassRollout>()
  constructor (readonly p: SimParams, readonly startMs: number) {}

  get (cls: string, timezone: string): ClassRollout {
    const key = `${cls}|${timezone}`
    let r = this.#byKey.get(key)
    if (r === undefined) this.#byKey.set(key, r = makeRollout(cls, this.p, this.startMs, timezone))
    return r
  }
}

export { evaluate }
