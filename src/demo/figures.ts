/**
 * Where the demo's figures come from, all real sources: the store hub's HTTP API
 * (/metrics, /api/status, /api/ledger), the peers' status.json files, the devices'
 * installer state files and their own `install: ...` log lines, and the super hub's
 * super-ledger.json. Nothing here is computed from what the demo expects.
 */
import { readFile } from 'node:fs/promises'
import { StoremeshError } from '../interface/errors.js'
import { createBackend, StateStore } from '../install/index.js'
import { loadInstallConfig } from '../roles/device-install-config.js'
import { readStatusFile, type BundleStatus } from '../roles/peer-status.js'
import { DEMO_HTTP_TIMEOUT_MS } from './constants.js'
import type { LogLine } from './processes.js'

const MAX_HTTP_BODY_CHARS = 8 * 1024 * 1024
/** Linux USER_HZ: what /proc/<pid>/stat counts CPU time in */
const CLOCK_TICKS_PER_SEC = 100

/** utime + stime of a live process in seconds; undefined where /proc cannot tell (not Linux, gone). */
export async function cpuSecondsOf (pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    return Number.isFinite(ticks) ? ticks / CLOCK_TICKS_PER_SEC : undefined
  } catch {
    return undefined
  }
}

export class HubApi {
  readonly url: string
  readonly #token: string
  constructor (url: string, token: string) { this.url = url; this.#token = token }

  async #request (path: string, init: RequestInit = {}): Promise<string> {
    const res = await fetch(this.url + path, { ...init, signal: AbortSignal.timeout(DEMO_HTTP_TIMEOUT_MS) })
    const text = await res.text()
    if (text.length > MAX_HTTP_BODY_CHARS) throw new StoremeshError('E_REQUEST_TOO_LARGE', `${path}: answer of ${text.length} characters`)
    if (!res.ok) throw new StoremeshError('E_PEER_ERROR', `hub API ${init.method ?? 'GET'} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`)
    return text
  }

  async json<T> (path: string): Promise<T> {
    return JSON.parse(await this.#request(path)) as T
  }

  async post<T> (path: string, body: unknown): Promise<T> {
    return JSON.parse(await this.#request(path, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.#token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body)
    })) as T
  }

  /** /metrics as `name{labels}` -> value (labels in the order the hub prints them). */
  async metrics (): Promise<Map<string, number>> {
    return parseMetrics(await this.#request('/metrics'))
  }
}

/** Prometheus text exposition: sample lines only. */
export function parseMetrics (text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^(\S+?(?:\{[^}]*\})?)\s+(\S+)/.exec(line)
    if (m?.[1] !== undefined && m[2] !== undefined) out.set(m[1], Number(m[2]))
  }
  return out
}

/** storemesh_bytes_total for one link and direction (0 before the first byte). */
export function bytesOf (metrics: Map<string, number>, link: 'lan' | 'wan', direction: 'up' | 'down'): number {
  for (const [k, v] of metrics) {
    if (k.startsWith('storemesh_bytes_total{') && k.includes(`link="${link}"`) && k.includes(`direction="${direction}"`)) return v
  }
  return 0
}

/** A peer's last snapshot of one bundle, with the snapshot's time. */
export async function bundleStatusOf (dataDir: string, bundleId: string): Promise<(BundleStatus & { atMs: number }) | undefined> {
  const s = await readStatusFile(dataDir).catch(() => undefined)
  const b = s?.bundles.find(x => x.id === bundleId)
  return s !== undefined && b !== undefined ? { ...b, atMs: Date.parse(s.updatedAt) } : undefined
}

/**
 * The installer's own record of a device (its state) and the bootloader's (the slot it
 * runs), with the version the record has for that slot; the factory image predates
 * storemesh, so the record has none for it.
 */
export async function installerStateOf (dataDir: string, factoryVersion: string): Promise<{ state: string, runs: string }> {
  const rec = await new StateStore(dataDir).load().catch(() => undefined)
  const boot = await createBackend((await loadInstallConfig(dataDir)).backend).status().catch(() => undefined)
  if (boot === undefined) return { state: rec?.state ?? 'idle', runs: 'unknown' }
  const version = rec?.slots[boot.booted]?.version ?? `${factoryVersion} (factory)`
  return { state: rec?.state ?? 'idle', runs: `${version} in slot ${boot.booted}` }
}

export type OutcomeKind = 'installed' | 'rolled-back' | 'refused' | 'deferred' | 'failed'

export interface InstallOutcomeLine {
  kind: OutcomeKind
  /** the deciding gate (`device.battery`, `target.match`, `health.check`), or what passed */
  gate: string
  line: string
  atMs: number
}

// Deferrals that only say "not yet": the round goes on until the device decides for real.
const WAITING_GATES = new Set(['hub.lease', 'bundle.complete', 'bundle.verified'])

/**
 * The device's decision for `version` from one of its `install: <line>` log lines
 * (src/roles/device-agent.ts logs every decision); undefined for a line that decides
 * nothing yet (waiting for the lease or the bundle, nothing to do).
 */
export function outcomeOfLine (l: LogLine, version: string): InstallOutcomeLine | undefined {
  if (!l.text.startsWith('install: ')) return undefined
  const line = l.text.slice('install: '.length)
  const at = typeof l.json?.at === 'string' ? Date.parse(l.json.at) : l.readMs
  const mentions = line.includes(` ${version} `) || line.endsWith(` ${version}`)
  if (line.startsWith('installed ') && mentions) return { kind: 'installed', gate: 'all gates pass; health.check healthy', line, atMs: at }
  if (line.startsWith('rolled back ') && mentions) {
    return { kind: 'rolled-back', gate: /health/i.test(line) ? 'health.check' : 'install', line, atMs: at }
  }
  if (line.startsWith('failed ') && mentions) return { kind: 'failed', gate: 'install', line, atMs: at }
  const m = /^(refused|deferred): (.*)$/.exec(line)
  if (m?.[1] === undefined || m[2] === undefined) return undefined
  // `deferred: device.battery battery 15 % < 40 %; hub.lease no install lease yet`
  const gates = m[2].split('; ').map(part => part.split(' ')[0] ?? '').filter(g => /^[a-z]+\.[a-z.]+$/.test(g))
  const deciding = gates.filter(g => !WAITING_GATES.has(g))
  if (m[1] === 'deferred' && deciding.length === 0) return undefined
  return { kind: m[1] === 'refused' ? 'refused' : 'deferred', gate: deciding[0] ?? gates[0] ?? 'unknown', line, atMs: at }
}
