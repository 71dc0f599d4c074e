/**
 * Shared plumbing of the backends that shell out to a bootloader tool or operator
 * hook: run it with a timeout, turn a missing tool into E_BACKEND_UNAVAILABLE and a
 * failure into E_BACKEND naming the command, read the booted slot from a kernel
 * command line, and reboot through a command or the test seam.
 */
import { StoremeshError } from '../../interface/errors.js'
import { readRegularFile } from '../../interface/regular-file.js'
import { slotFromCmdline, type RebootResult, type SlotName } from '../backend.js'
import { DEFAULT_COMMAND_TIMEOUT_MS } from '../constants.js'
import { describeCommand, execCommand, failureOf, succeeded, type CommandLine, type ExecFn, type ExecResult } from '../exec.js'

export const DEFAULT_CMDLINE_FILE = '/proc/cmdline'
export const DEFAULT_REBOOT_COMMAND: CommandLine = ['systemctl', 'reboot']

/** Options every tool-based backend accepts. */
export interface ToolOptions {
  /** @default DEFAULT_COMMAND_TIMEOUT_MS */
  timeoutMs?: number
  /** extra environment for every command (e.g. a D-Bus address in tests) */
  env?: Record<string, string>
  /** injectable command runner (tests) */
  exec?: ExecFn
  /** @default DEFAULT_REBOOT_COMMAND */
  rebootCommand?: CommandLine
  /**
   * Test seam: replaces the reboot command, e.g. with a simulated bootloader that
   * returns 'simulated' once the "next boot" has happened.
   */
  reboot?: () => Promise<RebootResult>
}

export class ToolRunner {
  private readonly exec: ExecFn
  private readonly timeoutMs: number
  private readonly env: Record<string, string>

  constructor (readonly backend: string, private readonly options: ToolOptions) {
    this.exec = options.exec ?? execCommand
    this.timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS
    this.env = options.env ?? {}
  }

  /** Runs a command and returns its result whatever its exit code (not-found still throws). */
  async runRaw (command: CommandLine, extra: { env?: Record<string, string>, input?: AsyncIterable<Uint8Array> | Uint8Array, signal?: AbortSignal, timeoutMs?: number } = {}): Promise<ExecResult> {
    const r = await this.exec({
      command,
      env: { ...this.env, ...extra.env },
      timeoutMs: extra.timeoutMs ?? this.timeoutMs,
      ...(extra.input !== undefined ? { input: extra.input } : {}),
      ...(extra.signal !== undefined ? { signal: extra.signal } : {})
    })
    if (r.spawnError !== undefined && /ENOENT|EACCES/.test(r.spawnError)) {
      throw new StoremeshError('E_BACKEND_UNAVAILABLE', `${this.backend} backend: tool not found: ${describeCommand(command).slice(0, 200)}`, { backend: this.backend })
    }
    if (extra.signal?.aborted === true) throw new StoremeshError('E_ABORTED', `${this.backend} backend: aborted`, { backend: this.backend })
    return r
  }

  /** Runs a command that must succeed; returns its stdout. */
  async run (command: CommandLine, extra: Parameters<ToolRunner['runRaw']>[1] = {}): Promise<string> {
    const r = await this.runRaw(command, extra)
    if (!succeeded(r)) {
      throw new StoremeshError('E_BACKEND', `${this.backend} backend: ${describeCommand(command).slice(0, 200)} failed: ${failureOf(r)}`, { backend: this.backend })
    }
    return r.stdout
  }

  async reboot (signal?: AbortSignal): Promise<RebootResult> {
    if (this.options.reboot !== undefined) return await this.options.reboot()
    await this.run(this.options.rebootCommand ?? DEFAULT_REBOOT_COMMAND, signal !== undefined ? { signal } : {})
    return 'pending'
  }
}

/** Longer than any kernel's COMMAND_LINE_SIZE (2 KiB to 4 KiB on common arches). */
const MAX_CMDLINE_BYTES = 64 * 1024

/** The booted slot from a kernel command line file (`storemesh.slot=` or `rauc.slot=`). */
export async function bootedSlotFromFile (backend: string, path: string, names?: Record<SlotName, string>): Promise<SlotName> {
  let text: string
  try {
    text = (await readRegularFile(path, { what: 'kernel command line', maxBytes: MAX_CMDLINE_BYTES })).toString('utf8')
  } catch (err) {
    throw new StoremeshError('E_BACKEND', `${backend} backend: cannot read the kernel command line ${path}`, { backend }, { cause: err })
  }
  const slot = slotFromCmdline(text, names)
  if (slot === undefined) {
    throw new StoremeshError('E_BACKEND', `${backend} backend: the kernel command line names no slot; add storemesh.slot=<a|b> to the boot arguments`, { backend, path })
  }
  return slot
}
