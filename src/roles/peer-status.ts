/**
 * `<data>/status.json`: what a LAN peer (hub or device) last knew about its bundles,
 * written atomically when it changed (checked every few seconds) and once more at
 * stop, so `storemesh status` works for a running peer (whose store is locked) and for
 * a stopped one alike.
 */
import { join } from 'node:path'
import { z } from 'zod'
import { writeFileAtomic } from '../interface/atomic-file.js'
import { StoremeshError } from '../interface/errors.js'
import { parseStrictJson } from '../interface/strict-json.js'
import { readRegularFileIfExists } from '../interface/regular-file.js'
import type { RefusalStage } from '../net/address-bans.js'
import type { Link } from '../interface/types.js'
import type { HubRolloutView } from './hub-rollout.js'
import { MAX_STATUS_FILE_BYTES, STATUS_FILE, STATUS_SCHEMA } from './lan-constants.js'

export interface LinkBytesStatus { up: number, down: number }

export interface BundleStatus {
  id: string
  name: string
  version: string
  deviceClass: string
  /** the store's state: partial, complete, verified, evicted */
  state: string
  /** why the store keeps it from eviction: active, installing, last-known-good, manual, device (a hub: some device holds it) */
  pins?: string[]
  heldChunks: number
  totalChunks: number
  heldBytes: number
  totalBytes: number
  /** chunk payload bytes since this process joined the bundle's swarm */
  bytes: Record<Link, LinkBytesStatus>
  wastedBytes: number
  badChunks: number
  peers: number
  /** in a swarm in this process (else the figures come from the store alone) */
  joined: boolean
  superseed: boolean
  /** a super-seeding hub: chunks shown by the stall fallback, peers found hoarding (swarm/superseed.ts) */
  superseedFallbackReveals?: number
  hoarders?: number
  /** a downloading swarm: peers asked that never delivered a chunk and let a request wait (swarm/picker.ts) */
  suspectPeers?: number
  /** a downloading swarm: peers disconnected as hoarders (swarm/hoarders.ts) */
  droppedHoarders?: number
  /** a downloading swarm: copies asked of chunks already in flight, by the picker's rule (swarm/picker.ts `copies`) */
  copiesAsked?: { probe: number, endgame: number, reask: number }
}

/** The chunk store as a whole: its quota and whether downloads are paused for space. */
export interface StoreStatus {
  /** null: no quota */
  quotaBytes: number | null
  usedBytes: number
  chunkCount: number
  /** set while puts are refused (disk full or quota reached); downloads resume by themselves when space frees */
  paused: { reason: string, since: string, detail: string } | null
}

export interface BanStatus { peerId: string, reason: string, until: string }

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const linkBytes = z.object({ up: count, down: count })
const shortText = z.string().max(4096)

/**
 * What `storemesh status` reads before it prints: every member it uses, typed. Found
 * by fuzzing: a status.json with a bundle missing `bytes` passed the old check and
 * crashed the table with a TypeError. Members beyond these are kept (loose), so an
 * older CLI still reads a newer peer's file and the optional parts reach the table.
 */
const statusSchema = z.object({
  schema: z.literal(STATUS_SCHEMA),
  role: shortText,
  peerId: shortText,
  pid: count,
  running: z.boolean(),
  startedAt: shortText,
  updatedAt: shortText,
  addrs: z.array(z.string().max(1024)).max(1024),
  connections: count,
  bans: z.array(z.object({ peerId: shortText, reason: shortText, until: shortText })).max(100_000),
  bundles: z.array(z.object({
    id: shortText,
    name: shortText,
    version: shortText,
    deviceClass: shortText,
    state: shortText,
    heldChunks: count,
    totalChunks: count,
    heldBytes: count,
    totalBytes: count,
    bytes: z.object({ wan: linkBytes, lan: linkBytes }),
    wastedBytes: count,
    badChunks: count,
    peers: count,
    joined: z.boolean(),
    superseed: z.boolean(),
    superseedFallbackReveals: count.optional(),
    hoarders: count.optional(),
    droppedHoarders: count.optional()
  }).loose()).max(100_000)
// kept, not stripped: the roles' own members (rollout, store, trust) pass through to the table
}).loose()

export interface PeerStatus {
  schema: typeof STATUS_SCHEMA
  role: string
  peerId: string
  pid: number
  running: boolean
  startedAt: string
  updatedAt: string
  addrs: string[]
  connections: number
  bans: BanStatus[]
  /** connections of banned peers refused, by stage: before Noise by address, after it by peer id, our own dials (net/address-bans.ts) */
  banRefusals?: Record<RefusalStage, number>
  bundles: BundleStatus[]
  /** a store hub: the rollout values it applies and where each came from (docs/fleet-waves.md) */
  rollout?: HubRolloutView
  /** a store hub under a super hub: each wave its devices asked a lease for, and whether the store may install it (docs/fleet-waves.md "The store hub's wave gate") */
  waveGates?: WaveGateStatus[]
  store?: StoreStatus
  /** the root of trust in force and the newest freshness statement (protocols/root/SPEC.md 5-6) */
  trust?: TrustStatus
}

export interface WaveGateStatus {
  waveId: string
  /** pending (not heard from the super hub), held, open, local (no control plane runs it) */
  state: string
  detail: string
}

export interface TrustStatus {
  rootVersion: number
  /** fresh, stale (the statement expired: the store may be kept on old content), none */
  freshness: string
  timestampExpiresAt?: string
  /** why the stored statement was not taken */
  timestampError?: string
}

export function statusPath (dataDir: string): string {
  return join(dataDir, STATUS_FILE)
}

/** temp file + rename: a reader sees the old snapshot or the new one, never half of one */
export async function writeStatusFile (dataDir: string, status: PeerStatus): Promise<void> {
  // rewritten whenever the figures change: not fsynced, after a power loss an older snapshot is fine
  await writeFileAtomic(statusPath(dataDir), JSON.stringify(status, null, 2) + '\n', { durable: false })
}

/** The last snapshot, or undefined when the peer never wrote one. */
export async function readStatusFile (dataDir: string): Promise<PeerStatus | undefined> {
  const path = statusPath(dataDir)
  const bytes = await readRegularFileIfExists(path, { what: 'status file', maxBytes: MAX_STATUS_FILE_BYTES, codes: { tooLarge: 'E_CONFIG_INVALID' } })
  if (bytes === undefined) return undefined
  return parseStatusFile(bytes, path)
}

/** A status.json's bytes to a status snapshot; E_CONFIG_INVALID for anything else (strict JSON). */
export function parseStatusFile (bytes: Uint8Array, path = 'status.json'): PeerStatus {
  let parsed: Partial<PeerStatus> | null
  try {
    parsed = parseStrictJson(bytes, `${path}`, { code: 'E_CONFIG_INVALID', maxBytes: MAX_STATUS_FILE_BYTES }) as Partial<PeerStatus> | null
  } catch (err) {
    throw new StoremeshError('E_CONFIG_INVALID', `${path} is not JSON`, { file: path, reason: (err as StoremeshError).meta?.reason as string | undefined }, { cause: err })
  }
  if (parsed?.schema !== STATUS_SCHEMA || !Array.isArray(parsed.bundles)) {
    throw new StoremeshError('E_CONFIG_INVALID', `${path} is not a storemesh status file (schema ${STATUS_SCHEMA})`, { file: path })
  }
  const r = statusSchema.safeParse(parsed)
  if (!r.success) {
    const issue = r.error.issues[0]
    const field = issue?.path.map(String).join('.').slice(0, 64) ?? ''
    throw new StoremeshError('E_CONFIG_INVALID', `${path}: ${field}: ${issue?.message ?? 'invalid'}`, { file: path, field })
  }
  return r.data as PeerStatus
}
