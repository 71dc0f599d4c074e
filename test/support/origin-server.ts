/**
 * A scripted HTTP origin on 127.0.0.1 for the bad-origin tests: each request for a
 * path is answered by the next behaviour queued for it (then the last one again), and
 * every request is counted. The good origin in tests is a real nginx (nginx.ts).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export type Behaviour =
  | { kind: 'ok', body: Uint8Array }
  | { kind: 'status', status: number }
  /** announces the whole length, sends `sendBytes`, then cuts the connection */
  | { kind: 'truncate', body: Uint8Array, sendBytes: number }
  /** sends the head (and `sendBytes` of the body), then nothing */
  | { kind: 'stall', body: Uint8Array, sendBytes: number }
  /** never answers */
  | { kind: 'silent' }

export interface ScriptedOrigin {
  url: string
  requests: Map<string, number>
  script(path: string, ...behaviours: Behaviour[]): void
  close(): Promise<void>
}

export async function scriptedOrigin (t: { teardown: (fn: () => Promise<void>) => void }): Promise<ScriptedOrigin> {
  const scripts = new Map<string, Behaviour[]>()
  const requests = new Map<string, number>()
  const sockets = new Set<Socket>()
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname.slice(1)
    requests.set(path, (requests.get(path) ?? 0) + 1)
    const queue = scripts.get(path) ?? []
    const b = queue.length > 1 ? queue.shift()! : queue[0] ?? { kind: 'status', status: 404 }
    switch (b.kind) {
      case 'ok':
        res.writeHead(200, { 'content-length': b.body.byteLength }).end(b.body)
        break
      case 'status':
        res.writeHead(b.status, { 'content-length': 0 }).end()
        break
      case 'truncate':
        res.writeHead(200, { 'content-length': b.body.byteLength })
        res.write(b.body.subarray(0, b.sendBytes), () => { res.socket?.destroy() })
        break
      case 'stall':
        res.writeHead(200, { 'content-length': b.body.byteLength })
        res.flushHeaders()
        if (b.sendBytes > 0) res.write(b.body.subarray(0, b.sendBytes))
        break
      case 'silent':
        break
    }
  })
  server.on('connection', s => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy()
    await new Promise<void>(resolve => server.close(() => resolve()))
  }
  t.teardown(close)
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    script: (path, ...behaviours) => { scripts.set(path, behaviours) },
    close
  }
}
