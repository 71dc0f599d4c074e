/**
 * `storemesh root`: the fleet's root of trust (protocols/root/SPEC.md).
 *
 * - `init`: root 1 from public key files per role, signed with `--sign` keys (or later
 *   with `root sign`);
 * - `rotate`: the next version of a root, the roles named replaced, the rest kept;
 *   it needs a threshold of the old root keys and of its own (`--sign`, `root sign`);
 * - `sign`: adds signatures to a root file (each signer where its key lives);
 * - `show`: prints a root file, or the chain a node's data dir trusts;
 * - `install`: gives a node (a hub, running or not) a root: it must chain from the one
 *   the node holds (`--enrol` for a node that has only static keys);
 * - `publish`: puts roots into an origin folder as `roots/<version>.json`, where super
 *   hubs pulling through from it take them (protocols/origin/SPEC.md "Layout");
 * - `timestamp`: the timestamp role signs a short-lived freshness statement (newest
 *   bundle and policy per class); with `--data` it is checked against that node's root
 *   and stored there (its status and metrics then say fresh or stale); with `--origin`
 *   it is written as the origin's `timestamp.json`, which super hubs pulling through
 *   from it read (protocols/origin/SPEC.md "Layout").
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Command } from 'commander'
import { readSigningKeyFile, readTrustedKeyFiles } from '../bundle/keys.js'
import { readBoundedFile } from '../identity/files.js'
import {
  addRootSignatures, buildRootBody, decodeRoot, decodeRootOrChain, decodeTimestamp, DEFAULT_ROOT_LIFETIME_MS, DEFAULT_TIMESTAMP_LIFETIME_MS,
  encodeRoot, encodeTimestamp, installTimestamp, MAX_ROOT_CHAIN_BYTES, MAX_TIMESTAMP_BYTES, newerTimestamp, perRole, roleKeysOf, ROOT_ROLES, RootTrust,
  signTimestamp, type RootDocument, type RootFields, type RootRole, type Timestamp, type TimestampEntry
} from '../identity/root/index.js'
import { writeFileAtomic } from '../interface/atomic-file.js'
import { ORIGIN_ROOTS_DIR, ORIGIN_TIMESTAMP_KEY } from '../origin/constants.js'
import { publishRoots } from '../origin/publish-root.js'
import { readRegularFile } from '../interface/regular-file.js'
import { StoremeshError } from '../interface/errors.js'
import type { TrustedKey } from '../interface/types.js'
import { parseExpiry } from './bundle.js'
import type { Register } from './commands.js'
import { action } from './context.js'
import { printJson } from './output.js'

const DAY_MS = 86_400_000
const DEFAULT_ROOT_EXPIRES = `${DEFAULT_ROOT_LIFETIME_MS / DAY_MS}d`
const DEFAULT_TIMESTAMP_EXPIRES = `${DEFAULT_TIMESTAMP_LIFETIME_MS / 3_600_000}h`

/** `pos=b3:...` or `pos=b3:...,p3:...` */
function parseEntry (s: string): TimestampEntry {
  const m = /^([^=]+)=([^,]+)(?:,(.+))?$/.exec(s)
  if (m === null) throw new StoremeshError('E_USAGE', `--entry wants class=bundleId[,policyId]: ${s}`)
  return { deviceClass: m[1] as string, bundleId: m[2] as string, ...(m[3] !== undefined ? { policyId: m[3] } : {}) }
}

type RoleFlags = Partial<Record<`${RootRole}Key`, string[]>>

interface BuildOpts extends RoleFlags {
  out: string
  threshold?: string[]
  expires: string
  sign?: string[]
  json?: boolean
}

interface RotateOpts extends BuildOpts { from: string }

/** `release=2 root=3` into a map; every role named must be one. */
function parseThresholds (items: readonly string[] | undefined): Partial<Record<RootRole, number>> {
  const out: Partial<Record<RootRole, number>> = {}
  for (const item of items ?? []) {
    const m = /^([a-z]+)=(\d{1,2})$/.exec(item)
    if (m === null || !(ROOT_ROLES as readonly string[]).includes(m[1] as string)) {
      throw new StoremeshError('E_USAGE', `--threshold wants role=n with role one of ${ROOT_ROLES.join(', ')}: ${item}`)
    }
    out[m[1] as RootRole] = Number(m[2])
  }
  return out
}

async function roleKeys (opts: RoleFlags): Promise<Partial<Record<RootRole, TrustedKey[]>>> {
  const out: Partial<Record<RootRole, TrustedKey[]>> = {}
  for (const role of ROOT_ROLES) {
    const files = opts[`${role}Key`]
    if (files !== undefined) out[role] = await readTrustedKeyFiles(files)
  }
  return out
}

async function signWith (root: RootDocument, files: readonly string[] | undefined): Promise<RootDocument> {
  if (files === undefined || files.length === 0) return root
  return addRootSignatures(root, await Promise.all(files.map(readSigningKeyFile)))
}

export async function readRootFile (path: string): Promise<RootDocument> {
  const bytes = await readBoundedFile(path, MAX_ROOT_CHAIN_BYTES)
  if (bytes === undefined) throw new StoremeshError('E_FILE_NOT_FOUND', `no such file: ${path}`, { path })
  return decodeRoot(bytes)
}

/** Root files or chain files, each a regular file within the chain's size limit. */
async function readRootFiles (files: readonly string[]): Promise<RootDocument[]> {
  const roots: RootDocument[] = []
  for (const f of files) {
    roots.push(...decodeRootOrChain(new Uint8Array(await readRegularFile(f, { maxBytes: MAX_ROOT_CHAIN_BYTES, what: f, codes: { tooLarge: 'E_ROOT_INVALID' } }))))
  }
  return roots
}

async function writeRootFile (path: string, root: RootDocument): Promise<void> {
  await writeFileAtomic(path, Buffer.concat([encodeRoot(root), Buffer.from('\n')]), { mode: 0o644 })
}

/** The origin's statement, unless the one there was issued later (a signer with a slow clock must not roll the origin back). */
async function writeOriginTimestamp (originDir: string, ts: Timestamp): Promise<void> {
  const path = join(originDir, ORIGIN_TIMESTAMP_KEY)
  const bytes = await readBoundedFile(path, MAX_TIMESTAMP_BYTES)
  // a torn or foreign file there is replaced; only a valid later statement wins
  let held: Timestamp | undefined
  try { held = bytes !== undefined ? decodeTimestamp(bytes) : undefined } catch { held = undefined }
  if (held !== undefined) newerTimestamp(held, ts)
  await writeFileAtomic(path, Buffer.concat([encodeTimestamp(ts), Buffer.from('\n')]), { mode: 0o644 })
}

function describeRoot (root: RootDocument): Record<string, unknown> {
  const b = root.signed
  return {
    version: b.version,
    issuedAt: b.issuedAt,
    expiresAt: b.expiresAt,
    roles: Object.fromEntries(ROOT_ROLES.map(r => [r, { keyids: b.roles[r].keyids, threshold: b.roles[r].threshold }])),
    signedBy: root.signatures.map(s => s.keyid)
  }
}

function printRoot (root: RootDocument, path: string, json: boolean, extra: Record<string, unknown> = {}): void {
  if (json) {
    printJson({ kind: 'root', path, ...describeRoot(root), ...extra })
    return
  }
  const b = root.signed
  process.stdout.write([
    `root version ${b.version}`,
    `issued      ${b.issuedAt}`,
    `expires     ${b.expiresAt}`,
    ...ROOT_ROLES.map(r => `${r.padEnd(11)} ${b.roles[r].threshold} of ${b.roles[r].keyids.join(', ')}`),
    `signed by   ${root.signatures.length === 0 ? '-' : root.signatures.map(s => s.keyid).join(', ')}`,
    ...Object.entries(extra).map(([k, v]) => `${k.padEnd(11)} ${Array.isArray(v) ? (v.length === 0 ? '-' : v.join(', ')) : String(v)}`),
    `file        ${path}`
  ].join('\n') + '\n')
}

function addRoleOptions (cmd: Command, what: string): Command {
  for (const role of ROOT_ROLES) cmd.option(`--${role}-key <pub...>`, `public key file(s) of the ${role} role${what}`)
  return cmd
    .option('--threshold <role=n...>', 'signatures required per role, e.g. root=2 release=2 (default 1, or the old root\'s)')
    .option('--expires <duration|date>', 'expiry: a duration from now (365d) or a date', DEFAULT_ROOT_EXPIRES)
    .option('--sign <key...>', 'private key file(s) to sign with now (or later: root sign)')
    .option('--json', 'print the root\'s members as JSON')
}

export const register: Register = (program: Command, ctx) => {
  const root = program.command('root').description('the fleet\'s root of trust: keys and thresholds per role, chained by version (protocols/root/SPEC.md)')

  addRoleOptions(root.command('init')
    .description('write root 1; policy keys default to the release keys, enrolment and timestamp keys to the root keys')
    .requiredOption('--out <file>', 'root file to write'), '')
    .action(action(ctx, async (opts: BuildOpts) => {
      const keys = await roleKeys(opts)
      if (keys.root === undefined || keys.release === undefined) throw new StoremeshError('E_USAGE', 'root init needs --root-key and --release-key')
      const chosen: Record<RootRole, TrustedKey[]> = {
        root: keys.root,
        release: keys.release,
        policy: keys.policy ?? keys.release,
        enrolment: keys.enrolment ?? keys.root,
        timestamp: keys.timestamp ?? keys.root
      }
      const thresholds = parseThresholds(opts.threshold)
      const now = new Date()
      const fields: RootFields = {
        version: 1,
        issuedAt: now,
        expiresAt: parseExpiry(opts.expires, now.getTime()),
        roles: perRole(r => ({ keys: chosen[r], threshold: thresholds[r] ?? 1 }))
      }
      const out = await signWith({ signed: buildRootBody(fields), signatures: [] }, opts.sign)
      await writeRootFile(opts.out, out)
      printRoot(out, opts.out, opts.json === true)
    }))

  addRoleOptions(root.command('rotate')
    .description('write the next version of a root: the roles named get the keys given (a key left out is revoked), the others are kept')
    .requiredOption('--from <file>', 'the root in force')
    .requiredOption('--out <file>', 'root file to write'), ' (replaces the old root\'s)')
    .action(action(ctx, async (opts: RotateOpts) => {
      const old = (await readRootFile(opts.from)).signed
      const keys = await roleKeys(opts)
      const thresholds = parseThresholds(opts.threshold)
      const now = new Date()
      const fields: RootFields = {
        version: old.version + 1,
        issuedAt: now,
        expiresAt: parseExpiry(opts.expires, now.getTime()),
        roles: perRole(r => {
          const given = keys[r] ?? roleKeysOf(old, r)
          return { keys: given, threshold: thresholds[r] ?? Math.min(old.roles[r].threshold, given.length) }
        })
      }
      const out = await signWith({ signed: buildRootBody(fields), signatures: [] }, opts.sign)
      await writeRootFile(opts.out, out)
      printRoot(out, opts.out, opts.json === true)
    }))

  root.command('sign')
    .description('add signatures to a root file (old root keys and new ones may sign in separate places)')
    .argument('<file>', 'the root file')
    .requiredOption('--key <key...>', 'private key file(s) to sign with')
    .option('--out <file>', 'write here instead of over <file>')
    .option('--json', 'print the root\'s members as JSON')
    .action(action(ctx, async (file: string, opts: { key: string[], out?: string, json?: boolean }) => {
      const signed = await signWith(await readRootFile(file), opts.key)
      const out = opts.out ?? file
      await writeRootFile(out, signed)
      printRoot(signed, out, opts.json === true)
    }))

  root.command('show')
    .description('print a root file, or the root a node\'s data dir trusts (its chain, and the keys it revoked)')
    .argument('<file|dir>', 'a root file, or a node data directory')
    .option('--trust <key...>', 'with a data dir: the node\'s static key files (its implicit root 0), to list what they revoke')
    .option('--json', 'print the members as JSON')
    .action(action(ctx, async (target: string, opts: { trust?: string[], json?: boolean }) => {
      if ((await stat(target).catch(() => undefined))?.isDirectory() !== true) {
        printRoot(await readRootFile(target), target, opts.json === true)
        return
      }
      const rt = await RootTrust.open(target, { keys: opts.trust !== undefined ? await readTrustedKeyFiles(opts.trust) : [] })
      const current = rt.chain.at(-1)
      if (current === undefined) {
        if (opts.json === true) printJson({ kind: 'root', path: target, version: 0 })
        else process.stdout.write(`root version 0 (static keys only: ${target} holds no root)\n`)
        return
      }
      const revoked = Object.fromEntries(ROOT_ROLES.map(r => [r, [...(rt.snapshot(r).revoked ?? [])]]))
      printRoot(current, target, opts.json === true, { chain: rt.chain.map(r => r.signed.version), revoked: opts.json === true ? revoked : Object.values(revoked).flat() })
    }))

  root.command('timestamp')
    .description('sign a short-lived freshness statement: the newest bundle (and policy) per device class')
    .requiredOption('--key <key...>', 'timestamp role private key file(s)')
    .option('--entry <entry...>', 'what is newest per device class: class=bundleId or class=bundleId,policyId')
    .option('--from <file>', 'or: re-sign the entries of this statement with a new lifetime')
    .option('--expires <duration|date>', 'expiry: a duration from now (24h) or a date; at most 7 days', DEFAULT_TIMESTAMP_EXPIRES)
    .option('--out <file>', 'statement file to write')
    .option('--data <dir>', 'store it in this node\'s data dir, checked against the node\'s root')
    .option('--trust <key...>', 'with --data: the node\'s static key files (its root 0)')
    .option('--origin <dir>', `write it as the origin folder's ${ORIGIN_TIMESTAMP_KEY} (super hubs pulling through read it)`)
    .option('--json', 'print the statement as JSON')
    .action(action(ctx, async (opts: { key: string[], entry?: string[], from?: string, expires: string, out?: string, data?: string, trust?: string[], origin?: string, json?: boolean }) => {
      if (opts.out === undefined && opts.data === undefined && opts.origin === undefined) throw new StoremeshError('E_USAGE', 'give --out, --data, --origin, or several')
      let entries = (opts.entry ?? []).map(parseEntry)
      if (opts.from !== undefined) {
        const bytes = await readBoundedFile(opts.from, MAX_TIMESTAMP_BYTES)
        if (bytes === undefined) throw new StoremeshError('E_FILE_NOT_FOUND', `no such file: ${opts.from}`, { path: opts.from })
        entries = [...decodeTimestamp(bytes).signed.entries, ...entries]
      }
      const now = new Date()
      const ts: Timestamp = signTimestamp({ entries, issuedAt: now, expiresAt: parseExpiry(opts.expires, now.getTime()) },
        await Promise.all(opts.key.map(readSigningKeyFile)))
      if (opts.data !== undefined) {
        const rt = await RootTrust.open(opts.data, { keys: opts.trust !== undefined ? await readTrustedKeyFiles(opts.trust) : [] })
        await installTimestamp(opts.data, ts, rt.snapshot('timestamp'))
      }
      if (opts.out !== undefined) await writeFileAtomic(opts.out, Buffer.concat([encodeTimestamp(ts), Buffer.from('\n')]), { mode: 0o644 })
      if (opts.origin !== undefined) await writeOriginTimestamp(opts.origin, ts)
      const b = ts.signed
      if (opts.json === true) printJson({ kind: 'timestamp', ...b, signedBy: ts.signatures.map(x => x.keyid) })
      else process.stdout.write(`timestamp issued ${b.issuedAt}, expires ${b.expiresAt}: ${b.entries.map(e => `${e.deviceClass}=${e.bundleId}`).join(' ') || '(no entries)'}\n`)
    }))

  root.command('publish')
    .description(`put roots into an origin folder as ${ORIGIN_ROOTS_DIR}/<version>.json: super hubs pulling through from it take them when they chain`)
    .argument('<file...>', 'root files (or chain files): each signed by its own root keys, and chaining from the origin\'s previous version')
    .requiredOption('--origin <dir>', 'the origin folder (bundle publish\'s)')
    .option('--json', 'print the outcome as JSON')
    .action(action(ctx, async (files: string[], opts: { origin: string, json?: boolean }) => {
      const r = await publishRoots(opts.origin, await readRootFiles(files))
      if (opts.json === true) printJson({ kind: 'root-publish', origin: opts.origin, ...r })
      else process.stdout.write(`roots written ${r.written.join(', ') || '-'}; already there ${r.present.join(', ') || '-'}\n`)
    }))

  root.command('install')
    .description('give a node a root: it must chain from the one the node holds; a running node takes it at its next check')
    .argument('<file...>', 'root files (or chain files), any order: the node walks them version by version')
    .requiredOption('--data <dir>', 'the node\'s data directory')
    .option('--trust <key...>', 'the node\'s static key files (its implicit root 0, which root 1 must be signed by)')
    .option('--enrol', 'a node with no root yet: take the lowest root given on its own signatures (the operator vouches for it)')
    .option('--json', 'print the outcome as JSON')
    .action(action(ctx, async (files: string[], opts: { data: string, trust?: string[], enrol?: boolean, json?: boolean }) => {
      const roots = await readRootFiles(files)
      const rt = await RootTrust.open(opts.data, { keys: opts.trust !== undefined ? await readTrustedKeyFiles(opts.trust) : [] })
      const from = rt.version
      if (opts.enrol === true && rt.chain.length === 0) {
        const first = [...roots].sort((a, b) => a.signed.version - b.signed.version)[0] as RootDocument
        await rt.enrol(first)
      }
      const r = await rt.accept(roots)
      const out = { kind: 'root-install', path: opts.data, from, to: r.to }
      if (opts.json === true) printJson(out)
      else process.stdout.write(from === r.to ? `root version ${r.to}: nothing newer to take\n` : `root version ${from} -> ${r.to}\n`)
    }))
}
