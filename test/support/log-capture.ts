/**
 * A real pino logger (src/log/) whose JSON lines land in an array, for tests that
 * assert on what a module logged: its level, component and fields as well as its text.
 */
import { createLogger, type LogFormat, type LogLevel } from '../../src/log/index.js'
import type { Logger } from 'pino'

export interface LogRecord {
  level: string
  at: string
  event: string
  role: string
  component?: string
  line: string
  [field: string]: unknown
}

export interface LogCapture {
  log: Logger
  /** every line written so far, parsed (format json) */
  records: LogRecord[]
  /** every chunk written so far, as written */
  raw: string[]
}

export function captureLog (options: { role?: string, level?: LogLevel, format?: LogFormat } = {}): LogCapture {
  const records: LogRecord[] = []
  const raw: string[] = []
  const format = options.format ?? 'json'
  const log = createLogger({
    role: options.role ?? 'test',
    format,
    ...(options.level !== undefined ? { level: options.level } : {}),
    destination: {
      write: (chunk: string) => {
        raw.push(chunk)
        if (format === 'json') records.push(JSON.parse(chunk) as LogRecord)
      }
    }
  })
  return { log, records, raw }
}
