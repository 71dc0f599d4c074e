/**
 * Fixtures for the policy tests: a policy, manifest and device facts on which every
 * gate passes at T0, so a table row changes one thing and watches one gate.
 */
import { join } from 'node:path'
import type { SigningKey } from '../../../src/bundle/keys.js'
import type { DeviceFacts, ManifestBody, SignedManifest } from '../../../src/interface/types.js'
import type { ManifestInput } from '../../../src/policy/evaluate.js'
import { parsePolicy, type RolloutPolicy } from '../../../src/policy/schema.js'
import { signedBundle, writeBundleDir } from '../../support/bundles.js'

export const BUNDLE_ID = 'b3:' + 'ab'.repeat(32)
/** Tue 2026-03-10 03:00 CDT: inside the base window `Tue 02:00-04:00` America/Chicago. */
export const T0 = Date.parse('2026-03-10T08:00:00Z')
/** When that window closes: 04:00 CDT. */
export const WINDOW_CLOSE = Date.parse('2026-03-10T09:00:00Z')
export const DAY = 86_400_000
export const MIN = 60_000

export function basePolicyInput (): Record<string, any> {
  return {
    apiVersion: 'storemesh/v1',
    kind: 'RolloutPolicy',
    metadata: { name: 'pos-q4', wave: 142 },
    spec: {
      bundle: { id: BUNDLE_ID, version: '3.8.2' },
      targets: { deviceClass: 'pos', labels: { region: 'us-midwest' }, percentage: 100, hubBudget: 2 },
      schedule: { maintenanceWindow: 'Tue 02:00-04:00', timezone: 'America/Chicago', prestageHours: 48 },
      rollout: { maxConcurrentPerHub: 5, batchDelayMinutes: 15, haltOnRollbackRatio: 0.05 },
      guardrails: {
        minBattery: 40, maxTemperatureC: 70, minFreeDiskMiB: 512, requireDualPartition: true,
        requireConfig: '>=12.4.1', signedWithinDays: 14
      },
      verification: {
        peripheralChecks: [{ name: 'scanner', run: 'true', timeoutSeconds: 5 }],
        healthCheck: { url: 'http://127.0.0.1:8080/health', timeoutSeconds: 120 },
        rollbackOnHealthLossMins: 5
      },
      rollback: { offlineAllowed: true }
    }
  }
}

export function makePolicy (mutate?: (p: Record<string, any>) => void): RolloutPolicy {
  const input = basePolicyInput()
  mutate?.(input)
  return parsePolicy(input)
}

export function manifestBody (over: Partial<ManifestBody> = {}): ManifestBody {
  return {
    type: 'storemesh/bundle',
    specVersion: 1,
    name: 'pos-firmware',
    version: '3.8.2',
    deviceClass: 'pos',
    requiresConfig: '>=12.0.0',
    created: new Date(T0 - DAY).toISOString(),
    expires: new Date(T0 + 30 * DAY).toISOString(),
    chunking: { algorithm: 'fastcdc', minBytes: 65536, avgBytes: 262144, maxBytes: 1048576 },
    artifacts: [{ name: 'rootfs.img', size: 1, blake3: 'cd'.repeat(32), chunks: [{ hash: 'cd'.repeat(32), size: 1 }] }],
    ...over
  }
}

export function makeManifest (over: Partial<ManifestBody> = {}, id = BUNDLE_ID): ManifestInput {
  return { id, manifest: { signed: manifestBody(over), signatures: [] } }
}

export function makeFacts (over: Partial<DeviceFacts> = {}): DeviceFacts {
  return {
    deviceId: 'pos-17',
    deviceClass: 'pos',
    labels: { region: 'us-midwest', store: '0042' },
    installedVersion: '3.8.1',
    configVersion: '12.5.0',
    batteryPercent: 80,
    temperatureC: 45,
    freeDiskMiB: 2048,
    slotCount: 2,
    bundle: { complete: true, verified: true, missingChunks: 0, totalChunks: 10 },
    manifestSignature: { ok: true, detail: 'signed by test' },
    probes: { scanner: { ok: true, detail: 'exit 0' } },
    lease: { state: 'held' },
    hubReachable: true,
    fleet: {},
    install: { phase: 'committed', version: '3.8.1' },
    health: { state: 'healthy' },
    holds: [],
    factErrors: {},
    ...over
  }
}

/** A real, signed bundle folder: bundle.json and its chunks. Returns its id and folder. */
export async function writeBundle (dir: string, keys: SigningKey[], over: Partial<ManifestBody> = {}): Promise<{ id: string, dir: string, env: SignedManifest, chunks: Array<{ hash: string, bytes: Uint8Array }> }> {
  const pieces = [0, 1, 2].map(i => new Uint8Array(1000 + i).fill(i + 1))
  // the base body's fields, its artifact replaced by these chunks; `over` still wins
  const { artifacts: _, ...base } = manifestBody()
  const fx = signedBundle({ artifacts: [{ name: 'rootfs.img', chunks: pieces }], keys, body: { ...base, ...over } })
  const bdir = join(dir, 'bundles', fx.info.id)
  await writeBundleDir(bdir, fx)
  return { id: fx.info.id, dir: bdir, env: fx.info.manifest, chunks: [...fx.chunks].map(([hash, bytes]) => ({ hash, bytes })) }
}
