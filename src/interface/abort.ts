/**
 * Cancellation, written once: the typed error an aborted signal becomes, and an
 * abortable sleep on the real clock (the WAN's fake-clock sleep is wan/clock.ts's,
 * built on the same error).
 *
 * A signal that fired from AbortSignal.timeout() (reason named `TimeoutError`) is
 * E_TIMEOUT, any other is E_ABORTED, as net/length-prefixed.ts reads them; the reason stays
 * the error's cause, so a stop that aborts with its own StoremeshError is still seen.
 */
import { StoremeshError } from './errors.js'

/** `what` names the operation that was cut short (`waiting for an install lease`). */
export function abortError (signal?: AbortSignal, what?: string): StoremeshError {
  const timedOut = (signal?.reason as Error | undefined)?.name === 'TimeoutError'
  const message = (timedOut ? 'timed out' : 'aborted') + (what !== undefined ? ` ${what}` : '')
  return new StoremeshError(timedOut ? 'E_TIMEOUT' : 'E_ABORTED', message, {}, { cause: signal?.reason })
}

/** Throws abortError() when `signal` has fired. */
export function throwIfAborted (signal?: AbortSignal, what?: string): void {
  if (signal?.aborted === true) throw abortError(signal, what)
}

/** Waits `ms` (a real timer); rejects with abortError() as soon as `signal` fires. */
export async function sleep (ms: number, options: { signal?: AbortSignal } = {}): Promise<void> {
  const { signal } = options
  throwIfAborted(signal)
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(abortError(signal))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
