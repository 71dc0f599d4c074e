/*
 * One connection, uncapped: the chunk wire against a raw libp2p stream, sender in a child
 * process, receiver here, both modes twice in the same run. Prints one JSON line.
 *   node --import tsx bench/wire-throughput.ts   (env MIB=64; `npm run bench:lan` runs it at the end)
 * SENDER_PROF_DIR=<dir> writes a V8 CPU profile of every sender there (the receiver
 * is profiled with node's own --cpu-prof).
 * Bounded: the whole run has a deadline (env DEADLINE_MS, default 300 s); senders are
 * killed on timeout and on SIGINT.
 */
import '../src/polyfill.js'
import { fork, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createStoremeshNode } from '../src/net/node.js'
import { toNodeDuplex } from '../src/net/stream.js'
import { chunkProtocol, type ChunkProtocol } from '../src/swarm/index.js'
import { MemoryStore } from '../test/support/memory-store.js'
import { makeBundle } from '../test/unit/swarm/helpers.js'
import { multiaddr } from '@multiformats/multiaddr'
import { blake3Hex } from '../src/bundle/hash.js'
import { StoremeshError } from '../src/interface/errors.js'
import type { BundleInfo, ChunkSink } from '../src/interface/types.js'

const MiB = 1024 * 1024
const total = Number(process.env.MIB ?? 64) * MiB
const chunk = 256 * 1024
const role = process.env.ROLE ?? 'parent'

/** What a sender tells the parent once it listens. */
interface Hello { addr: string, info?: BundleInfo }

/**
 * The receiver's store keeps only the hashes of what the swarm verified. The raw
 * stream drops its bytes too, so the figure is the wire's own cost (its one BLAKE3
 * pass per chunk included), not that of copying 64 MiB into a Map.
 */
class VerifyingSink implements ChunkSink {
  readonly #held = new Set<string>()
  async has (hash: string): Promise<boolean> { return this.#held.has(hash) }
  async get (): Promise<undefined> { return undefined }
  async put (hash: string, data: Uint8Array): Promise<void> {
    const actual = blake3Hex(data)
    if (actual !== hash) throw new StoremeshError('E_CHUNK_HASH_MISMATCH', `chunk ${hash} hashes to ${actual}`, { hash })
    this.#held.add(hash)
  }

  /** The swarm hashed it already (its one BLAKE3 pass, as with the real store). */
  async putVerified (hash: string): Promise<boolean> {
    const fresh = !this.#held.has(hash)
    this.#held.add(hash)
    return fresh
  }
}

/**
 * Random chunks, made natively by the sender alone. The receiver gets the manifest
 * over IPC, as a device gets it from the manifest protocol: neither process runs
 * JavaScript over the bundle's bytes before the transfer. Both once did, for the
 * wire runs (a deterministic generator in each), and those runs paid for it: V8's
 * young generation grew to its maximum and the old generation's limit stayed so
 * tight that it marked without pause, 15-29 mark-compacts in one 128 MiB transfer
 * (about a fifth of the receiver's time).
 */
function bundle (): ReturnType<typeof makeBundle> {
  return makeBundle(new Array<number>(total / chunk).fill(chunk), 'bench', '1.0.0')
}

if (role === 'sender') {
  const mode = process.env.MODE
  const b = mode === 'wire' ? bundle() : undefined
  const node = await createStoremeshNode<{ chunks: ChunkProtocol }>({ swarmKey: null, services: { chunks: chunkProtocol({ store: new MemoryStore(b?.chunks ?? []) }) } })
  if (b !== undefined) await node.services.chunks.join(b.info)
  await node.handle('/bench/raw/1.0.0', (stream) => {
    const d = toNodeDuplex(stream)
    const buf = new Uint8Array(randomBytes(chunk))
    void (async () => {
      for (let sent = 0; sent < total; sent += chunk) {
        if (!d.write(buf)) await new Promise(resolve => d.once('drain', resolve))
      }
    })()
  })
  const hello: Hello = { addr: node.getMultiaddrs()[0]?.toString() ?? '', info: b?.info }
  process.send?.(hello)
  // the sender's CPU (after its start-up) goes to the parent before it stops
  const cpuStart = process.cpuUsage()
  process.on('message', () => {
    const c = process.cpuUsage(cpuStart)
    process.send?.({ cpuSec: (c.user + c.system) / 1e6 }, () => { void Promise.resolve(node.stop()).then(() => process.exit(0)) })
  })
  // the parent died (even by SIGKILL): no one will ever ask this sender to stop
  process.once('disconnect', () => { process.exit(0) })
} else {
  const senders = new Set<ChildProcess>()
  const killAll = (): void => { for (const c of senders) c.kill('SIGKILL') }
  const deadline = setTimeout(() => {
    process.stderr.write('wire-throughput: deadline passed, giving up\n')
    killAll()
    process.exit(1)
  }, Number(process.env.DEADLINE_MS ?? 300_000))
  deadline.unref()
  process.once('SIGINT', () => { killAll(); process.exit(130) })
  process.once('SIGTERM', () => { killAll(); process.exit(143) })
  const out: Record<string, number[]> = { raw: [], wire: [] }
  /** CPU-s per MiB, receiver and sender, per mode: survives load better than MiB/s */
  const cpuPerMiB: Record<string, Array<{ receiver: number, sender: number }>> = { raw: [], wire: [] }
  let cpu = 0
  for (const mode of ['raw', 'wire', 'raw', 'wire']) {
    // advanced serialization: the manifest's Uint8Arrays cross as they are
    const child = fork(new URL(import.meta.url).pathname, [], { env: { ...process.env, ROLE: 'sender', MODE: mode }, serialization: 'advanced', execArgv: ['--import', 'tsx', ...(process.env.SENDER_PROF_DIR !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SENDER_PROF_DIR}`] : [])] })
    senders.add(child)
    const { addr, info } = await new Promise<Hello>(resolve => child.once('message', m => resolve(m as Hello)))
    const node = await createStoremeshNode<{ chunks: ChunkProtocol }>({ swarmKey: null, services: { chunks: chunkProtocol({ store: new VerifyingSink() }) } })
    const c0 = process.cpuUsage()
    let mibps = 0
    if (mode === 'raw') {
      const conn = await node.dial(multiaddr(addr))
      const d = toNodeDuplex(await conn.newStream('/bench/raw/1.0.0'))
      let got = 0; let t0 = 0
      await new Promise<void>(resolve => d.on('data', (c: Uint8Array) => { if (t0 === 0) t0 = performance.now(); got += c.length; if (got >= total) resolve() }))
      mibps = (total - chunk) / MiB / ((performance.now() - t0) / 1000)
    } else {
      if (info === undefined) throw new Error('the wire sender sent no manifest')
      const s = await node.services.chunks.join(info)
      let t0 = 0
      s.once('chunk', () => { t0 = performance.now() })
      await node.dial(multiaddr(addr))
      await s.done
      mibps = (total - chunk) / MiB / ((performance.now() - t0) / 1000)
    }
    const c = process.cpuUsage(c0); cpu += (c.user + c.system) / 1e6
    out[mode]?.push(+mibps.toFixed(1))
    await node.stop()
    const senderCpu = new Promise<number>(resolve => child.once('message', m => { resolve((m as { cpuSec: number }).cpuSec) }))
    child.send('stop')
    cpuPerMiB[mode]?.push({ receiver: +((c.user + c.system) / 1e6 / (total / MiB)).toFixed(4), sender: +((await senderCpu) / (total / MiB)).toFixed(4) })
    await new Promise(resolve => child.once('exit', resolve))
    senders.delete(child)
  }
  const best = (a: number[] = []): number => Math.max(...a)
  console.log(JSON.stringify({ MiB: total / MiB, chunkKiB: chunk / 1024, rawMiBps: out.raw, wireMiBps: out.wire, ratio: +(best(out.wire) / best(out.raw)).toFixed(2), receiverCpuSec: +cpu.toFixed(1), cpuSecPerMiB: cpuPerMiB }))
  clearTimeout(deadline)
}
