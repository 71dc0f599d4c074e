/**
 * `storemesh status --data <dir> [--json]`: a LAN peer's per-bundle progress, running
 * or stopped. Figures come from `<data>/status.json` (the peer rewrites it every
 * second); when no peer holds the data dir, the store's own bundle states are read too,
 * so a bundle imported or verified after the last snapshot shows its true state.
 */
import { join } from 'node:path'
import { isStoremeshError } from '../interface/errors.js'
import { PEER_STORE_DIR } from '../roles/lan-constants.js'
import { readStatusFile, type BundleStatus, type PeerStatus } from '../roles/peer-status.js'
import { openStore } from '../store/index.js'
import { StoremeshError } from '../interface/errors.js'
import type { Register } from './commands.js'
import { action } from './context.js'
import { formatTable, humanBytes, printJson } from './output.js'

interface StatusOpts { data: string, json: boolean }

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
  return head + '\n' + formatTable(['BUNDLE', 'VERSION', 'CHUNKS', 'DONE', 'LAN UP/DOWN', 'WAN UP/DOWN', 'STATE'], rows)
}

export const register: Register = (program, ctx) => {
  program.command('status')
    .description('per-bundle progress of a running or stopped hub or device (chunks held, bytes up/down by link)')
    .requiredOption('--data <dir>', 'the peer\'s data directory')
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
      if (opts.json) printJson(status)
      else process.stdout.write(statusTable(status) + '\n')
    }))
}
