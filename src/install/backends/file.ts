/**
 * The `file` backend (the default for labs, tests and the demo): slot images
 * `<dir>/slot-a.img` and `<dir>/slot-b.img`, and a boot environment `<dir>/bootenv`
 * in `key=value` lines with U-Boot's semantics (bootcount-env.ts), written atomically.
 * reboot() plays the bootloader in-process: it counts the boot, falls back when the
 * count passes the limit, and records the booted slot where a kernel command line
 * would carry it.
 */
import { join } from 'node:path'
import { mkdir } from 'node:fs/promises'
import { StoremeshError } from '../../interface/errors.js'
import { readFileLimited, writeFileAtomic } from '../../interface/atomic-file.js'
import { assertNotActive, otherSlot, isSlotName, type BackendCallOptions, type BootAttempts, type BootBackend, type BootStatus, type NextBootOptions, type RebootResult, type SlotName, type SlotReadOptions } from '../backend.js'
import { armTry, attemptsOf, bootOnce, envToVars, ENV_BOOTED, formatKeyValue, initialEnv, makePrimary, markSlotBad, parseKeyValue, varsToEnv, type BootcountEnv } from '../bootcount-env.js'
import { DEFAULT_BOOT_LIMIT, MAX_BOOT_ENV_BYTES } from '../constants.js'
import { readSlotPath, writeSlotPath } from '../slot-io.js'
import { Serial } from '../serial.js'

export const BOOT_ENV_FILE_NAME = 'bootenv'

export interface FileBackendOptions {
  /** folder holding slot-a.img, slot-b.img and bootenv */
  dir: string
  /** @default DEFAULT_BOOT_LIMIT */
  bootLimit?: number
  /** instrumentation for tests: called just before a slot file is opened for write */
  onOpenForWrite?: (slot: SlotName) => void | Promise<void>
}

interface FileEnv {
  env: BootcountEnv
  booted: SlotName
}

export class FileBackend implements BootBackend {
  readonly kind = 'file'
  readonly dir: string
  private readonly bootLimit: number
  private readonly onOpenForWrite?: (slot: SlotName) => void | Promise<void>
  private readonly serial = new Serial()

  constructor (options: FileBackendOptions) {
    this.dir = options.dir
    this.bootLimit = options.bootLimit ?? DEFAULT_BOOT_LIMIT
    if (options.onOpenForWrite !== undefined) this.onOpenForWrite = options.onOpenForWrite
  }

  slotPath (slot: SlotName): string {
    return join(this.dir, `slot-${slot}.img`)
  }

  get envPath (): string {
    return join(this.dir, BOOT_ENV_FILE_NAME)
  }

  private async load (): Promise<FileEnv> {
    const buf = await readFileLimited(this.envPath, MAX_BOOT_ENV_BYTES).catch((err: unknown) => {
      throw new StoremeshError('E_BACKEND', `cannot read boot environment ${this.envPath}`, { backend: this.kind }, { cause: err })
    })
    if (buf === undefined) {
      // first start: slot a is the one running, nothing armed
      const fresh = { env: initialEnv(this.bootLimit, 'a'), booted: 'a' as SlotName }
      await this.save(fresh)
      return fresh
    }
    const vars = parseKeyValue(buf.toString('utf8'))
    const env = varsToEnv(vars, this.bootLimit)
    const booted = vars[ENV_BOOTED] ?? env.slot
    if (!isSlotName(booted)) throw new StoremeshError('E_BACKEND', `boot environment ${ENV_BOOTED} is not a slot`, { backend: this.kind })
    return { env, booted }
  }

  private async save (state: FileEnv): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    await writeFileAtomic(this.envPath, formatKeyValue({ ...envToVars(state.env), [ENV_BOOTED]: state.booted }))
  }

  private async update (fn: (s: FileEnv) => FileEnv): Promise<void> {
    await this.serial.run(async () => {
      const cur = await this.load()
      await this.save(fn(cur))
    })
  }

  async activeSlot (): Promise<SlotName> {
    return (await this.serial.run(async () => await this.load())).booted
  }

  async inactiveSlot (): Promise<SlotName> {
    return otherSlot(await this.activeSlot())
  }

  async status (): Promise<BootStatus> {
    const { env, booted } = await this.serial.run(async () => await this.load())
    return { booted, primary: env.slot, attempts: attemptsOf(env) }
  }

  async writeSlot (slot: SlotName, source: AsyncIterable<Uint8Array>, options: BackendCallOptions = {}): Promise<{ bytes: number }> {
    await assertNotActive(this, slot, options)
    await this.onOpenForWrite?.(slot)
    return await writeSlotPath(this.slotPath(slot), source, options)
  }

  readSlot (slot: SlotName, options: SlotReadOptions): AsyncIterable<Uint8Array> {
    return readSlotPath(this.slotPath(slot), options.bytes, options)
  }

  async setNextBoot (slot: SlotName, next: NextBootOptions): Promise<void> {
    await this.update(s => ({ ...s, env: next.tryBoot ? armTry(s.env, slot) : makePrimary(s.env, slot) }))
  }

  async markGood (slot: SlotName): Promise<void> {
    await this.update(s => ({ ...s, env: makePrimary(s.env, slot) }))
  }

  async markBad (slot: SlotName): Promise<void> {
    await this.update(s => ({ ...s, env: markSlotBad(s.env, slot) }))
  }

  async markActive (slot: SlotName): Promise<void> {
    await this.update(s => ({ ...s, env: makePrimary(s.env, slot) }))
  }

  async bootAttempts (): Promise<BootAttempts> {
    return attemptsOf((await this.serial.run(async () => await this.load())).env)
  }

  /** The test seam: one simulated power cycle through the bootloader. */
  async reboot (): Promise<RebootResult> {
    await this.update(s => {
      const r = bootOnce(s.env)
      return { env: r.env, booted: r.booted }
    })
    return 'simulated'
  }
}

export function createFileBackend (options: FileBackendOptions): FileBackend {
  return new FileBackend(options)
}
