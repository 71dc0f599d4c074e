import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { chunkSizes } from '../../../src/bundle/fastcdc.js'
import { FileChunker, WORKER_MIN_FILE_BYTES } from '../../../src/bundle/file-chunker.js'
import { blake3Hex } from '../../../src/bundle/hash.js'

function expected (data: Uint8Array, params: Parameters<typeof chunkSizes>[1] = {}): { hash: string, size: number }[] {
  let off = 0
  return chunkSizes(data, params).map(size => {
    const c = { hash: blake3Hex(data.subarray(off, off + size)), size }
    off += size
    return c
  })
}

t.test('a file chunks and hashes the same whatever the read size, slots and thread', async t => {
  const dir = t.testdir()
  // above the worker threshold so that the worker path really runs
  const data = randomBytes(WORKER_MIN_FILE_BYTES + 5 * 1024 * 1024 + 17)
  const path = join(dir, 'a.bin')
  await writeFile(path, data)
  const want = expected(data)
  const wantFile = blake3Hex(data)
  for (const opts of [
    { readBytes: 8 * 1024 * 1024, slots: 3, hashThread: true },
    { readBytes: 8 * 1024 * 1024, slots: 3, hashThread: false },
    { readBytes: 1024 * 1024 + 3, slots: 2, hashThread: true },
    { readBytes: 65536, slots: 4, hashThread: false }
  ]) {
    const fc = new FileChunker(opts)
    try {
      const seen: Array<{ index: number, hash: string }> = []
      const r = await fc.chunkFile(path, {
        onChunk: async c => {
          // the bytes handed over must be the chunk's bytes
          if (blake3Hex(c.data) !== c.hash) t.fail(`chunk ${c.index} data does not match its hash`)
          await new Promise(resolve => setImmediate(resolve))
          seen.push({ index: c.index, hash: c.hash })
        }
      })
      t.equal(r.size, data.length, `size ${JSON.stringify(opts)}`)
      t.equal(r.blake3, wantFile, 'whole-file hash')
      t.same(r.chunks, want, 'chunks')
      t.same(seen.map(s => s.index), want.map((_, i) => i), 'onChunk in order')
    } finally {
      await fc.close()
    }
  }
})

t.test('small, empty and odd files', async t => {
  const dir = t.testdir()
  const fc = new FileChunker({ chunking: { minBytes: 1024, avgBytes: 4096, maxBytes: 16384 }, readBytes: 10000 })
  t.teardown(() => fc.close())
  for (const size of [0, 1, 1024, 1025, 16384, 10000, 20000, 300001]) {
    const data = randomBytes(size)
    const path = join(dir, `f${size}`)
    await writeFile(path, data)
    const r = await fc.chunkFile(path)
    t.equal(r.blake3, blake3Hex(data), `hash of ${size}`)
    t.same(r.chunks, expected(data, fc.params), `chunks of ${size}`)
  }
  await t.rejects(fc.chunkFile(dir), { code: 'E_INVALID_ARGUMENT' }, 'a folder is not an artifact')
  await t.rejects(fc.chunkFile(join(dir, 'nope')), { code: 'ENOENT' })
  // still usable after failures
  const path = join(dir, 'again')
  const data = randomBytes(50000)
  await writeFile(path, data)
  t.equal((await fc.chunkFile(path)).blake3, blake3Hex(data))
})

t.test('a failing onChunk or an abort stops the file with the error', async t => {
  const dir = t.testdir()
  const path = join(dir, 'x')
  await writeFile(path, randomBytes(4 * 1024 * 1024))
  const fc = new FileChunker({ readBytes: 1024 * 1024 })
  t.teardown(() => fc.close())
  await t.rejects(fc.chunkFile(path, { onChunk: c => { if (c.index === 3) throw new Error('disk on fire') } }), /disk on fire/)
  const ac = new AbortController()
  await t.rejects(fc.chunkFile(path, { signal: ac.signal, onBytes: () => ac.abort() }), { code: 'E_ABORTED' })
  const r = await fc.chunkFile(path)
  t.ok(r.chunks.length > 3, 'works again afterwards')
})
