/**
 * Shared parts of the hub-*.test.ts files: a free loopback port, the hub's API
 * (token from its data dir), and the Prometheus text read back into numbers.
 */
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      s.close(() => { resolve(port) })
    })
  })
}

export class HubApi {
  constructor (readonly base: string, readonly dataDir: string) {}

  async token (): Promise<string> {
    return (await readFile(join(this.dataDir, 'api-token'), 'utf8')).trim()
  }

  async get<T> (path: string): Promise<T> {
    const res = await fetch(this.base + path, { signal: AbortSignal.timeout(10_000) })
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`)
    return await res.json() as T
  }

  async metricsText (): Promise<string> {
    const res = await fetch(this.base + '/metrics', { signal: AbortSignal.timeout(10_000) })
    if (!res.ok) throw new Error(`GET /metrics: ${res.status}`)
    return await res.text()
  }

  async post (path: string, body: unknown, token?: string): Promise<{ status: number, body: any }> {
    const res = await fetch(this.base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000)
    })
    const text = await res.text()
    return { status: res.status, body: text.length > 0 ? JSON.parse(text) : undefined }
  }

  /** true once the API answers */
  async up (): Promise<boolean> {
    return await fetch(this.base + '/api/status', { signal: AbortSignal.timeout(2000) }).then(r => r.ok, () => false)
  }
}

/** The value of `name{labels}` in a Prometheus text exposition (labels matched exactly, in any order), or undefined. */
export function metricValue (text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line)
    if (m === null || m[1] !== name) continue
    const got: Record<string, string> = {}
    for (const kv of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) got[kv[1] as string] = kv[2] as string
    if (Object.keys(got).length !== Object.keys(labels).length) continue
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3])
  }
  return undefined
}
