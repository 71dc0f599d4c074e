/**
 * Noise (@chainsafe/libp2p-noise 17) with a length decoder that does not build an
 * error per socket read.
 *
 * Each encrypted connection frames its Noise messages with a 2-byte length through
 * @libp2p/utils' LengthPrefixedDecoder, which reads "not enough bytes for a length
 * yet" as the length decoder throwing a RangeError. Noise's decoder constructs a new
 * RangeError for it, with its stack trace, and that happens at the end of nearly every
 * read: once the decoder has consumed what arrived, it asks for the next length of an
 * empty buffer. perf of bench:lan (N = 4, 64 MiB, 2 MiB/s) put the error construction
 * at 1.3% of the daemons' CPU. One preallocated RangeError says the same thing.
 *
 * Relies on one internal of the encrypted stream (`decoder.lengthDecoder`, a public
 * field in its JS); fails loudly at the first connection if an update moves it.
 */
import { noise } from '@chainsafe/libp2p-noise'
import type { ConnectionEncrypter, SecuredConnection } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { StoremeshError } from '../interface/errors.js'

const LENGTH_BYTES = 2

/** The decoder catches RangeError as "wait for more bytes"; no stack is needed for that. */
const SHORT_LENGTH = new RangeError('Could not decode int16BE')

/** Noise's big-endian uint16 length, throwing one shared RangeError when fewer than two bytes are buffered. */
export function noiseLength (data: Uint8Array | Uint8ArrayList): number {
  if (data.length < LENGTH_BYTES) throw SHORT_LENGTH
  if (data instanceof Uint8Array) return ((data[0] as number) << 8) | (data[1] as number)
  return data.getUint16(0)
}

interface DecoderInternals {
  decoder?: { lengthDecoder?: unknown, encodingLength?: (n: number) => number }
}

function quieten<T extends SecuredConnection<unknown>> (secured: T): T {
  const d = (secured.connection as unknown as DecoderInternals).decoder
  if (d === undefined || typeof d.lengthDecoder !== 'function' || d.encodingLength?.(0) !== LENGTH_BYTES) {
    throw new StoremeshError('E_INTERNAL', '@chainsafe/libp2p-noise internals changed: decoder.lengthDecoder expected (17.0.0)')
  }
  d.lengthDecoder = noiseLength
  return secured
}

type NoiseInit = Parameters<typeof noise>[0]
type EncrypterFactory = ReturnType<typeof noise>

/** `noise(init)` whose secured connections decode lengths with noiseLength. */
export function noiseQuietLength (init?: NoiseInit): EncrypterFactory {
  const factory = noise(init)
  return (components => {
    const enc: ConnectionEncrypter = factory(components)
    const inbound = enc.secureInbound.bind(enc)
    const outbound = enc.secureOutbound.bind(enc)
    enc.secureInbound = async (conn, options) => quieten(await inbound(conn, options))
    enc.secureOutbound = async (conn, options) => quieten(await outbound(conn, options))
    return enc
  }) as EncrypterFactory
}
