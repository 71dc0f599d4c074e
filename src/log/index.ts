/**
 * The one logger factory: a pino logger per process, its lines carrying `role`, then
 * per module `component` and the ids a line is about (src/interface/log.ts names the
 * fields). The CLI builds it from the command's flags and environment
 * (src/cli/log-options.ts) and hands it down as a `Log`; nothing below cli/ imports pino.
 *
 * JSON line (--log-format json, or a daemon's --json):
 *   {"level":"info","at":"2026-01-05T02:00:00.000Z","event":"log","role":"hub",
 *    "component":"swarm","bundle":"b3:...","line":"bundle b3:... complete and verified"}
 * Human line (the default, src/log/pretty.ts):
 *   2026-01-05T02:00:00.000Z bundle b3:... complete and verified
 *
 * The destination is written synchronously (process.stderr is synchronous for files,
 * pipes and terminals on Linux): a log line and an error report from the same process
 * never change places, and nothing is lost at process.exit. No transport, no worker.
 */
import { pino, type Logger } from 'pino'
import { DEFAULT_LOG_FORMAT, DEFAULT_LOG_LEVEL, LOG_EVENT, LOG_MESSAGE_KEY, LOG_TIME_KEY, type LogFormat, type LogLevel } from './constants.js'
import { PrettyLines, type LineSink } from './pretty.js'

export * from './constants.js'
export { resolveLogSettings, type LogSettings, type LogSettingsInput } from './settings.js'
export { prettyLine, PrettyLines, type LineSink } from './pretty.js'

export interface LoggerInit {
  /** the process's role (hub, device, super-hub): on every line */
  role: string
  /** @default DEFAULT_LOG_LEVEL */
  level?: LogLevel
  /** @default DEFAULT_LOG_FORMAT */
  format?: LogFormat
  /** @default process.stderr */
  destination?: LineSink & { isTTY?: boolean, hasColors?: () => boolean }
  /** colour the level of human lines. @default the destination is a terminal that has colours (NO_COLOR unset) */
  colour?: boolean
}

/** The process's root logger; a module gets `logger.child({ component })` as its `Log`. */
export function createLogger (init: LoggerInit): Logger {
  const dest = init.destination ?? process.stderr
  const format = init.format ?? DEFAULT_LOG_FORMAT
  const colour = init.colour ?? (dest.isTTY === true && dest.hasColors?.() === true)
  const stream = format === 'json' ? dest : new PrettyLines(dest, { colour })
  return pino({
    level: init.level ?? DEFAULT_LOG_LEVEL,
    // no pid/hostname: one process per role and host; journald and shippers add the host
    base: { event: LOG_EVENT, role: init.role },
    messageKey: LOG_MESSAGE_KEY,
    timestamp: () => `,"${LOG_TIME_KEY}":"${new Date().toISOString()}"`,
    formatters: { level: label => ({ level: label }) }
  }, { write: (chunk: string) => { stream.write(chunk) } })
}
