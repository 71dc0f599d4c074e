/**
 * The Host header check of the hub API, against DNS rebinding: a page in a browser on
 * the hub machine (or the store LAN) can point a name it controls at 127.0.0.1 and
 * then read the API as if same-origin. The browser still sends that name as Host, so
 * the API answers only requests whose Host names this server: its bind address, the
 * loopback names, the host's own addresses when bound to a wildcard, and the names the
 * operator configured (`--api-host-name`). Anything else is refused with 421
 * E_MISDIRECTED_REQUEST before routing.
 */
import { networkInterfaces } from 'node:os'
import { LOOPBACK_HOST_NAMES } from './constants.js'

export interface HostCheckInit {
  /** the address the server is bound to (127.0.0.1, ::1, 0.0.0.0, :: or a LAN address) */
  bindHost: string
  /** the port it listens on (the real one when 0 was asked for) */
  port: number
  /** extra names the operator reaches the API by (lower-cased when compared) */
  names?: readonly string[]
}

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]'])

/** The lower-cased host names (IPv6 in brackets, no port) this server answers to. */
export function allowedHostNames (init: Omit<HostCheckInit, 'port'>): Set<string> {
  const out = new Set<string>(LOOPBACK_HOST_NAMES)
  const add = (h: string): void => { out.add(bracket(h.trim().toLowerCase())) }
  if (WILDCARDS.has(init.bindHost)) {
    // bound to every interface: each of the host's addresses reaches it
    for (const list of Object.values(networkInterfaces())) {
      for (const i of list ?? []) add(i.address)
    }
  } else add(init.bindHost)
  for (const n of init.names ?? []) if (n.trim() !== '') add(n)
  return out
}

/**
 * Whether a Host header names this server. A port, when given, must be the server's;
 * a Host without one means port 80. A missing Host (HTTP/1.0) is refused too: a
 * browser always sends one, and so do our clients.
 */
export function hostAllowed (host: string | undefined, allowed: ReadonlySet<string>, port: number): boolean {
  if (host === undefined || host === '') return false
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(host.trim())
  if (m === null) return false
  const name = (m[1] ?? '').toLowerCase().replace(/\.$/, '')
  const hostPort = m[2] !== undefined ? Number(m[2]) : 80
  return hostPort === port && allowed.has(name)
}

function bracket (h: string): string {
  return h.includes(':') && !h.startsWith('[') ? `[${h}]` : h
}
