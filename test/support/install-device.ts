/**
 * A device data dir that installs a bundle under a store hub (real `storemesh device
 * run --install` processes): device.yaml, install.yaml with the lease kind, facts, a
 * slot A image and a signed policy for the wave. And the slot the boot env names.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'yaml'
import type { BundleInfo } from '../../src/interface/types.js'
import { parsePolicy } from '../../src/policy/schema.js'
import { encodeSignedPolicy, signPolicy } from '../../src/policy/signed.js'
import { DEVICE_CLASS, type LanFixture } from './lan-fixture.js'
import { FIXTURE_KEY, seededBytes } from './store-fixture.js'

export interface InstallDeviceInit {
  deviceId: string
  info: BundleInfo
  version: string
  wave: string
  /** the signed policy's metadata.name */
  policyName: string
  leaseKind: 'none' | 'hub'
  /** seeds slot A's bytes */
  slotSeed: number
  /** the signed policy's guardrails.freshnessGraceHours (the trust.freshness gate); @default the schema's */
  freshnessGraceHours?: number
}

export async function installDeviceDir (f: LanFixture, d: InstallDeviceInit): Promise<string> {
  const data = join(f.dir, d.deviceId)
  await mkdir(join(data, 'slots'), { recursive: true })
  await copyFile(f.trustPath, join(data, 'release.pub.json'))
  await writeFile(join(data, 'device.yaml'), stringify({ deviceId: d.deviceId, deviceClass: DEVICE_CLASS, factsFile: 'facts.yaml', trust: { keys: ['release.pub.json'] } }))
  await writeFile(join(data, 'install.yaml'), stringify({ lease: { kind: d.leaseKind } }))
  await writeFile(join(data, 'facts.yaml'), stringify({ installedVersion: '0.9.0', batteryPercent: 80, temperatureC: 40, freeDiskMiB: 4096, slotCount: 2 }))
  await writeFile(join(data, 'slots', 'slot-a.img'), seededBytes(100_000, d.slotSeed))
  const policy = parsePolicy({
    apiVersion: 'storemesh/v1',
    kind: 'RolloutPolicy',
    metadata: { name: d.policyName, wave: Number(d.wave) },
    spec: {
      bundle: { id: d.info.id, version: d.version },
      targets: { deviceClass: DEVICE_CLASS, percentage: 100 },
      guardrails: { minBattery: 40, maxTemperatureC: 70, minFreeDiskMiB: 512, requireDualPartition: true, ...(d.freshnessGraceHours !== undefined ? { freshnessGraceHours: d.freshnessGraceHours } : {}) },
      verification: { healthCheck: { run: 'true', timeoutSeconds: 5 }, rollbackOnHealthLossMins: 0 }
    }
  })
  await writeFile(join(data, 'policy.signed.json'), encodeSignedPolicy(signPolicy(policy, [FIXTURE_KEY])))
  return data
}

/** The slot the device's boot env names (`storemesh_slot=a|b`), undefined before any. */
export async function bootSlot (data: string): Promise<string | undefined> {
  const text = await readFile(join(data, 'slots', 'bootenv'), 'utf8').catch(() => '')
  return /^storemesh_slot=(\w)$/m.exec(text)?.[1]
}
