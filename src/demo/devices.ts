/**
 * The demo store's devices: each a data dir with device.yaml, a facts file, the
 * release trust key, a factory image in slot A and the `file` bootloader backend.
 * Their facts differ so that the policy gates decide differently, with a reason.
 * install.yaml says `lease: {kind: hub}`: the demo's devices take the store hub's
 * install slots (the lease figures of the summary), which a standalone device would not.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { INSTALL_CONFIG_FILE } from '../roles/device-install-config.js'
import { fillSeeded } from './sample.js'

export const FACTORY_VERSION = '0.9.0'
export const FACTORY_IMAGE_BYTES = 256 * 1024
/** A device whose data dir holds this file fails the demo policy's health command. */
export const FAIL_HEALTH_MARKER = 'fail-health'
export const DEMO_HEALTH_COMMAND = `test ! -e ${FAIL_HEALTH_MARKER}`

export interface DemoDeviceSpec {
  id: string
  region: string
  batteryPercent: number
  failHealth: boolean
  /** what the demo expects the policy to decide, for the summary */
  expect: string
  /** the install result that outcome is (DeviceInstallResultKind) */
  expectResult: 'installed' | 'deferred' | 'refused' | 'rolled-back'
}

export const DEMO_DEVICES: DemoDeviceSpec[] = [
  { id: 'pos-01', region: 'us-midwest', batteryPercent: 90, failHealth: false, expect: 'installed', expectResult: 'installed' },
  { id: 'pos-02', region: 'us-midwest', batteryPercent: 85, failHealth: false, expect: 'installed', expectResult: 'installed' },
  { id: 'pos-03', region: 'us-midwest', batteryPercent: 15, failHealth: false, expect: 'deferred by device.battery', expectResult: 'deferred' },
  { id: 'pos-04', region: 'us-west', batteryPercent: 80, failHealth: false, expect: 'refused by target.match (outside the cohort)', expectResult: 'refused' },
  { id: 'pos-05', region: 'us-midwest', batteryPercent: 75, failHealth: true, expect: 'rolled back by its health check', expectResult: 'rolled-back' },
  { id: 'pos-06', region: 'us-midwest', batteryPercent: 70, failHealth: false, expect: 'installed', expectResult: 'installed' },
  { id: 'pos-07', region: 'us-midwest', batteryPercent: 95, failHealth: false, expect: 'installed', expectResult: 'installed' },
  { id: 'pos-08', region: 'us-midwest', batteryPercent: 65, failHealth: false, expect: 'installed', expectResult: 'installed' }
]

export async function writeDeviceDir (dataDir: string, spec: DemoDeviceSpec, trustKeyPath: string): Promise<void> {
  await mkdir(join(dataDir, 'slots'), { recursive: true })
  await copyFile(trustKeyPath, join(dataDir, 'release.pub.json'))
  await writeFile(join(dataDir, 'device.yaml'), stringify({
    deviceId: spec.id,
    deviceClass: 'pos',
    labels: { region: spec.region },
    factsFile: 'facts.yaml',
    trust: { keys: ['release.pub.json'] }
  }))
  await writeFile(join(dataDir, INSTALL_CONFIG_FILE), stringify({ backend: { kind: 'file', dir: 'slots' }, lease: { kind: 'hub' } }))
  await writeFile(join(dataDir, 'facts.yaml'), stringify({
    installedVersion: FACTORY_VERSION,
    configVersion: '12.5.0',
    batteryPercent: spec.batteryPercent,
    temperatureC: 41,
    freeDiskMiB: 4096,
    slotCount: 2
  }))
  await writeFile(join(dataDir, 'slots', 'slot-a.img'), fillSeeded(new Uint8Array(FACTORY_IMAGE_BYTES), 99))
  if (spec.failHealth) await writeFile(join(dataDir, FAIL_HEALTH_MARKER), 'injected by the demo\n')
}
