/** A service with an explicit lifecycle; stop() must abort everything in flight. */
export interface Startable {
  start(): Promise<void>
  stop(): Promise<void>
}
