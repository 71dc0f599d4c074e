/**
 * Splitting an idle agent's own cost from its LAN's (issue #19). Every node binds the
 * mDNS port on every interface, so it wakes for every mDNS packet on the host: on the
 * shared bench machine that is 10-26 packets a second from other engineers' tests.
 *
 * `--netns` re-runs the bench in a fresh network namespace (`unshare -n`, root only)
 * holding only loopback, with multicast on and a route for 224.0.0.0/4, so the nodes
 * find each other over mDNS and hear nobody else. `countMdnsPackets` counts what the
 * host's mDNS group carried while a sample ran, so each idle figure is printed beside
 * the packet rate it paid for. Linux only, as the benches are.
 */
import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { networkInterfaces } from 'node:os'

const MDNS_PORT = 5353
const MDNS_GROUP = '224.0.0.251'
/** set in the re-run child so that it does not re-run itself */
const NETNS_ENV = 'STOREMESH_BENCH_NETNS'

export function inIsolatedNetns (): boolean {
  return process.env[NETNS_ENV] === '1'
}

/** Runs this process's script again in a new network namespace; resolves with its exit code. */
export async function rerunInIsolatedNetns (): Promise<number> {
  const setup = 'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo && exec "$0" "$@"'
  const child = spawn('unshare', ['-n', 'sh', '-c', setup, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [NETNS_ENV]: '1' }
  })
  const forward = (sig: NodeJS.Signals): void => { child.kill(sig) }
  process.on('SIGINT', forward)
  process.on('SIGTERM', forward)
  return await new Promise<number>(resolve => {
    child.on('error', err => { process.stderr.write(`--netns needs root and unshare(1): ${err.message}\n`); resolve(1) })
    child.on('exit', (code, signal) => { resolve(code ?? (signal !== null ? 1 : 0)) })
  })
}

export interface MdnsCount {
  /** packets seen and seconds counted; closes the socket */
  stop: () => { packets: number, seconds: number }
}

/** Counts every packet to the mDNS group on every IPv4 interface from now until stop(). */
export async function countMdnsPackets (): Promise<MdnsCount> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true })
  let packets = 0
  socket.on('message', () => { packets++ })
  socket.on('error', () => {})
  await new Promise<void>(resolve => { socket.bind(MDNS_PORT, resolve) })
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4') continue
      try { socket.addMembership(MDNS_GROUP, a.address) } catch { /* joined on a shared interface already */ }
    }
  }
  const startedAt = Date.now()
  return {
    stop: () => {
      socket.close()
      return { packets, seconds: (Date.now() - startedAt) / 1000 }
    }
  }
}

export interface MdnsNoise { stop: () => { packets: number } }

/**
 * `--mdns-noise <packets/s>`: other services' mDNS traffic, as a busy store LAN carries
 * (printers, phones, other fleets): alternately a PTR query and a response with a few
 * records, none naming our tag, multicast at a fixed rate. Run inside `--netns`, the idle
 * figure with and without it gives the agent's cost per foreign packet.
 */
export async function startMdnsNoise (perSec: number): Promise<MdnsNoise> {
  const dnsPacket = (await import('dns-packet')).default
  const socket = createSocket({ type: 'udp4', reuseAddr: true })
  socket.on('error', () => {})
  await new Promise<void>(resolve => { socket.bind(0, resolve) })
  const query = dnsPacket.encode({ type: 'query', id: 0, questions: [{ type: 'PTR', name: '_ipp._tcp.local' }] })
  const response = dnsPacket.encode({
    type: 'response',
    id: 0,
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    answers: [
      { type: 'PTR', name: '_ipp._tcp.local', ttl: 120, data: 'Back office printer._ipp._tcp.local' },
      { type: 'SRV', name: 'Back office printer._ipp._tcp.local', ttl: 120, data: { port: 631, target: 'printer-3.local' } },
      { type: 'TXT', name: 'Back office printer._ipp._tcp.local', ttl: 120, data: ['txtvers=1', 'rp=ipp/print', 'ty=Office Printer 9000', 'pdl=application/pdf,image/urf'] },
      { type: 'A', name: 'printer-3.local', ttl: 120, data: '10.0.0.42' }
    ]
  })
  let packets = 0
  const timer = setInterval(() => {
    socket.send(packets % 2 === 0 ? query : response, MDNS_PORT, MDNS_GROUP)
    packets++
  }, 1000 / perSec)
  return { stop: () => { clearInterval(timer); socket.close(); return { packets } } }
}
