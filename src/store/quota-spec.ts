/**
 * The store quota as operators write it (`--store-quota`): a size (`20GiB`, `500MB`,
 * `1048576`) or a share of the filesystem the store lives on (`80%`, read with statfs
 * at start). A quota that cannot hold one bundle is refused at start: the store could
 * never complete it, and would only churn.
 *
 * Units: `B`, `kB` `MB` `GB` `TB` (powers of 1000), `KiB` `MiB` `GiB` `TiB` (powers of
 * 1024); a bare integer is bytes. Percentages are of the filesystem's size, not of its
 * free space, so the quota does not shrink as other files grow (a disk that fills
 * anyway pauses downloads with E_DISK_FULL, see StoreCore.paused()).
 */
import { statfs } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { StoremeshError } from '../interface/errors.js'

/**
 * The default quota: most of the disk, with a fifth left to the system, its logs and
 * the installer's slot files.
 */
export const DEFAULT_STORE_QUOTA = '80%'
/** Longest quota string accepted (a longer one is not a size). */
export const MAX_QUOTA_SPEC_CHARS = 32

export type QuotaSpec = { kind: 'bytes', bytes: number } | { kind: 'percent', percent: number }

const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)(b?)$/i
const PERCENT_RE = /^(\d+(?:\.\d+)?)\s*%$/
const POWER: Readonly<Record<string, number>> = { '': 0, k: 1, m: 2, g: 3, t: 4 }

function invalid (input: string, why: string): StoremeshError {
  return new StoremeshError('E_INVALID_ARGUMENT', `invalid store quota "${input.slice(0, MAX_QUOTA_SPEC_CHARS)}": ${why}`, { quota: input.slice(0, MAX_QUOTA_SPEC_CHARS) })
}

export function parseQuotaSpec (input: string): QuotaSpec {
  if (typeof input !== 'string' || input.length > MAX_QUOTA_SPEC_CHARS) throw invalid(String(input), `expected at most ${MAX_QUOTA_SPEC_CHARS} characters`)
  const text = input.trim()
  const pct = PERCENT_RE.exec(text)
  if (pct !== null) {
    const percent = Number(pct[1])
    if (!(percent > 0 && percent <= 100)) throw invalid(input, 'a percentage must be above 0 and at most 100')
    return { kind: 'percent', percent }
  }
  const m = SIZE_RE.exec(text)
  if (m === null) throw invalid(input, 'expected a size such as 20GiB, 500MB or 1048576, or a share of the disk such as 80%')
  const [, num = '', prefix = '', binary = '', byteUnit = ''] = m
  if (prefix === '' && binary !== '') throw invalid(input, 'a binary unit needs a prefix (KiB, MiB, GiB)')
  if (prefix !== '' && byteUnit === '') throw invalid(input, `write the unit with B, e.g. ${num}${prefix.toUpperCase()}iB`)
  if (byteUnit !== '' && byteUnit !== 'B') throw invalid(input, '"b" would be bits; write B for bytes')
  const bytes = Math.floor(Number(num) * (binary !== '' ? 1024 : 1000) ** (POWER[prefix.toLowerCase()] ?? 0))
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw invalid(input, 'must be a positive number of bytes')
  return { kind: 'bytes', bytes }
}

/** Size in bytes of the filesystem holding `path` (or its nearest existing parent). */
export async function filesystemBytes (path: string): Promise<number> {
  let dir = resolve(path)
  for (;;) {
    try {
      const s = await statfs(dir)
      return s.blocks * s.bsize
    } catch (err) {
      const parent = dirname(dir)
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === dir) throw err
      dir = parent
    }
  }
}

/** The quota in bytes for a store under `dataDir`. */
export async function resolveQuotaBytes (spec: QuotaSpec, dataDir: string): Promise<number> {
  if (spec.kind === 'bytes') return spec.bytes
  return Math.floor(await filesystemBytes(dataDir) * spec.percent / 100)
}

export function formatBytes (n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++ }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`
}

export interface SizedBundle {
  id: string
  name: string
  version: string
  /** distinct chunk bytes: what the bundle takes in the store */
  bytes: number
}

/** Distinct chunk bytes of a piece list (a chunk listed twice is stored once). */
export function distinctBytes (pieces: Iterable<{ hash: string, size: number }>): number {
  const sizes = new Map<string, number>()
  for (const p of pieces) sizes.set(p.hash, p.size)
  let n = 0
  for (const size of sizes.values()) n += size
  return n
}

/** E_QUOTA_TOO_SMALL, naming both sizes, when the largest bundle does not fit in the quota. */
export function assertQuotaHolds (quotaBytes: number, bundles: Iterable<SizedBundle>): void {
  let largest: SizedBundle | undefined
  for (const b of bundles) if (largest === undefined || b.bytes > largest.bytes) largest = b
  if (largest === undefined || largest.bytes <= quotaBytes) return
  throw new StoremeshError('E_QUOTA_TOO_SMALL',
    `store quota ${formatBytes(quotaBytes)} (${quotaBytes} bytes) is smaller than bundle ${largest.name} ${largest.version} ` +
    `(${formatBytes(largest.bytes)}, ${largest.bytes} bytes); give --store-quota at least ${largest.bytes} bytes`,
    { quotaBytes, bundleBytes: largest.bytes, bundle: largest.id })
}
