/**
 * One libp2p stream's raw throughput on 127.0.0.1 (TCP, Noise, Yamux), with and without
 * the fleet pre-shared key, 64 KiB writes. Prints MiB/s; asserts nothing.
 *
 *   node --import tsx bench/net-stream.ts [MiB per run, default 64] [runs, default 3] [--paced <MiB/s>]
 *
 * `--paced 2` adds the swarm's shape: 256 KiB writes at 2 MiB/s (as bench:lan's upload
 * cap sends whole chunks), the floor that bench:lan's CPU per MiB is compared with.
 *
 * Both nodes run in this one process (as in STACK-NOTES' figures), so sender and
 * receiver share a core: a lower bound for two hosts.
 */
import '../src/polyfill.js'
import { once } from 'node:events'
import os from 'node:os'
import type { Stream } from '@libp2p/interface'
import { createStoremeshNode, type StoremeshNode } from '../src/net/node.js'
import { generateSwarmKey } from '../src/net/swarm-key.js'
import { toNodeDuplex } from '../src/net/stream.js'

const MiB = 1024 * 1024
const PROTO = '/storemesh/bench-bulk/1.0.0'
const totalBytes = Number(process.argv[2] ?? 64) * MiB
const runs = Number(process.argv[3] ?? 3)
const pacedAt = process.argv.indexOf('--paced')
/** MiB/s, 0 = as fast as the stream takes it */
const PACED_MIB_S = pacedAt === -1 ? 0 : Number(process.argv[pacedAt + 1] ?? 2)

type Mode = 'send' | 'duplex'

async function sendAll (stream: Stream, total: number, writeBytes: number, mibPerS = 0): Promise<void> {
  const buf = new Uint8Array(writeBytes).fill(0xa5)
  const t0 = Date.now()
  for (let sent = 0; sent < total; sent += writeBytes) {
    const dueMs = mibPerS === 0 ? 0 : t0 + sent / MiB / mibPerS * 1000
    if (dueMs > Date.now()) await new Promise(resolve => setTimeout(resolve, dueMs - Date.now()))
    // wait on the 'drain' event each time: onDrain() only waits the first time
    if (!stream.send(buf)) await once(stream as unknown as EventTarget, 'drain')
  }
  await stream.close()
}

async function duplexAll (stream: Stream, total: number, writeBytes: number): Promise<void> {
  const d = toNodeDuplex(stream)
  d.resume()
  const buf = new Uint8Array(writeBytes).fill(0xa5)
  for (let sent = 0; sent < total; sent += writeBytes) {
    if (!d.write(buf)) await once(d, 'drain')
  }
  d.end()
  await once(d, 'finish')
}

interface Figure { mibPerS: number, mibPerCpuS: number }

async function oneRun (server: StoremeshNode, client: StoremeshNode, mode: Mode, writeBytes: number, mibPerS = 0): Promise<Figure> {
  let received = 0
  const done = new Promise<void>((resolve) => {
    void server.handle(PROTO, (stream) => {
      stream.addEventListener('message', (evt) => { received += evt.data.byteLength })
      stream.addEventListener('end', () => { void stream.close(); resolve() })
    }, { force: true })
  })
  const stream = await client.dialProtocol(server.getMultiaddrs()[0]!, PROTO)
  const t0 = process.hrtime.bigint()
  const cpu0 = process.cpuUsage()
  await (mode === 'send' ? sendAll(stream, totalBytes, writeBytes, mibPerS) : duplexAll(stream, totalBytes, writeBytes))
  await done
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const cpu = process.cpuUsage(cpu0)
  const cpuSeconds = (cpu.user + cpu.system) / 1e6
  if (received !== totalBytes) throw new Error(`received ${received} of ${totalBytes}`)
  // MiB per CPU-second (both ends) tells more than MiB/s on a shared, loaded box
  return { mibPerS: totalBytes / MiB / seconds, mibPerCpuS: totalBytes / MiB / cpuSeconds }
}

async function measure (label: string, pnet: boolean, mode: Mode, writeBytes: number, mibPerS = 0): Promise<void> {
  const swarmKey = pnet ? generateSwarmKey() : null
  const server = await createStoremeshNode({ swarmKey })
  const client = await createStoremeshNode({ swarmKey })
  try {
    await oneRun(server, client, mode, writeBytes) // warm-up: JIT, WASM, windows
    const figures: Figure[] = []
    for (let i = 0; i < runs; i++) figures.push(await oneRun(server, client, mode, writeBytes, mibPerS))
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
    const rates = figures.map(f => f.mibPerS)
    console.log(`${label.padEnd(40)} median ${median(rates).toFixed(0).padStart(4)} MiB/s` +
      `  (runs ${rates.map(f => f.toFixed(0)).join(' ')})` +
      `  ${median(figures.map(f => f.mibPerCpuS)).toFixed(0).padStart(4)} MiB per CPU-second` +
      ` = ${(1 / median(figures.map(f => f.mibPerCpuS))).toFixed(4)} CPU-s per MiB (both ends)`)
  } finally {
    await client.stop()
    await server.stop()
  }
}

console.log(`one stream on 127.0.0.1, ${totalBytes / MiB} MiB per run, ${runs} runs after a warm-up, yamux window 256 KiB`)
console.log(`load average ${os.loadavg().map(l => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores (MiB/s falls with load; MiB per CPU-second much less)`)
if (PACED_MIB_S > 0) {
  await measure(`pnet, send() of 256 KiB at ${PACED_MIB_S} MiB/s`, true, 'send', 256 * 1024, PACED_MIB_S)
  process.exit(0)
}
await measure('pnet, send() of 64 KiB (headline)', true, 'send', 64 * 1024)
await measure('pnet, toNodeDuplex write() of 64 KiB', true, 'duplex', 64 * 1024)
await measure('pnet, send() of 1 MiB', true, 'send', MiB)
await measure('no pnet, send() of 64 KiB', false, 'send', 64 * 1024)
console.log('STACK-NOTES reference: with pnet, one stream, 64 KiB writes: 88 MiB/s; without pnet: 160-176 MiB/s')
