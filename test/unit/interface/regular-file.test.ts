/**
 * The safe reader refuses what would hang or exhaust a plain readFile: a FIFO, a
 * directory, a character device, a file over its limit, each with its own code, and
 * quickly (a FIFO with no writer would block readFile forever).
 */
import { execFileSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { readRegularFile, readRegularFileIfExists } from '../../../src/interface/regular-file.js'
import { tempDir } from '../../support/store-fixture.js'

/** A refusal takes microseconds; far below this even on a loaded machine. */
const REFUSAL_TIMEOUT_MS = 10_000

t.test('regular files within the limit are read whole', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'a.json')
  await writeFile(path, 'x'.repeat(1000))
  t.equal((await readRegularFile(path, { maxBytes: 1000 })).toString(), 'x'.repeat(1000))
  await t.rejects(readRegularFile(path, { maxBytes: 999 }), { code: 'E_FILE_TOO_LARGE', meta: { path, failure: 'tooLarge' } })
  await t.rejects(readRegularFile(path, { maxBytes: 999, codes: { tooLarge: 'E_MANIFEST_TOO_LARGE' } }), { code: 'E_MANIFEST_TOO_LARGE' })
  await t.rejects(readRegularFile(join(dir, 'none'), { maxBytes: 10 }), { code: 'E_FILE_NOT_FOUND' })
  t.equal(await readRegularFileIfExists(join(dir, 'none'), { maxBytes: 10 }), undefined)
  t.ok((await readRegularFile('/proc/self/status', { maxBytes: 1 << 20 })).length > 0, 'a /proc file (stat size 0) reads whole')
})

t.test('special files are refused at open, never read', { timeout: REFUSAL_TIMEOUT_MS }, async t => {
  const dir = await tempDir(t)
  const fifo = join(dir, 'fifo')
  execFileSync('mkfifo', [fifo])
  await mkdir(join(dir, 'sub'))
  await t.rejects(readRegularFile(fifo, { maxBytes: 10 }), { code: 'E_FILE_NOT_REGULAR', meta: { kind: 'FIFO' } }, 'FIFO')
  await t.rejects(readRegularFileIfExists(fifo, { maxBytes: 10 }), { code: 'E_FILE_NOT_REGULAR' }, 'FIFO, optional file')
  await t.rejects(readRegularFile(join(dir, 'sub'), { maxBytes: 10 }), { code: 'E_FILE_NOT_REGULAR', meta: { kind: 'directory' } }, 'directory')
  await t.rejects(readRegularFile('/dev/zero', { maxBytes: 10 }), { code: 'E_FILE_NOT_REGULAR', meta: { kind: 'character device' } }, '/dev/zero')
  await t.rejects(readRegularFile('/dev/zero', { maxBytes: 10, codes: { notRegular: 'E_CONFIG_INVALID' } }), { code: 'E_CONFIG_INVALID' }, 'caller code')
})
