/**
 * `node --import tsx bench/mdns-packet.ts [--packets 3000] [--rate 200]` (root: it runs in
 * a network namespace of its own, bench/support/netns.ts)
 *
 * What one mDNS packet of another service costs a listening node (issue #19): a receiver
 * process takes `--packets` foreign packets (alternately a PTR query and a printer's
 * response) sent at `--rate` per second, one wake-up each, and prints its CPU microseconds
 * per packet for three receivers: a bare dgram socket (Node's floor), multicast-dns behind
 * storemesh's filter (src/net/mdns-filter.ts, as every node runs it) and multicast-dns
 * decoding everything (before the filter). CPU-s per packet, not wall-clock: robust under
 * load, printed with the load average all the same.
 */
import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { loadavg } from 'node:os'
import dnsPacket from 'dns-packet'
import multicastDns from 'multicast-dns'
import { filterMdnsFor } from '../src/net/mdns-filter.js'
import { inIsolatedNetns, rerunInIsolatedNetns } from './support/netns.js'

const args = process.argv.slice(2)
const opt = (name: string, def: string): string => { const i = args.indexOf(`--${name}`); return i >= 0 ? (args[i + 1] ?? def) : def }
const PACKETS = Number(opt('packets', '3000'))
const RATE = Number(opt('rate', '200'))
const VARIANTS = ['bare', 'filtered', 'unfiltered'] as const
const PORT = 5353
const GROUP = '224.0.0.251'

/** Receiver: counts PACKETS packets, prints `<variant> <cpu-us per packet>`, exits. */
function receive (variant: string): void {
  let n = 0
  let t0: NodeJS.CpuUsage | undefined
  const onPacket = (): void => {
    if (n === 0) t0 = process.cpuUsage()
    if (++n < PACKETS) return
    const u = process.cpuUsage(t0)
    process.stdout.write(`${variant} ${((u.user + u.system) / n).toFixed(1)}\n`)
    process.exit(0)
  }
  if (variant === 'bare') {
    const s = createSocket({ type: 'udp4', reuseAddr: true })
    s.on('message', onPacket)
    s.bind(PORT, () => { s.addMembership(GROUP); process.stdout.write('ready\n') })
    return
  }
  if (variant === 'filtered') filterMdnsFor('_storemesh-bench._udp.local')
  const m = multicastDns({ port: PORT, ip: GROUP })
  m.on('packet', onPacket)
  m.on('ready', () => { process.stdout.write('ready\n') })
}

async function measure (variant: string): Promise<string> {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1] ?? '', '--receive', variant, '--packets', String(PACKETS)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  const ready = new Promise<void>(resolve => { child.stdout.on('data', (b: Buffer) => { out += b.toString(); if (out.includes('ready')) resolve() }) })
  const exited = new Promise<void>(resolve => { child.on('exit', () => { resolve() }) })
  await ready
  const query = dnsPacket.encode({ type: 'query', id: 0, questions: [{ type: 'PTR', name: '_ipp._tcp.local' }] })
  const response = dnsPacket.encode({
    type: 'response',
    id: 0,
    answers: [
      { type: 'PTR', name: '_ipp._tcp.local', ttl: 120, data: 'Back office printer._ipp._tcp.local' },
      { type: 'TXT', name: 'Back office printer._ipp._tcp.local', ttl: 120, data: ['txtvers=1', 'rp=ipp/print', 'ty=Office Printer 9000'] },
      { type: 'A', name: 'printer-3.local', ttl: 120, data: '10.0.0.42' }
    ]
  })
  const s = createSocket('udp4')
  await new Promise<void>(resolve => { s.bind(0, resolve) })
  let sent = 0
  // bounded: a few more than PACKETS (a datagram can be lost), then stop
  const timer = setInterval(() => { if (sent < PACKETS * 1.1) s.send(sent++ % 2 === 0 ? query : response, PORT, GROUP) }, 1000 / RATE)
  await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 10_000 + 2000 * PACKETS / RATE))])
  clearInterval(timer)
  s.close()
  child.kill()
  return out.split('\n').find(l => l.startsWith(variant)) ?? `${variant} (no figure: fewer than ${PACKETS} packets arrived)`
}

if (args.includes('--receive')) receive(opt('receive', 'bare'))
else if (!inIsolatedNetns()) process.exitCode = await rerunInIsolatedNetns()
else {
  console.log(`bench:mdns-packet  ${PACKETS} foreign mDNS packets at ${RATE}/s per receiver, in a network namespace; CPU microseconds per packet`)
  for (const v of VARIANTS) console.log(`  ${await measure(v)}  (load ${loadavg()[0]?.toFixed(1)})`)
}
