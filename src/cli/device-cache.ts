/**
 * `storemesh device cache list|gc --data <dir>`: the device's chunk store.
 *
 *   list   bundles with state, pins and size; while the agent runs (it holds the store)
 *          the list comes from its status.json instead
 *   gc     evicts the versions older than the last-known-good, as the agent does after
 *          every commit (README "Store lifecycle"); needs the agent stopped
 */
import type { Command } from 'commander'
import { join } from 'node:path'
import { isStoremeshError, StoremeshError } from '../interface/errors.js'
import { DEVICE_STORE_DIR } from '../roles/device-install-config.js'
import { readStatusFile } from '../roles/peer-status.js'
import { cleanupDevice } from '../roles/store-lifecycle.js'
import { openStore, type ChunkStore } from '../store/index.js'
import { action, type CommandContext } from './context.js'
import { humanBytes, printJson, printTable } from './output.js'

interface CacheOpts { data: string, json: boolean, dryRun?: boolean }

interface Row { id: string, name: string, version: string, deviceClass: string, state: string, pins: string[], totalBytes: number }

async function withStore<T> (dataDir: string, fn: (store: ChunkStore) => Promise<T>): Promise<T> {
  const store = await openStore({ dataDir: join(dataDir, DEVICE_STORE_DIR) })
  try {
    return await fn(store)
  } finally {
    await store.stop()
  }
}

function printRows (rows: Row[], source: string): void {
  printTable(['BUNDLE', 'NAME', 'VERSION', 'CLASS', 'STATE', 'PINS', 'SIZE'], rows.map(r => [
    r.id.length > 19 ? r.id.slice(0, 19) + '…' : r.id, r.name, r.version, r.deviceClass, r.state,
    r.pins.length > 0 ? r.pins.join(',') : '-', humanBytes(r.totalBytes)
  ]))
  process.stdout.write(`${rows.length} bundles (${source})\n`)
}

async function list (opts: CacheOpts): Promise<void> {
  let rows: Row[]
  let source = 'store'
  let usage: { usedBytes: number, quotaBytes: number | null, paused: unknown } | undefined
  try {
    rows = await withStore(opts.data, async store => {
      const st = store.stats()
      usage = { usedBytes: st.usedBytes, quotaBytes: st.quotaBytes ?? null, paused: null }
      return store.listBundles().map(r => ({ id: r.id, name: r.name, version: r.version, deviceClass: r.deviceClass, state: r.state, pins: [...r.pins], totalBytes: r.totalBytes }))
    })
  } catch (err) {
    if (!isStoremeshError(err, 'E_DATA_DIR_IN_USE')) throw err
    // the agent holds the store: its last snapshot says the same, a few seconds old at most
    const status = await readStatusFile(opts.data)
    if (status === undefined) throw err
    source = `status.json of the running agent, ${status.updatedAt}`
    rows = status.bundles.map(b => ({ id: b.id, name: b.name, version: b.version, deviceClass: b.deviceClass, state: b.state, pins: b.pins ?? [], totalBytes: b.totalBytes }))
    if (status.store !== undefined) usage = { usedBytes: status.store.usedBytes, quotaBytes: status.store.quotaBytes, paused: status.store.paused }
  }
  if (opts.json) {
    printJson({ source, bundles: rows, ...(usage !== undefined ? usage : {}) })
    return
  }
  printRows(rows, source)
  if (usage !== undefined) {
    process.stdout.write(`${humanBytes(usage.usedBytes)} used${usage.quotaBytes !== null ? ` of ${humanBytes(usage.quotaBytes)}` : ''}\n`)
  }
}

async function gc (opts: CacheOpts): Promise<void> {
  const run = await withStore(opts.data, async store => await cleanupDevice(store, { dryRun: opts.dryRun === true })).catch((err: unknown) => {
    if (isStoremeshError(err, 'E_DATA_DIR_IN_USE')) {
      throw new StoremeshError('E_DATA_DIR_IN_USE', `the store under ${opts.data} is held by another storemesh process (a running device agent cleans up by itself after every commit); stop it to run gc by hand`, { dataDir: opts.data })
    }
    throw err
  })
  if (opts.json) {
    printJson({
      dryRun: run.dryRun,
      evicted: run.evicted.map(e => ({ bundleId: e.bundle.id, name: e.bundle.name, version: e.bundle.version, chunks: e.chunks, bytes: e.bytes })),
      kept: run.kept
    })
    return
  }
  const verb = run.dryRun ? 'would evict' : 'evicted'
  for (const e of run.evicted) process.stdout.write(`${verb} ${e.bundle.name} ${e.bundle.version} ${e.bundle.id}: ${e.chunks} chunks, ${humanBytes(e.bytes)}\n`)
  for (const k of run.kept) process.stdout.write(`kept ${k.name} ${k.version} ${k.id}: pinned (${k.pins.join(', ')})\n`)
  if (run.evicted.length === 0 && run.kept.length === 0) process.stdout.write('nothing older than the last-known-good\n')
}

/** Adds `cache list|gc` under the `device` group. */
export function registerDeviceCache (device: Command, ctx: CommandContext): void {
  const cache = device.command('cache').description("the device's chunk store: list bundles, clean up old versions")
  cache.command('list')
    .description('bundles in the store: state, pins (active, installing, last-known-good), size')
    .requiredOption('--data <dir>', 'device data directory')
    .option('--json', 'machine-readable output', false)
    .action(action(ctx, async (opts: CacheOpts) => { await list(opts) }))
  cache.command('gc')
    .description('evict versions older than the last-known-good (the agent does this after every commit)')
    .requiredOption('--data <dir>', 'device data directory')
    .option('--dry-run', 'say what would be evicted, change nothing', false)
    .option('--json', 'machine-readable output', false)
    .action(action(ctx, async (opts: CacheOpts) => { await gc(opts) }))
}
