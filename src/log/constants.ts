/**
 * Logging defaults in one place: levels, formats, the environment variables the CLI
 * reads, and the JSON line's keys (README "Logs").
 */

/** pino's levels, quietest last; `silent` logs nothing. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const
export type LogLevel = typeof LOG_LEVELS[number]

/** `pretty`: one human line per event; `json`: one JSON object per line. */
export const LOG_FORMATS = ['pretty', 'json'] as const
export type LogFormat = typeof LOG_FORMATS[number]

/** @default 'info' */
export const DEFAULT_LOG_LEVEL: LogLevel = 'info'
/**
 * Human lines everywhere unless JSON is asked for, on a terminal or not: the demo,
 * bench:lan, the tests and operators' greps read `<ISO time> <text>` lines from the
 * daemons' pipes and files, and a journald unit is no terminal either.
 * @default 'pretty'
 */
export const DEFAULT_LOG_FORMAT: LogFormat = 'pretty'

export const LOG_LEVEL_ENV = 'STOREMESH_LOG_LEVEL'
export const LOG_FORMAT_ENV = 'STOREMESH_LOG_FORMAT'

/**
 * The JSON line's time and message keys (pino's would be `time` and `msg`): the
 * `{"at", "event": "log", "line"}` objects that `--json` printed before pino keep
 * their meaning, so the demo and existing log shippers read the new lines unchanged.
 */
export const LOG_TIME_KEY = 'at'
export const LOG_MESSAGE_KEY = 'line'
/** every JSON log line says `"event":"log"`, apart from the `ready`/`api` events on stdout */
export const LOG_EVENT = 'log'
