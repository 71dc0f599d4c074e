// The 2-thread path of FileChunker (shared job rings, hash-jobs.ts) against the
// 1-thread path, over many small slots so that every pipeline edge shows up.
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { chunkSizes } from '../../../src/bundle/fastcdc.js'
import { FileChunker, type ChunkedFile, type FileChunkerOptions } from '../../../src/bundle/file-chunker.js'
import { blake3Hex } from '../../../src/bundle/hash.js'
import { HashJobs, WORKER_BATCHES } from '../../../src/bundle/hash-jobs.js'
import type { WorkerSlotHasher } from '../../../src/bundle/slot-hasher.js'

const chunking = { minBytes: 1024, avgBytes: 4096, maxBytes: 16384 }
const READ_BYTES = 65536

function expected (data: Uint8Array): ChunkedFile {
  let off = 0
  const chunks = chunkSizes(data, chunking).map(size => {
    const c = { hash: blake3Hex(data.subarray(off, off + size)), size }
    off += size
    return c
  })
  return { size: data.length, blake3: blake3Hex(data), chunks }
}

function threaded (opts: Partial<FileChunkerOptions> = {}): FileChunker {
  return new FileChunker({ chunking, readBytes: READ_BYTES, hashThread: true, workerMinFileBytes: 0, ...opts })
}

/** The chunker's hash worker (internal), to kill it from a test. */
function workerOf (fc: FileChunker): WorkerSlotHasher | undefined {
  return (fc as unknown as { worker?: WorkerSlotHasher }).worker
}

async function chunkChecked (t: Test, fc: FileChunker, path: string): Promise<ChunkedFile> {
  const indexes: number[] = []
  const r = await fc.chunkFile(path, {
    onChunk: async c => {
      if (blake3Hex(c.data) !== c.hash) t.fail(`chunk ${c.index}: data does not match its id`)
      indexes.push(c.index)
      // a slow writer now and then, so slots wait for their onChunk promises
      if (c.index % 7 === 0) await new Promise(resolve => setImmediate(resolve))
      if (blake3Hex(c.data) !== c.hash) t.fail(`chunk ${c.index}: data changed before its promise settled`)
    }
  })
  t.same(indexes, r.chunks.map((_, i) => i), 'onChunk in file order')
  return r
}

t.test('2 threads give the 1-thread result over many slots, any slot count', async t => {
  const dir = t.testdir()
  // 3 MiB + odd: ~48 reads, chunks straddling slot ends; and an exact multiple of the read size
  const files = [randomBytes(3 * 1024 * 1024 + 4097), randomBytes(20 * READ_BYTES)]
  const single = new FileChunker({ chunking, readBytes: READ_BYTES, hashThread: false })
  t.teardown(() => single.close())
  for (const [i, data] of files.entries()) {
    const path = join(dir, `f${i}`)
    await writeFile(path, data)
    const want = expected(data)
    t.same(await chunkChecked(t, single, path), want, `1 thread, file ${i}`)
    for (const slots of [2, 3, 6]) {
      const fc = threaded({ slots })
      try {
        t.same(await chunkChecked(t, fc, path), want, `2 threads, ${slots} slots, file ${i}`)
        t.ok(workerOf(fc) !== undefined, 'the worker path ran')
      } finally {
        await fc.close()
      }
    }
  }
})

t.test('one chunker, several files in a row, worker and inline mixed', async t => {
  const dir = t.testdir()
  const fc = threaded({ workerMinFileBytes: 100_000 })
  t.teardown(() => fc.close())
  for (const size of [500_000, 0, 99_999, 1_000_000, READ_BYTES * 5, 1, 777_777]) {
    const data = randomBytes(size)
    const path = join(dir, `s${size}`)
    await writeFile(path, data)
    t.same(await chunkChecked(t, fc, path), expected(data), `size ${size}`)
  }
})

t.test('an abort mid-file rejects with E_ABORTED and the chunker works again', async t => {
  const dir = t.testdir()
  const data = randomBytes(2 * 1024 * 1024)
  const path = join(dir, 'x')
  await writeFile(path, data)
  const fc = threaded({ slots: 4 })
  t.teardown(() => fc.close())
  const ac = new AbortController()
  let reads = 0
  await t.rejects(fc.chunkFile(path, { signal: ac.signal, onBytes: () => { if (++reads === 5) ac.abort() } }), { code: 'E_ABORTED' })
  t.equal(reads, 5, 'stopped at the abort')
  t.same(await chunkChecked(t, fc, path), expected(data), 'same chunker afterwards')
})

t.test('a hash worker that dies rejects the file with E_INTERNAL; the next file gets a new worker', async t => {
  const dir = t.testdir()
  const data = randomBytes(2 * 1024 * 1024)
  const path = join(dir, 'x')
  await writeFile(path, data)
  const fc = threaded()
  t.teardown(() => fc.close())
  let killed: WorkerSlotHasher | undefined
  await t.rejects(fc.chunkFile(path, {
    onChunk: async c => {
      if (c.index !== 10) return
      killed = workerOf(fc)
      await killed?.worker.terminate()
    }
  }), { code: 'E_INTERNAL', message: /hash worker exited/ })
  t.ok(killed !== undefined, 'there was a worker to kill')
  t.same(await chunkChecked(t, fc, path), expected(data), 'works again')
  t.not(workerOf(fc), killed, 'with a new worker')
})

t.test('close() ends the worker thread', async t => {
  const dir = t.testdir()
  const path = join(dir, 'x')
  await writeFile(path, randomBytes(300_000))
  const fc = threaded()
  await fc.chunkFile(path)
  const w = workerOf(fc)?.worker
  t.ok(w !== undefined && w.threadId > 0, 'a worker ran')
  const exited = new Promise<number>(resolve => w?.once('exit', resolve))
  await fc.close()
  await exited
  t.equal(w?.threadId, -1, 'the worker thread is gone')
})

t.test('HashJobs on its own: ids in order, and a ring too small for a slot hashes the rest inline', async t => {
  const mem = new SharedArrayBuffer(1 << 16)
  const bytes = new Uint8Array(mem)
  bytes.set(randomBytes(bytes.length))
  const id = (a: number, b: number): string => blake3Hex(bytes.subarray(a, b))
  // no worker: this thread claims every job itself (help), so chunk jobs still finish
  const jobs = new HashJobs(mem, 2, 2)
  const ranges = [0, 100, 100, 5000, 5000, 5001, 6000, 65536, 7, 7]
  const want: string[] = []
  for (let i = 0; i < ranges.length; i += 2) want.push(id(ranges[i] as number, ranges[i + 1] as number))
  for (let round = 0; round < 3; round++) {
    const ids = jobs.hashChunks(ranges)
    jobs.help(true)
    t.same(await ids, want, `round ${round}`)
  }
  t.match(jobs.stats, { chunks: 15, chunksOnMain: 15, workerIdleSeconds: 0 })

  const ring = new HashJobs(mem, 16, 2)
  const batches: Array<Promise<string[]>> = []
  for (let i = 0; i < WORKER_BATCHES; i++) batches.push(ring.hashChunks([i, i + 10]))
  t.equal(ring.stats.chunksOnMain, 0, 'the newest batches are left to the worker')
  batches.push(ring.hashChunks([100, 200]))
  t.equal(ring.stats.chunksOnMain, 1, 'a new batch takes over what is left of older ones')
  ring.help(true)
  t.same(await Promise.all(batches), [...Array.from({ length: WORKER_BATCHES }, (_, i) => [id(i, i + 10)]), [id(100, 200)]])
  jobs.fail(new Error('gone'))
  await t.rejects(jobs.hashChunks([0, 1]), /gone/)

  // whole-file jobs: the ring holds what the caller said; waiting ones reject on fail()
  const wholes = new HashJobs(mem, 2, 2)
  const pending = [wholes.addWhole(0, 1), wholes.addWhole(1, 2)]
  await t.rejects(wholes.addWhole(2, 3), { code: 'E_INTERNAL' }, 'a third range overfills a ring of 2')
  wholes.fail(new Error('closed'))
  for (const p of pending) await t.rejects(p, /closed/)
})
