/**
 * The backend registry: a device's config names a backend `kind` and its settings;
 * createBackend() builds it. New bootloaders add a row here, not an `if` elsewhere.
 */
import { z } from 'zod'
import { StoremeshError } from '../../interface/errors.js'
import type { BootBackend, RebootResult } from '../backend.js'
import type { ExecFn } from '../exec.js'
import { CommandBackend } from './command.js'
import { FileBackend } from './file.js'
import { GrubEditenvBackend } from './grub-editenv.js'
import { RaucBackend } from './rauc.js'
import { UbootBackend } from './uboot.js'

export { CommandBackend, FileBackend, GrubEditenvBackend, RaucBackend, UbootBackend }

const commandLine = z.union([z.string().min(1).max(4096), z.array(z.string().max(4096)).min(1).max(64)])
const devices = z.strictObject({ a: z.string().min(1), b: z.string().min(1) })
const toolFields = {
  timeoutMs: z.number().int().positive().optional(),
  rebootCommand: commandLine.optional(),
  env: z.record(z.string(), z.string()).optional()
}

/** The `install.backend` section of a device's config. */
export const backendConfigSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('file'), dir: z.string().min(1), bootLimit: z.number().int().positive().optional() }),
  z.strictObject({
    kind: z.literal('command'),
    hooks: z.strictObject({
      status: commandLine,
      setNextBoot: commandLine,
      markGood: commandLine,
      markBad: commandLine,
      markActive: commandLine.optional(),
      reboot: commandLine,
      write: commandLine.optional(),
      read: commandLine.optional()
    }),
    devices: z.strictObject({ a: z.string().min(1).optional(), b: z.string().min(1).optional() }).optional(),
    timeoutMs: z.number().int().positive().optional(),
    transferTimeoutMs: z.number().int().positive().optional(),
    env: z.record(z.string(), z.string()).optional()
  }),
  z.strictObject({
    kind: z.literal('grub-editenv'),
    envFile: z.string().min(1),
    devices,
    bootnames: z.strictObject({ a: z.string(), b: z.string() }).optional(),
    cmdlineFile: z.string().optional(),
    grubEditenv: z.string().optional(),
    ...toolFields
  }),
  z.strictObject({
    kind: z.literal('uboot'),
    devices,
    configFile: z.string().optional(),
    defaultEnvFile: z.string().optional(),
    cmdlineFile: z.string().optional(),
    bootLimit: z.number().int().positive().optional(),
    fwPrintenv: z.string().optional(),
    fwSetenv: z.string().optional(),
    scriptFormat: z.enum(['equals', 'space']).optional(),
    ...toolFields
  }),
  z.strictObject({
    kind: z.literal('rauc'),
    slotClass: z.string().optional(),
    confFile: z.string().optional(),
    rauc: z.string().optional(),
    ...toolFields
  })
])

export type BackendConfig = z.infer<typeof backendConfigSchema>
export type BackendKind = BackendConfig['kind']

/** Things a config file cannot carry: injected by tests and by the device role. */
export interface BackendSeams {
  exec?: ExecFn
  /** replaces the reboot command (tests: a simulated bootloader) */
  reboot?: () => Promise<RebootResult>
  /** file backend instrumentation */
  onOpenForWrite?: (slot: 'a' | 'b') => void | Promise<void>
}

type Factory<K extends BackendKind> = (config: Extract<BackendConfig, { kind: K }>, seams: BackendSeams) => BootBackend

const strip = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T

const REGISTRY: { [K in BackendKind]: Factory<K> } = {
  file: (c, s) => new FileBackend(strip({ dir: c.dir, bootLimit: c.bootLimit, onOpenForWrite: s.onOpenForWrite })),
  command: (c, s) => new CommandBackend(strip({ ...c, exec: s.exec, reboot: s.reboot }) as ConstructorParameters<typeof CommandBackend>[0]),
  'grub-editenv': (c, s) => new GrubEditenvBackend(strip({ ...c, exec: s.exec, reboot: s.reboot }) as ConstructorParameters<typeof GrubEditenvBackend>[0]),
  uboot: (c, s) => new UbootBackend(strip({ ...c, exec: s.exec, reboot: s.reboot }) as ConstructorParameters<typeof UbootBackend>[0]),
  rauc: (c, s) => new RaucBackend(strip({ ...c, exec: s.exec, reboot: s.reboot }) as ConstructorParameters<typeof RaucBackend>[0])
}

export const BACKEND_KINDS = Object.keys(REGISTRY) as BackendKind[]

/** Validates a backend config (unknown fields fail, naming the field) and builds the backend. */
export function createBackend (config: unknown, seams: BackendSeams = {}): BootBackend {
  const parsed = backendConfigSchema.safeParse(config)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new StoremeshError('E_INVALID_ARGUMENT', `install backend config: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`, { field: issue?.path.join('.') })
  }
  const c = parsed.data
  const factory = REGISTRY[c.kind] as Factory<typeof c.kind>
  return factory(c as never, seams)
}
