/**
 * Types for bittorrent-protocol 5 (ESM, `Wire` is a streamx Duplex). The published
 * @types package describes the old Node-stream API, so we declare what we use here.
 * Only the parts storemesh calls are typed; see node_modules/bittorrent-protocol/index.js.
 */
declare module 'bittorrent-protocol' {
  import { Duplex, type DuplexEvents } from 'streamx'

  export interface WireBitField {
    get(index: number): boolean
    set(index: number, value?: boolean): void
    buffer: Uint8Array
  }

  export interface WireExtensions {
    dht: boolean
    fast: boolean
    extended: boolean
  }

  export type RequestCallback = (err: Error | null, block?: Uint8Array | null) => void
  export type RespondCallback = (err: Error | null, block?: Uint8Array) => void

  export interface WireRequest {
    piece: number
    offset: number
    length: number
    callback: RequestCallback
  }

  export interface WireEvents extends DuplexEvents {
    handshake: [infoHash: string, peerId: string, extensions: WireExtensions]
    'keep-alive': []
    choke: []
    unchoke: []
    interested: []
    uninterested: []
    have: [index: number]
    bitfield: [bitfield: WireBitField]
    request: [index: number, offset: number, length: number, respond: RespondCallback]
    piece: [index: number, offset: number, buffer: Uint8Array]
    cancel: [index: number, offset: number, length: number]
    timeout: []
    upload: [bytes: number]
    download: [bytes: number]
    extended: [ext: string | number, payload: unknown]
    unknownmessage: [buffer: Uint8Array]
  }

  export default class Wire extends Duplex<WireEvents> {
    constructor (type?: string, peEnabled?: number)
    peerId: string | null
    peerIdBuffer: Uint8Array | null
    amChoking: boolean
    amInterested: boolean
    peerChoking: boolean
    peerInterested: boolean
    peerPieces: WireBitField
    requests: WireRequest[]
    peerRequests: WireRequest[]
    uploaded: number
    downloaded: number
    setKeepAlive (enable: boolean): void
    setTimeout (ms: number, unref?: boolean): void
    /** Not a real destroy: it ends the wire (see index.js). */
    destroy (): this
    end (data?: unknown): this
    handshake (infoHash: Uint8Array | string, peerId: Uint8Array | string, extensions?: Partial<WireExtensions>): void
    keepAlive (): void
    choke (): void
    unchoke (): void
    interested (): void
    uninterested (): void
    have (index: number): void
    bitfield (bitfield: Uint8Array | WireBitField): void
    request (index: number, offset: number, length: number, cb?: RequestCallback): void
    piece (index: number, offset: number, buffer: Uint8Array): void
    cancel (index: number, offset: number, length: number): void
  }
}
