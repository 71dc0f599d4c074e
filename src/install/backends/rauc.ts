/**
 * The `rauc` backend: RAUC as the bootloader abstraction (`rauc status`, `rauc status
 * mark-good | mark-bad | mark-active <slot>`), which talks to the RAUC service over
 * D-Bus. Slots `a`/`b` are `<class>.0`/`<class>.1` of system.conf. The image is
 * streamed raw to the inactive slot's device as `rauc write-slot` would, without a
 * temporary copy; RAUC's own bundle install (`rauc install`) is not used because the
 * chunk store, not a .raucb file, holds the image. RAUC does not expose the
 * bootloader's boot counter: bootAttempts() is undefined and a fallback shows as
 * the old slot being booted.
 */
import { StoremeshError } from '../../interface/errors.js'
import { otherSlot, type BackendCallOptions, type BootBackend, type BootStatus, type NextBootOptions, type RebootResult, type SlotName, type SlotReadOptions } from '../backend.js'
import { readSlotPath, writeSlotPath } from '../slot-io.js'
import { ToolRunner, type ToolOptions } from './tool.js'

export interface RaucBackendOptions extends ToolOptions {
  /** @default 'rootfs' */
  slotClass?: string
  /** `--conf`; default RAUC's own (/etc/rauc/system.conf) */
  confFile?: string
  /** @default 'rauc' */
  rauc?: string
}

interface RaucSlot {
  name: string
  device: string
  bootname?: string
  state?: string
  mountpoint?: string | null
  boot_status?: string
}

interface RaucStatus {
  booted: string
  primary?: string
  slots: RaucSlot[]
}

/** Parses `rauc status --output-format=json`, size-bounded and fail-closed. */
export function parseRaucStatus (text: string): RaucStatus {
  if (text.length > 256 * 1024) throw new StoremeshError('E_BACKEND', 'rauc status output is too large', { backend: 'rauc' })
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new StoremeshError('E_BACKEND', 'rauc status output is not JSON', { backend: 'rauc' }, { cause: err })
  }
  const o = json as { booted?: unknown, boot_primary?: unknown, slots?: unknown }
  if (typeof o?.booted !== 'string' || !Array.isArray(o.slots)) {
    throw new StoremeshError('E_BACKEND', 'rauc status output lacks booted or slots', { backend: 'rauc' })
  }
  const slots: RaucSlot[] = []
  for (const entry of o.slots) {
    // each entry is { "<class>.<idx>": { device, bootname, state, ... } }
    for (const [name, v] of Object.entries(entry as Record<string, Record<string, unknown>>)) {
      if (typeof v?.device !== 'string') continue
      slots.push({
        name,
        device: v.device,
        ...(typeof v.bootname === 'string' ? { bootname: v.bootname } : {}),
        ...(typeof v.state === 'string' ? { state: v.state } : {}),
        mountpoint: typeof v.mountpoint === 'string' ? v.mountpoint : null,
        ...(typeof v.boot_status === 'string' ? { boot_status: v.boot_status } : {})
      })
    }
  }
  return { booted: o.booted, ...(typeof o.boot_primary === 'string' ? { primary: o.boot_primary } : {}), slots }
}

export class RaucBackend implements BootBackend {
  readonly kind = 'rauc'
  private readonly tool: ToolRunner
  private readonly slotClass: string

  constructor (private readonly options: RaucBackendOptions) {
    this.tool = new ToolRunner(this.kind, options)
    this.slotClass = options.slotClass ?? 'rootfs'
  }

  private args (...rest: string[]): string[] {
    const conf = this.options.confFile !== undefined ? [`--conf=${this.options.confFile}`] : []
    return [this.options.rauc ?? 'rauc', ...conf, ...rest]
  }

  /** RAUC's name for a slot: `rootfs.0` for a, `rootfs.1` for b. */
  raucName (slot: SlotName): string {
    return `${this.slotClass}.${slot === 'a' ? 0 : 1}`
  }

  private slotOfName (name: string | undefined): SlotName | undefined {
    if (name === this.raucName('a')) return 'a'
    if (name === this.raucName('b')) return 'b'
    return undefined
  }

  async raucStatus (signal?: AbortSignal): Promise<RaucStatus> {
    const out = await this.tool.run(this.args('status', '--output-format=json'), signal !== undefined ? { signal } : {})
    return parseRaucStatus(out)
  }

  private find (st: RaucStatus, slot: SlotName): RaucSlot {
    const s = st.slots.find(x => x.name === this.raucName(slot))
    if (s === undefined) throw new StoremeshError('E_BACKEND', `rauc knows no slot ${this.raucName(slot)}`, { backend: this.kind })
    return s
  }

  async status (options: BackendCallOptions = {}): Promise<BootStatus> {
    const st = await this.raucStatus(options.signal)
    const booted = this.bootedOf(st)
    return { booted, primary: this.slotOfName(st.primary) ?? booted }
  }

  private bootedOf (st: RaucStatus): SlotName {
    // `booted` is the boot name; the slot whose state is "booted" says the same by name
    const byState = st.slots.find(s => s.state === 'booted' && this.slotOfName(s.name) !== undefined)
    const byBootname = st.slots.find(s => s.bootname === st.booted && this.slotOfName(s.name) !== undefined)
    const slot = this.slotOfName((byState ?? byBootname)?.name)
    if (slot === undefined) throw new StoremeshError('E_BACKEND', `rauc reports booted ${st.booted}, which is no ${this.slotClass} slot`, { backend: this.kind })
    return slot
  }

  async activeSlot (options: BackendCallOptions = {}): Promise<SlotName> {
    return this.bootedOf(await this.raucStatus(options.signal))
  }

  async inactiveSlot (options: BackendCallOptions = {}): Promise<SlotName> {
    return otherSlot(await this.activeSlot(options))
  }

  async writeSlot (slot: SlotName, source: AsyncIterable<Uint8Array>, options: BackendCallOptions = {}): Promise<{ bytes: number }> {
    const st = await this.raucStatus(options.signal)
    const target = this.find(st, slot)
    if (this.bootedOf(st) === slot || target.state === 'booted' || target.state === 'active') {
      throw new StoremeshError('E_ACTIVE_SLOT_WRITE', `refusing to write slot ${slot} (${target.name}): it is the running slot`, { slot, backend: this.kind })
    }
    if (target.mountpoint !== null && target.mountpoint !== undefined) {
      throw new StoremeshError('E_ACTIVE_SLOT_WRITE', `refusing to write slot ${target.name}: it is mounted at ${target.mountpoint}`, { slot, backend: this.kind })
    }
    return await writeSlotPath(target.device, source, options)
  }

  async * readSlot (slot: SlotName, options: SlotReadOptions): AsyncGenerator<Uint8Array> {
    const target = this.find(await this.raucStatus(options.signal), slot)
    yield * readSlotPath(target.device, options.bytes, options)
  }

  private async mark (verb: 'mark-good' | 'mark-bad' | 'mark-active', slot: SlotName, signal?: AbortSignal): Promise<void> {
    await this.tool.run(this.args('status', verb, this.raucName(slot)), signal !== undefined ? { signal } : {})
  }

  /** RAUC arms a trial with mark-active; the bootloader's counter does the rest. */
  async setNextBoot (slot: SlotName, _next: NextBootOptions, options: BackendCallOptions = {}): Promise<void> {
    await this.mark('mark-active', slot, options.signal)
  }

  async markGood (slot: SlotName, options: BackendCallOptions = {}): Promise<void> {
    await this.mark('mark-good', slot, options.signal)
  }

  async markBad (slot: SlotName, options: BackendCallOptions = {}): Promise<void> {
    await this.mark('mark-bad', slot, options.signal)
  }

  async markActive (slot: SlotName, options: BackendCallOptions = {}): Promise<void> {
    await this.mark('mark-active', slot, options.signal)
  }

  async bootAttempts (): Promise<undefined> {
    return undefined
  }

  async reboot (options: BackendCallOptions = {}): Promise<RebootResult> {
    return await this.tool.reboot(options.signal)
  }
}
