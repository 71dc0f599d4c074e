/**
 * The `uboot` backend: U-Boot's environment through `fw_printenv` / `fw_setenv`
 * (Debian 12's libubootenv-tool, libubootenv), with the boot-count semantics of
 * bootcount-env.ts. Several variables change in one `fw_setenv -s` script, so an
 * arm or a commit is one environment write. The booted slot comes from the kernel
 * command line (`storemesh.slot=${storemesh_slot}` in bootargs). Slots are device paths.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { assertNotActive, otherSlot, type BackendCallOptions, type BootAttempts, type BootBackend, type BootStatus, type NextBootOptions, type RebootResult, type SlotName, type SlotReadOptions } from '../backend.js'
import { armTry, attemptsOf, envToVars, makePrimary, markSlotBad, parseKeyValue, varsToEnv, type BootcountEnv } from '../bootcount-env.js'
import { DEFAULT_BOOT_LIMIT } from '../constants.js'
import { readSlotPath, writeSlotPath } from '../slot-io.js'
import { Serial } from '../serial.js'
import { bootedSlotFromFile, DEFAULT_CMDLINE_FILE, ToolRunner, type ToolOptions } from './tool.js'

export interface UbootBackendOptions extends ToolOptions {
  /** slot device paths (partitions; files in tests) */
  devices: Record<SlotName, string>
  /** fw_env.config; default the tool's own (/etc/fw_env.config) */
  configFile?: string
  /** libubootenv's default environment, used while the stored one is blank or bad */
  defaultEnvFile?: string
  /** @default DEFAULT_CMDLINE_FILE */
  cmdlineFile?: string
  /** written as `bootlimit` when the environment has none; @default DEFAULT_BOOT_LIMIT */
  bootLimit?: number
  /** @default 'fw_printenv' */
  fwPrintenv?: string
  /** @default 'fw_setenv' */
  fwSetenv?: string
  /**
   * `fw_setenv -s` script lines: libubootenv reads `name=value` (Debian's tools);
   * U-Boot's own tools read `name value`. @default 'equals'
   */
  scriptFormat?: 'equals' | 'space'
}

export class UbootBackend implements BootBackend {
  readonly kind = 'uboot'
  private readonly tool: ToolRunner
  private readonly serial = new Serial()
  private readonly bootLimit: number

  constructor (private readonly options: UbootBackendOptions) {
    this.tool = new ToolRunner(this.kind, options)
    this.bootLimit = options.bootLimit ?? DEFAULT_BOOT_LIMIT
  }

  private commonArgs (): string[] {
    const args: string[] = []
    if (this.options.configFile !== undefined) args.push('-c', this.options.configFile)
    if (this.options.defaultEnvFile !== undefined) args.push('-f', this.options.defaultEnvFile)
    return args
  }

  async readVars (signal?: AbortSignal): Promise<Record<string, string>> {
    const out = await this.tool.run([this.options.fwPrintenv ?? 'fw_printenv', ...this.commonArgs()], signal !== undefined ? { signal } : {})
    return parseKeyValue(out)
  }

  async writeVars (vars: Record<string, string>, signal?: AbortSignal): Promise<void> {
    const sep = (this.options.scriptFormat ?? 'equals') === 'equals' ? '=' : ' '
    const dir = await mkdtemp(join(tmpdir(), 'storemesh-fwenv-'))
    try {
      const script = join(dir, 'script')
      await writeFile(script, Object.entries(vars).map(([k, v]) => `${k}${sep}${v}`).join('\n') + '\n')
      await this.tool.run([this.options.fwSetenv ?? 'fw_setenv', ...this.commonArgs(), '-s', script], signal !== undefined ? { signal } : {})
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }

  private async loadEnv (signal?: AbortSignal): Promise<BootcountEnv> {
    return varsToEnv(await this.readVars(signal), this.bootLimit)
  }

  private async update (fn: (env: BootcountEnv) => BootcountEnv, signal?: AbortSignal): Promise<void> {
    await this.serial.run(async () => {
      await this.writeVars(envToVars(fn(await this.loadEnv(signal))), signal)
    })
  }

  async activeSlot (): Promise<SlotName> {
    return await bootedSlotFromFile(this.kind, this.options.cmdlineFile ?? DEFAULT_CMDLINE_FILE)
  }

  async inactiveSlot (): Promise<SlotName> {
    return otherSlot(await this.activeSlot())
  }

  async status (options: BackendCallOptions = {}): Promise<BootStatus> {
    const env = await this.loadEnv(options.signal)
    return { booted: await this.activeSlot(), primary: env.slot, attempts: attemptsOf(env) }
  }

  async writeSlot (slot: SlotName, source: AsyncIterable<Uint8Array>, options: BackendCallOptions = {}): Promise<{ bytes: number }> {
    await assertNotActive(this, slot, options)
    return await writeSlotPath(this.options.devices[slot], source, options)
  }

  readSlot (slot: SlotName, options: SlotReadOptions): AsyncIterable<Uint8Array> {
    return readSlotPath(this.options.devices[slot], options.bytes, options)
  }

  async setNextBoot (slot: SlotName, next: NextBootOptions, options: BackendCallOptions = {}): Promise<void> {
    await this.update(env => next.tryBoot ? armTry(env, slot) : makePrimary(env, slot), options.signal)
  }

  async markGood (slot: SlotName, options: BackendCallOptions = {}): Promise<void> {
    await this.update(env => makePrimary(env, slot), options.signal)
  }

  async markBad (slot: SlotName, options: BackendCallOptions = {}): Promise<void> {
    await this.update(env => markSlotBad(env, slot), options.signal)
  }

  async markActive (slot: SlotName, options: BackendCallOptions = {}): Promise<void> {
    await this.update(env => makePrimary(env, slot), options.signal)
  }

  async bootAttempts (options: BackendCallOptions = {}): Promise<BootAttempts> {
    return attemptsOf(await this.loadEnv(options.signal))
  }

  async reboot (options: BackendCallOptions = {}): Promise<RebootResult> {
    return await this.tool.reboot(options.signal)
  }
}
