/**
 * `storemesh bundle build | verify | inspect | publish` (protocols/bundle/SPEC.md;
 * publish: bundle-publish.ts, protocols/origin/SPEC.md).
 * Exit codes: 0 good, 2 a chunk or artifact hash/size problem, 3 a signature, trust,
 * expiry or manifest problem (DESIGN.md section 8).
 */
import cliProgress from 'cli-progress'
import type { Command } from 'commander'
import { buildBundle } from '../bundle/build.js'
import { CHUNKING_PRESETS, DEFAULT_AVG_CHUNK_BYTES, DEFAULT_MAX_CHUNK_BYTES, DEFAULT_MIN_CHUNK_BYTES } from '../bundle/fastcdc.js'
import { bundleSummary, inspectBundleDir } from '../bundle/inspect.js'
import { readSigningKeyFile, readTrustedKeyFiles } from '../bundle/keys.js'
import { verifyBundleDir } from '../bundle/verify.js'
import { EXIT, StoremeshError } from '../interface/errors.js'
import type { Register } from './commands.js'
import { action } from './context.js'
import { withShutdownSignal } from './lifecycle.js'
import { formatTable, humanBytes, printJson } from './output.js'
import { addPublishCommand } from './bundle-publish.js'

/** @default 30 days: long enough for a staged rollout, short enough that a leaked bundle dies. */
export const DEFAULT_EXPIRES = '30d'

const DURATION_UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

/** `30d`, `12h`, `90m`, `2w`, `45s`, or an ISO 8601 date. */
export function parseExpiry (s: string, nowMs: number): Date {
  const m = /^(\d+)([smhdw])$/.exec(s.trim())
  if (m !== null) return new Date(nowMs + Number(m[1]) * (DURATION_UNIT_MS[m[2] as string] as number))
  const ms = Date.parse(s)
  if (Number.isNaN(ms)) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `--expires wants a duration like 30d or 12h, or a date: ${s}`)
  }
  return new Date(ms)
}

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 }

/** `65536`, `64k`, `64KiB`, `1M`, `1MiB`, `8GiB` (binary units). */
export function parseByteSize (s: string, flag: string): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(s.trim())
  const unit = BYTE_UNITS[(m?.[2] ?? 'x').toLowerCase()]
  if (m === null || unit === undefined) throw new StoremeshError('E_INVALID_ARGUMENT', `${flag} wants a size like 64KiB: ${s}`)
  return Number(m[1]) * unit
}

function parseThreshold (s: string | undefined): number | undefined {
  if (s === undefined) return undefined
  const n = Number(s)
  if (!Number.isInteger(n) || n < 1) throw new StoremeshError('E_INVALID_ARGUMENT', `--threshold wants a positive integer: ${s}`)
  return n
}

/** A progress bar on stderr when it is a terminal; otherwise nothing. */
function progressBar (label: string): { update: (done: number, total: number) => void, stop: () => void } {
  if (process.stderr.isTTY !== true) return { update: () => {}, stop: () => {} }
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: `${label} [{bar}] {percentage}% {doneH}/{totalH} {rate}`,
    hideCursor: true,
    clearOnComplete: true
  }, cliProgress.Presets.shades_classic)
  const startMs = Date.now()
  let started = false
  return {
    update: (done, total) => {
      const secs = Math.max((Date.now() - startMs) / 1000, 0.001)
      const payload = { doneH: humanBytes(done), totalH: humanBytes(total), rate: `${humanBytes(done / secs)}/s` }
      if (!started) {
        bar.start(Math.max(total, 1), done, payload)
        started = true
      } else bar.update(done, payload)
    },
    stop: () => { if (started) bar.stop() }
  }
}

function presetOf (name: string | undefined): Partial<typeof CHUNKING_PRESETS[string]> {
  if (name === undefined) return {}
  const preset = CHUNKING_PRESETS[name]
  if (preset === undefined) {
    throw new StoremeshError('E_USAGE', `--chunking: unknown preset ${JSON.stringify(name)} (${Object.keys(CHUNKING_PRESETS).join(', ')})`)
  }
  return preset
}

interface BuildCliOptions {
  key: string[]
  name: string
  version: string
  deviceClass: string
  cycle?: string
  osVariant?: string
  expires: string
  requiresConfig?: string
  chunking?: string
  minChunk?: string
  avgChunk?: string
  maxChunk?: string
  out: string
  json?: boolean
}

interface VerifyCliOptions {
  trust: string[]
  threshold?: string
  root?: string
  json?: boolean
}

export const register: Register = (program: Command, ctx) => {
  // `bundle build --version 1.2.3` must reach the subcommand, not the program's own
  // --version flag: program options are then read only before the subcommand name.
  program.enablePositionalOptions()
  const bundle = program.command('bundle').description('build, verify and inspect signed content-addressed bundles')

  bundle.command('build')
    .description('chunk and hash artifacts into a signed bundle folder; prints the bundle id')
    .argument('<artifact...>', 'files to ship; each is named by its base name')
    .requiredOption('--key <file...>', 'private signing key file(s)')
    .requiredOption('--name <name>', 'bundle name, e.g. pos-app')
    .requiredOption('--version <semver>', 'bundle version')
    .requiredOption('--device-class <class>', 'device class it targets, e.g. pos')
    .option('--cycle <id>', 'release cycle id')
    .option('--os-variant <variant>', 'OS variant it targets')
    .option('--expires <duration|date>', 'expiry: a duration from now (30d, 12h) or a date', DEFAULT_EXPIRES)
    .option('--requires-config <range>', 'semver range the device config version must satisfy')
    .option('--chunking <preset>', `chunk size preset: ${Object.keys(CHUNKING_PRESETS).join(', ')} (disk-image: 8/32/128 KiB, for large images with scattered edits); --min/--avg/--max-chunk override it`)
    .option('--min-chunk <size>', `FastCDC minimum chunk size (default ${humanBytes(DEFAULT_MIN_CHUNK_BYTES)})`)
    .option('--avg-chunk <size>', `FastCDC average chunk size, a power of two (default ${humanBytes(DEFAULT_AVG_CHUNK_BYTES)})`)
    .option('--max-chunk <size>', `FastCDC maximum chunk size (default ${humanBytes(DEFAULT_MAX_CHUNK_BYTES)})`)
    .requiredOption('--out <dir>', 'bundle folder to write')
    .option('--json', 'print the bundle summary as JSON')
    .action(action(ctx, async (artifacts: string[], opts: BuildCliOptions) => {
      const keys = await Promise.all(opts.key.map(readSigningKeyFile))
      const nowMs = Date.now()
      const bar = progressBar('build')
      try {
        const info = await withShutdownSignal(async signal => await buildBundle({
          artifacts,
          keys,
          name: opts.name,
          version: opts.version,
          deviceClass: opts.deviceClass,
          cycle: opts.cycle,
          osVariant: opts.osVariant,
          requiresConfig: opts.requiresConfig,
          expiresAt: parseExpiry(opts.expires, nowMs),
          now: new Date(nowMs),
          chunking: {
            ...presetOf(opts.chunking),
            ...(opts.minChunk !== undefined ? { minBytes: parseByteSize(opts.minChunk, '--min-chunk') } : {}),
            ...(opts.avgChunk !== undefined ? { avgBytes: parseByteSize(opts.avgChunk, '--avg-chunk') } : {}),
            ...(opts.maxChunk !== undefined ? { maxBytes: parseByteSize(opts.maxChunk, '--max-chunk') } : {})
          },
          outDir: opts.out,
          signal,
          onProgress: p => bar.update(p.doneBytes, p.totalBytes)
        }))
        bar.stop()
        if (opts.json === true) printJson(bundleSummary(info))
        else process.stdout.write(`${info.id}\n`)
      } finally {
        bar.stop()
      }
    }))

  bundle.command('verify')
    .description('check signatures, expiry and every chunk and artifact hash; exit 0 good, 2 content, 3 trust')
    .argument('<dir>', 'bundle folder')
    .requiredOption('--trust <file...>', 'public key file(s) trusted to sign bundles')
    .option('--threshold <n>', 'signatures from distinct trusted keys required (default 1)')
    .option('--root <data-dir>', 'trust what the root chain in this node data dir says for releases (--trust is then its root 0); revoked keys: E_KEY_REVOKED')
    .option('--json', 'print {ok, id, problems} as JSON')
    .action(action(ctx, async (dir: string, opts: VerifyCliOptions) => {
      const keys = await readTrustedKeyFiles(opts.trust)
      const threshold = parseThreshold(opts.threshold)
      // loaded here only: the root module pulls in peer-id parsing that plain verify does not need
      const trust = opts.root === undefined
        ? { keys, threshold }
        : (await (await import('../identity/root/index.js')).RootTrust.open(opts.root, { keys, threshold })).snapshot('release')
      const bar = progressBar('verify')
      let r
      try {
        r = await verifyBundleDir(dir, trust, { onProgress: (d, t) => bar.update(d, t) })
      } finally {
        bar.stop()
      }
      const b = r.info.manifest.signed
      if (opts.json === true) {
        printJson({ ok: r.problems.length === 0, id: r.info.id, name: b.name, version: b.version,
          checkedChunks: r.checkedChunks, checkedBytes: r.checkedBytes, problems: r.problems })
        return r.problems.length === 0 ? EXIT.OK : EXIT.HASH
      }
      const first = r.problems[0]
      if (first !== undefined) {
        const more = r.problems.length > 1 ? ` (+${r.problems.length - 1} more)` : ''
        throw new StoremeshError(first.code, first.message + more, { bundle: r.info.id })
      }
      process.stdout.write(`ok ${r.info.id} ${b.name} ${b.version}: ${b.artifacts.length} artifact(s), ` +
        `${r.checkedChunks} chunks, ${humanBytes(r.checkedBytes)} verified\n`)
    }))

  addPublishCommand(bundle, ctx)

  bundle.command('inspect')
    .description('show what a bundle folder holds (no signature or chunk checks: see verify)')
    .argument('<dir>', 'bundle folder')
    .option('--json', 'print {id, name, version, deviceClass, expires, artifacts: [...]} as JSON')
    .action(action(ctx, async (dir: string, opts: { json?: boolean }) => {
      const s = bundleSummary(await inspectBundleDir(dir))
      if (opts.json === true) {
        printJson(s)
        return
      }
      const lines = [
        `id          ${s.id}`,
        `bundle      ${s.name} ${s.version}${s.cycle !== undefined ? ` (cycle ${s.cycle})` : ''}`,
        `device      ${s.deviceClass}${s.requiresConfig !== undefined ? `, config ${s.requiresConfig}` : ''}`,
        `created     ${s.created}`,
        `expires     ${s.expires}`,
        `signed by   ${s.signedBy.join(', ')} (not checked: use bundle verify)`,
        `chunks      ${s.uniqueChunks} unique, ${humanBytes(s.uniqueBytes)}`,
        '',
        formatTable(['artifact', 'size', 'chunks', 'blake3'],
          s.artifacts.map(a => [a.name, humanBytes(a.size), a.chunks.length, a.blake3]))
      ]
      process.stdout.write(lines.join('\n') + '\n')
    }))
}
