/**
 * `storemesh keygen`: makes key files. Today: an Ed25519 signing key pair for
 * bundles and policies. Other kinds of key (the fleet's libp2p private-network key,
 * `--swarm`) plug in as one more option and one more entry in KEY_KINDS.
 */
import { access } from 'node:fs/promises'
import type { Command } from 'commander'
import { generateSigningKey, writeKeyFiles } from '../bundle/keys.js'
import { StoremeshError } from '../interface/errors.js'
import { swarmKeyFingerprint, writeSwarmKeyFile } from '../net/swarm-key.js'
import type { Register } from './commands.js'
import { action } from './context.js'
import { printJson } from './output.js'

export interface KeygenOptions {
  out: string
  public?: string
  force?: boolean
  json?: boolean
  [option: string]: unknown
}

export interface KeygenResult {
  kind: string
  /** printed alone without --json */
  id: string
  files: Record<string, string>
}

/** One kind of key: chosen when `isChosen(opts)`; the first kind is the default. */
export interface KeyKind {
  kind: string
  isChosen: (opts: KeygenOptions) => boolean
  generate: (opts: KeygenOptions) => Promise<KeygenResult>
}

async function refuseOverwrite (paths: string[], force: boolean): Promise<void> {
  if (force) return
  for (const p of paths) {
    const exists = await access(p).then(() => true, () => false)
    if (exists) throw new StoremeshError('E_INVALID_ARGUMENT', `${p} exists; pass --force to replace it`, { path: p })
  }
}

const signingKeyKind: KeyKind = {
  kind: 'ed25519-signing',
  isChosen: () => true,
  generate: async opts => {
    const publicPath = opts.public ?? `${opts.out}.pub`
    await refuseOverwrite([opts.out, publicPath], opts.force === true)
    const key = generateSigningKey()
    await writeKeyFiles(opts.out, publicPath, key)
    return { kind: 'ed25519-signing', id: key.keyid, files: { private: opts.out, public: publicPath } }
  }
}

/** `--swarm`: the fleet's libp2p private-network key (src/net/swarm-key.ts); prints its fingerprint. */
const swarmKeyKind: KeyKind = {
  kind: 'swarm-psk',
  isChosen: opts => opts.swarm === true,
  generate: async opts => {
    const key = await writeSwarmKeyFile(opts.out, undefined, { overwrite: opts.force === true })
    return { kind: 'swarm-psk', id: swarmKeyFingerprint(key), files: { swarm: opts.out } }
  }
}

/** Checked in order; the signing key is the fallback, so new kinds go before it. */
export const KEY_KINDS: KeyKind[] = [swarmKeyKind, signingKeyKind]

export const register: Register = (program: Command, ctx) => {
  program.command('keygen')
    .description('make an Ed25519 signing key pair for bundles and policies; prints its key id')
    .requiredOption('--out <file>', 'private key file to write (mode 0600)')
    .option('--public <file>', 'public key file to write, for --trust (default: <out>.pub)')
    .option('--swarm', 'make the fleet\'s libp2p private-network key instead (swarm.key format); prints its fingerprint')
    .option('--force', 'replace existing files')
    .option('--json', 'print {kind, id, files} as JSON')
    .action(action(ctx, async (opts: KeygenOptions) => {
      const kind = KEY_KINDS.find(k => k.isChosen(opts)) ?? signingKeyKind
      const r = await kind.generate(opts)
      if (opts.json === true) printJson(r)
      else process.stdout.write(`${r.id}\n`)
    }))
}
