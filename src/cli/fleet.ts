/**
 * `storemesh fleet …`: the operator's orders to the whole fleet and its status, on the
 * fleet ledger (src/control/, docs/fleet.md). The command opens the ledger's database
 * itself: `--db postgres://…` (the server the super hubs share; any number of
 * operators at once) or `--data <dir>` (the embedded PGlite of a super hub that is not
 * running), or goes through a running super hub's fleet API (`--api <url>`, or
 * `--data <dir>` while it runs: fleet-backend.ts). Orders reach the stores in
 * the answers to their next reports. Every order is idempotent: a repeat prints that
 * nothing changed and exits 0.
 */
import { userInfo } from 'node:os'
import type { Command } from 'commander'
import type { FleetStatus, IssueResult, OrderRequest } from '../control/index.js'
import { openFleetBackend, type FleetBackend } from './fleet-backend.js'
import { StoremeshError } from '../interface/errors.js'
import type { Register } from './commands.js'
import { action, type CommandContext } from './context.js'
import { printJson, printTable } from './output.js'

interface DbOpts { db?: string, data?: string, api?: string, token?: string, json: boolean }
interface OrderOpts extends DbOpts { reason?: string, by?: string, orderId?: string }

function dbOptions (cmd: Command): Command {
  return cmd
    .option('--db <url>', 'the fleet database on a PostgreSQL server (postgres://…); or set STOREMESH_FLEET_DB')
    .option('--data <dir>', 'a super hub\'s data folder: through its API while it runs (<dir>/api.json), else its embedded fleet database')
    .option('--api <url>', 'a running super hub\'s fleet API, e.g. http://127.0.0.1:7490 (env STOREMESH_FLEET_API)')
    .option('--token <token>', 'the fleet API token for orders (env STOREMESH_TOKEN; default: <data>/api-token)')
    .option('--json', 'print JSON', false)
}

function orderOptions (cmd: Command): Command {
  return dbOptions(cmd)
    .option('--reason <text>', 'why; recorded with the order and shown to the stores')
    .option('--by <name>', 'who gives the order (default $USER)')
    .option('--order-id <id>', 'your id for this order: repeating it with the same id is the same order')
}

async function withBackend<T> (opts: DbOpts, fn: (b: FleetBackend) => Promise<T>): Promise<T> {
  const b = await openFleetBackend(opts)
  try {
    return await fn(b)
  } finally {
    await b.close()
  }
}

function issuer (opts: OrderOpts): string {
  return opts.by ?? process.env.USER ?? userInfo().username
}

function printIssue (r: IssueResult, json: boolean, what: string): void {
  if (json) {
    printJson(r)
    return
  }
  const o = r.order
  const line = r.created
    ? `${what}: order ${o.orderId} by ${o.issuedBy} at ${new Date(o.issuedAtMs).toISOString()}${o.reason !== '' ? ` (${o.reason})` : ''}; the stores get it with their next report`
    : `${what}: already in force as order ${o.orderId} (by ${o.issuedBy} at ${new Date(o.issuedAtMs).toISOString()}); nothing changed`
  process.stdout.write(line + '\n')
}

function runOrder (ctx: CommandContext, build: (opts: OrderOpts & Record<string, string>) => { req: Omit<OrderRequest, 'by' | 'reason' | 'orderId'>, what: string }) {
  return action(ctx, async (opts: OrderOpts & Record<string, string>) => {
    const { req, what } = build(opts)
    const full: OrderRequest = { ...req, by: issuer(opts), ...(opts.reason !== undefined ? { reason: opts.reason } : {}), ...(opts.orderId !== undefined ? { orderId: opts.orderId } : {}) }
    const r = await withBackend(opts, async b => await b.issue(full))
    printIssue(r, opts.json, what)
  })
}

function registerWave (fleet: Command, ctx: CommandContext): void {
  const wave = fleet.command('wave').description('start, pause, resume or halt a wave in every store of the fleet')
  const verbs = [
    ['start', 'start a planned wave (a halted one needs resume)'],
    ['pause', 'pause a wave everywhere: no device starts an install'],
    ['resume', 'resume a paused or halted wave (the only way to clear an auto-halt)'],
    ['halt', 'halt a wave everywhere: no device starts, devices on trial roll back']
  ] as const
  for (const [verb, description] of verbs) {
    orderOptions(wave.command(verb)).description(description)
      .requiredOption('--wave <id>', 'the wave id, e.g. 142')
      .action(runOrder(ctx, opts => ({ req: { kind: 'wave', action: verb, waveId: opts.wave! }, what: `wave ${opts.wave!} ${verb}` })))
  }
}

function registerBundle (fleet: Command, ctx: CommandContext): void {
  for (const [verb, description] of [['hold', 'hold a bundle fleet-wide (recorded; see docs/fleet.md for delivery)'], ['release', 'release a held bundle']] as const) {
    orderOptions(fleet.command(verb)).description(description)
      .requiredOption('--bundle <id>', 'the bundle id (b3:…)')
      .action(runOrder(ctx, opts => ({ req: { kind: 'bundle', action: verb, bundleId: opts.bundle! }, what: `bundle ${opts.bundle!} ${verb}` })))
  }
}

function registerPrestage (fleet: Command, ctx: CommandContext): void {
  orderOptions(fleet.command('prestage')).description('pull a bundle onto store hubs over the WAN now, within each hub\'s WAN window (docs/fleet-waves.md "Pre-staging")')
    .requiredOption('--bundle <id>', 'the bundle id (b3:…)')
    .option('--wave <id>', 'the stores of this wave (also those that join it later)')
    .option('--store <hubId>', 'this store only')
    .action(runOrder(ctx, opts => ({
      req: { kind: 'prestage', action: 'prestage', bundleId: opts.bundle!, ...(opts.wave !== undefined ? { waveId: opts.wave } : {}), ...(opts.store !== undefined ? { hubId: opts.store } : {}) },
      what: `prestage ${opts.bundle!} on ${opts.store !== undefined ? `store ${opts.store}` : opts.wave !== undefined ? `the stores of wave ${opts.wave}` : 'every store'}`
    })))
}

function registerDevice (fleet: Command, ctx: CommandContext): void {
  const device = fleet.command('device').description('orders to one device, through its store')
  orderOptions(device.command('rollback')).description('roll one device back to its previous slot')
    .requiredOption('--store <hubId>', 'the store (hub id) the device reports through')
    .requiredOption('--id <deviceId>', 'the device id')
    .action(runOrder(ctx, opts => ({ req: { kind: 'device', action: 'rollback', hubId: opts.store!, deviceId: opts.id! }, what: `device ${opts.id!} at ${opts.store!} rollback` })))
}

function registerHub (fleet: Command, ctx: CommandContext): void {
  const hub = fleet.command('hub').description('the store hubs the fleet admits')
  dbOptions(hub.command('add')).description('admit a store hub (needed under super-hub --hub-admission registered)')
    .requiredOption('--id <hubId>', 'the hub id it reports as')
    .action(action(ctx, async (opts: DbOpts & { id: string }) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(opts.id)) throw new StoremeshError('E_USAGE', `--id must be a hub id, got ${opts.id.slice(0, 80)}`)
      const added = await withBackend(opts, async b => await b.registerHub(opts.id))
      if (opts.json) printJson({ hubId: opts.id, changed: added })
      else process.stdout.write(added ? `hub ${opts.id} admitted\n` : `hub ${opts.id} was already known; nothing changed\n`)
    }))
}

function pct (n: number | undefined): string {
  return n === undefined ? '-' : `${(n * 100).toFixed(1)}%`
}

/** "1 (store-7)", "3 (a, b, …)", a count alone, or "all" for a bundle order no store acked yet */
function storesPendingText (p: FleetStatus['pendingOrders'][number]): string {
  if (p.storesPending === undefined) return 'all'
  const ids = p.storeIds ?? []
  return ids.length === 0 ? String(p.storesPending) : `${p.storesPending} (${ids.join(', ')}${p.storesPending > ids.length ? ', …' : ''})`
}

export function printFleetStatus (s: FleetStatus): void {
  const out: string[] = [`fleet database ${s.db.kind} ${s.db.where}: ${s.db.up ? 'up' : `DOWN (${s.db.error ?? ''})`}; ${s.hubs.length} store hubs`]
  for (const w of s.waves) {
    const c = w.counts
    out.push('', `wave ${w.waveId}: ${w.state}${w.currentBatch !== undefined ? ` (batch ${w.currentBatch})` : ''}${w.stateReason !== '' ? ` - ${w.stateReason}` : ''}`)
    out.push(`  devices: ${c.total} (updated ${c.updated}, rolled back ${c.rolledBack}, failed ${c.failed}, pending ${c.pending}, blocked ${c.blocked}); ` +
      `rollback ratio ${pct(w.rollbackRatio)} of limit ${pct(w.haltOnRollbackRatio)} after ${w.minOutcomesForHalt} outcomes`)
    out.push(`  stores: ${w.stores}${w.stores > 0 ? ' (' + Object.entries(w.storesByState).map(([k, v]) => `${k} ${v}`).join(', ') + ')' : ''}`)
    const at = (label: string, ms: number | undefined): string => ms !== undefined ? `, ${label} ${new Date(ms).toISOString()}` : ''
    for (const b of w.batches) out.push(`  batch ${b.batchNo}: ${b.state}, ${b.stores} stores${b.storeIds.length > 0 ? ` (${b.storeIds.join(', ')}${b.stores > b.storeIds.length ? ', …' : ''})` : ''}${at('started', b.startedMs)}${at('healthy', b.healthyMs)}${at('not before', b.notBeforeMs)}`)
    for (const h of w.halts) out.push(`  halt ${h.orderId} (${h.source}, by ${h.issuedBy} at ${new Date(h.issuedAtMs).toISOString()}): ${h.reason}${h.cleared ? ' [resumed since]' : ''}`)
    for (const l of w.prestageLate ?? []) out.push(`  LATE store ${l.storeId}: ${l.reason}`)
  }
  process.stdout.write(out.join('\n') + '\n')
  if (s.pendingOrders.length > 0) {
    process.stdout.write('\norders pending:\n')
    printTable(['order', 'kind', 'action', 'target', 'stores pending', 'by', 'reason'], s.pendingOrders.map(p => [
      p.order.orderId, p.order.kind, p.order.action, p.order.waveId ?? p.order.bundleId ?? `${p.order.hubId ?? ''}/${p.order.deviceId ?? ''}`,
      storesPendingText(p), p.order.issuedBy, p.order.reason
    ]))
  }
  if (s.heldBundles.length > 0) process.stdout.write(`\nheld bundles: ${s.heldBundles.map(h => `${h.bundleId!} (by ${h.issuedBy}: ${h.reason})`).join(', ')}\n`)
}

function registerStatus (fleet: Command, ctx: CommandContext): void {
  dbOptions(fleet.command('status')).description('waves across stores: batches, stores by state, devices by outcome, halts; pending orders')
    .option('--wave <id>', 'only this wave')
    .action(action(ctx, async (opts: DbOpts & { wave?: string }) => {
      const s = await withBackend(opts, async b => await b.status(opts.wave))
      if (opts.wave !== undefined && s.waves.length === 0) throw new StoremeshError('E_WAVE_UNKNOWN', `no wave ${opts.wave} in the fleet ledger`, { waveId: opts.wave })
      if (opts.json) printJson(s)
      else printFleetStatus(s)
    }))
}

export const register: Register = (program, ctx) => {
  const fleet = program.command('fleet').description('orders to the whole fleet and its status, on the fleet ledger (--api <running super hub>, --db postgres://… or a super hub\'s --data)')
  registerWave(fleet, ctx)
  registerBundle(fleet, ctx)
  registerPrestage(fleet, ctx)
  registerDevice(fleet, ctx)
  registerHub(fleet, ctx)
  registerStatus(fleet, ctx)
}
