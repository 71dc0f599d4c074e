/**
 * `storemesh super-hub`: run a super hub (src/roles/super-hub.ts) until SIGINT/SIGTERM.
 * Imports every bundle folder under --bundles and/or pulls through from --origin
 * (src/origin/, protocols/origin/SPEC.md), then seeds store hubs over
 * `/storemesh/wan-pull/1.0.0` under --wan-rate (or a --schedule file), --per-hub-rate
 * and --critical priorities.
 */
import { readTrustedKeyFiles } from '../bundle/keys.js'
import { StoremeshError } from '../interface/errors.js'
import { readSwarmKeyFile } from '../net/swarm-key.js'
import { startSuperHub } from '../roles/super-hub.js'
import { RECLAIM_SLACK_BYTES, startBufferReclaim } from '../roles/buffer-reclaim.js'
import { checkDbUrl } from '../control/db/open.js'
import { DEFAULT_CHUNK_BYTES_IN_FLIGHT, formatRate, MAX_TIMER_DELAY_MS, parseRate, readScheduleFile } from '../wan/index.js'
import { DEFAULT_SERVE_STALL_MS } from '../wan/pull/index.js'
import type { Register } from './commands.js'
import { action } from './context.js'
import { readPolicyFiles } from './policy-file.js'
import { runUntilSignal } from './lifecycle.js'
import { identityOptionsOf } from './lan-options.js'
import { addLogOptions, loggerOf } from './log-options.js'
import { parseByteSize } from './bundle.js'
import { assertCacheQuota, DEFAULT_ORIGIN_CACHE_QUOTA_BYTES } from '../origin/index.js'
import { humanBytes } from './output.js'
import { DEFAULT_FLEET_API_PORT } from '../control/api/fleet-api.js'

interface SuperHubOpts {
  data: string
  bundles?: string
  origin?: string
  cacheQuota?: string
  chunkBytesInFlight?: string
  serveStallMs?: string
  swarmKey: string
  trust: string[]
  threshold: string
  wanRate?: string
  perHubRate?: string
  schedule?: string
  listen?: string[]
  critical?: string[]
  haltOnRollbackRatio?: string
  policy?: string[]
  minOutcomesForHalt?: string
  enrolmentTrust?: string[]
  requireCertificates?: boolean
  db?: string
  hubAdmission: string
  name?: string
  metricsPort?: string
  startWave?: string[]
  waveTickMs?: string
  api: boolean
  apiPort?: string
  apiHost?: string
  apiHostName?: string[]
  timestampDir?: string
  rootDir?: string
  json: boolean
  logLevel?: string
  logFormat?: string
}

export const register: Register = (program, ctx) => {
  const cmd = program.command('super-hub')
    .description('seed store hubs over the WAN with global and per-hub limits, schedules and priorities')
    .requiredOption('--data <dir>', 'data directory (chunk store, identity)')
    .option('--bundles <dir>', 'folder of built bundle folders to import and seed')
    .option('--origin <url>', 'pull bundles through from an origin (`bundle publish` layout): http(s)://… or file://…')
    .option('--chunk-bytes-in-flight <size>', `chunk bytes held for all store hubs together (read, not yet sent); bounds the super hub's memory (default ${humanBytes(DEFAULT_CHUNK_BYTES_IN_FLIGHT)})`)
    .option('--serve-stall-ms <ms>', `reset a store hub's wan-pull stream that takes nothing for this long mid-answer, giving its chunk bytes in flight back (E_SERVE_STALLED; default ${DEFAULT_SERVE_STALL_MS}: a 1 MiB chunk at 64 kbit/s)`)
    .option('--cache-quota <size>', `byte quota of the --origin cache, least recently used chunks evicted (default ${humanBytes(DEFAULT_ORIGIN_CACHE_QUOTA_BYTES)})`)
    .requiredOption('--swarm-key <file>', 'fleet pre-shared key')
    .requiredOption('--trust <key...>', 'trusted public key file(s) for manifests')
    .option('--threshold <n>', 'signatures from distinct trusted keys required', '1')
    .option('--wan-rate <rate>', 'global WAN limit, e.g. 40Mbit/s or 5MiB/s (default unlimited)')
    .option('--per-hub-rate <rate>', 'limit per store hub (default unlimited)')
    .option('--schedule <file>', 'WAN schedule YAML (windows and rates); replaces --wan-rate')
    .option('--listen <multiaddr...>', 'listen addresses', ['/ip4/0.0.0.0/tcp/4310'])
    .option('--critical <peerId...>', 'peer ids of critical store hubs (served first)')
    .option('--policy <file...>', 'signed rollout policies: each wave\'s haltOnRollbackRatio and minOutcomesForHalt (docs/fleet-waves.md)')
    .option('--halt-on-rollback-ratio <r>', 'halt a wave whose rollback ratio passes this (0..1): tightens the signed policy\'s figure, never loosens it (default: the policy\'s, else 0.05)')
    .option('--min-outcomes-for-halt <n>', 'devices with an outcome in a wave before that ratio may halt it: tightens the policy\'s figure (default: the policy\'s, else 1)')
    .option('--enrolment-trust <key...>', 'enrolment public key file(s): present <data>/node-certificate.json and verify hubs\' (protocols/identity/SPEC.md)')
    .option('--require-certificates', 'refuse peers without a valid certificate (needs --enrolment-trust)')
    .option('--db <url>', 'fleet ledger on a PostgreSQL server (postgres://…), shared by several super hubs; default: embedded PGlite under <data>/fleet-db')
    .option('--hub-admission <mode>', 'open: a hub\'s first report admits it; registered: only hubs added with `storemesh fleet hub add` or certified for their id', 'open')
    .option('--name <name>', 'this super hub\'s name in the fleet ledger (default: the host name)')
    .option('--metrics-port <port>', 'serve the fleet /metrics on 127.0.0.1 at this port')
    .option('--start-wave <wave...>', 'plan these fleet waves from their signed --policy and start them: stores join as they report, in batches of hubBudget (docs/fleet-waves.md)')
    .option('--wave-tick-ms <ms>', 'how often the wave runner steps the fleet\'s waves (default 2000)')
    .option('--api-port <port>', `fleet API, dashboard and /metrics port (default ${DEFAULT_FLEET_API_PORT}; 0 picks a free one)`)
    .option('--api-host <host>', 'listen for the fleet API on this address instead of 127.0.0.1 (writes still need the token)')
    .option('--api-host-name <name...>', 'names browsers and clients reach the fleet API by (Host header), besides its address, localhost, 127.0.0.1 and [::1]')
    .option('--no-api', 'run without the fleet API')
    .option('--timestamp-dir <dir>', 'folder the timestamp role\'s signer drops statements into (*.json; with --origin its timestamp.json is read too): the newest valid one is handed down (protocols/root/SPEC.md 6)')
    .option('--root-dir <dir>', 'folder new roots (or chain files) are dropped into (*.json; with --origin its roots/<version>.json are read too): adopted when they chain from the root held, then handed down (protocols/root/SPEC.md 5)')
    .option('--json', 'logs as JSON lines (stdout)', false)
  addLogOptions(cmd)
    .action(action(ctx, async (opts: SuperHubOpts) => {
      if (opts.schedule !== undefined && opts.wanRate !== undefined) {
        throw new StoremeshError('E_USAGE', 'give --wan-rate or --schedule, not both')
      }
      if (opts.bundles === undefined && opts.origin === undefined) throw new StoremeshError('E_USAGE', 'give --bundles <dir>, --origin <url>, or both')
      if (opts.cacheQuota !== undefined && opts.origin === undefined) throw new StoremeshError('E_USAGE', '--cache-quota needs --origin')
      const cacheQuotaBytes = opts.cacheQuota !== undefined ? parseByteSize(opts.cacheQuota, '--cache-quota') : undefined
      // refused before anything starts, with both sizes in the message
      if (cacheQuotaBytes !== undefined) assertCacheQuota(cacheQuotaBytes)
      const chunkBytesInFlight = opts.chunkBytesInFlight !== undefined ? parseByteSize(opts.chunkBytesInFlight, '--chunk-bytes-in-flight') : undefined
      if (chunkBytesInFlight !== undefined && chunkBytesInFlight < 1) throw new StoremeshError('E_USAGE', '--chunk-bytes-in-flight must be at least 1 byte')
      const serveStallMs = opts.serveStallMs !== undefined ? parseServeStallMs(opts.serveStallMs) : undefined
      const threshold = Number(opts.threshold)
      const ratio = opts.haltOnRollbackRatio !== undefined ? Number(opts.haltOnRollbackRatio) : undefined
      if (ratio !== undefined && !(ratio >= 0 && ratio <= 1)) throw new StoremeshError('E_USAGE', `--halt-on-rollback-ratio must be in [0, 1], got ${opts.haltOnRollbackRatio ?? ''}`)
      const minOutcomes = opts.minOutcomesForHalt !== undefined ? Number(opts.minOutcomesForHalt) : undefined
      if (minOutcomes !== undefined && !(Number.isSafeInteger(minOutcomes) && minOutcomes >= 1)) throw new StoremeshError('E_USAGE', `--min-outcomes-for-halt must be a positive integer, got ${opts.minOutcomesForHalt ?? ''}`)
      if (opts.hubAdmission !== 'open' && opts.hubAdmission !== 'registered') throw new StoremeshError('E_USAGE', `--hub-admission must be open or registered, got ${opts.hubAdmission}`)
      if (opts.db !== undefined) checkDbUrl(opts.db)
      const metricsPort = opts.metricsPort !== undefined ? Number(opts.metricsPort) : undefined
      if (metricsPort !== undefined && !(Number.isSafeInteger(metricsPort) && metricsPort >= 0 && metricsPort <= 65535)) throw new StoremeshError('E_USAGE', `--metrics-port must be a port number, got ${opts.metricsPort ?? ''}`)
      const waveTickMs = opts.waveTickMs !== undefined ? Number(opts.waveTickMs) : undefined
      if (waveTickMs !== undefined && !(Number.isSafeInteger(waveTickMs) && waveTickMs >= 10)) throw new StoremeshError('E_USAGE', `--wave-tick-ms must be an integer of at least 10, got ${opts.waveTickMs ?? ''}`)
      if (opts.startWave !== undefined && (opts.policy === undefined || opts.policy.length === 0)) throw new StoremeshError('E_USAGE', '--start-wave needs --policy <signed policy>')
      const apiPort = opts.apiPort !== undefined ? Number(opts.apiPort) : undefined
      if (apiPort !== undefined && !(Number.isSafeInteger(apiPort) && apiPort >= 0 && apiPort <= 65535)) throw new StoremeshError('E_USAGE', `--api-port must be a port number, got ${opts.apiPort ?? ''}`)
      // on stdout, as before: the demo and the lab read the `seeding ... on <addrs>` line there
      const logger = await loggerOf(opts, 'super-hub', process.stdout)
      const hub = await startSuperHub({
        dataDir: opts.data,
        ...(opts.bundles !== undefined ? { bundlesDir: opts.bundles } : {}),
        ...(opts.origin !== undefined ? { origin: { url: opts.origin, ...(cacheQuotaBytes !== undefined ? { cacheQuotaBytes } : {}) } } : {}),
        ...(chunkBytesInFlight !== undefined ? { chunkBytesInFlight } : {}),
        ...(serveStallMs !== undefined ? { serveStallMs } : {}),
        swarmKey: await readSwarmKeyFile(opts.swarmKey),
        trust: { keys: await readTrustedKeyFiles(opts.trust), threshold },
        ...(opts.listen !== undefined ? { listen: opts.listen } : {}),
        ...(opts.wanRate !== undefined ? { wanRateBytesPerSec: parseRate(opts.wanRate) } : {}),
        ...(opts.perHubRate !== undefined ? { perHubRateBytesPerSec: parseRate(opts.perHubRate) } : {}),
        ...(opts.schedule !== undefined ? { schedule: await readScheduleFile(opts.schedule) } : {}),
        ...(opts.critical !== undefined ? { critical: opts.critical } : {}),
        ...(ratio !== undefined ? { haltOnRollbackRatio: ratio } : {}),
        ...(minOutcomes !== undefined ? { minOutcomesForHalt: minOutcomes } : {}),
        policies: await readPolicyFiles(opts.policy),
        ...(opts.db !== undefined ? { fleetDbUrl: opts.db } : {}),
        hubAdmission: opts.hubAdmission,
        ...(metricsPort !== undefined ? { metricsPort } : {}),
        ...(opts.startWave !== undefined ? { startWaves: opts.startWave } : {}),
        ...(waveTickMs !== undefined ? { waveTickMs } : {}),
        // the default port may be taken (another super hub on this host): it runs on without the API then
        ...(opts.api
          ? { api: { ...(apiPort !== undefined ? { port: apiPort } : {}), ...(opts.apiHost !== undefined ? { host: opts.apiHost } : {}), ...(opts.apiHostName !== undefined ? { hostNames: opts.apiHostName } : {}), optional: apiPort === undefined } }
          : {}),
        ...(opts.name !== undefined ? { name: opts.name } : {}),
        ...(opts.timestampDir !== undefined ? { timestampDir: opts.timestampDir } : {}),
        ...(opts.rootDir !== undefined ? { rootDir: opts.rootDir } : {}),
        ...await identityOptionsOf(opts),
        log: logger
      })
      logger.child({ component: 'super-hub' }).info(`super hub ${hub.node.peerId.toString()} seeding ${hub.imported.length} bundles${hub.origin !== undefined ? ` and ${hub.origin.status().origin}` : ''} at ${formatRate(hub.global.rateBytesPerSec, 'bits')}` +
        ` on ${hub.node.getMultiaddrs().map(m => m.toString()).join(' ')}`)
      if (hub.api !== undefined) logger.child({ component: 'api' }).info(`fleet API on ${hub.api.url} (token in ${opts.data}/api-token)`)
      // dead chunk buffers freed before V8's external-memory trigger would (buffer-reclaim.ts)
      const reclaim = startBufferReclaim({ limitBytes: (chunkBytesInFlight ?? DEFAULT_CHUNK_BYTES_IN_FLIGHT) + RECLAIM_SLACK_BYTES, growthBytes: RECLAIM_SLACK_BYTES })
      await runUntilSignal(async () => { reclaim.stop(); await hub.stop() })
    }))
}

/** --serve-stall-ms: whole milliseconds a timer can wait (Node caps a timer at 2^31-1 ms and fires a longer one at once) */
export function parseServeStallMs (text: string): number {
  const ms = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN
  if (!(Number.isSafeInteger(ms) && ms >= 1 && ms <= MAX_TIMER_DELAY_MS)) {
    throw new StoremeshError('E_USAGE', `--serve-stall-ms must be a whole number of milliseconds in [1, ${MAX_TIMER_DELAY_MS}], got ${text}`, { serveStallMs: text })
  }
  return ms
}
