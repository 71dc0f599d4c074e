/**
 * Refusing a banned peer before Noise (issue #20). A peer id is known only after the
 * Noise handshake, so a banned peer that redials costs us one handshake per dial (an
 * X25519 key pair and its DH: about 1 CPU-s over a 30 s download at 10 redials/s in
 * bench:hostile, more than the download itself). libp2p's `denyInboundConnection(maConn)`
 * runs before the connection protector and Noise and sees only the remote address, so a
 * short-lived ban of the banned peer's IP address refuses its redials for nothing.
 *
 * What an address ban keys on, and why:
 * - **The IP only, never the port.** A redial comes from a new ephemeral source port.
 * - **Only store-LAN addresses** (RFC 1918, RFC 4193, link-local, and loopback other
 *   than the host's own 127.0.0.1 / ::1). On a store LAN every device has an address of
 *   its own. A public address may be a NAT in front of many honest nodes (a carrier
 *   NAT in front of several stores' hubs reaching a super hub): banning it would
 *   refuse them all, so WAN peers are refused after Noise, by peer id, as before.
 * - **Never 127.0.0.1 or ::1**: every process on the host, the store hub beside a
 *   device in a lab, and every node of the loopback tests dial from it. Tests that
 *   want an attacker refused by address give it another loopback address
 *   (127.0.0.2...; Linux routes all of 127/8 to lo), as a separate host would have.
 * - **Short-lived and bounded** (DEFAULT_ADDRESS_BAN_MS, DEFAULT_MAX_ADDRESS_BANS): a
 *   DHCP lease may pass the address to an honest device; after the address ban the
 *   peer-id ban still holds (at the encrypted stage), and the address is banned again
 *   at its next refused redial, so an attacker still pays nothing for long.
 *
 * A store whose devices share one address (a NAT between store segments) should turn
 * address bans off (`ttlMs: 0`); the ban by peer id does not depend on them.
 */
import type { ConnectionGater, MultiaddrConnection, PeerId } from '@libp2p/interface'

/** How long a banned peer's address is refused before Noise. @default 10 min */
export const DEFAULT_ADDRESS_BAN_MS = 10 * 60_000
/** Addresses banned at once: far more than a store's devices; the oldest go first. @default 1024 */
export const DEFAULT_MAX_ADDRESS_BANS = 1024
/**
 * A connection refused by address is held this long before it is closed. An attacker
 * that redials the moment it is refused (bench:hostile's, 100 ms later) made the device
 * accept ~7 connections a second, each a socket, a libp2p upgrade attempt and its
 * error path; held, it waits on us. Under libp2p's inbound upgrade timeout (10 s), so
 * the hold ends the connection, not the timeout. @default 2 s
 */
export const DEFAULT_REFUSAL_HOLD_MS = 2_000
/** Refused connections held at once; past it they are closed at once, so pending slots stay free for honest peers. @default 16 */
export const DEFAULT_MAX_HELD_REFUSALS = 16

/** The stages a banned peer's connection can be refused at (the `stage` label). */
export const REFUSAL_STAGES = ['address', 'encrypted', 'dial'] as const
export type RefusalStage = typeof REFUSAL_STAGES[number]

export interface AddressBansInit {
  /** 0 turns address bans off @default DEFAULT_ADDRESS_BAN_MS */
  ttlMs?: number
  /** @default DEFAULT_MAX_ADDRESS_BANS */
  maxEntries?: number
  /** 0 closes refused connections at once @default DEFAULT_REFUSAL_HOLD_MS */
  refusalHoldMs?: number
  /** @default DEFAULT_MAX_HELD_REFUSALS */
  maxHeldRefusals?: number
  now?: () => number
}

function ipv4Bannable (ip: string): boolean {
  const p = ip.split('.').map(Number)
  if (p.length !== 4 || p.some(n => !Number.isInteger(n) || n < 0 || n > 255)) return false
  const [a = 0, b = 0] = p
  if (a === 127) return ip !== '127.0.0.1'
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254)
}

function ipv6Bannable (ip: string): boolean {
  const s = ip.toLowerCase()
  if (s === '::1') return false
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(s)
  if (mapped?.[1] !== undefined) return ipv4Bannable(mapped[1])
  const first = parseInt(s.split(':')[0] ?? '', 16)
  if (Number.isNaN(first)) return false
  // fc00::/7 unique local, fe80::/10 link local
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80
}

/**
 * The address-ban key of a remote multiaddr (`/ip4/192.168.1.7/tcp/53211...`): its IP
 * when it is a store-LAN address of its own (see the header), else undefined.
 */
export function addressBanKeyOf (remoteAddr: string): string | undefined {
  const [, proto, host = ''] = remoteAddr.split('/')
  if (proto === 'ip4') return ipv4Bannable(host) ? host : undefined
  if (proto === 'ip6') return ipv6Bannable(host) ? host.toLowerCase() : undefined
  return undefined
}

export class AddressBans {
  readonly ttlMs: number
  readonly maxEntries: number
  readonly refusalHoldMs: number
  readonly maxHeldRefusals: number
  /** refused connections held now (see DEFAULT_REFUSAL_HOLD_MS) */
  heldRefusals = 0
  readonly #now: () => number
  /** key -> until (ms); insertion order is age order (note() re-inserts) */
  readonly #until = new Map<string, number>()
  readonly #refusals: Record<RefusalStage, number> = { address: 0, encrypted: 0, dial: 0 }

  constructor (init: AddressBansInit = {}) {
    this.ttlMs = init.ttlMs ?? DEFAULT_ADDRESS_BAN_MS
    this.maxEntries = init.maxEntries ?? DEFAULT_MAX_ADDRESS_BANS
    this.refusalHoldMs = init.refusalHoldMs ?? DEFAULT_REFUSAL_HOLD_MS
    this.maxHeldRefusals = init.maxHeldRefusals ?? DEFAULT_MAX_HELD_REFUSALS
    this.#now = init.now ?? Date.now
  }

  /** Addresses banned now. */
  get size (): number {
    this.#expire()
    return this.#until.size
  }

  /** Refusals of banned peers so far, by stage (`storemesh_ban_refusals_total{stage}`). */
  refusals (): Record<RefusalStage, number> {
    return { ...this.#refusals }
  }

  countRefusal (stage: RefusalStage): void {
    this.#refusals[stage]++
  }

  /** A banned peer was seen at `remoteAddr`: refuse that address before Noise for ttlMs. Returns whether it was keyable. */
  note (remoteAddr: string): boolean {
    if (this.ttlMs <= 0) return false
    const key = addressBanKeyOf(remoteAddr)
    if (key === undefined) return false
    this.#until.delete(key)
    this.#until.set(key, this.#now() + this.ttlMs)
    while (this.#until.size > this.maxEntries) this.#until.delete(this.#until.keys().next().value as string)
    return true
  }

  /** Whether a connection from `remoteAddr` is refused before Noise. */
  denies (remoteAddr: string): boolean {
    const key = addressBanKeyOf(remoteAddr)
    if (key === undefined) return false
    const until = this.#until.get(key)
    if (until === undefined) return false
    if (until > this.#now()) return true
    this.#until.delete(key)
    return false
  }

  #expire (): void {
    const now = this.#now()
    for (const [k, until] of this.#until) if (until <= now) this.#until.delete(k)
  }
}

/**
 * The gater hooks that refuse banned peers and count each refusal by stage: an inbound
 * connection from a banned address before Noise (`address`; held refusalHoldMs first,
 * up to maxHeldRefusals at once), a banned peer id after
 * Noise in either direction (`encrypted`; an inbound one bans its address for the next
 * redial, or is held like an `address` refusal when its address cannot be banned), and
 * our own dial to a banned peer (`dial`). Replaces banGater(bans) in a
 * role's gater (mergePeerGaters).
 */
export function addressBanGater (addressBans: AddressBans, isBanned: (peerId: string) => boolean): Required<Pick<ConnectionGater,
'denyInboundConnection' | 'denyDialPeer' | 'denyInboundEncryptedConnection' | 'denyOutboundEncryptedConnection'>> {
  /** Refuses after refusalHoldMs (see DEFAULT_REFUSAL_HOLD_MS), or at once past maxHeldRefusals. */
  const held = (): boolean | Promise<boolean> => {
    if (addressBans.refusalHoldMs <= 0 || addressBans.heldRefusals >= addressBans.maxHeldRefusals) return true
    addressBans.heldRefusals++
    return new Promise<boolean>(resolve => {
      setTimeout(() => {
        addressBans.heldRefusals--
        resolve(true)
      }, addressBans.refusalHoldMs)
    })
  }
  const encrypted = (peer: PeerId, maConn?: MultiaddrConnection): boolean => {
    if (!isBanned(peer.toString())) return false
    addressBans.countRefusal('encrypted')
    if (maConn !== undefined) addressBans.note(maConn.remoteAddr.toString())
    return true
  }
  return {
    denyInboundConnection: (maConn: MultiaddrConnection): boolean | Promise<boolean> => {
      if (!addressBans.denies(maConn.remoteAddr.toString())) return false
      addressBans.countRefusal('address')
      return held()
    },
    denyDialPeer: (peer: PeerId): boolean => {
      if (!isBanned(peer.toString())) return false
      addressBans.countRefusal('dial')
      return true
    },
    // an address that cannot be banned (127.0.0.1, a public one that may be a NAT) is
    // shared with honest peers: its banned peer's redial is held like one refused by
    // address, so it pays a redial per hold, not per ~100 ms (its Noise still costs us)
    denyInboundEncryptedConnection: (peer: PeerId, maConn: MultiaddrConnection): boolean | Promise<boolean> => {
      if (!encrypted(peer, maConn)) return false
      return addressBanKeyOf(maConn.remoteAddr.toString()) === undefined ? held() : true
    },
    // an outbound connection's remote address is the peer's listening one: the same IP
    denyOutboundEncryptedConnection: encrypted
  }
}

/**
 * Notes the address of every open connection of a peer the moment it is banned, so
 * that even its first redial is refused before Noise (the role wires it to its BanList).
 */
export function noteAddressesOnBan (
  bans: { on: (event: 'ban', fn: (e: { peerId: string }) => void) => unknown },
  addressBans: AddressBans,
  connections: () => Iterable<{ remotePeer: { toString: () => string }, remoteAddr: { toString: () => string } }>
): void {
  bans.on('ban', e => {
    for (const c of connections()) if (c.remotePeer.toString() === e.peerId) addressBans.note(c.remoteAddr.toString())
  })
}
