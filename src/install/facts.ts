/**
 * Device facts for the policy engine, gathered with I/O: the device config
 * (`<data>/device.yaml`), a facts file (YAML or JSON, written by the device's own
 * agent or by hand in a lab), fact commands with timeouts, free disk from statfs and
 * peripheral probes (a lab bundle folder's chunks: ./bundle-folder.ts). Everything that touches the system
 * is injectable (exec, statfs) so tests run without the real device. The one caller
 * that composes these with the chunk store, the installer, the lease and the wave
 * orders is src/roles/device-decision.ts.
 *
 * Lab layout read by `storemesh policy explain --data <dir>` (an installed device's
 * directory has a chunk store in `<data>/store` instead of the bundle folders):
 *   <data>/device.yaml            deviceId, deviceClass, labels, factsFile, factCommands, trust
 *   <data>/policy.signed.json     the signed rollout policy (`storemesh policy sign`)
 *   <data>/bundles/<id>/bundle.json and chunks/  the bundle named by the policy
 *                                 (<id> is `b3:<hex>` or just `<hex>`)
 */
import { statfs } from 'node:fs/promises'
import { isAbsolute, join } from 'node:path'
import { z } from 'zod'
import { readTrustedKeyFiles } from '../bundle/keys.js'
import { isStoremeshError, type ErrorCode } from '../interface/errors.js'
import { readRegularFile, readRegularFileIfExists } from '../interface/regular-file.js'
import type { DeviceFacts, TrustOptions } from '../interface/types.js'
import { MAX_SIGNED_POLICY_BYTES } from '../policy/constants.js'
import { decodeSignedPolicy, verifyPolicy, type VerifiedPolicy } from '../policy/signed.js'
import type { FactsInput } from '../policy/decide.js'
import { parseYamlWith } from '../policy/yaml-schema.js'
import { describeExec, runProbes, shellExec, type ExecFn } from './probes.js'

export const DEVICE_CONFIG_FILE = 'device.yaml'
export const SIGNED_POLICY_FILE = 'policy.signed.json'
export const BUNDLES_DIR = 'bundles'
export const MAX_DEVICE_CONFIG_BYTES = 64 * 1024
export const MAX_FACTS_FILE_BYTES = 256 * 1024
export const DEFAULT_FACT_TIMEOUT_SECONDS = 5
const MIB = 1024 * 1024

/** Facts a command can give, with the type its output is read as. */
export const FACT_TYPES = {
  installedVersion: 'string',
  configVersion: 'string',
  osVariant: 'string',
  batteryPercent: 'number',
  temperatureC: 'number',
  freeDiskMiB: 'number',
  slotCount: 'number',
  onMains: 'boolean',
  hubReachable: 'boolean'
} as const
export type FactName = keyof typeof FACT_TYPES

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
const labels = z.record(z.string().max(63), z.string().max(128))
/** A time as ISO 8601 or ms since the epoch, read as ms. */
const timeMs = z.union([
  z.number().int().nonnegative(),
  z.string().max(40).refine(s => !Number.isNaN(Date.parse(s)), 'not an ISO 8601 time').transform(s => Date.parse(s))
])

const factCommand = z.strictObject({
  run: z.string().min(1).max(4096),
  timeoutSeconds: z.number().positive().max(600).optional(),
  /** multiply a number by this (e.g. 0.001 for millidegrees from /sys/class/thermal) */
  scale: z.number().positive().optional()
})

export const deviceConfigSchema = z.strictObject({
  deviceId: z.string().regex(NAME_RE, 'letters, digits, ".", "_", "-"'),
  deviceClass: z.string().regex(NAME_RE, 'letters, digits, ".", "_", "-"'),
  labels: labels.default({}),
  osVariant: z.string().max(128).optional(),
  /** YAML or JSON facts, relative to the data dir */
  factsFile: z.string().min(1).max(4096).optional(),
  factCommands: z.partialRecord(z.enum(Object.keys(FACT_TYPES) as [FactName, ...FactName[]]), factCommand).default({}),
  trust: z.strictObject({
    /** public key files (`storemesh key` output), relative to the data dir */
    keys: z.array(z.string().min(1).max(4096)).min(1).max(16),
    threshold: z.number().int().min(1).max(16).optional()
  }),
  /** where free disk is measured when no fact gives it; default the data dir */
  diskPath: z.string().min(1).max(4096).optional()
})
export type DeviceConfig = z.output<typeof deviceConfigSchema>

export const factsFileSchema = z.strictObject({
  installedVersion: z.string().max(64).optional(),
  configVersion: z.string().max(64).optional(),
  osVariant: z.string().max(128).optional(),
  labels: labels.optional(),
  batteryPercent: z.number().min(0).max(100).optional(),
  onMains: z.boolean().optional(),
  temperatureC: z.number().min(-273).max(1000).optional(),
  freeDiskMiB: z.number().min(0).optional(),
  slotCount: z.number().int().min(0).max(16).optional(),
  hubReachable: z.boolean().optional(),
  bundle: z.strictObject({
    complete: z.boolean(),
    verified: z.boolean(),
    missingChunks: z.number().int().min(0).optional(),
    totalChunks: z.number().int().min(0).optional()
  }).optional(),
  lease: z.strictObject({
    state: z.enum(['held', 'none', 'denied', 'unreachable']),
    expiresAt: timeMs.optional(),
    retryAt: timeMs.optional(),
    detail: z.string().max(256).optional()
  }).optional(),
  fleet: z.strictObject({
    paused: z.boolean().optional(),
    halted: z.boolean().optional(),
    rollbackRatio: z.number().min(0).max(1).optional(),
    reason: z.string().max(256).optional()
  }).optional(),
  install: z.strictObject({
    phase: z.enum(['idle', 'staged', 'writing', 'written', 'verified', 'try-boot', 'booted-trial', 'committed', 'rolled-back']),
    version: z.string().max(64).optional(),
    since: timeMs.optional()
  }).optional(),
  health: z.strictObject({
    state: z.enum(['unknown', 'healthy', 'unhealthy']),
    since: timeMs.optional(),
    detail: z.string().max(256).optional()
  }).optional(),
  holds: z.array(z.strictObject({
    bundleId: z.string().max(80).optional(),
    version: z.string().max(64).optional(),
    reason: z.string().max(256),
    until: timeMs.optional()
  })).max(64).optional(),
  /** results recorded by an agent; live probe runs replace them */
  probes: z.record(z.string().max(63), z.strictObject({ ok: z.boolean(), detail: z.string().max(512) })).optional()
})
export type FactsFile = z.output<typeof factsFileSchema>

export type StatfsFn = (path: string) => Promise<{ bavail: number, bsize: number }>

export interface CollectOptions {
  /** relative paths in the config resolve against this */
  dataDir: string
  exec?: ExecFn
  statfs?: StatfsFn
  signal?: AbortSignal
}

/** Facts without the bundle state (the caller knows where chunks live) and the manifest signature. */
export type CollectedFacts = Omit<FactsInput, 'bundle'> & { bundle?: DeviceFacts['bundle'] }

/** A regular file within its limit (no FIFO, device or directory: src/interface/regular-file.ts). */
async function readText (path: string, maxBytes: number, code: 'E_CONFIG_INVALID' | 'E_POLICY_INVALID'): Promise<string> {
  return (await readRegularFile(path, { maxBytes, codes: { tooLarge: code } })).toString('utf8')
}

function inData (dataDir: string, p: string): string {
  return isAbsolute(p) ? p : join(dataDir, p)
}

export function parseDeviceConfig (text: string, source?: string): DeviceConfig {
  return parseYamlWith(text, deviceConfigSchema, { code: 'E_CONFIG_INVALID', maxBytes: MAX_DEVICE_CONFIG_BYTES, source })
}

export async function loadDeviceConfig (path: string): Promise<DeviceConfig> {
  return parseDeviceConfig(await readText(path, MAX_DEVICE_CONFIG_BYTES, 'E_CONFIG_INVALID'), path)
}

export function parseFactsFile (text: string, source?: string): FactsFile {
  return parseYamlWith(text, factsFileSchema, { code: 'E_CONFIG_INVALID', maxBytes: MAX_FACTS_FILE_BYTES, source })
}

/** A command's output as the fact's type; throws a plain Error with the reason. */
export function parseFactOutput (name: FactName, stdout: string, scale = 1): string | number | boolean {
  const text = stdout.trim()
  const first = text.split(/\s+/)[0] ?? ''
  switch (FACT_TYPES[name]) {
    case 'number': {
      const n = Number(first)
      if (first === '' || !Number.isFinite(n)) throw new Error(`not a number: ${JSON.stringify(first.slice(0, 40))}`)
      // Two decimals: enough for any guardrail, and no 44.99999999 from a scale.
      return Math.round(n * scale * 100) / 100
    }
    case 'boolean': {
      const b = first.toLowerCase()
      if (['true', 'yes', 'on', '1'].includes(b)) return true
      if (['false', 'no', 'off', '0'].includes(b)) return false
      throw new Error(`not a boolean: ${JSON.stringify(first.slice(0, 40))}`)
    }
    case 'string':
      if (text === '' || text.includes('\n')) throw new Error('expected one line of output')
      return text
  }
}

function fromFile (file: FactsFile | undefined): Partial<CollectedFacts> {
  if (file === undefined) return {}
  const { lease, install, health, holds, probes, ...plain } = file
  const out: Partial<CollectedFacts> = { ...plain }
  if (lease !== undefined) out.lease = { state: lease.state, expiresAtMs: lease.expiresAt, retryAtMs: lease.retryAt, detail: lease.detail }
  if (install !== undefined) out.install = { phase: install.phase, version: install.version, sinceMs: install.since }
  if (health !== undefined) out.health = { state: health.state, sinceMs: health.since, detail: health.detail }
  if (holds !== undefined) out.holds = holds.map(h => ({ bundleId: h.bundleId, version: h.version, reason: h.reason, untilMs: h.until }))
  if (probes !== undefined) out.probes = probes
  return out
}

/** Drops undefined members, so facts compare and print the same however they were built. */
function clean<T extends object> (o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}

/**
 * Facts from the config, the facts file and the fact commands (commands win: they are
 * live; a failed command leaves the file's value, if any), free disk from statfs when
 * nothing else gave it. A fact no source gave is left out and the reason put in
 * factErrors, so its gate fails closed and says why.
 */
export async function collectFacts (config: DeviceConfig, opts: CollectOptions): Promise<CollectedFacts> {
  const factErrors: Record<string, string> = {}
  let file: FactsFile | undefined
  let fileError: string | undefined
  if (config.factsFile !== undefined) {
    const path = inData(opts.dataDir, config.factsFile)
    let text: string | undefined
    try {
      text = await readText(path, MAX_FACTS_FILE_BYTES, 'E_CONFIG_INVALID')
    } catch (err) {
      if (!isStoremeshError(err, 'E_FILE_NOT_FOUND')) throw err
      fileError = `facts file ${config.factsFile} not found`
    }
    // A facts file that exists but is wrong is an operator's mistake: say so loudly.
    if (text !== undefined) file = parseFactsFile(text, path)
  }
  const base = fromFile(file)
  const live: Record<string, string | number | boolean> = {}
  const exec = opts.exec ?? shellExec
  await Promise.all(Object.entries(config.factCommands).map(async ([name, cmd]) => {
    const timeoutSeconds = cmd.timeoutSeconds ?? DEFAULT_FACT_TIMEOUT_SECONDS
    const r = await exec({ command: cmd.run, timeoutMs: Math.round(timeoutSeconds * 1000), signal: opts.signal, cwd: opts.dataDir })
    if (r.timedOut || r.error !== undefined || r.exitCode !== 0) {
      factErrors[name] = `command ${describeExec(r, timeoutSeconds)}`
      return
    }
    try {
      live[name] = parseFactOutput(name as FactName, r.stdout, cmd.scale)
    } catch (err) {
      factErrors[name] = `command output ${(err as Error).message}`
    }
  }))
  const facts: CollectedFacts = clean({
    lease: { state: 'none' as const },
    fleet: {},
    install: { phase: 'idle' as const },
    health: { state: 'unknown' as const },
    holds: [],
    probes: {},
    ...base,
    ...live,
    deviceId: config.deviceId,
    deviceClass: config.deviceClass,
    osVariant: (live.osVariant as string | undefined) ?? file?.osVariant ?? config.osVariant,
    labels: { ...config.labels, ...(file?.labels ?? {}) },
    factErrors
  })
  facts.lease = clean(facts.lease)
  facts.install = clean(facts.install)
  facts.health = clean(facts.health)
  facts.holds = facts.holds.map(h => clean(h))
  if (facts.freeDiskMiB === undefined && factErrors.freeDiskMiB === undefined) {
    try {
      const s = await (opts.statfs ?? statfs)(config.diskPath !== undefined ? inData(opts.dataDir, config.diskPath) : opts.dataDir)
      facts.freeDiskMiB = Math.floor((s.bavail * s.bsize) / MIB)
    } catch (err) {
      factErrors.freeDiskMiB = `statfs: ${(err as Error).message}`
    }
  }
  if (fileError !== undefined) {
    for (const name of Object.keys(FACT_TYPES)) {
      if ((facts as unknown as Record<string, unknown>)[name] === undefined && factErrors[name] === undefined) factErrors[name] = fileError
    }
  }
  return facts
}

/** undefined when absent, unless `required` (a path the operator named must exist). */
export async function readJsonIfPresent (path: string, decode: (b: Uint8Array) => unknown, limit: { maxBytes: number, tooLarge: ErrorCode },
  required = false): Promise<unknown> {
  const options = { maxBytes: limit.maxBytes, codes: { tooLarge: limit.tooLarge } }
  const bytes = required ? await readRegularFile(path, options) : await readRegularFileIfExists(path, options)
  return bytes === undefined ? undefined : decode(bytes)
}

/** Release and policy trust from device.yaml's static keys (a root of trust may supersede them: roles/). */
export type TrustFromStatic = (staticTrust: TrustOptions) => Promise<{ release: TrustOptions, policy: TrustOptions }>

export interface GatherOptions {
  /** default: device.yaml's keys for both */
  trustFrom?: TrustFromStatic | undefined
  exec?: ExecFn | undefined
  statfs?: StatfsFn | undefined
  /** default `<data>/policy.signed.json` */
  policyPath?: string | undefined
  /** run the policy's peripheral probes (default true) */
  probes?: boolean | undefined
  signal?: AbortSignal | undefined
}

export interface DeviceInputs {
  config: DeviceConfig
  /** what bundles are verified against */
  trust: TrustOptions
  /** undefined when there is no policy file */
  policy?: VerifiedPolicy | undefined
  /** facts of the device; `bundle` only when the facts file gives it (the caller knows where chunks live) */
  facts: CollectedFacts
}

/**
 * The device's config, trust, signed policy and facts (probes run) from a data
 * directory; the bundle and its chunk state come from where the caller keeps bundles
 * (src/roles/device-decision.ts: the chunk store, or a lab folder via ./bundle-folder.ts).
 * Throws E_SIGNATURE_* when the policy is not trusted, E_CONFIG_INVALID for a bad
 * device.yaml or facts file.
 */
export async function gatherDeviceInputs (dataDir: string, opts: GatherOptions = {}): Promise<DeviceInputs> {
  const config = await loadDeviceConfig(join(dataDir, DEVICE_CONFIG_FILE))
  const staticTrust: TrustOptions = { keys: await readTrustedKeyFiles(config.trust.keys.map(k => inData(dataDir, k))), threshold: config.trust.threshold }
  const trusted = opts.trustFrom !== undefined ? await opts.trustFrom(staticTrust) : { release: staticTrust, policy: staticTrust }
  const trust = trusted.release
  const policyPath = opts.policyPath ?? join(dataDir, SIGNED_POLICY_FILE)
  const policyEnv = await readJsonIfPresent(policyPath, decodeSignedPolicy,
    { maxBytes: MAX_SIGNED_POLICY_BYTES, tooLarge: 'E_POLICY_INVALID' }, opts.policyPath !== undefined)
  const policy = policyEnv !== undefined ? verifyPolicy(policyEnv, trusted.policy) : undefined
  const facts = await collectFacts(config, { dataDir, exec: opts.exec, statfs: opts.statfs, signal: opts.signal })
  if (policy !== undefined && opts.probes !== false) {
    const live = await runProbes(policy.policy.spec.verification.peripheralChecks, { exec: opts.exec, signal: opts.signal, cwd: dataDir })
    facts.probes = { ...facts.probes, ...live }
  }
  return { config, trust, policy, facts }
}
