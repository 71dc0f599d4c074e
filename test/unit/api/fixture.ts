/**
 * Fake-but-consistent operator sources: fixed have-sets as boolean matrices (the ground
 * truth), served to the metrics and the API as wire-order bitfields.
 */
import type { BundleAvailability, MetricsSources } from '../../../src/metrics/index.js'

export interface MatrixBundle {
  bundleId: string
  name: string
  version: string
  /** this node's have-set */
  local: boolean[]
  /** peer id -> have-set */
  peers: Record<string, boolean[]>
}

export function toBits (held: boolean[]): Uint8Array {
  const out = new Uint8Array(Math.ceil(held.length / 8))
  held.forEach((h, i) => { if (h) out[i >> 3]! |= 0x80 >> (i & 7) })
  return out
}

/** A small deterministic generator so the matrices are irregular but fixed. */
function lcg (seed: number): () => number {
  let s = seed >>> 0
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32 }
}

function matrix (seed: number, chunks: number, peerIds: string[], pHeld: number, localHeld: boolean[] | 'all'): { local: boolean[], peers: Record<string, boolean[]> } {
  const r = lcg(seed)
  const peers: Record<string, boolean[]> = {}
  for (const id of peerIds) peers[id] = Array.from({ length: chunks }, () => r() < pHeld)
  return { local: localHeld === 'all' ? Array(chunks).fill(true) as boolean[] : localHeld, peers }
}

export const PEERS = ['12D3KooWpos17', '12D3KooWpos18', '12D3KooWscan03', '12D3KooWkiosk1']

export function fixtureBundles (): MatrixBundle[] {
  const a = matrix(7, 20, PEERS, 0.6, 'all')
  // one peer has everything of bundle A: devicesComplete 1
  a.peers[PEERS[3]!] = Array(20).fill(true) as boolean[]
  const bLocal = Array.from({ length: 11 }, (_, i) => i % 3 !== 0)
  const b = matrix(11, 11, PEERS.slice(0, 3), 0.5, bLocal)
  return [
    { bundleId: 'b3:' + 'a'.repeat(64), name: 'pos-os', version: '3.8.2', ...a },
    { bundleId: 'b3:' + 'b'.repeat(64), name: 'scanner-fw', version: '1.2.0', ...b }
  ]
}

export function availabilityOfMatrix (bundles: MatrixBundle[]): BundleAvailability[] {
  return bundles.map(b => ({
    bundleId: b.bundleId,
    name: b.name,
    version: b.version,
    pieceCount: b.local.length,
    local: toBits(b.local),
    peers: Object.entries(b.peers).map(([peerId, held]) => ({ peerId, label: peerId.slice(8), bitfield: toBits(held) }))
  }))
}

/** Ground truth the naive way: count holders of every chunk over the boolean matrix. */
export function groundTruth (b: MatrixBundle): { held: number, missing: number, minCopies: number, distributed: number, rarestPeersOnly: number, complete: number, copies: number[] } {
  const n = b.local.length
  const rows = [b.local, ...Object.values(b.peers)]
  const copies = Array.from({ length: n }, (_, i) => rows.filter(r => r[i] === true).length)
  const min = Math.min(...copies)
  const above = copies.filter(c => c > min).length
  const peerCopies = Array.from({ length: n }, (_, i) => Object.values(b.peers).filter(r => r[i] === true).length)
  const held = b.local.filter(Boolean).length
  return {
    held,
    missing: n - held,
    minCopies: min,
    distributed: min + above / n,
    rarestPeersOnly: Math.min(...peerCopies),
    complete: Object.values(b.peers).filter(r => r.every(Boolean)).length,
    copies
  }
}

export const FIXTURE_WAVES = [
  { waveId: '141', states: { updated: 40, 'rolled-back': 0, failed: 0, pending: 0, blocked: 0 }, halted: false, paused: false },
  { waveId: '142', states: { updated: 3, 'rolled-back': 1, failed: 0, pending: 5, blocked: 2 }, halted: false, paused: true }
]

/** Every metrics source, fed from the matrices and fixed figures. */
export function fixtureSources (bundles: MatrixBundle[] = fixtureBundles()): MetricsSources {
  return {
    availability: { bundles: async () => availabilityOfMatrix(bundles) },
    store: { stats: () => ({ usedBytes: 123456, quotaBytes: 1 << 30, chunkCount: 31, evictedChunks: 2, evictedBytes: 4096, bundles: 2 }) },
    traffic: { bytes: () => ({ lan: { up: 5000, down: 7000 }, wan: { up: 0, down: 90000 } }) },
    wan: { limitBytesPerSec: () => 1_048_576, achievedBytesPerSec: () => 524_288 },
    security: { verifyFailuresTotal: () => 3, peerBansTotal: () => 1, peersBanned: () => 1 },
    gates: { gateFailuresTotal: () => ({ 'device.battery': 4, 'schedule.window': 9 }) },
    waves: { waves: () => FIXTURE_WAVES },
    leases: { inUse: () => 2, limit: () => 5 }
  }
}

/** Parses Prometheus text into `name{k="v",...}` -> value. */
export function parseProm (text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line)
    if (m === null) throw new Error(`unparsable metrics line: ${line}`)
    const labels = m[2] === undefined
      ? ''
      : [...m[2].slice(1, -1).matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map(x => `${x[1]}="${x[2]}"`).sort().join(',')
    const v = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3])
    out.set(labels === '' ? m[1]! : `${m[1]}{${labels}}`, v)
  }
  return out
}

// ---- API sources and handlers over the same fixture ----

import type { ApiHandlers, ApiSources, LedgerView } from '../../../src/api/index.js'

export const FIXTURE_LEDGER: LedgerView = {
  waves: FIXTURE_WAVES.map(w => ({
    waveId: w.waveId,
    counts: {
      updated: w.states.updated, rolledBack: w.states['rolled-back'], failed: w.states.failed, pending: w.states.pending, blocked: w.states.blocked,
      total: Object.values(w.states).reduce((s, n) => s + n, 0)
    },
    rollbackRatio: w.states.updated + w.states['rolled-back'] > 0 ? w.states['rolled-back'] / (w.states.updated + w.states['rolled-back']) : null,
    halted: w.halted,
    paused: w.paused,
    ...(w.paused ? { order: { action: 'pause', reason: 'scanner firmware issue', issuedAtMs: 1 } } : {})
  }))
}

export interface FakeCalls { calls: Array<{ what: string, id?: string, body: unknown }> }

export function fixtureApi (bundles: MatrixBundle[] = fixtureBundles()): { sources: ApiSources, handlers: ApiHandlers } & FakeCalls {
  const calls: FakeCalls['calls'] = []
  const rolledBack = new Set<string>()
  const paused = new Set<string>()
  const entries = bundles.map((b, i) => ({
    bundleId: b.bundleId, name: b.name, version: b.version, state: b.local.every(Boolean) ? 'verified' : 'partial',
    pins: i === 0 ? ['active'] : [], totalBytes: (i + 1) * 1_000_000, lastUsedMs: 1_700_000_000_000 - i
  }))
  return {
    calls,
    sources: {
      status: () => ({ role: 'hub', id: 'store-0042', version: '0.1.0' }),
      bundles: () => bundles.map((b, i) => ({
        id: b.bundleId, name: b.name, version: b.version, state: entries[i]!.state, pins: entries[i]!.pins,
        pieceCount: b.local.length, heldChunks: b.local.filter(Boolean).length, totalBytes: entries[i]!.totalBytes
      })),
      cache: (limit: number) => ({ usedBytes: 3_000_000, quotaBytes: 1 << 30, chunkCount: 31, entries: entries.slice(0, limit), total: entries.length }),
      peers: () => PEERS.map(p => ({ peerId: p, link: 'lan' as const, bundles: 2 })),
      ledger: () => FIXTURE_LEDGER,
      availability: { bundles: async () => availabilityOfMatrix(bundles) }
    },
    handlers: {
      startWave: async (id, body) => { calls.push({ what: 'start', id, body }); const changed = paused.has(id) || !calls.slice(0, -1).some(c => c.what === 'start' && c.id === id); paused.delete(id); return { changed, wave: id } },
      pauseWave: async (id, body) => { calls.push({ what: 'pause', id, body }); const changed = !paused.has(id); paused.add(id); return { changed, wave: id } },
      rollbackDevice: async (id, body) => { calls.push({ what: 'rollback', id, body }); const changed = !rolledBack.has(id); rolledBack.add(id); return { changed, device: id } },
      prefetch: async (body) => { calls.push({ what: 'prefetch', body }); return { changed: true } }
    }
  }
}
