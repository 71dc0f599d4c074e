/**
 * Which link a connection uses, for byte accounting and for the choker's "LAN peers
 * first": loopback, private (RFC 1918 / RFC 4193) and link-local addresses are the
 * store LAN, everything else is WAN. A role that knows better passes its own `linkOf`.
 */
import type { Link } from '../interface/types.js'

function ipv4Lan (ip: string): boolean {
  const p = ip.split('.').map(Number)
  if (p.length !== 4 || p.some(n => !Number.isInteger(n) || n < 0 || n > 255)) return false
  const [a = 0, b = 0] = p
  return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254)
}

function ipv6Lan (ip: string): boolean {
  const s = ip.toLowerCase()
  if (s === '::1') return true
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(s)
  if (mapped?.[1] !== undefined) return ipv4Lan(mapped[1])
  const first = parseInt(s.split(':')[0] ?? '', 16)
  if (Number.isNaN(first)) return false
  // fc00::/7 unique local, fe80::/10 link local
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80
}

/** Classifies a multiaddr string such as `/ip4/192.168.1.7/tcp/4301/p2p/12D3...`. */
export function linkOfMultiaddr (ma: string): Link {
  const parts = ma.split('/')
  const proto = parts[1]
  const host = parts[2] ?? ''
  if (proto === 'ip4') return ipv4Lan(host) ? 'lan' : 'wan'
  if (proto === 'ip6') return ipv6Lan(host) ? 'lan' : 'wan'
  // dns names and relays: not provably on the store LAN
  return 'wan'
}
