/**
 * The chunk store survives SIGKILL. A child process writes a bundle's chunks (four in
 * parallel, each temp + fsync + rename + index); the test kills it at a random moment,
 * several times, and after each kill opens the store itself and checks: leftover temp
 * files are removed at open, every indexed chunk verifies, every chunk file on disk is
 * indexed, and the held set never shrinks. The writer then resumes where it was and
 * finally completes the bundle, whose artifact reconstructs to the right bytes.
 */
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { blake3Hex } from '../../src/bundle/hash.js'
import { openStore } from '../../src/store/index.js'
import { REPO_ROOT, scriptArgs } from '../support/cli.js'
import { simpleBundle, tempDir } from '../support/store-fixture.js'

const WRITER = 'test/support/store-writer.ts'
const SEED = 42
const CHUNK_COUNT = 160
const CHUNK_BYTES = 128 * 1024
const CONCURRENCY = 4
const KILL_RUNS = 5
/** Kill after 1..MAX_PUTS_BEFORE_KILL observed puts, then a random 0..MAX_KILL_DELAY_MS more. */
const MAX_PUTS_BEFORE_KILL = 12
const MAX_KILL_DELAY_MS = 4
const CHILD_TIMEOUT_MS = 60_000

const fx = simpleBundle(SEED, CHUNK_COUNT, CHUNK_BYTES)

interface WriterEvent { event: 'start' | 'put' | 'complete', held?: number, state?: string }

interface Run {
  events: WriterEvent[]
  code: number | null
  signal: NodeJS.Signals | null
}

/** Runs the writer; with `killAfterPuts`, SIGKILLs it shortly after that many puts. */
async function runWriter (dataDir: string, killAfterPuts?: number): Promise<Run> {
  const child: ChildProcess = spawn(process.execPath,
    [...scriptArgs(WRITER), dataDir, 'write', String(SEED), String(CHUNK_COUNT), String(CHUNK_BYTES), String(CONCURRENCY)],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<[number | null, NodeJS.Signals | null]>(resolve => child.once('exit', (c, s) => resolve([c, s])))
  const guard = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS)
  const events: WriterEvent[] = []
  let puts = 0
  let killing = false
  for await (const line of createInterface({ input: child.stdout! })) {
    const ev = JSON.parse(line) as WriterEvent
    events.push(ev)
    if (ev.event === 'put') puts++
    if (killAfterPuts !== undefined && !killing && puts >= killAfterPuts) {
      killing = true
      const delayMs = Math.floor(Math.random() * (MAX_KILL_DELAY_MS + 1))
      setTimeout(() => child.kill('SIGKILL'), delayMs)
    }
  }
  const [code, signal] = await exited
  clearTimeout(guard)
  return { events, code, signal }
}

async function tempFilesIn (chunksDir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(chunksDir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name.startsWith('.tmp-')) out.push(e.name)
  }
  return out
}

async function chunkFilesIn (chunksDir: string): Promise<string[]> {
  return (await readdir(chunksDir, { recursive: true, withFileTypes: true }))
    .filter(e => e.isFile() && !e.name.startsWith('.tmp-')).map(e => e.name)
}

t.test('SIGKILL at random moments: the store recovers and the writer resumes', async t => {
  const dataDir = await tempDir(t)
  const chunksDir = join(dataDir, 'chunks')
  let held = 0
  let naturalTempFiles = 0
  let kills = 0
  for (let run = 1; run <= KILL_RUNS; run++) {
    const killAfter = 1 + Math.floor(Math.random() * MAX_PUTS_BEFORE_KILL)
    const r = await runWriter(dataDir, killAfter)
    const start = r.events.find(e => e.event === 'start')
    t.equal(start?.held, held, `run ${run}: the writer starts from the ${held} chunks the store held`)
    if (r.events.some(e => e.event === 'complete')) {
      t.comment(`run ${run}: the writer finished before the kill landed`)
      break
    }
    t.equal(r.signal, 'SIGKILL', `run ${run}: killed after ${killAfter}+ puts`)
    kills++
    naturalTempFiles += (await tempFilesIn(chunksDir)).length
    // A temp file planted the way a torn write leaves one, so cleanup is always exercised.
    const fakeHash = blake3Hex(new Uint8Array([run]))
    await writeFile(join(chunksDir, fakeHash.slice(0, 2), `.tmp-${fakeHash}-4242-${run}`), new Uint8Array(1000))

    const store = await openStore({ dataDir })
    try {
      t.ok((store.recovery?.tempFilesRemoved ?? 0) >= 1, `run ${run}: temp files removed at open (${store.recovery?.tempFilesRemoved})`)
      t.same(await tempFilesIn(chunksDir), [], `run ${run}: no temp file left`)
      const check = await store.verifyChunks()
      t.equal(check.dropped, 0, `run ${run}: every indexed chunk verifies (${check.checked})`)
      const onDisk = await chunkFilesIn(chunksDir)
      t.equal(onDisk.length, check.checked, `run ${run}: every chunk file is indexed, every index entry has its file`)
      for (const name of onDisk) {
        if (!(await store.has(name))) t.fail(`run ${run}: ${name} on disk but not indexed`)
      }
      const now = (await store.heldPieces(fx.info.id)).filter(Boolean).length
      t.ok(now >= held, `run ${run}: held chunks never shrink (${held} -> ${now})`)
      t.equal(store.bundleState(fx.info.id), now === CHUNK_COUNT ? 'complete' : 'partial')
      held = now
    } finally {
      await store.close()
    }
  }
  t.ok(kills >= 1, `${kills} kills landed mid-write; ${naturalTempFiles} temp files were left by them`)
  t.ok(held > 0 && held < CHUNK_COUNT, `after the kills the store held ${held} of ${CHUNK_COUNT} chunks`)

  const last = await runWriter(dataDir)
  t.equal(last.code, 0, 'the final run exits 0')
  t.equal(last.events.find(e => e.event === 'start')?.held, held, 'the final run resumes where the store was')
  t.equal(last.events.filter(e => e.event === 'put').length, CHUNK_COUNT - held, 'and writes only the missing chunks')
  t.match(last.events.at(-1), { event: 'complete', state: 'complete' })

  const store = await openStore({ dataDir })
  t.teardown(async () => await store.close())
  t.equal(store.bundleState(fx.info.id), 'complete')
  const out = join(await tempDir(t), 'image.bin')
  const r = await store.exportArtifact(fx.info.id, 'image.bin', out)
  t.equal(r.blake3, blake3Hex(fx.artifacts[0]!.bytes))
  t.equal((await store.markVerified(fx.info.id)).state, 'verified', 'the bundle re-reads end to end and verifies')
})
