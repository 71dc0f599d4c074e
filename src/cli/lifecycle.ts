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
 * Errors a peer on the network can cause inside libp2p's own promises (a handshake that
 * times out or is cut, a reset muxer): libp2p 3 lets some of them reject with no
 * handler (EncryptionFailedError when a Noise handshake times out under load was seen
 * killing a super hub). Node's default would end the daemon, so any stranger who can
 * stall a handshake could stop a hub; these are logged and the daemon keeps serving.
 */
const PEER_CAUSED_ERRORS = new Set([
  'EncryptionFailedError', 'UnexpectedPeerError', 'InvalidCryptoExchangeError', 'ConnectionFailedError',
  'MuxerClosedError', 'StreamResetError', 'StreamStateError', 'StreamAbortedError', 'ConnectionClosedError',
  'TimeoutError', 'AbortError', 'UnexpectedEOFError', 'InvalidMessageError', 'UnsupportedProtocolError'
])
const PEER_CAUSED_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED'])

/** An unhandled rejection a peer could have caused (see PEER_CAUSED_ERRORS), not a bug of ours. */
export function isPeerCausedError (err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false
  const e = err as { name?: unknown, code?: unknown }
  return (typeof e.name === 'string' && PEER_CAUSED_ERRORS.has(e.name)) || (typeof e.code === 'string' && PEER_CAUSED_CODES.has(e.code))
}

/**
 * A daemon's main: waits for the first SIGINT or SIGTERM, then runs `stop`; a second
 * signal during the stop exits at once. While it runs, an unhandled rejection a peer
 * caused is logged and survived; any other stops the daemon in order with exit code 70
 * (EX_SOFTWARE), so its service manager restarts it with its state on disk intact.
 */
export async function runUntilSignal (stop: () => Promise<void>): Promise<void> {
  let failed: unknown
  const stray = new AbortController()
  const onRejection = (reason: unknown): void => {
    const e = reason as { name?: unknown, message?: unknown }
    const line = `${String(e?.name ?? 'Error')}: ${String(e?.message ?? reason)}`.slice(0, 500)
    if (isPeerCausedError(reason)) {
      process.stderr.write(`${new Date().toISOString()} WARN unhandled network error survived: ${line}\n`)
      return
    }
    process.stderr.write(`${new Date().toISOString()} ERROR unhandled rejection, stopping: ${line}\n`)
    failed ??= reason
    stray.abort()
  }
  process.on('unhandledRejection', onRejection)
  try {
    await withShutdownSignal(async shutdown => {
      const either = AbortSignal.any([shutdown, stray.signal])
      if (!either.aborted) await new Promise(resolve => { either.addEventListener('abort', resolve, { once: true }) })
      await stop()
    })
  } finally {
    process.off('unhandledRejection', onRejection)
  }
  if (failed !== undefined) process.exitCode = 70
}
