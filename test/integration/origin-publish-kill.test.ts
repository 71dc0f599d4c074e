/**
 * `storemesh bundle publish` SIGKILLed midway (a real process: some chunks in the
 * origin, no manifest, no index yet) completes on the next run: every chunk whole,
 * the chunks the first run wrote kept as they were (not rewritten), then the manifest
 * and the signed class index. Small chunks make the publish thousands of files long,
 * so the kill lands while chunks are still being written; the test checks that it did.
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { once } from 'node:events'
import { chunkKey, indexKey, manifestKey } from '../../src/origin/index.js'
import { runCli, spawnCli } from '../support/cli.js'
import { DEVICE_CLASS, lanFixture, makeBundleDir } from '../support/lan-fixture.js'
import { waitFor } from '../support/poll.js'

const BUNDLE_BYTES = 24 * 1024 * 1024
/** ~3,000 chunks of ~8 KiB: seconds of file writes, so a kill lands midway */
const CHUNKING = { minBytes: 4 * 1024, avgBytes: 8 * 1024, maxBytes: 16 * 1024 }

async function exists (path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false)
}

/** chunk files in the origin's fan-out folders (temporary files left by the kill are not chunks) */
async function chunkFiles (origin: string): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  const root = join(origin, 'chunks')
  for (const prefix of await readdir(root).catch(() => [] as string[])) {
    for (const name of await readdir(join(root, prefix)).catch(() => [] as string[])) {
      if (/^[0-9a-f]{64}$/.test(name)) out.set(name, (await stat(join(root, prefix, name))).mtimeMs)
    }
  }
  return out
}

t.test('a publish SIGKILLed midway completes on the next run, keeping what it had written', async t => {
  const f = await lanFixture(t)
  const { outDir, info } = await makeBundleDir(f.dir, 'kill-os', BUNDLE_BYTES, 41, '1.0.0', CHUNKING)
  const origin = join(f.dir, 'origin')
  const args = ['bundle', 'publish', outDir, '--origin', origin, '--key', join(f.dir, 'sign.key.json'), '--json']

  const first = spawnCli(args)
  let stderr = ''
  first.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = once(first, 'exit')
  // a chunk file, not only its fan-out directory: killed between the two under load (~100), the run had written none
  await waitFor(async () => (await chunkFiles(origin)).size > 0 || first.exitCode !== null, 60_000, 'the first chunks in the origin')
  first.kill('SIGKILL')
  const [, signal] = await exited
  t.equal(signal, 'SIGKILL', `killed, not finished (${stderr.trim()})`)

  const before = await chunkFiles(origin)
  t.ok(before.size > 0 && before.size < info.pieces.length, `killed midway: ${before.size} of ${info.pieces.length} chunks written`)
  t.notOk(await exists(join(origin, manifestKey(info.id))), 'no manifest yet')
  t.notOk(await exists(join(origin, indexKey(DEVICE_CLASS))), 'no index yet: nothing names the half-written bundle')

  const again = await runCli(args)
  t.equal(again.code, 0, again.stderr)
  const r = JSON.parse(again.stdout) as { chunksWritten: number, chunksPresent: number, manifestWritten: boolean, indexWritten: boolean }
  t.ok(r.chunksPresent >= before.size, `the ${before.size} chunks the killed run wrote are found present (${r.chunksPresent})`)
  t.ok(r.chunksWritten > 0 && r.chunksWritten <= info.pieces.length - before.size, `the rest written (${r.chunksWritten})`)
  t.ok(r.manifestWritten && r.indexWritten, 'then the manifest and the index')
  let whole = 0
  for (const p of info.pieces) if ((await stat(join(origin, chunkKey(p.hash)))).size === p.size) whole++
  t.equal(whole, info.pieces.length, 'every chunk in the origin, whole')
  const after = await chunkFiles(origin)
  t.ok([...before].every(([h, mtimeMs]) => after.get(h) === mtimeMs), 'no chunk of the first run was rewritten')

  const third = await runCli(args)
  t.equal(third.code, 0, third.stderr)
  t.match(JSON.parse(third.stdout), { chunksWritten: 0, manifestWritten: false, indexWritten: false }, 'a third run changes nothing')
})
