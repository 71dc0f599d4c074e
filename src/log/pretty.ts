/**
 * The human format: pino writes its JSON line here and this writes
 * `<ISO time> <text>` on, exactly the lines the daemons printed before pino, with the
 * level named between the two when it is not `info` (`... WARN pre-staging ...
 * failed, retrying`). Lines of `info` keep their old shape on purpose: bench:lan and
 * operators' scripts anchor on `^<time> bundle <id> complete and verified`.
 *
 * Synchronous, in the logging thread: a pino transport would start a worker thread
 * (tens of milliseconds and a second heap) in every daemon for a few lines a second.
 */
import { LOG_MESSAGE_KEY, LOG_TIME_KEY } from './constants.js'

/** Where lines go: process.stderr, process.stdout, or a test's collector. */
export interface LineSink {
  write: (chunk: string) => unknown
}

const LEVEL_COLOURS: Record<string, number> = { trace: 90, debug: 90, warn: 33, error: 31, fatal: 31 }

/** One pino record (parsed JSON line) as its human line, without the newline. */
export function prettyLine (rec: Record<string, unknown>, colour = false): string {
  const at = typeof rec[LOG_TIME_KEY] === 'string' ? rec[LOG_TIME_KEY] : new Date().toISOString()
  const text = typeof rec[LOG_MESSAGE_KEY] === 'string' ? rec[LOG_MESSAGE_KEY] : ''
  const level = typeof rec.level === 'string' ? rec.level : 'info'
  if (level === 'info') return `${at} ${text}`
  const tag = level.toUpperCase()
  const code = LEVEL_COLOURS[level]
  return `${at} ${colour && code !== undefined ? `\u001b[${code}m${tag}\u001b[39m` : tag} ${text}`
}

/** A pino destination that turns each JSON line into its human line on `out`. */
export class PrettyLines implements LineSink {
  readonly #out: LineSink
  readonly #colour: boolean

  constructor (out: LineSink, options: { colour?: boolean } = {}) {
    this.#out = out
    this.#colour = options.colour === true
  }

  write (chunk: string): void {
    let rec: Record<string, unknown>
    try {
      rec = JSON.parse(chunk) as Record<string, unknown>
    } catch {
      // pino only writes JSON; pass anything else through rather than lose it
      this.#out.write(chunk)
      return
    }
    this.#out.write(prettyLine(rec, this.#colour) + '\n')
  }
}
