/**
 * The `grub-editenv` backend: a GRUB environment block driven with `grub-editenv`
 * (Debian's grub-common), in RAUC's GRUB variable scheme so RAUC's documented
 * grub.cfg works unchanged:
 *
 * - `ORDER="B A"`: slots in boot order; GRUB boots the first with `X_OK=1` and `X_TRY=0`
 * - `X_TRY=1`: set by GRUB when it boots X; user space clears it with mark-good. A slot
 *   that boots once and is not marked good is skipped next time (one trial boot).
 * - `storemesh_trial=X`: ours, ignored by GRUB: a trial of X is armed and not committed
 *
 * Every operation is one `grub-editenv <file> set ...` call, so one block rewrite.
 * The booted slot comes from the kernel command line (`rauc.slot=X` or `storemesh.slot=`).
 */
import { StoremeshError } from '../../interface/errors.js'
import { assertNotActive, otherSlot, type BackendCallOptions, type BootAttempts, type BootBackend, type BootStatus, type NextBootOptions, type RebootResult, type SlotName, type SlotReadOptions } from '../backend.js'
import { parseKeyValue } from '../bootcount-env.js'
import { readSlotPath, writeSlotPath } from '../slot-io.js'
import { Serial } from '../serial.js'
import { bootedSlotFromFile, DEFAULT_CMDLINE_FILE, ToolRunner, type ToolOptions } from './tool.js'

export const GRUB_TRIAL_VAR = 'storemesh_trial'
/** RAUC's scheme allows one trial boot before GRUB skips the slot. */
export const GRUB_BOOT_LIMIT = 1

export interface GrubBackendOptions extends ToolOptions {
  /** the environment block file, e.g. /boot/grub/grubenv */
  envFile: string
  devices: Record<SlotName, string>
  /** GRUB/RAUC boot names; @default { a: 'A', b: 'B' } */
  bootnames?: Record<SlotName, string>
  /** @default DEFAULT_CMDLINE_FILE */
  cmdlineFile?: string
  /** @default 'grub-editenv' */
  grubEditenv?: string
}

export class GrubEditenvBackend implements BootBackend {
  readonly kind = 'grub-editenv'
  private readonly tool: ToolRunner
  private readonly serial = new Serial()
  private readonly names: Record<SlotName, string>

  constructor (private readonly options: GrubBackendOptions) {
    this.tool = new ToolRunner(this.kind, options)
    this.names = options.bootnames ?? { a: 'A', b: 'B' }
    for (const n of Object.values(this.names)) {
      // names become variable names (X_OK) and ORDER words
      if (!/^[A-Za-z0-9_]{1,32}$/.test(n)) throw new StoremeshError('E_INVALID_ARGUMENT', `grub boot name is not a plain word: ${n}`)
    }
  }

  private get bin (): string {
    return this.options.grubEditenv ?? 'grub-editenv'
  }

  async list (signal?: AbortSignal): Promise<Record<string, string>> {
    const out = await this.tool.run([this.bin, this.options.envFile, 'list'], signal !== undefined ? { signal } : {})
    return parseKeyValue(out)
  }

  async set (vars: Record<string, string>, signal?: AbortSignal): Promise<void> {
    const args = Object.entries(vars).map(([k, v]) => `${k}=${v}`)
    await this.tool.run([this.bin, this.options.envFile, 'set', ...args], signal !== undefined ? { signal } : {})
  }

  private slotOf (name: string | undefined): SlotName | undefined {
    if (name === this.names.a) return 'a'
    if (name === this.names.b) return 'b'
    return undefined
  }

  private order (vars: Record<string, string>): SlotName[] {
    const words = (vars.ORDER ?? '').split(/\s+/).map(w => this.slotOf(w)).filter((s): s is SlotName => s !== undefined)
    return words.length > 0 ? words : ['a', 'b']
  }

  private orderWith (first: SlotName): string {
    return `${this.names[first]} ${this.names[otherSlot(first)]}`
  }

  /** Read-modify-write of the block; the first use writes a block that boots the running slot. */
  private async update (fn: (vars: Record<string, string>, booted: SlotName) => Record<string, string>, signal?: AbortSignal): Promise<void> {
    await this.serial.run(async () => {
      const booted = await this.activeSlot()
      const vars = await this.list(signal)
      await this.set(fn(vars, booted), signal)
    })
  }

  async activeSlot (): Promise<SlotName> {
    return await bootedSlotFromFile(this.kind, this.options.cmdlineFile ?? DEFAULT_CMDLINE_FILE, this.names)
  }

  async inactiveSlot (): Promise<SlotName> {
    return otherSlot(await this.activeSlot())
  }

  async status (options: BackendCallOptions = {}): Promise<BootStatus> {
    const vars = await this.list(options.signal)
    const booted = await this.activeSlot()
    const attempts = this.attemptsOf(vars, booted)
    const givenUp = attempts.count > 0 && !attempts.pending ? this.slotOf(vars[GRUB_TRIAL_VAR]) : undefined
    // ORDER's first bootable slot, the TRY flags aside (RAUC clears them at each healthy boot)
    const bootable = this.order(vars).filter(s => vars[`${this.names[s]}_OK`] !== '0' && s !== givenUp)
    return { booted, primary: bootable[0] ?? booted, attempts }
  }

  /** GRUB never clears our trial mark: a tried trial slot that is not running has been given up. */
  private attemptsOf (vars: Record<string, string>, booted: SlotName): BootAttempts {
    const trial = this.slotOf(vars[GRUB_TRIAL_VAR])
    if (trial === undefined) return { count: 0, limit: GRUB_BOOT_LIMIT, pending: false }
    const tried = vars[`${this.names[trial]}_TRY`] === '1'
    return { count: tried ? 1 : 0, limit: GRUB_BOOT_LIMIT, pending: !(tried && booted !== trial) }
  }

  async writeSlot (slot: SlotName, source: AsyncIterable<Uint8Array>, options: BackendCallOptions = {}): Promise<{ bytes: number }> {
    await assertNotActive(this, slot, options)
    return await writeSlotPath(this.options.devices[slot], source, options)
  }

  readSlot (slot: SlotName, options: SlotReadOptions): AsyncIterable<Uint8Array> {
    return readSlotPath(this.options.devices[slot], options.bytes, options)
  }

  async setNextBoot (slot: SlotName, next: NextBootOptions, options: BackendCallOptions = {}): Promise<void> {
    const n = this.names[slot]
    await this.update(() => ({
      ORDER: this.orderWith(slot),
      [`${n}_OK`]: '1',
      [`${n}_TRY`]: '0',
      [GRUB_TRIAL_VAR]: next.tryBoot ? n : ''
    }), options.signal)
  }

  async markGood (slot: SlotName, options: BackendCallOptions = {}): Promise<void> {
    const n = this.names[slot]
    await this.update((vars) => ({
      [`${n}_OK`]: '1',
      [`${n}_TRY`]: '0',
      [GRUB_TRIAL_VAR]: vars[GRUB_TRIAL_VAR] === n ? '' : (vars[GRUB_TRIAL_VAR] ?? '')
    }), options.signal)
  }

  async markBad (slot: SlotName, options: BackendCallOptions = {}): Promise<void> {
    const n = this.names[slot]
    await this.update((vars) => ({
      ORDER: this.orderWith(otherSlot(slot)),
      [`${n}_OK`]: '0',
      [GRUB_TRIAL_VAR]: vars[GRUB_TRIAL_VAR] === n ? '' : (vars[GRUB_TRIAL_VAR] ?? '')
    }), options.signal)
  }

  async markActive (slot: SlotName, options: BackendCallOptions = {}): Promise<void> {
    const n = this.names[slot]
    await this.update(() => ({ ORDER: this.orderWith(slot), [`${n}_OK`]: '1', [`${n}_TRY`]: '0', [GRUB_TRIAL_VAR]: '' }), options.signal)
  }

  async bootAttempts (options: BackendCallOptions = {}): Promise<BootAttempts> {
    return this.attemptsOf(await this.list(options.signal), await this.activeSlot())
  }

  async reboot (options: BackendCallOptions = {}): Promise<RebootResult> {
    return await this.tool.reboot(options.signal)
  }
}
