/**
 * The `command` backend: the operator's own hooks for a bootloader storemesh does not
 * know. Each hook is a command (a string runs through /bin/sh) run with a timeout;
 * it learns what to do from the environment:
 *
 *   STOREMESH_SLOT=a|b          the slot the verb applies to
 *   STOREMESH_TRY_BOOT=1|0      set-next-boot only
 *   STOREMESH_BYTES=<n>         read only: bytes wanted
 *
 * `status` prints `key=value` lines: `booted=a`, `primary=b`, and when the bootloader
 * counts boots `bootcount=1`, `bootlimit=3`, `upgrade_available=1`.
 * `write` receives the image on stdin and `read` prints the slot on stdout; without
 * them the slots are written and read as the paths in `devices`.
 */
import { spawn } from 'node:child_process'
import { StoremeshError } from '../../interface/errors.js'
import { assertNotActive, isSlotName, otherSlot, type BackendCallOptions, type BootAttempts, type BootBackend, type BootStatus, type NextBootOptions, type RebootResult, type SlotName, type SlotReadOptions } from '../backend.js'
import { parseKeyValue } from '../bootcount-env.js'
import { argvOf, type CommandLine } from '../exec.js'
import { readSlotPath, writeSlotPath } from '../slot-io.js'
import { ToolRunner, type ToolOptions } from './tool.js'

export interface CommandHooks {
  status: CommandLine
  setNextBoot: CommandLine
  markGood: CommandLine
  markBad: CommandLine
  /** default: setNextBoot with STOREMESH_TRY_BOOT=0 */
  markActive?: CommandLine
  reboot: CommandLine
  write?: CommandLine
  read?: CommandLine
}

export interface CommandBackendOptions extends Omit<ToolOptions, 'rebootCommand'> {
  hooks: CommandHooks
  devices?: Partial<Record<SlotName, string>>
  /** time allowed for the write and read hooks, which move a whole image; @default 1 hour */
  transferTimeoutMs?: number
}

const DEFAULT_TRANSFER_TIMEOUT_MS = 60 * 60 * 1000

export class CommandBackend implements BootBackend {
  readonly kind = 'command'
  private readonly tool: ToolRunner

  constructor (private readonly options: CommandBackendOptions) {
    this.tool = new ToolRunner(this.kind, { ...options, rebootCommand: options.hooks.reboot })
  }

  private device (slot: SlotName): string {
    const d = this.options.devices?.[slot]
    if (d === undefined) throw new StoremeshError('E_INVALID_ARGUMENT', `command backend: no write/read hook and no device for slot ${slot}`, { slot })
    return d
  }

  private async hook (command: CommandLine, env: Record<string, string>, signal?: AbortSignal): Promise<string> {
    return await this.tool.run(command, { env, ...(signal !== undefined ? { signal } : {}) })
  }

  async status (options: BackendCallOptions = {}): Promise<BootStatus> {
    const vars = parseKeyValue(await this.hook(this.options.hooks.status, {}, options.signal))
    const booted = vars.booted
    if (!isSlotName(booted)) throw new StoremeshError('E_BACKEND', 'command backend: status hook printed no booted=a|b', { backend: this.kind })
    const primary = isSlotName(vars.primary) ? vars.primary : booted
    const attempts = countsOf(vars)
    return { booted, primary, ...(attempts !== undefined ? { attempts } : {}) }
  }

  async activeSlot (options: BackendCallOptions = {}): Promise<SlotName> {
    return (await this.status(options)).booted
  }

  async inactiveSlot (options: BackendCallOptions = {}): Promise<SlotName> {
    return otherSlot(await this.activeSlot(options))
  }

  async writeSlot (slot: SlotName, source: AsyncIterable<Uint8Array>, options: BackendCallOptions = {}): Promise<{ bytes: number }> {
    await assertNotActive(this, slot, options)
    const hook = this.options.hooks.write
    if (hook === undefined) return await writeSlotPath(this.device(slot), source, options)
    let bytes = 0
    const counted = (async function * () {
      for await (const chunk of source) { bytes += chunk.byteLength; yield chunk }
    })()
    await this.tool.run(hook, {
      env: { STOREMESH_SLOT: slot },
      input: counted,
      timeoutMs: this.options.transferTimeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS,
      ...(options.signal !== undefined ? { signal: options.signal } : {})
    })
    return { bytes }
  }

  readSlot (slot: SlotName, options: SlotReadOptions): AsyncIterable<Uint8Array> {
    const hook = this.options.hooks.read
    if (hook === undefined) return readSlotPath(this.device(slot), options.bytes, options)
    const env = { ...this.options.env, STOREMESH_SLOT: slot, STOREMESH_BYTES: String(options.bytes) }
    return readHook(hook, env, options.bytes, this.options.transferTimeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS, options.signal)
  }

  async setNextBoot (slot: SlotName, next: NextBootOptions, options: BackendCallOptions = {}): Promise<void> {
    await this.hook(this.options.hooks.setNextBoot, { STOREMESH_SLOT: slot, STOREMESH_TRY_BOOT: next.tryBoot ? '1' : '0' }, options.signal)
  }

  async markGood (slot: SlotName, options: BackendCallOptions = {}): Promise<void> {
    await this.hook(this.options.hooks.markGood, { STOREMESH_SLOT: slot }, options.signal)
  }

  async markBad (slot: SlotName, options: BackendCallOptions = {}): Promise<void> {
    await this.hook(this.options.hooks.markBad, { STOREMESH_SLOT: slot }, options.signal)
  }

  async markActive (slot: SlotName, options: BackendCallOptions = {}): Promise<void> {
    const h = this.options.hooks.markActive
    if (h === undefined) await this.setNextBoot(slot, { tryBoot: false }, options)
    else await this.hook(h, { STOREMESH_SLOT: slot }, options.signal)
  }

  async bootAttempts (options: BackendCallOptions = {}): Promise<BootAttempts | undefined> {
    return (await this.status(options)).attempts
  }

  async reboot (options: BackendCallOptions = {}): Promise<RebootResult> {
    return await this.tool.reboot(options.signal)
  }
}

function countsOf (vars: Record<string, string>): BootAttempts | undefined {
  const count = vars.bootcount
  const limit = vars.bootlimit
  if (count === undefined || limit === undefined || !/^\d{1,6}$/.test(count) || !/^\d{1,6}$/.test(limit)) return undefined
  return { count: Number(count), limit: Number(limit), pending: vars.upgrade_available === '1' }
}

/** Streams a read hook's stdout, at most `bytes` bytes; a failing hook is an error. */
async function * readHook (command: CommandLine, env: Record<string, string | undefined>, bytes: number, timeoutMs: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const [cmd, args] = argvOf(command)
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'ignore'] })
  let timedOut = false
  const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, timeoutMs)
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(null))
    child.on('close', (code) => resolve(code))
  })
  const onAbort = (): void => { child.kill('SIGKILL') }
  signal?.addEventListener('abort', onAbort, { once: true })
  let seen = 0
  let completed = false
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      if (signal?.aborted === true) throw new StoremeshError('E_ABORTED', 'slot read aborted')
      const take = Math.min(chunk.byteLength, bytes - seen)
      if (take > 0) yield new Uint8Array(chunk.buffer, chunk.byteOffset, take)
      seen += take
      if (seen >= bytes) break
    }
    completed = true
  } finally {
    // also when the reader stops early: no hook and no timer outlive the read
    signal?.removeEventListener('abort', onAbort)
    clearTimeout(timer)
    if (seen >= bytes || !completed) child.kill('SIGKILL')
  }
  const code = await exited
  if (seen < bytes && (code !== 0 || timedOut)) {
    throw new StoremeshError('E_BACKEND', `command backend: read hook failed (${timedOut ? 'timed out' : `exit ${String(code)}`})`, { backend: 'command' })
  }
}
