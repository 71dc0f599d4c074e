/**
 * U-Boot's boot-count semantics as pure functions over a small environment, shared
 * by the `file` backend (which keeps the environment in a file and plays the
 * bootloader itself) and the `uboot` backend (fw_setenv / fw_printenv):
 *
 * - `storemesh_slot`: the slot the bootloader boots (Mender's `mender_boot_part`)
 * - `upgrade_available=1`: a trial is armed; each boot increments `bootcount`
 * - `bootcount > bootlimit`: the bootloader runs `altbootcmd`, which switches back to
 *   the other slot and clears `upgrade_available` (the automatic fallback)
 * - user space commits with `upgrade_available=0 bootcount=0`
 */
import { StoremeshError } from '../interface/errors.js'
import { isSlotName, otherSlot, type BootAttempts, type SlotName } from './backend.js'

export const ENV_SLOT = 'storemesh_slot'
export const ENV_UPGRADE_AVAILABLE = 'upgrade_available'
export const ENV_BOOTCOUNT = 'bootcount'
export const ENV_BOOTLIMIT = 'bootlimit'
/** file backend only: the slot the simulated bootloader last booted (a kernel command line stand-in) */
export const ENV_BOOTED = 'storemesh_booted'

export interface BootcountEnv {
  slot: SlotName
  upgradeAvailable: boolean
  bootcount: number
  bootlimit: number
}

export function initialEnv (bootlimit: number, slot: SlotName = 'a'): BootcountEnv {
  return { slot, upgradeAvailable: false, bootcount: 0, bootlimit }
}

/** Boot `slot` on trial: counting starts again from zero. */
export function armTry (env: BootcountEnv, slot: SlotName): BootcountEnv {
  return { ...env, slot, upgradeAvailable: true, bootcount: 0 }
}

/** Boot `slot` for good (mark-good of the running slot, or mark-active). */
export function makePrimary (env: BootcountEnv, slot: SlotName): BootcountEnv {
  return { ...env, slot, upgradeAvailable: false, bootcount: 0 }
}

/** Never boot `slot` again: if it is the one the bootloader would boot, switch away. */
export function markSlotBad (env: BootcountEnv, slot: SlotName): BootcountEnv {
  if (env.slot !== slot) return env
  return { ...env, slot: otherSlot(slot), upgradeAvailable: false, bootcount: 0 }
}

/** What the bootloader does at power-on; returns the new environment and the booted slot. */
export function bootOnce (env: BootcountEnv): { env: BootcountEnv, booted: SlotName, fellBack: boolean } {
  if (!env.upgradeAvailable) return { env, booted: env.slot, fellBack: false }
  const bootcount = env.bootcount + 1
  if (bootcount > env.bootlimit) {
    // altbootcmd: the trial slot had its chances; boot the other one and stop counting
    const slot = otherSlot(env.slot)
    return { env: { ...env, slot, upgradeAvailable: false, bootcount }, booted: slot, fellBack: true }
  }
  return { env: { ...env, bootcount }, booted: env.slot, fellBack: false }
}

export function attemptsOf (env: BootcountEnv): BootAttempts {
  return { count: env.bootcount, limit: env.bootlimit, pending: env.upgradeAvailable }
}

export function envToVars (env: BootcountEnv): Record<string, string> {
  return {
    [ENV_SLOT]: env.slot,
    [ENV_UPGRADE_AVAILABLE]: env.upgradeAvailable ? '1' : '0',
    [ENV_BOOTCOUNT]: String(env.bootcount),
    [ENV_BOOTLIMIT]: String(env.bootlimit)
  }
}

function intVar (vars: Record<string, string>, key: string, fallback: number): number {
  const v = vars[key]
  if (v === undefined || v === '') return fallback
  if (!/^\d{1,6}$/.test(v)) throw new StoremeshError('E_BACKEND', `boot environment ${key} is not a count: ${v.slice(0, 32)}`, { key })
  return Number(v)
}

/** Reads the environment; missing variables take the defaults, malformed ones fail closed. */
export function varsToEnv (vars: Record<string, string>, defaultBootlimit: number): BootcountEnv {
  const slot = vars[ENV_SLOT] ?? 'a'
  if (!isSlotName(slot)) throw new StoremeshError('E_BACKEND', `boot environment ${ENV_SLOT} is not a slot: ${slot.slice(0, 32)}`, { key: ENV_SLOT })
  const ua = vars[ENV_UPGRADE_AVAILABLE] ?? '0'
  if (ua !== '0' && ua !== '1' && ua !== '') throw new StoremeshError('E_BACKEND', `boot environment ${ENV_UPGRADE_AVAILABLE} is not 0 or 1`, { key: ENV_UPGRADE_AVAILABLE })
  return {
    slot,
    upgradeAvailable: ua === '1',
    bootcount: intVar(vars, ENV_BOOTCOUNT, 0),
    bootlimit: intVar(vars, ENV_BOOTLIMIT, defaultBootlimit)
  }
}

/** `key=value` lines, the format of fw_printenv and of the file backend's boot env. */
export function parseKeyValue (text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const t = line.trim()
    if (t === '' || t.startsWith('#')) continue
    const i = t.indexOf('=')
    if (i <= 0) continue
    out[t.slice(0, i)] = t.slice(i + 1)
  }
  return out
}

export function formatKeyValue (vars: Record<string, string>): string {
  return Object.keys(vars).sort().map(k => `${k}=${vars[k] ?? ''}`).join('\n') + '\n'
}
