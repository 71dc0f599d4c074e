/**
 * `storemesh hub --data <dir> [--bundle <dir>...] --swarm-key <file> --trust <key>...`:
 * the store hub on the LAN. Imports the given bundle folders (verified), seeds every
 * complete bundle with super-seeding, answers manifest questions and grants install
 * leases until SIGINT/SIGTERM. Progress: `storemesh status --data <dir>`.
 */
import { StoremeshError } from '../interface/errors.js'
import { runUntilSignal } from '../roles/peer.js'
import { StoreHub } from '../roles/store-hub.js'
import type { Register } from './commands.js'
import { action } from './context.js'
import { addLanOptions, lanLogger, peerInitOf, printReady, type LanOpts } from './lan-options.js'

interface HubOpts extends LanOpts {
  bundle?: string[]
  maxConcurrentInstalls?: string
}

export const register: Register = (program, ctx) => {
  const cmd = program.command('hub')
    .description('run the store hub: seed bundles on the store LAN, answer manifests, grant install leases')
  addLanOptions(cmd)
    .option('--bundle <dir...>', 'bundle folders (`bundle build` output) to import and seed')
    .option('--max-concurrent-installs <n>', 'install leases granted at once (the policy\'s maxConcurrentPerHub)')
    .action(action(ctx, async (opts: HubOpts) => {
      const log = lanLogger(opts.json)
      let max: number | undefined
      if (opts.maxConcurrentInstalls !== undefined) {
        max = Number(opts.maxConcurrentInstalls)
        if (!Number.isSafeInteger(max) || max < 0) throw new StoremeshError('E_USAGE', `--max-concurrent-installs must be an integer >= 0, got ${opts.maxConcurrentInstalls}`)
      }
      const hub = await StoreHub.start({
        ...await peerInitOf(opts, log),
        bundleDirs: opts.bundle ?? [],
        ...(max !== undefined ? { maxConcurrentInstalls: max } : {})
      })
      printReady(opts.json, 'hub', hub.peer.node.peerId.toString(), hub.peer.node.getMultiaddrs().map(String))
      await runUntilSignal(async () => { await hub.stop() })
      log('hub stopped')
    }))
}
