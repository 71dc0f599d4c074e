/**
 * The fleet pre-shared key as a libp2p connection protector: @libp2p/pnet, with its
 * large-write bug fenced off.
 *
 * pnet 3.0.27 encrypts with the `xsalsa20` WASM module, whose memory starts at 640 KiB.
 * One write larger than that grows the memory and leaves every other cipher instance
 * holding a view of the old, detached buffer; each of them then grows it again on its
 * next write, until `WebAssembly.Memory.grow()` throws (the notes). pnet's protected
 * connection hands its whole write queue to the cipher in one piece, and the queue
 * grows while TCP is draining. Capping `maxMessageSize` on that connection makes the
 * queue go out in PNET_MAX_WRITE_BYTES pieces, so no single cipher call comes near
 * the limit. Inbound data arrives in socket-sized pieces (64 KiB) and is safe.
 */
import { preSharedKey } from '@libp2p/pnet'
import type { ConnectionProtector, MessageStream } from '@libp2p/interface'
import { DEFAULT_PNET_TIMEOUT_MS, PNET_MAX_WRITE_BYTES } from './constants.js'
import type { SwarmKey } from './swarm-key.js'

export interface ProtectorInit {
  /** @default DEFAULT_PNET_TIMEOUT_MS */
  timeoutMs?: number
  /** @default PNET_MAX_WRITE_BYTES; tests set Infinity to show the bug */
  maxWriteBytes?: number
}

export function swarmKeyProtector (key: SwarmKey, init: ProtectorInit = {}): () => ConnectionProtector {
  const factory = preSharedKey({ psk: key.file, timeout: init.timeoutMs ?? DEFAULT_PNET_TIMEOUT_MS })
  const maxWriteBytes = init.maxWriteBytes ?? PNET_MAX_WRITE_BYTES
  return () => {
    const inner = factory()
    return {
      async protect (connection: MessageStream, options) {
        const protectedConn = await inner.protect(connection, options)
        // AbstractMessageStream sends its queue in maxMessageSize pieces (public field)
        const s = protectedConn as MessageStream & { maxMessageSize?: number }
        if (Number.isFinite(maxWriteBytes)) s.maxMessageSize = maxWriteBytes
        return protectedConn
      }
    }
  }
}
