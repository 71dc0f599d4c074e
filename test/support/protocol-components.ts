/**
 * The few libp2p components a protocol class takes (registrar, connection manager,
 * logger), stubbed for tests that drive its handler and client over an in-memory
 * stream pair: the registrar accepts and forgets, dialling is never expected, and the
 * logger is silent.
 */
import type { ComponentLogger } from '@libp2p/interface'

type ComponentLog = ReturnType<ComponentLogger['forComponent']>

export const quietComponentLog: ComponentLog = Object.assign(() => {}, {
  error: () => {},
  trace: () => {},
  enabled: false
}) as unknown as ComponentLog
;(quietComponentLog as unknown as { newScope: () => unknown }).newScope = () => quietComponentLog

/** Components for a protocol under test; `T` is the protocol's own components type. */
export function stubProtocolComponents<T> (): T {
  return {
    registrar: { handle: async () => {}, unhandle: async () => {} },
    connectionManager: { openStream: async () => { throw new Error('this test opens no outbound stream') } },
    logger: { forComponent: () => quietComponentLog }
  } as unknown as T
}
