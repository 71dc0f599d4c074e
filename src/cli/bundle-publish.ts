/**
 * `storemesh bundle publish <bundle-dir> --origin <dir>` (src/origin/publish.ts,
 * protocols/origin/SPEC.md): copies a built bundle into an origin folder that any
 * static HTTP server, CDN or bucket serves as it is. Idempotent: run it again after a
 * kill and it completes; chunks already there are not rewritten.
 */
import type { Command } from 'commander'
import { readSigningKeyFile, readTrustedKeyFiles } from '../bundle/keys.js'
import { publishBundle } from '../origin/index.js'
import { action, type CommandContext } from './context.js'
import { withShutdownSignal } from './lifecycle.js'
import { humanBytes, printJson } from './output.js'

interface PublishCliOptions {
  origin: string
  key: string[]
  trust?: string[]
  json?: boolean
}

export function addPublishCommand (bundle: Command, ctx: CommandContext): void {
  bundle.command('publish')
    .description('write a bundle into an origin folder (content-addressed chunks, signed manifest, signed class index); idempotent')
    .argument('<bundle-dir>', 'built bundle folder')
    .requiredOption('--origin <dir>', 'origin folder to write (created if missing)')
    .requiredOption('--key <file...>', 'private key file(s) that sign the class index')
    .option('--trust <file...>', 'public key file(s): refuse a bundle whose manifest does not verify against them')
    .option('--json', 'print the result as JSON')
    .action(action(ctx, async (dir: string, opts: PublishCliOptions) => {
      const keys = await Promise.all(opts.key.map(readSigningKeyFile))
      const trust = opts.trust !== undefined ? { keys: await readTrustedKeyFiles(opts.trust) } : undefined
      const r = await withShutdownSignal(async signal => await publishBundle(dir, opts.origin, { keys, signal, ...(trust !== undefined ? { trust } : {}) }))
      if (opts.json === true) {
        printJson(r)
        return
      }
      process.stdout.write(`published ${r.id} (${r.deviceClass}) to ${opts.origin}: ${r.chunksWritten} chunks written (${humanBytes(r.bytesWritten)}), ` +
        `${r.chunksPresent} already present; manifest ${r.manifestWritten ? 'written' : 'unchanged'}, index v${r.indexVersion} ${r.indexWritten ? 'written' : 'unchanged'}\n`)
    }))
}
