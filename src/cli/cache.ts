/**
 * `storemesh cache list --limit 5`: the bundles in a hub's cache, through its API.
 * (DESIGN.md names it `storemesh hub cache list`; the `hub` group attaches this same
 * command with registerCacheCommands.)
 */
import type { Command } from 'commander'
import { DEFAULT_CACHE_LIMIT, MAX_CACHE_LIMIT } from '../api/constants.js'
import type { CacheView } from '../api/types.js'
import { StoremeshError } from '../interface/errors.js'
import { ApiClient, apiOptions, type ApiClientOptions } from './api-client.js'
import type { Register } from './commands.js'
import { action, type CommandContext } from './context.js'
import { humanBytes, printJson, printTable } from './output.js'

interface ListOpts extends ApiClientOptions { limit: string }

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
    }))
}

export const register: Register = (program, ctx) => {
  registerCacheCommands(program, ctx)
}
