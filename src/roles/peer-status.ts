/**
 * `<data>/status.json`: what a LAN peer (hub or device) last knew about its bundles,
 * written atomically when it changed (checked every few seconds) and once more at
 * stop, so `storemesh status` works for a running peer (whose store is locked) and for
 * a stopped one alike.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../interface/atomic-file.js'
import { StoremeshError } from '../interface/errors.js'
import type { Link } from '../interface/types.js'
import { MAX_STATUS_FILE_BYTES, STATUS_FILE, STATUS_SCHEMA } from './lan-constants.js'

export interface LinkBytesStatus { up: number, down: number }

export interface BundleStatus {
  id: string
  name: string
  version: string
  deviceClass: string
  /** the store's state: partial, complete, verified, evicted */
  state: string
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
}

export interface BanStatus { peerId: string, reason: string, until: string }

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
  bundles: BundleStatus[]
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
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  if (bytes.length > MAX_STATUS_FILE_BYTES) {
    throw new StoremeshError('E_CONFIG_INVALID', `${path} is larger than ${MAX_STATUS_FILE_BYTES} bytes`, { file: path })
  }
  let parsed: Partial<PeerStatus>
  try {
    parsed = JSON.parse(bytes.toString('utf8')) as Partial<PeerStatus>
  } catch (err) {
    throw new StoremeshError('E_CONFIG_INVALID', `${path} is not JSON`, { file: path }, { cause: err })
  }
  if (parsed?.schema !== STATUS_SCHEMA || !Array.isArray(parsed.bundles)) {
    throw new StoremeshError('E_CONFIG_INVALID', `${path} is not a storemesh status file (schema ${STATUS_SCHEMA})`, { file: path })
  }
  return parsed as PeerStatus
}
