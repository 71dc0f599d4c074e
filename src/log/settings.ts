/**
 * Which level and format a command logs at, from its flags and the environment.
 * Precedence, most specific first:
 *   level:  --log-level, then STOREMESH_LOG_LEVEL, then `info`
 *   format: --log-format, then the command's --json (JSON lines), then
 *           STOREMESH_LOG_FORMAT, then `pretty`
 * The command line wins over the environment, so a unit file's environment never
 * turns off the JSON a caller asked for with --json (the demo does).
 */
import { StoremeshError } from '../interface/errors.js'
import { DEFAULT_LOG_FORMAT, DEFAULT_LOG_LEVEL, LOG_FORMAT_ENV, LOG_FORMATS, LOG_LEVEL_ENV, LOG_LEVELS, type LogFormat, type LogLevel } from './constants.js'

export interface LogSettings {
  level: LogLevel
  format: LogFormat
}

export interface LogSettingsInput {
  /** --log-level */
  level?: string | undefined
  /** --log-format */
  format?: string | undefined
  /** the command's --json */
  json?: boolean | undefined
  /** @default process.env */
  env?: Record<string, string | undefined>
}

function pick<T extends string> (allowed: readonly T[], raw: string | undefined, source: string): T | undefined {
  if (raw === undefined || raw.trim() === '') return undefined
  const v = raw.trim().toLowerCase()
  if ((allowed as readonly string[]).includes(v)) return v as T
  throw new StoremeshError('E_USAGE', `${source} must be one of ${allowed.join(', ')}, got ${raw.slice(0, 40)}`)
}

export function resolveLogSettings (input: LogSettingsInput = {}): LogSettings {
  const env = input.env ?? process.env
  const level = pick(LOG_LEVELS, input.level, '--log-level') ?? pick(LOG_LEVELS, env[LOG_LEVEL_ENV], LOG_LEVEL_ENV) ?? DEFAULT_LOG_LEVEL
  const format = pick(LOG_FORMATS, input.format, '--log-format') ??
    (input.json === true ? 'json' : undefined) ??
    pick(LOG_FORMATS, env[LOG_FORMAT_ENV], LOG_FORMAT_ENV) ??
    DEFAULT_LOG_FORMAT
  return { level, format }
}
