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
import { MemoryStore } from '../test/helpers/memory-store.js'
import { makeBundle } from '../test/unit/swarm/helpers.js'
import { multiaddr } from '@multiformats/multiaddr'
import { blake3Hex } from '../src/bundle/hash.js'
import { StoremeshError } from '../src/interface/errors.js'
import type { ChunkSink } from '../src/interface/types.js'

const MiB = 1024 * 1024
const total = Number(process.env.MIB ?? 64) * MiB
const chunk = 256 * 1024
const role = process.env.ROLE ?? 'parent'

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

// the same bundle in both processes: deterministic content from a seed
function bundle (): ReturnType<typeof makeBundle> {
  const chunks: Uint8Array[] = []
  let x = 1
  for (let i = 0; i < total / chunk; i++) {
    const c = new Uint8Array(chunk)
    const v = new DataView(c.buffer)
    for (let j = 0; j < chunk; j += 4) { x = (x * 1664525 + 1013904223) >>> 0; v.setUint32(j, x) }
    chunks.push(c)
  }
  return makeBundle(chunks.map(c => c.length), 'bench', '1.0.0', chunks)
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
  process.send?.(node.getMultiaddrs()[0]?.toString())
  process.on('message', () => { void Promise.resolve(node.stop()).then(() => process.exit(0)) })
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
  let cpu = 0
  for (const mode of ['raw', 'wire', 'raw', 'wire']) {
    const child = fork(new URL(import.meta.url).pathname, [], { env: { ...process.env, ROLE: 'sender', MODE: mode }, execArgv: ['--import', 'tsx', ...(process.env.SENDER_PROF_DIR !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SENDER_PROF_DIR}`] : [])] })
    senders.add(child)
    const addr = await new Promise<string>(resolve => child.once('message', m => resolve(String(m))))
    // only the manifest: the receiver holds none of the bytes it is about to fetch
    const info = mode === 'wire' ? bundle().info : undefined
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
      const s = await node.services.chunks.join(info as ReturnType<typeof makeBundle>['info'])
      let t0 = 0
      s.once('chunk', () => { t0 = performance.now() })
      await node.dial(multiaddr(addr))
      await s.done
      mibps = (total - chunk) / MiB / ((performance.now() - t0) / 1000)
    }
    const c = process.cpuUsage(c0); cpu += (c.user + c.system) / 1e6
    out[mode]?.push(+mibps.toFixed(1))
    await node.stop()
    child.send('stop')
    await new Promise(resolve => child.once('exit', resolve))
    senders.delete(child)
  }
  const best = (a: number[] = []): number => Math.max(...a)
  console.log(JSON.stringify({ MiB: total / MiB, chunkKiB: chunk / 1024, rawMiBps: out.raw, wireMiBps: out.wire, ratio: +(best(out.wire) / best(out.raw)).toFixed(2), receiverCpuSec: +cpu.toFixed(1) }))
  clearTimeout(deadline)
}
