/**
 * Test fixtures for the swarm: in-memory duplex pairs, signed bundles of random
 * chunks, and bounded waits. Not a test file (tap runs *.test.ts only).
 */
import { randomBytes } from 'node:crypto'
import { Duplex } from 'node:stream'
import { generateSigningKey } from '../../../src/bundle/keys.js'
import type { BundleInfo } from '../../../src/interface/types.js'
import { signedBundle } from '../../support/bundles.js'

/**
 * Two Node Duplexes wired back to back. Bytes are delivered on a later turn of the
 * event loop, like a socket, and a write's callback waits for delivery so that
 * write() returns false once `highWaterMark` bytes are in flight.
 */
export function duplexPair (highWaterMark = 256 * 1024): [Duplex, Duplex] {
  let a: Duplex | undefined
  let b: Duplex | undefined
  const make = (other: () => Duplex | undefined): Duplex => new Duplex({
    writableHighWaterMark: highWaterMark,
    readableHighWaterMark: highWaterMark,
    read () {},
    write (chunk: Buffer, _enc, cb) {
      setImmediate(() => {
        const o = other()
        if (o !== undefined && !o.destroyed) o.push(chunk)
        cb()
      })
    },
    final (cb) {
      setImmediate(() => {
        const o = other()
        if (o !== undefined && !o.destroyed) o.push(null)
        cb()
      })
    },
    destroy (err, cb) {
      const o = other()
      // the remote sees a reset as an error, like a libp2p stream reset
      if (o !== undefined && !o.destroyed) setImmediate(() => { o.destroy(err ?? undefined) })
      cb(err)
    }
  })
  a = make(() => b)
  b = make(() => a)
  return [a, b]
}

export interface TestBundle {
  info: BundleInfo
  /** chunk bytes by piece index */
  chunks: Uint8Array[]
}

const key = generateSigningKey()

/** A signed bundle of one artifact whose chunks have the given sizes (random content). */
export function makeBundle (sizes: number[], name = 'test-os', version = '1.0.0', reuse: Uint8Array[] = []): TestBundle {
  const chunks = sizes.map((s, i) => reuse[i] ?? new Uint8Array(randomBytes(s)))
  const { info } = signedBundle({
    artifacts: [{ name: 'rootfs.img', chunks }],
    keys: [key],
    body: { name, version, chunking: { algorithm: 'fastcdc', minBytes: 1024, avgBytes: 65536, maxBytes: 1048576 } }
  })
  return { info, chunks }
}

/** Sizes between min and max bytes, from a cheap deterministic sequence. */
export function chunkSizes (count: number, minBytes: number, maxBytes: number, seed = 7): number[] {
  let x = seed
  return Array.from({ length: count }, () => {
    x = (x * 1103515245 + 12345) % 2147483648
    return minBytes + (x % (maxBytes - minBytes + 1))
  })
}

/** Rejects after `ms`: every awaited promise in a test is raced against one. */
export async function within<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`timed out after ${ms} ms: ${what}`)) }, ms)
  })
  try {
    return await Promise.race([p, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** A token bucket as an `acquire(bytes)` hook: `bytesPerSecond`, burst of one second. */
export function tokenBucket (bytesPerSecond: number): (bytes: number, options?: { signal?: AbortSignal }) => Promise<void> {
  let tokens = bytesPerSecond
  let last = Date.now()
  let chain = Promise.resolve()
  return async (bytes, options = {}) => {
    const turn = chain.then(async () => {
      for (;;) {
        options.signal?.throwIfAborted()
        const now = Date.now()
        tokens = Math.min(bytesPerSecond, tokens + (now - last) * bytesPerSecond / 1000)
        last = now
        if (tokens >= Math.min(bytes, bytesPerSecond)) { tokens -= bytes; return }
        await new Promise(resolve => setTimeout(resolve, Math.ceil((Math.min(bytes, bytesPerSecond) - tokens) * 1000 / bytesPerSecond)))
      }
    })
    chain = turn.catch(() => {})
    await turn
  }
}

export interface TestNode {
  id: string
  swarm: import('../../../src/swarm/session.js').BundleSwarm
  store: import('../../support/memory-store.js').MemoryStore
}

/** Connects two swarms with an in-memory pair; `a` opens (sends the handshake first). */
export function connect (a: TestNode, b: TestNode, link: 'lan' | 'wan' = 'lan'): void {
  const [da, db] = duplexPair()
  da.on('error', () => {})
  db.on('error', () => {})
  a.swarm.addPeer({ remotePeerId: b.id, duplex: da, link, initiator: true })
  b.swarm.addPeer({ remotePeerId: a.id, duplex: db, link, initiator: false })
}

/** A cap whose grants the test releases by hand, in the order they were asked for. */
export function manualCap (): { acquire: (bytes: number) => Promise<void>, release: () => void, asked: number[] } {
  const waiting: Array<() => void> = []
  const asked: number[] = []
  return {
    asked,
    acquire: async (bytes: number) => { asked.push(bytes); await new Promise<void>(resolve => { waiting.push(resolve) }) },
    release: () => { waiting.shift()?.() }
  }
}

/** Lets `turns` turns of the event loop pass (promise chains settle in between). */
export async function ticks (turns = 1): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise(resolve => setImmediate(resolve))
}
