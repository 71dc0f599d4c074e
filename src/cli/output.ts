/** Output helpers shared by every command: human tables by default, JSON for scripts. */
import { StoremeshError, toStoremeshError } from '../interface/errors.js'

export interface OutputOptions {
  json?: boolean
}

export function printJson (value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n')
}

/** A plain text table; columns sized to their widest cell. */
export function formatTable (headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map(r => r.map(c => String(c)))]
  const widths = headers.map((_, i) => Math.max(...cells.map(r => (r[i] ?? '').length)))
  return cells
    .map(r => r.map((c, i) => (c ?? '').padEnd(widths[i] ?? 0)).join('  ').trimEnd())
    .join('\n')
}

export function printTable (headers: string[], rows: Array<Array<string | number>>): void {
  process.stdout.write(formatTable(headers, rows) + '\n')
}

/** Print an error as one line with its stable code; return the exit code. */
export function reportError (err: unknown, json = false): number {
  const e: StoremeshError = toStoremeshError(err)
  if (json) process.stderr.write(JSON.stringify({ error: e.toJSON() }) + '\n')
  else process.stderr.write(`storemesh: ${e.toLine()}\n`)
  if (process.env.STOREMESH_DEBUG === '1' && e.cause !== undefined) console.error(e.cause)
  return e.exitCode
}

export function humanBytes (n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++ }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`
}
