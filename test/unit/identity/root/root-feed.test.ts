/**
 * The super hub's root feed (src/identity/root/root-feed.ts) over a real folder
 * (RootDirSource) and a real data dir: a node on its static key (root 0) takes roots
 * dropped in only when they chain (root 2 before root 1 waits, then both are walked);
 * a chain file repeating held roots is nothing new; a forged next root, a different
 * root at a held version (rollback), a torn file, a FIFO and a directory are each
 * refused once with their code and counted, and the chain file is unchanged by them;
 * an expired next root is refused, and a later root chains through it.
 */
import { execFileSync } from 'node:child_process'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { generateSigningKey, type PrivateSigningKey } from '../../../../src/bundle/keys.js'
import {
  buildRootBody, encodeRoot, encodeRootChain, RootDirSource, RootFeed, rootChainPath, RootTrust, signRoot, type RootDocument, type RootFields
} from '../../../../src/identity/root/index.js'
import type { TrustedKey } from '../../../../src/interface/types.js'
import { tempDir } from '../../../support/store-fixture.js'

const DAY_MS = 86_400_000
const pub = (k: PrivateSigningKey): TrustedKey => ({ keyid: k.keyid, publicKey: k.publicKey })
const one = (k: PrivateSigningKey): { keys: TrustedKey[], threshold: number } => ({ keys: [pub(k)], threshold: 1 })

function rootOf (version: number, rootKey: PrivateSigningKey, release: PrivateSigningKey, signers: PrivateSigningKey[], opts: { issuedMs?: number, expiresMs?: number } = {}): RootDocument {
  const roles: RootFields['roles'] = { root: one(rootKey), release: one(release), policy: one(release), enrolment: one(rootKey), timestamp: one(rootKey) }
  const issuedAt = new Date(opts.issuedMs ?? Date.now() - 60_000)
  return signRoot(buildRootBody({ version, issuedAt, expiresAt: new Date(opts.expiresMs ?? Date.now() + 30 * DAY_MS), roles }), signers)
}

async function drop (dir: string, name: string, bytes: Uint8Array): Promise<void> {
  // as a signer should: a dot name (skipped), then a rename
  await writeFile(join(dir, `.${name}.tmp`), bytes)
  await rename(join(dir, `.${name}.tmp`), join(dir, name))
}

function quietLog (logged: Array<{ code: unknown, line: string }>): never {
  const log = {
    error: () => {},
    warn: (f: Record<string, unknown>, line: string) => { logged.push({ code: f.code, line }) },
    info: () => {},
    debug: () => {},
    child: () => log
  }
  return log as never
}

t.test('a root folder feeds the super hub: chained roots adopted, bad ones refused once by code, nothing else changes', async t => {
  const data = await tempDir(t)
  const dir = join(await tempDir(t), 'roots')
  await mkdir(dir)
  const staticKey = generateSigningKey()
  const rootKey = generateSigningKey()
  const newRelease = generateSigningKey()
  const rt = await RootTrust.open(data, { keys: [pub(staticKey)] })
  // root 1 puts the static key under a root key (signed by root 0's keys and its own); root 2 revokes it for releases
  const r1 = rootOf(1, rootKey, staticKey, [staticKey, rootKey])
  const r2 = rootOf(2, rootKey, newRelease, [rootKey])

  const adopted: Array<[number, number]> = []
  const logged: Array<{ code: unknown, line: string }> = []
  const feed = new RootFeed({ root: rt, sources: [new RootDirSource(dir)], onAdopted: (from, to) => { adopted.push([from, to]) }, log: quietLog(logged) })
  t.teardown(() => { feed.stop() })
  await feed.start()
  t.same(feed.counters(), { adopted: 0, refusedByCode: {}, sourceErrors: {}, version: 0, pending: 0 }, 'an empty folder: nothing')

  await drop(dir, '2.json', encodeRoot(r2))
  await feed.scan()
  t.same(feed.counters().pending, 1, 'root 2 without root 1 waits')
  t.equal(rt.version, 0)
  t.same(feed.counters().refusedByCode, {}, 'a gap is not a refusal')

  await drop(dir, '1.json', encodeRoot(r1))
  await feed.scan()
  t.same(adopted, [[0, 2]], 'root 1 arrives: 0 -> 1 -> 2 walked in one adoption')
  t.equal(rt.version, 2)
  t.same(feed.counters().pending, 0)
  t.same((await RootTrust.open(data, { keys: [pub(staticKey)] })).version, 2, 'persisted in the chain file')

  // a chain file of the roots held: nothing new, nothing refused
  await drop(dir, 'chain.json', encodeRootChain([r1, r2]))
  await feed.scan()
  t.same(adopted.length, 1)
  t.same(feed.counters().refusedByCode, {})

  // a forged root 3, another root 2 (a fork or rollback), a torn file, a directory and a FIFO
  const held = await readFile(rootChainPath(data))
  const forger = generateSigningKey()
  await drop(dir, 'forged-3.json', encodeRoot(rootOf(3, forger, forger, [forger])))
  await drop(dir, 'other-2.json', encodeRoot(rootOf(2, rootKey, staticKey, [rootKey], { issuedMs: Date.now() - 120_000 })))
  await drop(dir, 'torn.json', encodeRoot(r2).subarray(0, 200))
  await mkdir(join(dir, 'dir.json'))
  execFileSync('mkfifo', [join(dir, 'fifo.json')])
  await feed.scan()
  await feed.scan()
  t.same(feed.counters().refusedByCode, { E_ROOT_SIGNATURE: 1, E_ROOT_ROLLBACK: 1, E_ROOT_INVALID: 1, E_FILE_NOT_REGULAR: 2 }, 'each refused once (two scans), by its code')
  t.ok(logged.some(l => l.code === 'E_ROOT_ROLLBACK' && l.line.includes('other-2.json')), 'the log names the file and the code')
  t.same(await readFile(rootChainPath(data)), held, 'the chain file is unchanged by the refusals')
  t.equal(rt.version, 2)

  // an expired root 3 is refused; root 4 chains through it (only the newest must be unexpired, as in TUF)
  const rootKey3 = generateSigningKey()
  const r3 = rootOf(3, rootKey3, newRelease, [rootKey, rootKey3], { issuedMs: Date.now() - 2 * DAY_MS, expiresMs: Date.now() - DAY_MS })
  await drop(dir, '3.json', encodeRoot(r3))
  await feed.scan()
  await feed.scan()
  t.equal(feed.counters().refusedByCode.E_ROOT_EXPIRED, 1, 'an expired newest root: refused once')
  t.equal(rt.version, 2)
  await drop(dir, '4.json', encodeRoot(rootOf(4, rootKey3, newRelease, [rootKey3])))
  await feed.scan()
  t.same(adopted.at(-1), [2, 4], 'root 4 chains through the expired root 3')
  t.equal(feed.counters().adopted, 4, 'one per version walked')
})

t.test('a folder that is missing is a source error, logged and counted; the feed goes on', async t => {
  const data = await tempDir(t)
  const key = generateSigningKey()
  const rt = await RootTrust.open(data, { keys: [pub(key)] })
  const feed = new RootFeed({ root: rt, sources: [new RootDirSource(join(data, 'nope'))], log: quietLog([]) })
  t.teardown(() => { feed.stop() })
  await feed.start()
  t.same(feed.counters().sourceErrors, { dir: 1 })
  t.equal(feed.counters().version, 0)
})
