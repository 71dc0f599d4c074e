/**
 * The shared mechanics of the small one-request-one-response control protocols
 * (manifest, lease, report): per stream, one bounded length-prefixed request, one
 * bounded answer, then half-close. Each protocol keeps its own messages, limits, error
 * codes and wording; this module only opens, frames (length-prefixed.ts: it-pipe and
 * it-length-prefixed), bounds both directions, times out and cleans up.
 *
 * ```ts
 * // server: in start()
 * await handleOneShotProtocol(registrar, protocol, maxStreams, (s, peer) => this.handleStream(s, peer))
 * // server: one stream
 * await serveOneRequest(stream, { maxRequestBytes, maxResponseBytes, timeoutMs, log, what: 'lease request', peer }, async (bytes) => answerBytes)
 * // client
 * const stream = await openProtocolStream(connectionManager, peer, protocol, signal)
 * const res = await requestOverStream(stream, requestBytes, { maxRequestBytes, maxResponseBytes, timeoutMs, signal, decode, doing, label })
 * ```
 */
import type { AbortOptions, ComponentLogger, Logger, PeerId, Stream, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { StoremeshError, isStoremeshError } from '../interface/errors.js'
import { readBounded, writeMessage } from './length-prefixed.js'

export type ProtocolTarget = PeerId | Multiaddr | Multiaddr[]

export interface ProtocolRegistrar {
  handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>
  unhandle(protocol: string): Promise<void>
}

export interface ProtocolConnectionManager {
  openStream(peer: ProtocolTarget, protocol: string, options?: AbortOptions): Promise<Stream>
}

/** What a request/response protocol service takes from libp2p (tests can fake it). */
export interface RequestResponseComponents {
  registrar: ProtocolRegistrar
  connectionManager: ProtocolConnectionManager
  logger: ComponentLogger
}

/** E_TIMEOUT when the signal fired by its clock, E_ABORTED when a caller aborted. */
export function abortedError (signal: AbortSignal, what: string, cause: unknown): StoremeshError {
  const timedOut = (signal.reason as Error | undefined)?.name === 'TimeoutError'
  return new StoremeshError(timedOut ? 'E_TIMEOUT' : 'E_ABORTED', `${timedOut ? 'timed out' : 'aborted'} ${what}`, {}, { cause })
}

/** A signal that fires after `timeoutMs` or when `signal` does. */
export function withTimeout (timeoutMs: number, signal?: AbortSignal): AbortSignal {
  const t = AbortSignal.timeout(timeoutMs)
  return signal === undefined ? t : AbortSignal.any([signal, t])
}

/** Registers `handleStream` for `protocol`, at most `maxStreams` per connection and direction. */
export async function handleOneShotProtocol (
  registrar: ProtocolRegistrar, protocol: string, maxStreams: number,
  handleStream: (stream: Stream, peer: string) => Promise<void>
): Promise<void> {
  await registrar.handle(protocol, (stream, connection) => {
    void handleStream(stream, connection.remotePeer.toString())
  }, { maxInboundStreams: maxStreams, maxOutboundStreams: maxStreams })
}

/** Opens a stream for `protocol`: E_TIMEOUT / E_ABORTED when `signal` fired, else E_NOT_CONNECTED. */
export async function openProtocolStream (
  connectionManager: ProtocolConnectionManager, peer: ProtocolTarget, protocol: string, signal: AbortSignal
): Promise<Stream> {
  try {
    return await connectionManager.openStream(peer, protocol, { signal })
  } catch (err) {
    if (signal.aborted) throw abortedError(signal, `opening ${protocol}`, err)
    throw new StoremeshError('E_NOT_CONNECTED', `cannot open ${protocol}: ${(err as Error).message}`, {}, { cause: err })
  }
}

export interface RequestOverStreamOptions<T> {
  /** the largest request the spec lets us send, in bytes */
  maxRequestBytes: number
  /** the largest answer accepted, in bytes */
  maxResponseBytes: number
  /** the whole exchange; combined with `signal` */
  timeoutMs: number
  signal?: AbortSignal
  /** turns the answer bytes into the result; its throw fails the exchange (the stream is reset) */
  decode: (response: Uint8Array) => T
  /** for E_TIMEOUT / E_ABORTED: "timed out <doing>" (a thunk: only built on failure) */
  doing: () => string
  /** for other untyped failures: "<label> exchange failed: ..." (E_WIRE_MALFORMED) */
  label: string
  /** also reset a stream that is half-closed ('closing') on failure; @default false */
  abortWhileClosing?: boolean
}

/**
 * The client side over an open stream: write the request, half-close, read one bounded
 * answer and decode it. On any failure the stream is reset (fail closed); typed errors
 * pass through, a fired signal is E_TIMEOUT / E_ABORTED, anything else E_WIRE_MALFORMED.
 */
export async function requestOverStream<T> (
  stream: Stream, request: Uint8Array | (() => Uint8Array), options: RequestOverStreamOptions<T>
): Promise<T> {
  const signal = withTimeout(options.timeoutMs, options.signal)
  try {
    // a thunk lets the encoder's own throw reset the stream like any other failure
    await writeMessage(stream, typeof request === 'function' ? request() : request, { maxBytes: options.maxRequestBytes, signal })
    await stream.close({ signal })
    return options.decode(await readBounded(stream, { maxBytes: options.maxResponseBytes, signal }))
  } catch (err) {
    if (stream.status === 'open' || (options.abortWhileClosing === true && stream.status === 'closing')) stream.abort(err as Error)
    if (isStoremeshError(err)) throw err
    if (signal.aborted) throw abortedError(signal, options.doing(), err)
    throw new StoremeshError('E_WIRE_MALFORMED', `${options.label} exchange failed: ${(err as Error).message}`, {}, { cause: err })
  }
}

export interface ServeOneRequestOptions {
  /** the largest request accepted, in bytes */
  maxRequestBytes: number
  /** the largest answer the spec lets us send, in bytes */
  maxResponseBytes: number
  /** the whole exchange */
  timeoutMs: number
  log: Logger
  /** for the failure log line: "<what> from <peer> failed: ..." */
  what: string
  /** the asking peer, as a string */
  peer?: string
  /** throws when the server cannot answer at all (checked before reading) */
  assertReady?: () => void
}

/** Turns one request into the answer bytes; a throw resets the stream without an answer. */
export type RequestHandler = (request: Uint8Array, signal: AbortSignal) => Promise<Uint8Array>

/**
 * The server side of one stream: read one bounded request, answer, half-close. Never
 * throws: a failure is logged and the stream is reset.
 */
export async function serveOneRequest (stream: Stream, options: ServeOneRequestOptions, handler: RequestHandler): Promise<void> {
  const signal = AbortSignal.timeout(options.timeoutMs)
  try {
    options.assertReady?.()
    const request = await readBounded(stream, { maxBytes: options.maxRequestBytes, signal })
    const answer = await handler(request, signal)
    await writeMessage(stream, answer, { maxBytes: options.maxResponseBytes, signal })
    await stream.close({ signal })
  } catch (err) {
    // readBounded/writeMessage already reset the stream on wire errors
    options.log('%s from %s failed: %s', options.what, options.peer ?? 'peer', isStoremeshError(err) ? err.toLine() : String(err))
    if (stream.status === 'open') stream.abort(err as Error)
  }
}
