/**
 * `--log-level` and `--log-format` of the long-running commands (hub, device run,
 * super-hub), and the process logger built from them (src/log/). Not `--json`: that
 * flag already means "JSON events and logs" on these commands and "JSON data" on the
 * others; here it only changes the default format (src/log/settings.ts).
 */
import type { Command } from 'commander'
import type { Logger } from 'pino'
import { DEFAULT_LOG_LEVEL, LOG_FORMAT_ENV, LOG_FORMATS, LOG_LEVEL_ENV, LOG_LEVELS } from '../log/constants.js'
import type { LoggerInit } from '../log/index.js'
import { resolveLogSettings } from '../log/settings.js'

export interface LogOpts {
  logLevel?: string
  logFormat?: string
  json?: boolean
}

export function addLogOptions (cmd: Command): Command {
  return cmd
    .option('--log-level <level>', `${LOG_LEVELS.join(', ')} (env ${LOG_LEVEL_ENV}; default ${DEFAULT_LOG_LEVEL})`)
    .option('--log-format <format>', `${LOG_FORMATS.join(' or ')}: human lines or JSON lines (env ${LOG_FORMAT_ENV}; default pretty, json with --json)`)
}

/**
 * The process's root logger for `role`, from the flags, then the environment. pino is
 * imported here, when a daemon starts, not with the command group: `device install
 * --once` and `install-status` share the group and run from timers and hooks, and
 * evaluating pino costs them 10-20 ms for nothing.
 */
export async function loggerOf (opts: LogOpts, role: string, destination?: LoggerInit['destination']): Promise<Logger> {
  const { level, format } = resolveLogSettings({ level: opts.logLevel, format: opts.logFormat, json: opts.json })
  const { createLogger } = await import('../log/index.js')
  return createLogger({ role, level, format, ...(destination !== undefined ? { destination } : {}) })
}
