/**
 * The device's install settings, `<data>/install.yaml`: which bootloader backend, which
 * artifact of a bundle goes into the slot, and whether installs need a store hub lease.
 * Absent file: the `file` backend in `<data>/slots`, the first `*.img` artifact, no lease.
 *
 *   backend: { kind: file, dir: slots }   # any backend of src/install/backends/index.ts
 *   slotArtifact: rootfs.img              # default: first artifact named *.img, else the first
 *   lease: { kind: none }                 # none (standalone) | hub (the agent's lease client)
 *   limits: { maxBootAttempts: 3, maxWriteAttempts: 3 }
 *
 * `lease.kind` is the one lease rule (leaseProviderFor, src/roles/lease-provider.ts):
 * the agent (`device run --install`), `device install --once` and `policy explain
 * --data <dir>` all follow it. `none`, the default for an absent key, is a standalone
 * device: nothing asks a hub, not even an agent that has one in reach, and `hub.lease`
 * passes. `hub`: the agent asks its store hub's LeaseKeeper; a one-shot command cannot
 * reach the hub and defers on `hub.lease`. A device that runs under a store hub and
 * should take the hub's install slots says `lease: { kind: hub }` here.
 *
 * Why a file of its own and not a section of device.yaml: device.yaml is validated
 * strictly by src/install/facts.ts (an unknown key is an error), and that schema has
 * no install section yet. Moving these keys under `install:` there is a schema change
 * for facts.ts plus one line here (loadInstallConfig reading that section).
 */
import { isAbsolute, join } from 'node:path'
import { z } from 'zod'
import { StoremeshError } from '../interface/errors.js'
import type { ArtifactEntry, BundleInfo } from '../interface/types.js'
import { readFileLimited } from '../interface/atomic-file.js'
import { backendConfigSchema, healthConfigFromPolicy, type BackendConfig, type HealthCheckConfig } from '../install/index.js'
import { parseYamlWith } from '../policy/yaml-schema.js'
import type { RolloutPolicy } from '../policy/schema.js'

export const INSTALL_CONFIG_FILE = 'install.yaml'
/** The chunk store of a device: `<data>/store` (chunks/ and index/ inside). */
export const DEVICE_STORE_DIR = 'store'
/** Slot images and boot environment of the default `file` backend, under the data dir. */
export const DEFAULT_FILE_BACKEND_DIR = 'slots'
export const MAX_INSTALL_CONFIG_BYTES = 64 * 1024
/** A slot image is found by this ending when install.yaml names none. */
export const SLOT_IMAGE_SUFFIX = '.img'

export const installConfigSchema = z.strictObject({
  backend: backendConfigSchema.default({ kind: 'file', dir: DEFAULT_FILE_BACKEND_DIR }),
  slotArtifact: z.string().min(1).max(255).optional(),
  lease: z.strictObject({ kind: z.enum(['none', 'hub']) }).default({ kind: 'none' }),
  limits: z.strictObject({
    maxBootAttempts: z.number().int().min(1).max(100).optional(),
    maxWriteAttempts: z.number().int().min(1).max(100).optional()
  }).default({})
})

export type InstallConfig = z.output<typeof installConfigSchema>

/** Reads `<data>/install.yaml`; absent means every default. Throws E_CONFIG_INVALID naming field and line. */
export async function loadInstallConfig (dataDir: string): Promise<InstallConfig> {
  const path = join(dataDir, INSTALL_CONFIG_FILE)
  const buf = await readFileLimited(path, MAX_INSTALL_CONFIG_BYTES).catch((err: unknown) => {
    throw new StoremeshError('E_CONFIG_INVALID', `cannot read ${path}: ${(err as Error).message}`, { file: path }, { cause: err })
  })
  const parsed = buf === undefined
    ? installConfigSchema.parse({})
    : parseYamlWith(buf.toString('utf8'), installConfigSchema, { code: 'E_CONFIG_INVALID', maxBytes: MAX_INSTALL_CONFIG_BYTES, source: path })
  return { ...parsed, backend: resolveBackendPaths(parsed.backend, dataDir) }
}

/** The file backend's folder is relative to the data dir; other backends name device paths as given. */
function resolveBackendPaths (b: BackendConfig, dataDir: string): BackendConfig {
  if (b.kind === 'file' && !isAbsolute(b.dir)) return { ...b, dir: join(dataDir, b.dir) }
  return b
}

/** The artifact written into the slot: the one named, else the first `*.img`, else the first. */
export function slotArtifactOf (info: BundleInfo, name: string | undefined): ArtifactEntry {
  const arts = info.manifest.signed.artifacts
  const art = name !== undefined
    ? arts.find(a => a.name === name)
    : arts.find(a => a.name.endsWith(SLOT_IMAGE_SUFFIX)) ?? arts[0]
  if (art === undefined) {
    throw new StoremeshError('E_CONFIG_INVALID', name !== undefined
      ? `bundle ${info.id} has no artifact ${name} (install.yaml slotArtifact); it has ${arts.map(a => a.name).join(', ')}`
      : `bundle ${info.id} has no artifacts`, { bundle: info.id })
  }
  return art
}

/**
 * The installer's health trial from the policy's `spec.verification`. The policy names
 * the health command `run` (DESIGN.md section 7), which healthConfigFromPolicy reads.
 */
export function healthOfPolicy (policy: RolloutPolicy): HealthCheckConfig {
  return healthConfigFromPolicy(policy.spec.verification)
}
