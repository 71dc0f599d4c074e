/**
 * The logging surface every module takes (`log?: Log` in its init). A pino Logger is
 * one (src/log/ builds them), so the layers below cli/ never import pino: a role is
 * handed `logger.child({ component: 'swarm' })` and adds the ids it knows per line,
 * `log.info({ bundle: id }, 'bundle ... complete and verified')`.
 *
 * Field names shared by every module, so that one query finds a bundle's lines across
 * roles: `role` (set once per process), `component` (swarm, wan, lease, ledger,
 * install, policy, api, net, store, or the role itself), `bundle` (bundle id, b3:...),
 * `wave` (wave id), `peer` (libp2p peer id), `device` (device id).
 */
export type LogFields = Record<string, unknown>

/** pino's call shapes: a message, or fields then a message. */
export interface LogFn {
  (msg: string): void
  (fields: LogFields, msg: string): void
}

export interface Log {
  error: LogFn
  warn: LogFn
  info: LogFn
  debug: LogFn
  /** a logger whose every line carries `bindings` too */
  child: (bindings: LogFields) => Log
}

const drop: LogFn = (): void => {}

/** Writes nothing: the default of every `log?: Log` (tests, benches, library use). */
export const silentLog: Log = { error: drop, warn: drop, info: drop, debug: drop, child: () => silentLog }
