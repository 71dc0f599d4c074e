/**
 * The action wrapper every command uses: it runs the action, turns any thrown error
 * into one line with a stable code and records the exit code for main().
 */
import { reportError } from './output.js'

export interface CommandContext {
  exitCode: number
}

export function action<A extends unknown[]> (
  ctx: CommandContext,
  fn: (...args: A) => Promise<number | void>
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const opts = args.find((a): a is { json?: boolean } =>
      a !== null && typeof a === 'object' && !Array.isArray(a) && 'json' in (a as object))
    try {
      const code = await fn(...args)
      ctx.exitCode = typeof code === 'number' ? code : 0
    } catch (err) {
      ctx.exitCode = reportError(err, opts?.json === true)
    }
  }
}
