/**
 * The bootloader backend interface, in the manner of RAUC's `mark.h`: the installer
 * knows slots `a` and `b` and a handful of verbs; each backend maps them to its
 * bootloader (a boot environment file, operator hooks, grub-editenv, fw_setenv, rauc).
 * Every backend passes the same compliance suite (test/unit/install/backend-compliance.ts).
 */
import { StoremeshError } from '../interface/errors.js'
import { SLOT_NAMES } from './constants.js'

export type SlotName = typeof SLOT_NAMES[number]

export function isSlotName (x: unknown): x is SlotName {
  return x === 'a' || x === 'b'
}

export function otherSlot (slot: SlotName): SlotName {
  return slot === 'a' ? 'b' : 'a'
}

/** The bootloader's boot counter (U-Boot `bootcount`/`bootlimit`/`upgrade_available`). */
export interface BootAttempts {
  /** boots of the trial slot since it was armed */
  count: number
  /** boots allowed before the bootloader falls back */
  limit: number
  /** a trial is armed and not yet committed (`upgrade_available=1`) */
  pending: boolean
}

export interface BootStatus {
  /** the slot running now */
  booted: SlotName
  /** the slot the bootloader boots next */
  primary: SlotName
  /** undefined when this bootloader does not count boots */
  attempts?: BootAttempts
}

export interface NextBootOptions {
  /**
   * true: boot the slot on trial; the bootloader falls back to the other slot after
   * too many boots without markGood. false: switch for good (no trial).
   */
  tryBoot: boolean
}

/**
 * What reboot() did. `simulated`: the backend played the bootloader in-process (the
 * file backend, tests) and the caller continues as after a boot. `pending`: the
 * machine is going down; the caller stops and resumes at the next start.
 */
export type RebootResult = 'simulated' | 'pending'

export interface BackendCallOptions {
  signal?: AbortSignal
}

export interface SlotReadOptions extends BackendCallOptions {
  /** bytes to read from the slot's start (a partition is larger than its image) */
  bytes: number
}

export interface BootBackend {
  /** the registry name: `file`, `command`, `grub-editenv`, `uboot`, `rauc` */
  readonly kind: string
  /** the slot running now */
  activeSlot(options?: BackendCallOptions): Promise<SlotName>
  /** the slot an install may write: always the other one */
  inactiveSlot(options?: BackendCallOptions): Promise<SlotName>
  status(options?: BackendCallOptions): Promise<BootStatus>
  /**
   * Streams an image into a slot from byte zero and fsyncs it. Refuses the active
   * slot with E_ACTIVE_SLOT_WRITE before anything is opened.
   */
  writeSlot(slot: SlotName, source: AsyncIterable<Uint8Array>, options?: BackendCallOptions): Promise<{ bytes: number }>
  /** The slot's first `bytes` bytes, for read-back verification. */
  readSlot(slot: SlotName, options: SlotReadOptions): AsyncIterable<Uint8Array>
  setNextBoot(slot: SlotName, next: NextBootOptions, options?: BackendCallOptions): Promise<void>
  /** The slot booted and is healthy: keep booting it (RAUC `mark-good`, U-Boot `upgrade_available=0`). */
  markGood(slot: SlotName, options?: BackendCallOptions): Promise<void>
  /** Never boot this slot again until it is rewritten; the other slot becomes primary. */
  markBad(slot: SlotName, options?: BackendCallOptions): Promise<void>
  /** Make this slot the primary for good, with no trial. */
  markActive(slot: SlotName, options?: BackendCallOptions): Promise<void>
  /** undefined when the bootloader keeps no counter the backend can read */
  bootAttempts(options?: BackendCallOptions): Promise<BootAttempts | undefined>
  reboot(options?: BackendCallOptions): Promise<RebootResult>
}

/**
 * A backend's writeSlot calls this first: the running slot is never opened for
 * write, whatever the caller believes (defence in depth behind the writer's check).
 */
export async function assertNotActive (backend: BootBackend, slot: SlotName, options?: BackendCallOptions): Promise<void> {
  const active = await backend.activeSlot(options)
  if (slot === active) {
    throw new StoremeshError('E_ACTIVE_SLOT_WRITE', `refusing to write slot ${slot}: it is the running slot`, { slot, backend: backend.kind })
  }
}

/** Parses a booted slot out of a kernel command line (`storemesh.slot=b` or RAUC's `rauc.slot=B`). */
export function slotFromCmdline (cmdline: string, names: Record<SlotName, string> = { a: 'a', b: 'b' }): SlotName | undefined {
  for (const token of cmdline.trim().split(/\s+/)) {
    const m = /^(?:storemesh|rauc)\.slot=(.+)$/.exec(token)
    if (m === null) continue
    const value = m[1]
    for (const slot of SLOT_NAMES) {
      if (value === names[slot] || value === slot || value === slot.toUpperCase()) return slot
    }
  }
  return undefined
}
