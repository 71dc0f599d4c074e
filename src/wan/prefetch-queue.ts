/**
 * The store hub's pre-staging queue, `<data>/prefetch.json`: bundles to pull over the
 * WAN, each with an optional window. Written atomically (temp, fsync, rename) under
 * a lock file, because `storemesh hub prefetch` adds entries while a running hub
 * marks them staged; each writer re-reads and merges, so neither loses the other's
 * change. Adding is idempotent (keyed by bundle id) and needs no network, so it is
 * accepted while the WAN is down; the running or next hub picks it up.
 */
import { open, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { sleep } from '../interface/abort.js'
import { StoremeshError } from '../interface/errors.js'
import { readRegularFileIfExists } from '../interface/regular-file.js'
import { BUNDLE_ID_RE } from '../interface/ids.js'
import { writeFileAtomic } from '../interface/atomic-file.js'
import { parseWindow } from '../time/index.js'
import { PREFETCH_FILE } from './pull/constants.js'

export interface PrefetchEntry {
  bundleId: string
  /** the signed policy that asked for it, when it came from one */
  policyId?: string
  /** pull only inside this window (store-local time), e.g. `00:30-03:30` */
  window?: string
  timezone?: string
  /**
   * not pulled before this instant: the signed policy's `prestageHours` before its
   * maintenance window (docs/fleet-waves.md); absent: at once
   */
  notBeforeMs?: number
  addedMs: number
  state: 'queued' | 'staged'
  stagedMs?: number
}

interface QueueFile { version: 1, entries: PrefetchEntry[] }

const MAX_QUEUE_FILE_BYTES = 1024 * 1024
const MAX_ENTRIES = 1024
const LOCK_STALE_MS = 30_000
const LOCK_WAIT_MS = 10_000

export function prefetchPath (dataDir: string): string {
  return join(dataDir, PREFETCH_FILE)
}

function parseQueue (text: string, path: string): PrefetchEntry[] {
  let x: unknown
  try {
    x = JSON.parse(text)
  } catch {
    throw new StoremeshError('E_CONFIG_INVALID', `${path} is not JSON`, { path })
  }
  const entries = (x as Partial<QueueFile> | null)?.entries
  if (!Array.isArray(entries) || entries.length > MAX_ENTRIES) throw new StoremeshError('E_CONFIG_INVALID', `${path} has no valid entries list`, { path })
  for (const e of entries as PrefetchEntry[]) {
    if (typeof e?.bundleId !== 'string' || !BUNDLE_ID_RE.test(e.bundleId) || (e.state !== 'queued' && e.state !== 'staged') ||
      (e.notBeforeMs !== undefined && !Number.isFinite(e.notBeforeMs))) {
      throw new StoremeshError('E_CONFIG_INVALID', `${path} holds an invalid entry`, { path })
    }
  }
  return entries as PrefetchEntry[]
}

export async function readPrefetchQueue (dataDir: string): Promise<PrefetchEntry[]> {
  const path = prefetchPath(dataDir)
  const bytes = await readRegularFileIfExists(path, { what: 'prefetch queue', maxBytes: MAX_QUEUE_FILE_BYTES, codes: { tooLarge: 'E_CONFIG_INVALID' } })
  if (bytes === undefined) return []
  return parseQueue(bytes.toString('utf8'), path)
}

async function withLock<T> (dataDir: string, fn: () => Promise<T>): Promise<T> {
  const lock = prefetchPath(dataDir) + '.lock'
  const deadline = Date.now() + LOCK_WAIT_MS
  for (;;) {
    try {
      const fh = await open(lock, 'wx')
      await fh.close()
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const age = await stat(lock).then(s => Date.now() - s.mtimeMs, () => 0)
      if (age > LOCK_STALE_MS) { await rm(lock, { force: true }); continue }
      if (Date.now() > deadline) throw new StoremeshError('E_TIMEOUT', `${lock} is held by another process`, { path: lock })
      await sleep(20)
    }
  }
  try {
    return await fn()
  } finally {
    await rm(lock, { force: true })
  }
}

/** Read, change, write back under the lock. */
export async function updatePrefetchQueue (dataDir: string, change: (entries: PrefetchEntry[]) => PrefetchEntry[]): Promise<PrefetchEntry[]> {
  return await withLock(dataDir, async () => {
    const next = change(await readPrefetchQueue(dataDir))
    const body: QueueFile = { version: 1, entries: next }
    await writeFileAtomic(prefetchPath(dataDir), JSON.stringify(body, null, 2) + '\n')
    return next
  })
}

export interface AddPrefetch {
  bundleId: string
  policyId?: string
  window?: string
  timezone?: string
  /** see PrefetchEntry.notBeforeMs; a repeat add replaces it (a newer policy's schedule) */
  notBeforeMs?: number
  nowMs?: number
}

/** The first queued entry due at nowMs, and when the next one not yet due becomes due. */
export function nextDue (entries: readonly PrefetchEntry[], nowMs: number): { due?: PrefetchEntry, wakeAtMs?: number } {
  let wakeAtMs: number | undefined
  for (const e of entries) {
    if (e.state !== 'queued') continue
    if (e.notBeforeMs === undefined || e.notBeforeMs <= nowMs) return { due: e }
    if (wakeAtMs === undefined || e.notBeforeMs < wakeAtMs) wakeAtMs = e.notBeforeMs
  }
  return wakeAtMs !== undefined ? { wakeAtMs } : {}
}

/** Queues a bundle; a second add of the same bundle only updates its window. Returns the entry and whether it was new. */
export async function addPrefetch (dataDir: string, add: AddPrefetch): Promise<{ entry: PrefetchEntry, added: boolean }> {
  if (!BUNDLE_ID_RE.test(add.bundleId)) throw new StoremeshError('E_INVALID_ARGUMENT', `not a bundle id: ${add.bundleId}`)
  if (add.window !== undefined) parseWindow(add.window)
  let result: { entry: PrefetchEntry, added: boolean } | undefined
  await updatePrefetchQueue(dataDir, entries => {
    const old = entries.find(e => e.bundleId === add.bundleId)
    if (old !== undefined) {
      if (add.window !== undefined) old.window = add.window
      if (add.timezone !== undefined) old.timezone = add.timezone
      if (add.policyId !== undefined) old.policyId = add.policyId
      if (add.notBeforeMs !== undefined) old.notBeforeMs = add.notBeforeMs
      result = { entry: old, added: false }
      return entries
    }
    if (entries.length >= MAX_ENTRIES) throw new StoremeshError('E_INVALID_ARGUMENT', `the prefetch queue is full (${MAX_ENTRIES} entries)`)
    const entry: PrefetchEntry = {
      bundleId: add.bundleId,
      ...(add.policyId !== undefined ? { policyId: add.policyId } : {}),
      ...(add.window !== undefined ? { window: add.window } : {}),
      ...(add.timezone !== undefined ? { timezone: add.timezone } : {}),
      ...(add.notBeforeMs !== undefined ? { notBeforeMs: add.notBeforeMs } : {}),
      addedMs: add.nowMs ?? Date.now(),
      state: 'queued'
    }
    result = { entry, added: true }
    return [...entries, entry]
  })
  return result as { entry: PrefetchEntry, added: boolean }
}

export async function markPrefetchStaged (dataDir: string, bundleId: string, nowMs = Date.now()): Promise<void> {
  await updatePrefetchQueue(dataDir, entries => entries.map(e => e.bundleId === bundleId ? { ...e, state: 'staged', stagedMs: nowMs } : e))
}
