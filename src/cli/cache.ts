/**
 * `storemesh cache list --limit 5`: the bundles in a hub's cache, through its API.
 * (DESIGN.md names it `storemesh hub cache list`; the `hub` group attaches this same
 * command with registerCacheCommands.) `cache pin|unpin --bundle` set and clear an
 * operator's pin; `cache evict [--bundle] [--dry-run]` evicts one bundle or what the
 * lifecycle rules evict now (README "Store lifecycle").
 */
import type { Command } from 'commander'
import { DEFAULT_CACHE_LIMIT, MAX_CACHE_LIMIT } from '../api/constants.js'
import type { CacheView } from '../api/types.js'
import { StoremeshError } from '../interface/errors.js'
import { ApiClient, apiOptions, type ApiClientOptions } from './api-client.js'
import type { Register } from './commands.js'
import { action, type CommandContext } from './context.js'
import { humanBytes, printJson, printTable } from './output.js'
import { printAction } from './wave.js'
import { isBundleId } from '../interface/ids.js'
import type { ActionResult, EvictionView } from '../api/types.js'

interface ListOpts extends ApiClientOptions { limit: string }
interface PinOpts extends ApiClientOptions { bundle: string }
interface EvictOpts extends ApiClientOptions { bundle?: string, dryRun?: boolean }

function bundleOption (raw: string | undefined): string | undefined {
  if (raw !== undefined && !isBundleId(raw)) throw new StoremeshError('E_USAGE', `--bundle must be a b3: bundle id, got ${String(raw).slice(0, 80)}`)
  return raw
}

function parseLimit (raw: string): number {
  const n = Number(raw)
  if (!/^\d+$/.test(raw) || n < 1 || n > MAX_CACHE_LIMIT) throw new StoremeshError('E_USAGE', `--limit must be an integer in [1, ${MAX_CACHE_LIMIT}]`)
  return n
}

/** Adds `cache list` under `parent` (the root program, or the `hub` group). */
export function registerCacheCommands (parent: Command, ctx: CommandContext): void {
  const cache = parent.command('cache').description("the hub's chunk cache, through its API")
  apiOptions(cache.command('list'))
    .description('bundles in the cache: state, pins, size')
    .option('--limit <n>', 'at most this many bundles', String(DEFAULT_CACHE_LIMIT))
    .action(action(ctx, async (opts: ListOpts) => {
      const limit = parseLimit(opts.limit)
      const client = await ApiClient.fromOptions(opts)
      const view = await client.get<CacheView>(`/api/cache?limit=${limit}`)
      if (opts.json) {
        printJson(view)
        return
      }
      printTable(['BUNDLE', 'NAME', 'VERSION', 'STATE', 'PINS', 'SIZE', 'LAST USED'], view.entries.map(e => [
        e.bundleId.length > 19 ? e.bundleId.slice(0, 19) + '…' : e.bundleId,
        e.name, e.version, e.state, e.pins.length > 0 ? e.pins.join(',') : '-', humanBytes(e.totalBytes),
        e.lastUsedMs !== undefined ? new Date(e.lastUsedMs).toISOString() : '-'
      ]))
      const quota = view.quotaBytes !== null ? ` of ${humanBytes(view.quotaBytes)}` : ''
      process.stdout.write(`${view.entries.length} of ${view.total} bundles; ${humanBytes(view.usedBytes)}${quota} used, ${view.chunkCount} chunks\n`)
      if (view.paused != null) process.stdout.write(`downloads PAUSED (${view.paused.reason}) since ${new Date(view.paused.sinceMs).toISOString()}: ${view.paused.detail}\n`)
    }))
  for (const verb of ['pin', 'unpin'] as const) {
    apiOptions(cache.command(verb))
      .description(verb === 'pin' ? 'keep a bundle from eviction (a manual pin)' : 'remove the manual pin of a bundle')
      .requiredOption('--bundle <id>', 'the bundle id (b3:...)')
      .action(action(ctx, async (opts: PinOpts) => {
        const bundle = bundleOption(opts.bundle) ?? ''
        const client = await ApiClient.fromOptions(opts)
        const r = await client.post<ActionResult>(`/api/cache/${verb}`, { bundle })
        printAction(r, opts.json, `${bundle} ${verb}ned`, `${bundle} was already ${verb}ned; nothing changed`)
      }))
  }
  apiOptions(cache.command('evict'))
    .description('evict one bundle (refused when pinned), or the superseded bundles the ledger says are done')
    .option('--bundle <id>', 'this bundle only (b3:...)')
    .option('--dry-run', 'say what would be evicted, change nothing', false)
    .action(action(ctx, async (opts: EvictOpts) => {
      const bundle = bundleOption(opts.bundle)
      const client = await ApiClient.fromOptions(opts)
      const r = await client.post<EvictionView>('/api/cache/evict', { ...(bundle !== undefined ? { bundle } : {}), dryRun: opts.dryRun === true })
      if (opts.json) {
        printJson(r)
        return
      }
      const verb = r.dryRun ? 'would evict' : 'evicted'
      for (const e of r.evicted) process.stdout.write(`${verb} ${e.name} ${e.version} ${e.bundleId}: ${e.chunks} chunks, ${humanBytes(e.bytes)}\n`)
      for (const k of r.kept) process.stdout.write(`kept ${k.name} ${k.version} ${k.bundleId}: pinned (${k.pins.join(', ')})\n`)
      if (r.evicted.length === 0 && r.kept.length === 0) process.stdout.write('nothing to evict\n')
    }))
}

export const register: Register = (program, ctx) => {
  registerCacheCommands(program, ctx)
}
