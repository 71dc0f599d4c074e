/**
 * The client-server baseline of `npm run bench:lan`: one node:http server on
 * 127.0.0.1 serves one file to N concurrent clients, every response paced by ONE
 * shared Limiter at the same rate as a swarm node's `--upload-limit`, so the server's
 * total upload is capped exactly like a hub's. Clients discard the bytes and count them.
 */
import { setMaxListeners } from 'node:events'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createServer, get, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Limiter } from '../src/wan/limiter.js'

export interface HttpRun {
  makespanMs: number
  /** bytes each client received (each must equal the file size) */
  received: number[]
  serverCpuSec: number
}

const READ_HIGH_WATER_BYTES = 64 * 1024

function serve (path: string, limiter: Limiter, signal: AbortSignal): Server {
  return createServer((req, res) => {
    void (async () => {
      const size = (await stat(path)).size
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) })
      const rs = createReadStream(path, { highWaterMark: READ_HIGH_WATER_BYTES })
      const gone = new AbortController()
      res.once('close', () => { gone.abort() })
      const both = AbortSignal.any([signal, gone.signal])
      try {
        for await (const chunk of rs as AsyncIterable<Buffer>) {
          await limiter.acquire(chunk.length, both)
          if (!res.write(chunk)) await drained(res)
        }
        res.end()
      } catch {
        rs.destroy()
        res.destroy()
      }
    })()
  })
}

/** Resolves on 'drain' or 'close', removing both listeners (one wait per slow write). */
async function drained (res: NodeJS.EventEmitter): Promise<void> {
  await new Promise<void>(resolve => {
    const done = (): void => { res.off('drain', done); res.off('close', done); resolve() }
    res.on('drain', done)
    res.on('close', done)
  })
}

async function download (url: string, signal: AbortSignal): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const req = get(url, { signal, agent: false }, res => {
      let n = 0
      res.on('data', (d: Buffer) => { n += d.length })
      res.once('end', () => { resolve(n) })
      res.once('error', reject)
    })
    req.once('error', reject)
  })
}

/** N concurrent downloads of `path`; rejects when `deadlineMs` passes first. */
export async function runHttpClientServer (path: string, clients: number, rateBytesPerSec: number, deadlineMs: number): Promise<HttpRun> {
  const ac = new AbortController()
  // every client's request and every response's pacing listens to it: 2N listeners, not a leak
  setMaxListeners(2 * clients + 2, ac.signal)
  const timer = setTimeout(() => { ac.abort(new Error(`client-server run passed its ${deadlineMs} ms deadline`)) }, deadlineMs)
  const limiter = new Limiter({ rateBytesPerSec, name: 'http-upload' })
  const server = serve(path, limiter, ac.signal)
  try {
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve) })
    const { port } = server.address() as AddressInfo
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    const received = await Promise.all(Array.from({ length: clients }, async () => await download(`http://127.0.0.1:${port}/bundle`, ac.signal)))
    const makespanMs = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    return { makespanMs, received, serverCpuSec: (cpu.user + cpu.system) / 1e6 }
  } finally {
    clearTimeout(timer)
    ac.abort()
    server.closeAllConnections()
    await new Promise<void>(resolve => { server.close(() => { resolve() }) })
  }
}
