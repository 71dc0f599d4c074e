/**
 * mDNS packets for other services are dropped before they are decoded (issue #19).
 *
 * Every node binds the mDNS port on every interface, so it receives every mDNS packet
 * on the LAN: printers, phones, other fleets' and other tests' service tags. The
 * multicast-dns module decodes each one into objects (dns-packet) before anyone looks
 * at its names; on this machine that was about 20 packets a second, and the idle
 * agent's steady allocation (a scavenge every few seconds) and a large part of its CPU.
 *
 * A packet about our service names our tag: a query asks for it, an answer's records
 * are named under it, and DNS name compression only points back to an earlier literal
 * copy, so the tag's first label is in the packet's bytes. A packet without the first
 * label of any tag this process announces cannot concern us; it decodes to an empty
 * packet of a type multicast-dns ignores (neither 'query' nor 'response'). With no tag
 * registered every packet decodes as before.
 *
 * Patched once, on dns-packet's exports object, which multicast-dns calls through
 * (`packet.decode(message)`); @libp2p/mdns depends on dns-packet itself.
 */
import dnsPacket from 'dns-packet'

type Decode = typeof dnsPacket.decode

/** tag's first label -> how many nodes of this process use it */
const needles = new Map<string, { bytes: Buffer, users: number }>()
let skipped = 0
let installed = false

/** What multicast-dns receives instead of a packet about another service. */
function ignoredPacket (): ReturnType<Decode> {
  return { type: 'ignored' as 'query', id: 0, flags: 0, questions: [], answers: [], authorities: [], additionals: [] } as unknown as ReturnType<Decode>
}

/** The label a packet about `serviceTag` must contain (DNS labels are at most 63 bytes). */
export function tagNeedle (serviceTag: string): string {
  return (serviceTag.split('.')[0] ?? serviceTag).slice(0, 63)
}

function install (): void {
  if (installed) return
  installed = true
  const decode: Decode = dnsPacket.decode.bind(dnsPacket)
  const filtered = ((buf: Buffer, offset?: number) => {
    if (needles.size > 0 && offset === undefined && Buffer.isBuffer(buf)) {
      let ours = false
      for (const n of needles.values()) if (buf.includes(n.bytes)) { ours = true; break }
      if (!ours) { skipped++; return ignoredPacket() }
    }
    const out = decode(buf, offset)
    filtered.bytes = dnsPacket.decode.bytes
    return out
  }) as Decode
  filtered.bytes = 0
  // dns-packet's own stream decoder reads decode.bytes after a call: kept in step above
  ;(dnsPacket as { decode: Decode }).decode = filtered
}

/** Lets packets naming `serviceTag` through; until the returned release, others are skipped undecoded. */
export function filterMdnsFor (serviceTag: string): () => void {
  install()
  const key = tagNeedle(serviceTag)
  const e = needles.get(key) ?? { bytes: Buffer.from(key, 'utf8'), users: 0 }
  e.users++
  needles.set(key, e)
  let released = false
  return () => {
    if (released) return
    released = true
    const cur = needles.get(key)
    if (cur === undefined) return
    if (--cur.users <= 0) needles.delete(key)
  }
}

/** Packets skipped undecoded since the process started (tests, diagnostics). */
export function mdnsPacketsSkipped (): number {
  return skipped
}
