/**
 * `storemesh hub prefetch --data <dir> --policy <signed policy> --trust <key>... [--window 00:30-03:30]`:
 * queue the policy's bundle for WAN pre-staging in `<data>/prefetch.json`. Idempotent,
 * needs no network (accepted while the WAN is down); the running or next store hub
 * picks it up. Creates the data directory when it does not exist yet, so it can be
 * queued before the hub ever ran. The window and its zone are checked here (src/time/,
 * the grammar every window uses) before anything is written. Attaches to the `hub`
 * command group if another module created it.
 */
import { mkdir } from 'node:fs/promises'
import type { Command } from 'commander'
import { readTrustedKeyFiles } from '../bundle/keys.js'
import { toStoremeshError } from '../interface/errors.js'
import { readRegularFile } from '../interface/regular-file.js'
import { MAX_SIGNED_POLICY_BYTES } from '../policy/constants.js'
import { decodeSignedPolicy, verifyPolicy } from '../policy/index.js'
import { policyPrestageAtMs } from '../control/waves/index.js'
import { addPrefetch } from '../wan/prefetch-queue.js'
import { parseWindow, zoneOf } from '../time/index.js'
import { hostTimezone } from '../wan/index.js'
import type { Register } from './commands.js'
import { action, type CommandContext } from './context.js'
import { printJson } from './output.js'

interface PrefetchOpts { data: string, policy: string, trust: string[], threshold: string, window?: string, timezone?: string, json: boolean }

export function registerPrefetch (hub: Command, ctx: CommandContext): void {
  hub.command('prefetch')
    .description('queue a signed policy\'s bundle for pre-staging over the WAN (idempotent, works offline)')
    .requiredOption('--data <dir>', 'the store hub\'s data directory')
    .requiredOption('--policy <file>', 'signed rollout policy naming the bundle')
    .requiredOption('--trust <key...>', 'trusted public key file(s)')
    .option('--threshold <n>', 'signatures from distinct trusted keys required', '1')
    .option('--window <window>', 'pull only inside this window, e.g. 00:30-03:30 or "Mon-Fri 00:30-03:30; Sat,Sun 00:00-06:00" (README "Time windows")')
    .option('--timezone <zone>', 'IANA zone of the window (default: the policy\'s, else the host\'s)')
    .option('--json', 'JSON output', false)
    .action(action(ctx, async (opts: PrefetchOpts) => {
      const bytes = await readRegularFile(opts.policy, { what: 'signed policy', maxBytes: MAX_SIGNED_POLICY_BYTES, codes: { tooLarge: 'E_POLICY_INVALID' } })
      const v = verifyPolicy(decodeSignedPolicy(bytes), { keys: await readTrustedKeyFiles(opts.trust), threshold: Number(opts.threshold) })
      const bundle = v.policy.spec.bundle
      const timezone = zoneOf(opts.timezone ?? v.policy.spec.schedule.timezone ?? hostTimezone()).name
      if (opts.window !== undefined) parseWindow(opts.window)
      try {
        await mkdir(opts.data, { recursive: true })
      } catch (err) {
        throw toStoremeshError(err)
      }
      // pre-staging starts the policy's prestageHours before its maintenance window (docs/fleet-waves.md)
      const notBeforeMs = policyPrestageAtMs(v.policy.spec.schedule, Date.now())
      const { entry, added } = await addPrefetch(opts.data, {
        bundleId: bundle.id,
        policyId: v.policyId,
        ...(notBeforeMs !== undefined ? { notBeforeMs } : {}),
        ...(opts.window !== undefined ? { window: opts.window, timezone } : {})
      })
      if (opts.json) printJson({ added, entry })
      else {
        process.stdout.write(`${added ? 'queued' : 'already queued'}: ${bundle.id} (${bundle.version}) ${entry.state}${entry.window !== undefined ? ` in window ${entry.window} ${entry.timezone ?? ''}` : ''}` +
          `${entry.notBeforeMs !== undefined ? `, pre-staging from ${new Date(entry.notBeforeMs).toISOString()} (prestageHours ${v.policy.spec.schedule.prestageHours} before the window ${v.policy.spec.schedule.maintenanceWindow ?? ''} ${v.policy.spec.schedule.timezone})` : ''}\n`)
      }
    }))
}

export const register: Register = (program, ctx) => {
  const hub = program.commands.find(c => c.name() === 'hub') ?? program.command('hub').description('store hub')
  registerPrefetch(hub, ctx)
}
