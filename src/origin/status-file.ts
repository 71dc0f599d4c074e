/**
 * `<data>/origin.json`: the pull-through's counters, rewritten every second for
 * readers outside the process (`storemesh demo`, the benchmark, an operator's cat).
 * Not fsynced: the next tick rewrites it.
 */
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../interface/atomic-file.js'
import { StoremeshError } from '../interface/errors.js'
import type { OriginStats } from './pull-through.js'

export const ORIGIN_STATUS_FILE = 'origin.json'
export const DEFAULT_ORIGIN_STATUS_INTERVAL_MS = 1000
const MAX_ORIGIN_STATUS_BYTES = 64 * 1024

export interface OriginStatus extends OriginStats {
  updatedAt: string
  origin: string
  /** every body byte read from the origin (chunks, manifests, indexes; good or refused) */
  originBytes: number
  cacheUsedBytes: number
  cacheQuotaBytes: number | undefined
}

export async function writeOriginStatus (dataDir: string, status: OriginStatus): Promise<void> {
  await writeFileAtomic(join(dataDir, ORIGIN_STATUS_FILE), JSON.stringify(status, null, 2) + '\n', { durable: false })
}

/** The last counters a super hub wrote; undefined before its first write. */
export async function readOriginStatus (dataDir: string): Promise<OriginStatus | undefined> {
  const path = join(dataDir, ORIGIN_STATUS_FILE)
  const size = await stat(path).then(s => s.size, () => undefined)
  if (size === undefined) return undefined
  if (size > MAX_ORIGIN_STATUS_BYTES) throw new StoremeshError('E_CONFIG_INVALID', `${path} is larger than ${MAX_ORIGIN_STATUS_BYTES} bytes`, { file: path })
  try {
    const x = JSON.parse(await readFile(path, 'utf8')) as Partial<OriginStatus>
    if (typeof x.originBytes !== 'number' || typeof x.chunkBytesFetched !== 'number') throw new Error('no counters')
    return x as OriginStatus
  } catch (err) {
    throw new StoremeshError('E_CONFIG_INVALID', `${path} is not an origin status file`, { file: path }, { cause: err })
  }
}
