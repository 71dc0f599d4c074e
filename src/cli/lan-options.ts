/**
 * The options every long-running LAN role shares (`storemesh hub`, `storemesh device
 * run`): data dir, fleet swarm key, trust keys, mDNS service tag, listen addresses,
 * the intervals and caps tests and the LAN bench set, and the log flags (log-options.ts).
 * Log lines go to stderr, the `ready` event to stdout.
 */
import type { Command } from 'commander'
import { readTrustedKeyFiles } from '../bundle/keys.js'
import { StoremeshError } from '../interface/errors.js'
import type { PeerIdentityOptions } from '../identity/node-identity.js'
import type { Log } from '../interface/log.js'
import { DEFAULT_MDNS_SERVICE_TAG } from '../net/constants.js'
import { readSwarmKeyFile } from '../net/swarm-key.js'
import { DEFAULT_PEER_LISTEN_ADDRS, DEFAULT_STATUS_INTERVAL_MS } from '../roles/lan-constants.js'
import type { PeerInit } from '../roles/peer-init.js'
import { parseRate } from '../wan/rate.js'
import { DEFAULT_HEAP_GROWING_PERCENT, setHeapGrowingPercent } from '../roles/heap-growth.js'
import { DEFAULT_STORE_QUOTA, parseQuotaSpec } from '../store/index.js'
import { addLogOptions, type LogOpts } from './log-options.js'

export interface LanOpts extends LogOpts {
  data: string
  swarmKey: string
  trust: string[]
  threshold?: string
  serviceTag?: string
  listen?: string[]
  mdnsIntervalMs?: string
  statusIntervalMs?: string
  uploadLimit?: string
  enrolmentTrust?: string[]
  requireCertificates?: boolean
  storeQuota: string
  heapGrowingPercent: string
  json: boolean
}

export function addLanOptions (cmd: Command): Command {
  return addLogOptions(cmd
    .requiredOption('--data <dir>', 'data directory (chunk store in <data>/store, identity, status.json)')
    .requiredOption('--swarm-key <file>', 'the fleet pre-shared key (`storemesh keygen --swarm`)')
    .requiredOption('--trust <key...>', 'public key file(s) trusted to sign bundles')
    .option('--threshold <n>', 'signatures from distinct trusted keys required', '1')
    .option('--service-tag <tag>', 'mDNS service tag (one per fleet)', DEFAULT_MDNS_SERVICE_TAG)
    .option('--listen <multiaddr...>', `listen addresses (default ${DEFAULT_PEER_LISTEN_ADDRS.join(' ')})`)
    .option('--mdns-interval-ms <ms>', 'mDNS query interval')
    .option('--status-interval-ms <ms>', 'how often status.json is checked and, when it changed, rewritten', String(DEFAULT_STATUS_INTERVAL_MS))
    .option('--upload-limit <rate>', 'cap this node\'s chunk upload (e.g. 2MiB/s, or bytes per second)')
    .option('--enrolment-trust <key...>', 'enrolment public key file(s): present <data>/node-certificate.json and verify peers\' (protocols/identity/SPEC.md)')
    .option('--require-certificates', 'refuse peers without a valid certificate (needs --enrolment-trust)')
    .option('--store-quota <bytes|N%>', 'disk quota of the chunk store: a size (20GiB, 500MB, bytes) or a share of its filesystem (80%); refused at start when smaller than a bundle', DEFAULT_STORE_QUOTA)
    .option('--heap-growing-percent <n>', `V8's old-generation growth between full collections, in % (0: V8's own choice; roles/heap-growth.ts)`, String(DEFAULT_HEAP_GROWING_PERCENT))
    .option('--json', 'print events (stdout) and logs (stderr) as JSON lines', false))
}

/** The process-wide V8 setting of a LAN daemon (roles/heap-growth.ts); call before the node starts. */
export function applyHeapGrowth (opts: Pick<LanOpts, 'heapGrowingPercent'>): void {
  const v = opts.heapGrowingPercent
  const n = Number(v)
  if (v.trim() === '' || !Number.isSafeInteger(n)) throw new StoremeshError('E_USAGE', `--heap-growing-percent must be an integer, got ${v}`)
  setHeapGrowingPercent(n)
}

function positiveInt (value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n <= 0) throw new StoremeshError('E_USAGE', `${flag} must be a positive integer, got ${value}`)
  return n
}

export async function peerInitOf (opts: LanOpts, log: Log): Promise<Omit<PeerInit, 'role'>> {
  const keys = await readTrustedKeyFiles(opts.trust)
  const threshold = positiveInt(opts.threshold, '--threshold') ?? 1
  const mdnsIntervalMs = positiveInt(opts.mdnsIntervalMs, '--mdns-interval-ms')
  const statusIntervalMs = positiveInt(opts.statusIntervalMs, '--status-interval-ms')
  return {
    dataDir: opts.data,
    swarmKey: await readSwarmKeyFile(opts.swarmKey),
    trust: { keys, threshold },
    ...(opts.serviceTag !== undefined ? { serviceTag: opts.serviceTag } : {}),
    ...(opts.listen !== undefined ? { listen: opts.listen } : {}),
    ...(mdnsIntervalMs !== undefined ? { mdnsIntervalMs } : {}),
    ...(statusIntervalMs !== undefined ? { statusIntervalMs } : {}),
    ...(opts.uploadLimit !== undefined ? { uploadRateBytesPerSec: parseRate(opts.uploadLimit) } : {}),
    ...await identityOptionsOf(opts),
    storeQuota: parseQuotaSpec(opts.storeQuota ?? DEFAULT_STORE_QUOTA),
    log
  }
}

/** `--enrolment-trust` and `--require-certificates` as the `identity` of a PeerInit (off without them). */
export async function identityOptionsOf (opts: { enrolmentTrust?: string[], requireCertificates?: boolean }): Promise<{ identity?: PeerIdentityOptions }> {
  if (opts.enrolmentTrust === undefined) {
    if (opts.requireCertificates === true) throw new StoremeshError('E_USAGE', '--require-certificates needs --enrolment-trust')
    return {}
  }
  return { identity: { trust: await readTrustedKeyFiles(opts.enrolmentTrust), requireCertificates: opts.requireCertificates === true } }
}

/** One line on stdout once the node listens: scripts and tests wait for it. */
export function printReady (json: boolean, role: string, peerId: string, addrs: string[]): void {
  if (json) process.stdout.write(JSON.stringify({ event: 'ready', role, peerId, addrs }) + '\n')
  else process.stdout.write(`${role} ready: peer ${peerId} on ${addrs.join(' ')}\n`)
}
