/**
 * One peer wire for one bundle: bittorrent-protocol's `Wire` over a byte duplex, with
 * the rules of `/storemesh/chunks/1.0.0` enforced around it.
 *
 * - A piece is a whole chunk: `request(index, 0, chunk.size)`; pieces differ in size.
 * - The handshake carries the bundle's info-hash and a 20-byte peer id derived from the
 *   libp2p peer id; a different info-hash or peer id closes the wire.
 * - Every inbound frame passes the FrameGuard first, then the per-peer budgets
 *   (wire-budget.ts); requests and pieces must match the chunk's size, pieces must
 *   answer a request of ours (or one we withdrew or lost to a choke), and too many
 *   queued requests close the wire. Violations close it with E_WIRE_MALFORMED,
 *   E_WIRE_MESSAGE_TOO_LARGE or E_PEER_OVER_BUDGET: fail closed. The closing error's
 *   `meta.violation` names the violation (violations.ts) for the peer's score.
 * - Outbound writes are coalesced per tick by the WireTransport.
 * - The library's streamx queues are bypassed both ways (see `bypassStreamx`, wire-bypass.ts): the guard
 *   already cut whole frames, and the transport already queues and coalesces.
 */
import { EventEmitter } from 'node:events'
import Wire from 'bittorrent-protocol'
import { StoremeshError } from '../interface/errors.js'
import type { BundleInfo } from '../interface/types.js'
import { Bits } from './bits.js'
import { KEEPALIVE_INTERVAL_MS, type SwarmOptions } from './constants.js'
import { FrameGuard } from './frame-guard.js'
import { MSG } from './messages.js'
import { WireTransport, type ByteDuplex } from './transport.js'
import type { ViolationCode } from './violations.js'
import { WireBudget } from './wire-budget.js'
import { bypassStreamx } from './wire-bypass.js'

export type PeerWireOptions = Pick<SwarmOptions,
'maxChunkBytes' | 'maxExtendedBytes' | 'maxQueuedPeerRequests' | 'handshakeTimeoutMs' | 'requestTimeoutMs' | 'maxWriteBytes'> &
Partial<Pick<SwarmOptions, 'wireBudgets'>>

export interface PeerWireInit {
  duplex: ByteDuplex
  bundle: Pick<BundleInfo, 'id' | 'infoHash' | 'pieces'>
  /** our 20-byte wire peer id (wirePeerId(local libp2p id)) */
  localWireId: Uint8Array
  /** the remote's, when its libp2p id is known; a different one closes the wire */
  remoteWireId?: Uint8Array
  /** true: we send the handshake at once; false: we answer the remote's */
  initiator: boolean
  /** bytes already read from the duplex (a router read the handshake) */
  prefix?: Uint8Array
  options: PeerWireOptions
  /** the budgets' clock @default Date.now */
  now?: () => number
}

/** A request from the remote, answered at most once while it is still live. */
export interface IncomingRequest {
  readonly index: number
  readonly size: number
  /** false once the remote cancelled it, we choked, or the wire closed */
  readonly live: boolean
  /** sends the piece; returns false (and sends nothing) when no longer live */
  respond(data: Uint8Array): boolean
}

export interface PeerWireEvents {
  ready: []
  bitfield: [bits: Bits]
  have: [index: number]
  choke: []
  unchoke: []
  interested: []
  uninterested: []
  request: [request: IncomingRequest]
  cancel: [index: number]
  piece: [index: number, data: Uint8Array]
  /** a request of ours ended without data (choke, timeout); not sent after close */
  'request-failed': [index: number, reason: string]
  /**
   * An answer to a request we withdrew (cancel, choke, timeout). The swarm still uses
   * it when the chunk is missing: the bytes crossed the link already, and dropping
   * them made the re-request elsewhere a duplicate.
   */
  'late-piece': [index: number, data: Uint8Array]
  close: [err?: StoremeshError]
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

const noop = (): void => {}

export class PeerWire extends EventEmitter<PeerWireEvents> {
  readonly #wire = new Wire()
  readonly #transport: WireTransport
  readonly #guard: FrameGuard
  /** the library's parser, fed directly (bypassStreamx) */
  readonly #parse: (frame: Uint8Array) => void
  /** undefined when the options carry no budgets (unit tests of the bare wire) */
  readonly #budget: WireBudget | undefined
  #handshakeFramed = false
  /** inside the constructor: nobody listens for 'close' yet */
  #constructing = true
  readonly #init: PeerWireInit
  readonly #sizes: number[]
  /** our requests in flight: index -> size */
  readonly #outstanding = new Map<number, number>()
  /**
   * Answers that may still arrive for requests we withdrew or that failed: a cancel
   * races the piece, and a request sent just before the remote's choke may reach it
   * after its unchoke and still be served. Counted per chunk, so such a late piece is
   * dropped while a piece nobody asked for still closes the wire.
   */
  readonly #mayArrive = new Map<number, number>()
  #outstandingBytes = 0
  #handshakeTimer: NodeJS.Timeout | undefined
  #keepAliveTimer: NodeJS.Timeout | undefined
  #handshakeSent = false
  #ready = false
  #closed = false
  /** piece payload bytes sent and received on this wire */
  bytesUp = 0
  bytesDown = 0

  constructor (init: PeerWireInit) {
    super()
    this.#init = init
    this.#sizes = init.bundle.pieces.map(p => p.size)
    const o = init.options
    this.#budget = o.wireBudgets === undefined
      ? undefined
      : new WireBudget({ budgets: o.wireBudgets, numPieces: this.#sizes.length, ...(init.now !== undefined ? { now: init.now } : {}) })
    this.#guard = new FrameGuard({ numPieces: this.#sizes.length, maxChunkBytes: o.maxChunkBytes, maxExtendedBytes: o.maxExtendedBytes },
      frame => { this.#onFrame(frame) })
    this.#bindWire()
    const parse = bypassStreamx(this.#wire, data => { if (!this.#closed) this.#transport.write(data) })
    // frames of the prefix are parsed a microtask later: their events ('ready', 'bitfield')
    // must reach the listeners the owner adds after this constructor; later frames queue behind
    let early: Uint8Array[] | undefined = []
    this.#parse = frame => { if (early !== undefined) early.push(frame); else parse(frame) }
    queueMicrotask(() => {
      const frames = early ?? []
      early = undefined
      for (const f of frames) if (!this.#closed) parse(f)
    })
    this.#transport = new WireTransport(init.duplex, o.maxWriteBytes, {
      onData: chunk => { this.#onBytes(chunk) },
      onClose: err => {
        // the remote ended its stream inside a piece: a truncated piece (scored lightly: an honest peer that stops mid-upload does it too)
        if (!this.#closed && this.#ready && this.#guard.pendingFrameId === MSG.PIECE) {
          this.#fail(`stream ended inside a piece (${this.#guard.bufferedBytes} bytes of it)`, {}, 'truncated-piece')
          return
        }
        this.close(err === undefined ? undefined : new StoremeshError('E_NOT_CONNECTED', 'peer stream failed', {}, { cause: err }))
      }
    })
    this.#handshakeTimer = setTimeout(() => {
      this.close(new StoremeshError('E_TIMEOUT', `no handshake within ${o.handshakeTimeoutMs} ms`, { bundle: init.bundle.id }))
    }, o.handshakeTimeoutMs)
    this.#handshakeTimer.unref()
    if (init.initiator) this.#sendHandshake()
    if (init.prefix !== undefined && init.prefix.length > 0) this.#onBytes(init.prefix)
    this.#constructing = false
  }

  get ready (): boolean { return this.#ready }
  get closed (): boolean { return this.#closed }
  /** the remote chokes us */
  get peerChoking (): boolean { return this.#wire.peerChoking }
  get peerInterested (): boolean { return this.#wire.peerInterested }
  get amChoking (): boolean { return this.#wire.amChoking }
  get amInterested (): boolean { return this.#wire.amInterested }
  get outstandingRequests (): number { return this.#outstanding.size }
  get outstandingBytes (): number { return this.#outstandingBytes }
  /** requests of the remote waiting for an answer */
  get queuedPeerRequests (): number { return this.#wire.peerRequests.length }
  /** duplex writes and bytes after coalescing */
  get transportWrites (): number { return this.#transport.writes }

  isRequested (index: number): boolean { return this.#outstanding.has(index) }

  sendBitfield (bits: Bits): void { if (this.#usable()) this.#wire.bitfield(bits.bytes) }
  have (index: number): void { if (this.#usable()) this.#wire.have(index) }
  interested (): void { if (this.#usable()) this.#wire.interested() }
  uninterested (): void { if (this.#usable()) this.#wire.uninterested() }
  choke (): void { if (this.#usable()) this.#wire.choke() }
  unchoke (): void { if (this.#usable()) this.#wire.unchoke() }

  /** Asks for a whole chunk. False when the remote chokes us, it is already asked, or the wire is not up. */
  request (index: number): boolean {
    if (!this.#usable() || this.#wire.peerChoking || this.#outstanding.has(index)) return false
    const size = this.#sizes[index]
    if (size === undefined) throw new RangeError(`no chunk ${index}`)
    this.#outstanding.set(index, size)
    this.#outstandingBytes += size
    this.#wire.request(index, 0, size, (err) => {
      // data arrive through the 'piece' event, which checks them; only failures matter here
      if (err === null || this.#closed || !this.#outstanding.has(index)) return
      this.#forget(index)
      // choke or timeout: the remote may still answer; tell it not to
      this.#giveUp(index, size)
      this.emit('request-failed', index, err.message)
    })
    return true
  }

  /** Withdraws a request (endgame duplicate); a piece that still arrives is dropped. */
  cancel (index: number): void {
    const size = this.#outstanding.get(index)
    if (size === undefined || this.#closed) return
    this.#forget(index)
    this.#giveUp(index, size)
  }

  /** Resolves when the transport can take another piece without queueing. */
  async writable (signal?: AbortSignal): Promise<void> {
    await this.#transport.writable(signal)
  }

  /** Closes the wire and its duplex; `err` is reported in the 'close' event. */
  close (err?: StoremeshError): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#handshakeTimer)
    clearInterval(this.#keepAliveTimer)
    this.#outstanding.clear()
    this.#outstandingBytes = 0
    try { this.#wire.destroy() } catch { /* ending an ended wire */ }
    this.#transport.close(err)
    this.emit('close', err)
  }

  #usable (): boolean {
    return this.#ready && !this.#closed
  }

  #forget (index: number): void {
    const size = this.#outstanding.get(index)
    if (size === undefined) return
    this.#outstanding.delete(index)
    this.#outstandingBytes -= size
  }

  /** The remote may still answer: remember the index and tell it to stop. */
  #giveUp (index: number, size: number): void {
    this.#mayArrive.set(index, (this.#mayArrive.get(index) ?? 0) + 1)
    this.#wire.cancel(index, 0, size)
  }

  #sendHandshake (): void {
    if (this.#handshakeSent) return
    this.#handshakeSent = true
    this.#wire.handshake(this.#init.bundle.infoHash, this.#init.localWireId)
  }

  #onBytes (chunk: Uint8Array): void {
    if (this.#closed) return
    try {
      this.#guard.push(chunk)
    } catch (err) {
      const e = err as StoremeshError
      // every refusal of the guard or a budget names its violation for the peer's score
      const violation = e.meta?.violation ?? (e.code === 'E_WIRE_MESSAGE_TOO_LARGE' ? 'oversized-frame' : 'malformed-frame')
      const closing = new StoremeshError(e.code, e.message, { bundle: this.#init.bundle.id, ...e.meta, violation }, { cause: e.cause })
      // a violation in the prefix is found before the owner could listen: report it a turn later
      if (this.#constructing) queueMicrotask(() => { this.close(closing) })
      else this.close(closing)
    }
  }

  /** A whole frame the guard passed: charge the budgets, then hand it to the library. */
  #onFrame (frame: Uint8Array): void {
    if (this.#closed) return
    // the guard's first frame is the 68-byte handshake, which has no length prefix
    if (!this.#handshakeFramed) {
      this.#handshakeFramed = true
    } else if (this.#budget !== undefined) {
      const over = this.#budget.admit(frame, this.#wire.amChoking)
      if (over !== undefined) {
        // thrown through the guard: it stops at this frame and refuses the rest
        throw new StoremeshError('E_PEER_OVER_BUDGET', `${over.violation}: over ${over.burst} at once or ${over.ratePerSec}/s`,
          { violation: over.violation, bundle: this.#init.bundle.id })
      }
    }
    this.#parse(frame)
  }

  #fail (message: string, meta: Record<string, number | string> = {}, violation: ViolationCode = 'malformed-frame'): void {
    this.close(new StoremeshError('E_WIRE_MALFORMED', message, { bundle: this.#init.bundle.id, ...meta, violation }))
  }

  #bindWire (): void {
    const w = this.#wire
    // a reset at node stop is otherwise an unhandled error (the notes)
    w.on('error', (err: Error) => { this.close(new StoremeshError('E_NOT_CONNECTED', 'peer wire failed', {}, { cause: err })) })
    w.on('close', () => { this.close() })
    // nothing is pushed through it any more (bypassStreamx), but flowing it lets the library's own end reach 'close'
    w.on('data', noop)
    w.on('handshake', (infoHashHex: string, peerIdHex: string) => { this.#onHandshake(infoHashHex, peerIdHex) })
    w.on('bitfield', bf => { if (this.#usable()) this.emit('bitfield', Bits.from(bf.buffer, this.#sizes.length)) })
    w.on('have', index => { if (this.#usable()) this.emit('have', index) })
    w.on('choke', () => { if (this.#usable()) this.emit('choke') })
    w.on('unchoke', () => { if (this.#usable()) this.emit('unchoke') })
    w.on('interested', () => { if (this.#usable()) this.emit('interested') })
    w.on('uninterested', () => { if (this.#usable()) this.emit('uninterested') })
    w.on('request', (index, offset, length, respond) => { this.#onRequest(index, offset, length, respond) })
    w.on('cancel', index => { if (this.#usable()) this.emit('cancel', index) })
    w.on('piece', (index, offset, data) => { this.#onPiece(index, offset, data) })
  }

  #onHandshake (infoHashHex: string, peerIdHex: string): void {
    if (this.#closed) return
    if (this.#ready) { this.#fail('second handshake', {}, 'bad-handshake'); return }
    if (infoHashHex !== hex(this.#init.bundle.infoHash)) {
      this.#fail('handshake for another bundle', { infoHash: infoHashHex }, 'bad-handshake')
      return
    }
    const expected = this.#init.remoteWireId
    if (expected !== undefined && peerIdHex !== hex(expected)) {
      this.#fail('handshake peer id does not match the connection', { wirePeerId: peerIdHex }, 'bad-handshake')
      return
    }
    this.#sendHandshake()
    clearTimeout(this.#handshakeTimer)
    // our own timer rather than the library's: unref'd, so an idle wire never holds the process
    this.#keepAliveTimer = setInterval(() => { if (this.#usable()) this.#wire.keepAlive() }, KEEPALIVE_INTERVAL_MS)
    this.#keepAliveTimer.unref()
    this.#wire.setTimeout(this.#init.options.requestTimeoutMs, true)
    this.#ready = true
    this.emit('ready')
  }

  #onRequest (index: number, offset: number, length: number, respond: (err: Error | null, block?: Uint8Array) => void): void {
    if (!this.#usable()) return
    const size = this.#sizes[index]
    if (offset !== 0 || length !== size) {
      this.#fail(`request for ${length} bytes at ${offset} of chunk ${index}, which is ${String(size)} bytes`, { index }, 'bad-request')
      return
    }
    const queued = this.#wire.peerRequests
    if (queued.length > this.#init.options.maxQueuedPeerRequests) {
      this.#fail(`more than ${this.#init.options.maxQueuedPeerRequests} queued requests`, {}, 'request-flood')
      return
    }
    if (queued.filter(r => r.piece === index).length > 1) {
      this.#fail(`chunk ${index} requested twice`, { index }, 'bad-request')
      return
    }
    // the library pushed this request's entry just before emitting: track that very entry
    const entry = queued[queued.length - 1]
    const self = this
    const request: IncomingRequest = {
      index,
      size,
      get live () { return !self.#closed && entry !== undefined && queued.includes(entry) },
      respond (data: Uint8Array): boolean {
        if (!this.live) return false
        if (data.length !== size) throw new StoremeshError('E_SIZE_MISMATCH', `chunk ${index} is ${data.length} bytes, not ${size}`)
        respond(null, data)
        self.bytesUp += data.length
        return true
      }
    }
    this.emit('request', request)
  }

  #onPiece (index: number, offset: number, data: Uint8Array): void {
    if (!this.#usable()) return
    const size = this.#outstanding.get(index)
    if (size === undefined) {
      const late = this.#mayArrive.get(index) ?? 0
      if (late > 0) {
        if (late === 1) this.#mayArrive.delete(index)
        else this.#mayArrive.set(index, late - 1)
        if (offset !== 0 || data.length !== this.#sizes[index]) {
          this.#fail(`late chunk ${index} arrived as ${data.length} bytes at ${offset}, expected ${String(this.#sizes[index])}`, { index }, 'wrong-length-piece')
          return
        }
        this.bytesDown += data.length
        this.emit('late-piece', index, data)
        return
      }
      this.#fail(`unrequested chunk ${index}`, { index }, 'unsolicited-piece')
      return
    }
    if (offset !== 0 || data.length !== size) {
      this.#fail(`chunk ${index} arrived as ${data.length} bytes at ${offset}, expected ${size}`, { index }, 'wrong-length-piece')
      return
    }
    this.#forget(index)
    this.bytesDown += data.length
    this.emit('piece', index, data)
  }
}
