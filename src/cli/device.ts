/**
 * `storemesh device ...`: the device role's commands.
 *
 *   device install --once   one policy decision and at most one A/B install (exit 0/2/3/4/75)
 *   device rollback --local the operator's rollback of the last install on this device
 *   device install-status   installer state, boot slots, pinned bundles, last journal entry
 *   device cache list|gc    the store's bundles; evict versions older than the last-known-good (device-cache.ts)
 *
 * `device run`, the long-running agent, is registered here too, as the DEFAULT
 * subcommand (`storemesh device --data ... --device-class ...` runs it): see the marked
 * place in register(). The group itself takes no options so that the default
 * subcommand receives them all.
 */
import type { Command } from 'commander'
import { EXIT, StoremeshError } from '../interface/errors.js'
import { INSTALL_CONFIG_FILE } from '../roles/device-install-config.js'
import { readInstallStatus, type DeviceInstallStatus } from '../roles/device-install-status.js'
import { rollbackLocal, runDeviceInstallOnce, type DeviceInstallResult } from '../roles/device-install.js'
import type { Register } from './commands.js'
import { action, type CommandContext } from './context.js'
import { printJson, printTable } from './output.js'
import { DeviceAgent } from '../roles/device-agent.js'
import { DEFAULT_INSTALL_INTERVAL_MS, DEFAULT_MANIFEST_POLL_MS } from '../roles/lan-constants.js'
import { addLanOptions, applyHeapGrowth, peerInitOf, printReady, type LanOpts } from './lan-options.js'
import { runUntilSignal, withShutdownSignal } from './lifecycle.js'
import { loggerOf } from './log-options.js'
import { parseAt } from './policy.js'
import { ApiClient, DEFAULT_API_URL } from './api-client.js'
import { printAction } from './wave.js'
import type { ActionResult } from '../api/types.js'
import { DEFAULT_DEVICE_POLL_INTERVAL_MS } from '../ledger/constants.js'
import { DEVICE_ID_RE } from '../interface/ids.js'
import { registerDeviceCache } from './device-cache.js'


/** `device rollback --id <device> --reason ...`: asks the hub (POST /api/devices/:id/rollback); idempotent. */
async function rollbackThroughHub (opts: RollbackOpts): Promise<number> {
  const id = opts.id ?? ''
  if (!DEVICE_ID_RE.test(id)) throw new StoremeshError('E_USAGE', `--id must be a device id, got ${id.slice(0, 80)}`)
  const client = await ApiClient.fromOptions({ ...opts, json: opts.json })
  const r = await client.post<ActionResult>(`/api/devices/${encodeURIComponent(id)}/rollback`, { reason: opts.reason })
  printAction(r, opts.json, `rollback of ${id} ordered: ${opts.reason}`, `rollback of ${id} was already ordered; nothing changed`)
  return EXIT.OK
}

/** The one lease rule (src/roles/lease-provider.ts leaseProviderFor), said the same way under `install` and `run`. */
const LEASE_HELP = `
The install lease: ${INSTALL_CONFIG_FILE}'s lease.kind decides for \`device run --install\`,
\`device install --once\` and \`policy explain --data <dir>\` alike.
  lease: {kind: none}   (the default) standalone: no store hub lease is asked; hub.lease passes
  lease: {kind: hub}    the agent asks its store hub for an install slot once every other
                        gate passes; a one-shot command cannot, so it defers on hub.lease`

const INSTALL_HELP = `
Data directory (besides what \`policy explain --help\` lists):
  <data>/${INSTALL_CONFIG_FILE}   backend (default: file backend in <data>/slots), slotArtifact
                     (default: first *.img artifact), lease {kind: none|hub}, limits
  <data>/store/      the chunk store: the policy's bundle must be here, complete and verified
  <data>/install/    installer state; <data>/journal/ the decision and transition journal
${LEASE_HELP}

Exit codes: 0 installed or nothing to do, 2 chunk or bundle hash failure,
3 signature or trust failure (every refusal), 4 install failed and rolled back,
75 deferred by a gate. One line on stdout names the deciding gate or failure.`

interface InstallOpts { data: string, once?: boolean, at?: string, json: boolean }
interface RollbackOpts { data?: string, local?: boolean, id?: string, reason: string, json: boolean, api?: string, token?: string }
interface StatusOpts { data: string, json: boolean }

function printResult (r: DeviceInstallResult, json: boolean): void {
  if (!json) {
    process.stdout.write(r.line + '\n')
    return
  }
  printJson({
    result: r.result,
    exitCode: r.exitCode,
    line: r.line,
    resumed: r.resumed,
    bundle: r.bundle ?? null,
    waveId: r.waveId ?? null,
    policyId: r.policyId ?? null,
    verdict: r.decision?.verdict ?? null,
    nextCheckAt: r.decision?.nextCheckAt != null ? new Date(r.decision.nextCheckAt).toISOString() : null,
    gates: r.decision?.gates ?? [],
    outcome: r.outcome ?? null
  })
}

function printStatus (s: DeviceInstallStatus): void {
  const rec = s.record
  const boot = s.backend.status
  const rows: Array<[string, string]> = [
    ['state', s.state + (rec?.reason !== undefined ? ` (${rec.reason.code}: ${rec.reason.detail})` : '')],
    ['bundle', rec !== undefined ? `${rec.bundleId} ${rec.version} wave ${rec.waveId}` : '-'],
    ['slots', rec !== undefined ? `target ${rec.targetSlot}, previous ${rec.previousSlot}` : '-'],
    ['slot a', rec?.slots.a !== undefined ? `${rec.slots.a.version} ${rec.slots.a.bundleId}` : '-'],
    ['slot b', rec?.slots.b !== undefined ? `${rec.slots.b.version} ${rec.slots.b.bundleId}` : '-'],
    ['boot', boot !== undefined
      ? `${s.backend.kind}: booted ${boot.booted}, next ${boot.primary}${boot.attempts?.pending === true ? `, trial ${boot.attempts.count}/${boot.attempts.limit}` : ''}`
      : `${s.backend.kind}: ${s.backend.error ?? 'unknown'}`],
    ['active', s.pins.active !== undefined ? `${s.pins.active.name} ${s.pins.active.version} ${s.pins.active.id}` : s.pins.error ?? '-'],
    ['last-known-good', s.pins.lastKnownGood !== undefined ? `${s.pins.lastKnownGood.name} ${s.pins.lastKnownGood.version} ${s.pins.lastKnownGood.id}` : s.pins.error ?? '-'],
    ['journal', s.journal.error ?? `seq ${s.journal.lastSeq ?? 0}, acked ${s.journal.ackedSeq ?? 0}${s.journal.last !== undefined ? `; last: ${s.journal.last.kind} ${s.journal.last.reason ?? s.journal.last.to ?? ''}` : ''}`]
  ]
  printTable(['FIELD', 'VALUE'], rows)
}

interface RunOpts extends LanOpts {
  deviceClass: string
  install?: boolean
  pollIntervalMs?: string
  installIntervalMs?: string
  deviceId?: string
  reportIntervalMs?: string
}

/**
 * `device run`, the long-running agent and the DEFAULT subcommand, so that
 * `storemesh device --data <dir> --device-class pos ...` runs it.
 */
function registerRun (device: Command, ctx: CommandContext): void {
  const cmd = device.command('run', { isDefault: true })
    .description('the device agent: discover LAN peers, fetch the newest bundle for this class, keep seeding')
  addLanOptions(cmd)
    .requiredOption('--device-class <class>', 'this device\'s class (bundles name the class they are for)')
    .option('--install', 'run the install decision (install.yaml, policy) once the bundle is verified', false)
    .addHelpText('after', LEASE_HELP)
    .option('--poll-interval-ms <ms>', 'how often peers are asked for a newer manifest', String(DEFAULT_MANIFEST_POLL_MS))
    .option('--install-interval-ms <ms>', 'how often the install decision runs', String(DEFAULT_INSTALL_INTERVAL_MS))
    .option('--device-id <id>', 'the id the hub\'s ledger and `device rollback --id` use (default: device.yaml\'s deviceId, else the peer id)')
    .option('--report-interval-ms <ms>', 'how often the hub is asked for orders with nothing to report', String(DEFAULT_DEVICE_POLL_INTERVAL_MS))
    .action(action(ctx, async (opts: RunOpts) => {
      const logger = await loggerOf(opts, 'device')
      applyHeapGrowth(opts)
      const num = (v: string | undefined, flag: string): number | undefined => {
        if (v === undefined) return undefined
        const n = Number(v)
        if (!Number.isSafeInteger(n) || n <= 0) throw new StoremeshError('E_USAGE', `${flag} must be a positive integer, got ${v}`)
        return n
      }
      const pollIntervalMs = num(opts.pollIntervalMs, '--poll-interval-ms')
      const installIntervalMs = num(opts.installIntervalMs, '--install-interval-ms')
      const reportIntervalMs = num(opts.reportIntervalMs, '--report-interval-ms')
      if (opts.deviceId !== undefined && !DEVICE_ID_RE.test(opts.deviceId)) throw new StoremeshError('E_USAGE', `--device-id must be a device id, got ${opts.deviceId.slice(0, 80)}`)
      const agent = await DeviceAgent.start({
        ...await peerInitOf(opts, logger),
        deviceClass: opts.deviceClass,
        install: opts.install === true,
        ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}),
        ...(installIntervalMs !== undefined ? { installIntervalMs } : {}),
        ...(opts.deviceId !== undefined ? { deviceId: opts.deviceId } : {}),
        ...(reportIntervalMs !== undefined ? { report: { pollIntervalMs: reportIntervalMs } } : {})
      })
      printReady(opts.json, 'device', agent.peer.node.peerId.toString(), agent.peer.node.getMultiaddrs().map(String))
      await runUntilSignal(async () => { await agent.stop() })
      logger.child({ component: 'device' }).info('device agent stopped')
    }))
}

function registerInstall (device: Command, ctx: CommandContext): void {
  device.command('install')
    .description('decide with the policy engine and, if every gate passes, install into the inactive slot')
    .requiredOption('--data <dir>', 'device data directory')
    .option('--once', 'one decision and at most one install, then exit (the only mode so far)', false)
    .option('--at <time>', 'evaluate the policy at this time (ISO 8601 or ms since epoch) instead of now')
    .option('--json', 'machine-readable output', false)
    .addHelpText('after', INSTALL_HELP)
    .action(action(ctx, async (opts: InstallOpts) => {
      if (opts.once !== true) throw new StoremeshError('E_USAGE', 'device install needs --once (the continuous mode is `storemesh device run`)')
      const atMs = opts.at !== undefined ? parseAt(opts.at) : undefined
      const r = await withShutdownSignal(async signal => await runDeviceInstallOnce({ dataDir: opts.data, signal, ...(atMs !== undefined ? { atMs } : {}) }))
      printResult(r, opts.json)
      return r.exitCode
    }))
}

function registerRollback (device: Command, ctx: CommandContext): void {
  device.command('rollback')
    .description('roll this device back to the slot it ran before the last install')
    .option('--local', 'roll back this device (from its data directory)', false)
    .option('--data <dir>', 'device data directory (with --local); with --id: the hub data directory, for its api-token')
    .option('--id <device>', "a device in the store, rolled back through the hub's API")
    .option('--api <url>', `with --id: the hub API (env STOREMESH_API; default ${DEFAULT_API_URL})`)
    .option('--token <token>', 'with --id: API bearer token (env STOREMESH_TOKEN; default: <data>/api-token)')
    .requiredOption('--reason <text>', 'why; kept in the journal and the wave ledger')
    .option('--json', 'machine-readable output', false)
    .action(action(ctx, async (opts: RollbackOpts) => {
      if (opts.id !== undefined && opts.local !== true) return await rollbackThroughHub(opts)
      if (opts.local !== true || opts.data === undefined) {
        throw new StoremeshError('E_USAGE', 'give --local --data <dir> (this device) or --id <device> (through the hub)')
      }
      const data = opts.data
      const r = await withShutdownSignal(async signal => await rollbackLocal({ dataDir: data, reason: opts.reason, signal }))
      printResult(r, opts.json)
      // the operator asked for exactly this: a rollback carried out is success
      return r.result === 'rolled-back' ? EXIT.OK : r.exitCode
    }))
}

function registerStatus (device: Command, ctx: CommandContext): void {
  device.command('install-status')
    .description('installer state, boot slots, pinned bundles and the last journal entry')
    .requiredOption('--data <dir>', 'device data directory')
    .option('--json', 'machine-readable output', false)
    .action(action(ctx, async (opts: StatusOpts) => {
      const s = await readInstallStatus({ dataDir: opts.data })
      if (opts.json) printJson(s)
      else printStatus(s)
    }))
}

export const register: Register = (program: Command, ctx) => {
  const device = program.command('device').description('the device role: run the LAN agent (default), install, roll back, inspect slots')

  registerRun(device, ctx)
  registerInstall(device, ctx)
  registerRollback(device, ctx)
  registerStatus(device, ctx)
  registerDeviceCache(device, ctx)
}
