/**
 * `storemesh wave start|pause`: a store's operator starts or pauses a wave at the hub,
 * through its API, offline from the cloud. Idempotent: repeating a command reports
 * that nothing changed and exits 0.
 */
import type { Command } from 'commander'
import type { ActionResult } from '../api/types.js'
import { StoremeshError } from '../interface/errors.js'
import { ApiClient, apiOptions, type ApiClientOptions } from './api-client.js'
import type { Register } from './commands.js'
import { action, type CommandContext } from './context.js'
import { printJson } from './output.js'

interface StartOpts extends ApiClientOptions { wave: string, cohort: string }
interface PauseOpts extends ApiClientOptions { wave: string, reason: string }

const WAVE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

function waveId (raw: string): string {
  if (!WAVE_RE.test(raw)) throw new StoremeshError('E_USAGE', `--wave must be a wave id (letters, digits, . _ -), got ${raw.slice(0, 80)}`)
  return raw
}

/** Prints an action's answer: one line for people, the whole answer with --json. */
export function printAction (r: ActionResult, json: boolean, done: string, already: string): void {
  if (json) printJson(r)
  else process.stdout.write((r.changed ? done : `${already}${r.detail !== undefined ? ` (${r.detail})` : ''}`) + '\n')
}

function registerStart (wave: Command, ctx: CommandContext): void {
  apiOptions(wave.command('start'))
    .description('start (or resume) a wave for a cohort at this hub')
    .requiredOption('--wave <id>', 'the wave id, e.g. 142')
    .requiredOption('--cohort <name>', 'the cohort, e.g. retail-us-midwest')
    .action(action(ctx, async (opts: StartOpts) => {
      const id = waveId(opts.wave)
      const client = await ApiClient.fromOptions(opts)
      const r = await client.post<ActionResult>(`/api/waves/${encodeURIComponent(id)}/start`, { cohort: opts.cohort })
      printAction(r, opts.json, `wave ${id} started for ${opts.cohort}`, `wave ${id} was already started for ${opts.cohort}; nothing changed`)
    }))
}

function registerPause (wave: Command, ctx: CommandContext): void {
  apiOptions(wave.command('pause'))
    .description('pause a wave at this hub: no device starts an install until it is started again')
    .requiredOption('--wave <id>', 'the wave id')
    .requiredOption('--reason <text>', 'why; shown in the ledger and to the devices')
    .action(action(ctx, async (opts: PauseOpts) => {
      const id = waveId(opts.wave)
      const client = await ApiClient.fromOptions(opts)
      const r = await client.post<ActionResult>(`/api/waves/${encodeURIComponent(id)}/pause`, { reason: opts.reason })
      printAction(r, opts.json, `wave ${id} paused: ${opts.reason}`, `wave ${id} was already paused; nothing changed`)
    }))
}

export const register: Register = (program, ctx) => {
  const wave = program.command('wave').description("start or pause a rollout wave at the store's hub (through its API)")
  registerStart(wave, ctx)
  registerPause(wave, ctx)
}
