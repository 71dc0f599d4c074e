/**
 * `storemesh status --data <dir> [--api <url>] [--json]`: a LAN peer's per-bundle
 * progress, running or stopped. Figures come from `<data>/status.json` (the peer
 * rewrites it every second); when no peer holds the data dir, the store's own bundle
 * states are read too, so a bundle imported or verified after the last snapshot shows
 * its true state.
 *
 * On a running store hub (its API URL is in `<data>/api.json`, or `--api` names it) the
 * store's view is added from GET /api/availability: per bundle the copies of its rarest
 * chunk and the devices complete, and per device class a progress bar over the devices
 * in the swarm of that class's newest bundle. `--json` prints the status.json document
 * as before, plus `availability` and `classes` when the API answered.
 */
import { join } from 'node:path'
import semver from 'semver'
import type { AvailabilityBundleView, AvailabilityView } from '../api/types.js'
import { isStoremeshError, toStoremeshError } from '../interface/errors.js'
import { API_URL_FILE } from '../api/constants.js'
import { PEER_STORE_DIR } from '../roles/lan-constants.js'
import { readStatusFile, type BundleStatus, type PeerStatus } from '../roles/peer-status.js'
import { openStore } from '../store/index.js'
import { StoremeshError } from '../interface/errors.js'
import { runningApiUrl } from './api-client.js'
import type { Register } from './commands.js'
import { action } from './context.js'
import { formatTable, humanBytes, printJson } from './output.js'

interface StatusOpts { data: string, json: boolean, api?: string }

const BAR_WIDTH = 30

/** Per device class: the devices in the swarm of its newest bundle and their chunks. */
export interface ClassProgress {
  deviceClass: string
  bundleId: string
  version: string
  devices: number
  devicesComplete: number
  heldChunks: number
  totalChunks: number
  /** held / total over those devices, 0..1 (1 with no device) */
  fraction: number
}

/** The API's URL: --api, else the one a running hub wrote into its data dir. */
async function apiUrlOf (opts: StatusOpts, s: PeerStatus): Promise<string | undefined> {
  if (opts.api !== undefined) return opts.api
  if (s.role !== 'hub' || !s.running) return undefined
  return await runningApiUrl(opts.data)
}

async function fetchAvailability (url: string): Promise<AvailabilityView> {
  const res = await fetch(new URL('/api/availability?count=1', url), { signal: AbortSignal.timeout(10_000) })
  if (!res.ok) throw new StoremeshError('E_PEER_ERROR', `the hub API answered HTTP ${res.status} to /api/availability`)
  return await res.json() as AvailabilityView
}

export function classProgress (bundles: readonly BundleStatus[], avail: readonly AvailabilityBundleView[]): ClassProgress[] {
  const byId = new Map(avail.map(a => [a.bundleId, a]))
  const newest = new Map<string, BundleStatus>()
  for (const b of bundles) {
    if (!byId.has(b.id) || b.state === 'evicted') continue
    const cur = newest.get(b.deviceClass)
    if (cur === undefined || (semver.valid(b.version) !== null && semver.valid(cur.version) !== null && semver.gt(b.version, cur.version))) newest.set(b.deviceClass, b)
  }
  return [...newest.values()].sort((a, b) => a.deviceClass.localeCompare(b.deviceClass)).map(b => {
    const a = byId.get(b.id)!
    const rows = a.rows.filter(r => r.self !== true)
    const held = rows.reduce((n, r) => n + r.heldChunks, 0)
    const total = rows.length * a.pieceCount
    return {
      deviceClass: b.deviceClass, bundleId: b.id, version: b.version, devices: rows.length, devicesComplete: a.devicesComplete,
      heldChunks: held, totalChunks: total, fraction: total === 0 ? 1 : held / total
    }
  })
}

/** `[#########---------]` (on a terminal: block characters). */
export function textBar (fraction: number, width = BAR_WIDTH, tty = false): string {
  const f = Math.min(1, Math.max(0, fraction))
  const full = Math.round(f * width)
  return tty ? '█'.repeat(full) + '░'.repeat(width - full) : '[' + '#'.repeat(full) + '-'.repeat(width - full) + ']'
}

export function availabilityTable (bundles: readonly BundleStatus[], avail: readonly AvailabilityBundleView[], tty = false): string {
  const byId = new Map(avail.map(a => [a.bundleId, a]))
  const rows = bundles.flatMap(b => {
    const a = byId.get(b.id)
    if (a === undefined) return []
    const devices = a.rows.filter(r => r.self !== true).length
    return [[b.id.slice(0, 15) + '…', `${b.name} ${b.version}`, b.deviceClass, String(a.minCopies), a.distributedCopies.toFixed(2), `${a.devicesComplete}/${devices}`]]
  })
  const classes = classProgress(bundles, avail).map(c => [
    c.deviceClass, c.version, `${c.devicesComplete}/${c.devices} complete`, `${textBar(c.fraction, BAR_WIDTH, tty)} ${Math.floor(100 * c.fraction)}%`
  ])
  return formatTable(['BUNDLE', 'VERSION', 'CLASS', 'MIN COPIES', 'DISTRIBUTED', 'DEVICES DONE'], rows) + '\n\n' +
    formatTable(['CLASS', 'VERSION', 'DEVICES', 'PROGRESS'], classes)
}

/** The store's states, or undefined when a running peer holds the store (or there is none). */
async function storeStates (dataDir: string): Promise<Map<string, string> | undefined> {
  let store
  try {
    store = await openStore({ dataDir: join(dataDir, PEER_STORE_DIR) })
  } catch (err) {
    if (isStoremeshError(err, 'E_DATA_DIR_IN_USE')) return undefined
    throw err
  }
  try {
    return new Map(store.listBundles().map(r => [r.id, r.state]))
  } finally {
    await store.stop()
  }
}

function pct (b: BundleStatus): string {
  return b.totalChunks === 0 ? '100%' : `${Math.floor((100 * b.heldChunks) / b.totalChunks)}%`
}

export function statusTable (s: PeerStatus): string {
  const head = `${s.role} ${s.peerId} ${s.running ? `running (pid ${s.pid})` : 'stopped'}, updated ${s.updatedAt}, ${s.connections} connections` +
    (s.bans.length > 0 ? `, banned: ${s.bans.map(b => b.peerId).join(' ')}` : '')
  const rows = s.bundles.map(b => [
    b.id.slice(0, 15) + '…',
    `${b.name} ${b.version}`,
    `${b.heldChunks}/${b.totalChunks}`,
    pct(b),
    `${humanBytes(b.bytes.lan.up)} / ${humanBytes(b.bytes.lan.down)}`,
    `${humanBytes(b.bytes.wan.up)} / ${humanBytes(b.bytes.wan.down)}`,
    b.joined ? `${b.state}${b.superseed ? ' superseed' : ''}, ${b.peers} peers` : b.state
  ])
  const table = head + '\n' + formatTable(['BUNDLE', 'VERSION', 'CHUNKS', 'DONE', 'LAN UP/DOWN', 'WAN UP/DOWN', 'STATE'], rows) + rolloutLines(s)
  const paused = s.store?.paused
  // the one thing an operator must act on (free space, unpin): said under the table, not hidden in --json
  return paused == null ? table : `${table}\ndownloads PAUSED (${paused.reason}) since ${paused.since}: ${paused.detail}`
}

/** A hub's applied rollout values and where each came from (docs/fleet-waves.md). */
export function rolloutLines (s: PeerStatus): string {
  const r = s.rollout
  if (r === undefined) return ''
  const m = r.maxConcurrentPerHub
  const from = m.source === 'policy'
    ? `from the signed policy ${m.policyName ?? ''} wave ${m.wave ?? ''}${m.flagOverridden === true ? ` (--max-concurrent-installs ${m.flag ?? ''} is looser and set aside)` : ''}`
    : m.source === 'flag'
      ? `from --max-concurrent-installs ${m.flag ?? ''}${m.policyName !== undefined ? `, tighter than the signed policy ${m.policyName} wave ${m.wave ?? ''}` : ' (no signed policy)'}`
      : 'the default (no signed policy, no flag)'
  const policies = r.policies.map(p => `${p.name} wave ${p.wave} (${p.policyId.slice(0, 15)}…: maxConcurrentPerHub ${p.maxConcurrentPerHub}, prestageHours ${p.prestageHours})`)
  const gates = (s.waveGates ?? []).map(g => `\nwave ${g.waveId} gate: ${g.state}: ${g.detail}`).join('')
  return `\ninstall leases at once: ${m.value}, ${from}` + (policies.length > 0 ? `\nrollout policies: ${policies.join('; ')}` : '') + gates
}

export const register: Register = (program, ctx) => {
  program.command('status')
    .description('per-bundle progress of a running or stopped hub or device (chunks held, bytes up/down by link)')
    .requiredOption('--data <dir>', 'the peer\'s data directory')
    .option('--api <url>', `a store hub's API, for chunk availability and per-class progress (default: the running hub's own, from <data>/${API_URL_FILE})`)
    .option('--json', 'machine-readable output', false)
    .action(action(ctx, async (opts: StatusOpts) => {
      const status = await readStatusFile(opts.data)
      if (status === undefined) throw new StoremeshError('E_FILE_NOT_FOUND', `no status.json in ${opts.data}: no hub or device ran there yet`, { data: opts.data })
      // a peer killed without stopping left running: true; the store lock tells the truth
      const states = await storeStates(opts.data)
      if (states !== undefined) {
        status.running = false
        for (const b of status.bundles) b.state = states.get(b.id) ?? b.state
      }
      let avail: AvailabilityView | undefined
      const url = await apiUrlOf(opts, status)
      let apiError: string | undefined
      if (url !== undefined) {
        try {
          avail = await fetchAvailability(url)
        } catch (err) {
          // the file view still stands; say why the store's view is missing
          apiError = `${url}: ${toStoremeshError(err).toLine()}`
        }
      }
      if (opts.json) {
        printJson(avail === undefined
          ? { ...status, ...(apiError !== undefined ? { apiError } : {}) }
          : { ...status, availability: avail.bundles, classes: classProgress(status.bundles, avail.bundles) })
        return
      }
      process.stdout.write(statusTable(status) + '\n')
      if (avail !== undefined) process.stdout.write('\n' + availabilityTable(status.bundles, avail.bundles, process.stdout.isTTY === true) + '\n')
      else if (apiError !== undefined) process.stderr.write(`storemesh: no availability from the hub API ${apiError}\n`)
    }))
}
