/**
 * `storemesh hub ...`: the store hub's commands.
 *
 *   hub run (default)   `storemesh hub --data <dir> --swarm-key <file> --trust <key>... [--bundle <dir>...]
 *                       [--super <multiaddr>... --wan-window 00:30-03:30 --wan-rate 40Mbit [--wan-timezone <zone>]]
 *                       [--policy <signed policy>...] [--max-concurrent-installs <n>]
 *                       [--api-port 7480] [--api-host <host>]`: seeds bundles on the store LAN, answers
 *                       manifests, grants install leases, pulls queued bundles from super hubs inside
 *                       the window, keeps the wave ledger and serves the API and /metrics until SIGINT/SIGTERM
 *   hub prefetch        queue a bundle for WAN pre-staging (hub-prefetch.ts)
 *   hub cache list      the hub's cache, through its API (cache.ts)
 *
 * `run` is the DEFAULT subcommand (as `device run`): the group takes no options, so
 * `storemesh hub --data ...` hands every option to `run`.
 */
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { Registry } from 'prom-client'
import type { Command } from 'commander'
import { DEFAULT_API_PORT } from '../api/constants.js'
import { StoremeshError } from '../interface/errors.js'
import type { Log } from '../interface/log.js'
import { HubOperator } from '../roles/hub-operator.js'
import { StoreHub, WanHook } from '../roles/store-hub.js'
import { hostTimezone, parseRate } from '../wan/index.js'
import { registerCacheCommands } from './cache.js'
import type { Register } from './commands.js'
import { action, type CommandContext } from './context.js'
import { registerPrefetch } from './hub-prefetch.js'
import { readPolicyFiles } from './policy-file.js'
import { addLanOptions, applyHeapGrowth, peerInitOf, printReady, type LanOpts } from './lan-options.js'
import { runUntilSignal } from './lifecycle.js'
import { loggerOf } from './log-options.js'

interface HubOpts extends LanOpts {
  bundle?: string[]
  maxConcurrentInstalls?: string
  policy?: string[]
  super?: string[]
  wanWindow?: string
  wanRate?: string
  wanTimezone?: string
  apiPort?: string
  apiHost?: string
  apiHostName?: string[]
  api: boolean
  hubId?: string
}

function intOption (raw: string | undefined, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (!/^\d+$/.test(raw) || n < min || n > max) throw new StoremeshError('E_USAGE', `${flag} must be an integer in [${min}, ${max}], got ${raw.slice(0, 40)}`)
  return n
}

function wanHookOf (opts: HubOpts, log: Log): WanHook | undefined {
  const supers = opts.super ?? []
  if (supers.length === 0) {
    if (opts.wanWindow !== undefined || opts.wanRate !== undefined || opts.wanTimezone !== undefined) {
      throw new StoremeshError('E_USAGE', '--wan-window, --wan-rate and --wan-timezone need at least one --super <multiaddr>')
    }
    return undefined
  }
  for (const s of supers) {
    if (!s.includes('/p2p/')) throw new StoremeshError('E_USAGE', `--super must be a full multiaddr ending in /p2p/<peer id>, got ${s.slice(0, 120)}`)
  }
  return new WanHook({
    supers,
    ...(opts.wanRate !== undefined ? { rateBytesPerSec: parseRate(opts.wanRate) } : {}),
    ...(opts.wanWindow !== undefined ? { window: opts.wanWindow, timezone: opts.wanTimezone ?? hostTimezone() } : {}),
    log
  })
}

function registerRun (hub: Command, ctx: CommandContext): void {
  const cmd = hub.command('run', { isDefault: true })
    .description('run the store hub: seed bundles on the store LAN, pull from super hubs, keep the wave ledger, serve the API')
  addLanOptions(cmd)
    .option('--bundle <dir...>', 'bundle folders (`bundle build` output) to import and seed')
    .option('--policy <file...>', 'signed rollout policies: their maxConcurrentPerHub sets the lease limit (kept in <data>/rollout-policies; docs/fleet-waves.md)')
    .option('--max-concurrent-installs <n>', 'install leases granted at once: tightens the signed policy\'s maxConcurrentPerHub, never loosens it (a larger figure is refused)')
    .option('--super <multiaddr...>', 'super hubs to pull queued bundles from (full multiaddrs with /p2p/<id>); the first also receives the wave ledger')
    .option('--wan-window <window>', 'pull only inside this window, e.g. 00:30-03:30 or "Mon-Fri 00:30-03:30; Sat,Sun 00:00-06:00" (README "Time windows"; default: always)')
    .option('--wan-rate <rate>', 'WAN download limit inside the window, e.g. 40Mbit or 5MiB/s (default unlimited)')
    .option('--wan-timezone <zone>', 'IANA zone of --wan-window (default: the host\'s)')
    .option('--hub-id <name>', 'this hub\'s name at its super hub (default: its peer id)')
    .option('--api-port <port>', `HTTP API and /metrics port (default ${DEFAULT_API_PORT}; 0 picks a free one)`)
    .option('--api-host <host>', 'listen for the API on this address instead of 127.0.0.1 (writes still need the token)')
    .option('--api-host-name <name...>', 'names browsers and clients reach the API by (Host header), besides its address, localhost, 127.0.0.1 and [::1]')
    .option('--no-api', 'run without the HTTP API')
    .action(action(ctx, async (opts: HubOpts) => {
      const logger = await loggerOf(opts, 'hub')
      applyHeapGrowth(opts)
      const log = logger.child({ component: 'hub' })
      const max = intOption(opts.maxConcurrentInstalls, '--max-concurrent-installs', 0)
      const apiPort = intOption(opts.apiPort, '--api-port', 0, 65535)
      const wan = wanHookOf(opts, logger.child({ component: 'wan' }))
      const policies = await readPolicyFiles(opts.policy)
      const peerInit = await peerInitOf(opts, logger)
      // libp2p's metrics beside ours on one registry: it must exist before the node.
      // One node per process, and the global registry is left alone (STACK-NOTES).
      const registry = new Registry()
      const hub = await StoreHub.start({
        ...peerInit,
        metrics: prometheusMetrics({ registry, preserveExistingMetrics: true, collectDefaultMetrics: false }),
        bundleDirs: opts.bundle ?? [],
        ...(max !== undefined ? { maxConcurrentInstalls: max } : {}),
        rolloutPolicies: policies,
        ...(wan !== undefined ? { wan } : {})
      })
      let operator: HubOperator
      try {
        operator = await HubOperator.start({
          hub,
          dataDir: opts.data,
          trust: hub.peer.root.trust('policy'),
          registry,
          ...(opts.hubId !== undefined ? { hubId: opts.hubId } : {}),
          ...(opts.super !== undefined && opts.super.length > 0 ? { superHub: opts.super } : {}),
          ...(wan !== undefined ? { wan: () => wan.engine } : {}),
          // the default port may be taken (another hub on this host): the hub runs on without the API then
          ...(opts.api
            ? { api: { ...(apiPort !== undefined ? { port: apiPort } : {}), ...(opts.apiHost !== undefined ? { host: opts.apiHost } : {}), ...(opts.apiHostName !== undefined ? { hostNames: opts.apiHostName } : {}), optional: apiPort === undefined } }
            : {}),
          log: logger
        })
      } catch (err) {
        await hub.stop().catch(() => {})
        throw err
      }
      if (operator.api !== undefined) {
        const url = operator.api.url
        if (opts.json) process.stdout.write(JSON.stringify({ event: 'api', url }) + '\n')
        logger.child({ component: 'api' }).info(`API on ${url} (token in ${opts.data}/api-token)`)
      }
      printReady(opts.json, 'hub', hub.peer.node.peerId.toString(), hub.peer.node.getMultiaddrs().map(String))
      await runUntilSignal(async () => {
        await operator.stop()
        await hub.stop()
      })
      log.info('hub stopped')
    }))
}

export const register: Register = (program, ctx) => {
  const hub = program.command('hub')
    .description('the store hub: run it (default), queue WAN pre-staging, inspect its cache')
  registerRun(hub, ctx)
  registerPrefetch(hub, ctx)
  registerCacheCommands(hub, ctx)
}
