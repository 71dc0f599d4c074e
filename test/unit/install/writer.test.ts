import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { blake3 } from '@napi-rs/blake-hash'
import { FileBackend } from '../../../src/install/backends/file.js'
import { verifySlot, writeImage } from '../../../src/install/writer.js'
import type { BootBackend } from '../../../src/install/backend.js'
import { chunksOf } from './backend-compliance.js'

const hex = (b: Uint8Array): string => blake3(b).toString('hex')

async function setup (t: Test): Promise<{ dir: string, backend: FileBackend, seedA: Buffer }> {
  const dir = t.testdir()
  const seedA = randomBytes(4096)
  await writeFile(join(dir, 'slot-a.img'), seedA)
  return { dir, backend: new FileBackend({ dir }), seedA }
}

t.test('writes the inactive slot, reads it back, hash and size match', async t => {
  const { dir, backend } = await setup(t)
  const image = randomBytes(1024 * 1024 + 123)
  const seen: number[] = []
  const r = await writeImage({ backend, slot: 'b', source: chunksOf(image, 100_000), expected: { blake3: hex(image), sizeBytes: image.length }, onProgress: b => seen.push(b) })
  t.same(r, { bytes: image.length, blake3: hex(image) })
  t.equal(seen[seen.length - 1], image.length)
  t.same(await verifySlot(backend, 'b', { blake3: hex(image), sizeBytes: image.length }), r)
  t.equal(hex(await readFile(join(dir, 'slot-b.img'))), hex(image))
})

t.test('the active slot is refused before the backend opens anything', async t => {
  const { dir, seedA } = await setup(t)
  const calls: string[] = []
  const inner = new FileBackend({ dir })
  const spy: BootBackend = new Proxy(inner, {
    get (target, prop, recv) {
      const v = Reflect.get(target, prop, recv)
      return typeof v === 'function' ? (...args: unknown[]) => { calls.push(String(prop)); return v.apply(target, args) } : v
    }
  })
  let pulled = false
  const source = (async function * () { pulled = true; yield new Uint8Array(1) })()
  await t.rejects(writeImage({ backend: spy, slot: 'a', source, expected: { blake3: 'a'.repeat(64), sizeBytes: 1 } }), { code: 'E_ACTIVE_SLOT_WRITE', exitCode: 1 })
  t.notOk(calls.includes('writeSlot'), `backend calls: ${calls.join(',')}`)
  t.equal(pulled, false)
  t.equal(hex(await readFile(join(dir, 'slot-a.img'))), hex(seedA))
})

t.test('a source that differs from the manifest: E_ARTIFACT_HASH_MISMATCH (exit 2)', async t => {
  const { backend } = await setup(t)
  const image = randomBytes(50_000)
  const other = Buffer.from(image)
  other[100] = (other[100] ?? 0) ^ 1
  await t.rejects(writeImage({ backend, slot: 'b', source: chunksOf(other), expected: { blake3: hex(image), sizeBytes: image.length } }),
    { code: 'E_ARTIFACT_HASH_MISMATCH', meta: { phase: 'stream' }, exitCode: 2 })
})

t.test('a slot corrupted after the write fails the read-back', async t => {
  const { dir, backend } = await setup(t)
  const image = randomBytes(50_000)
  const expected = { blake3: hex(image), sizeBytes: image.length }
  await writeImage({ backend, slot: 'b', source: chunksOf(image), expected })
  const bad = Buffer.from(image)
  bad[49_999] = (bad[49_999] ?? 0) ^ 0xff
  await writeFile(join(dir, 'slot-b.img'), bad)
  await t.rejects(verifySlot(backend, 'b', expected), { code: 'E_ARTIFACT_HASH_MISMATCH', meta: { phase: 'read-back' } })
  await writeFile(join(dir, 'slot-b.img'), image.subarray(0, 1000))
  await t.rejects(verifySlot(backend, 'b', expected), { code: 'E_SIZE_MISMATCH', meta: { phase: 'read-back' }, exitCode: 2 })
})

t.test('more bytes than declared stop the write at the first extra byte', async t => {
  const { backend } = await setup(t)
  let yielded = 0
  const endless = (async function * () { for (;;) { yielded++; yield new Uint8Array(65536) } })()
  await t.rejects(writeImage({ backend, slot: 'b', source: endless, expected: { blake3: 'a'.repeat(64), sizeBytes: 100_000 } }), { code: 'E_SIZE_MISMATCH' })
  t.ok(yielded <= 3, `stopped after ${yielded} chunks`)
  const short = randomBytes(10)
  await t.rejects(writeImage({ backend, slot: 'b', source: chunksOf(short), expected: { blake3: hex(short), sizeBytes: 11 } }), { code: 'E_SIZE_MISMATCH' })
})

t.test('an abort mid-write rejects with E_ABORTED', async t => {
  const { backend } = await setup(t)
  const ac = new AbortController()
  const source = (async function * () { yield new Uint8Array(10); ac.abort(); yield new Uint8Array(10) })()
  await t.rejects(writeImage({ backend, slot: 'b', source, expected: { blake3: 'a'.repeat(64), sizeBytes: 20 }, signal: ac.signal }), { code: 'E_ABORTED' })
})
