import { setMaxListeners } from 'node:events'

/** A service with an explicit lifecycle; stop() must abort everything in flight. */
export interface Startable {
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * The AbortController of a service's lifetime, whose signal every wait in flight
 * listens to: one listener per peer's pending upload turn, drain or handshake, so a
 * store of 16 peers passes Node's default of 10 and each process printed a
 * MaxListenersExceededWarning (a leak would show as growth, which the callers'
 * removeEventListener prevents).
 */
export function lifetimeAbortController (): AbortController {
  const controller = new AbortController()
  setMaxListeners(Infinity, controller.signal)
  return controller
}
