/**
 * The one place the CLI handles SIGINT and SIGTERM. The first signal aborts the
 * command's AbortSignal (reason: E_ABORTED naming the signal) so it winds down in
 * order: an install leaves a state it resumes from, a build stops between chunks, a
 * daemon stops its node and writes its last status. A second signal while that
 * runs exits at once with 128 + the signal's number, for an operator whose stop hangs.
 * The listeners go when the command's work settles, so main() can run again in one
 * process (the unit tests do) and Node's default handling is back.
 */
import { constants } from 'node:os'
import { StoremeshError } from '../interface/errors.js'

export const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM'] as const
export type ShutdownSignal = typeof SHUTDOWN_SIGNALS[number]

/** The shell's exit code for death by `sig`: 130 for SIGINT, 143 for SIGTERM. */
export function signalExitCode (sig: ShutdownSignal): number {
  return 128 + constants.signals[sig]
}

/** Runs `fn` with a signal that the first SIGINT or SIGTERM aborts; a second one exits the process. */
export async function withShutdownSignal<T> (fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController()
  const onSignal = (sig: ShutdownSignal): void => {
    if (controller.signal.aborted) {
      process.exit(signalExitCode(sig))
    }
    controller.abort(new StoremeshError('E_ABORTED', `interrupted by ${sig}`))
  }
  const listeners = SHUTDOWN_SIGNALS.map(sig => [sig, () => { onSignal(sig) }] as const)
  for (const [sig, l] of listeners) process.on(sig, l)
  try {
    return await fn(controller.signal)
  } finally {
    for (const [sig, l] of listeners) process.off(sig, l)
  }
}

/**
 * A daemon's main: waits for the first SIGINT or SIGTERM, then runs `stop`; a second
 * signal during the stop exits at once.
 */
export async function runUntilSignal (stop: () => Promise<void>): Promise<void> {
  await withShutdownSignal(async shutdown => {
    if (!shutdown.aborted) await new Promise(resolve => { shutdown.addEventListener('abort', resolve, { once: true }) })
    await stop()
  })
}
