import t from 'tap'
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FileBackend } from '../../../src/install/backends/file.js'
import { createBackend } from '../../../src/install/backends/index.js'
import { backendCompliance, chunksOf } from './backend-compliance.js'

backendCompliance(t, 'file', async (t) => {
  const dir = t.testdir()
  const seedA = randomBytes(64 * 1024)
  await writeFile(join(dir, 'slot-a.img'), seedA)
  return { backend: new FileBackend({ dir, bootLimit: 3 }), seedA, fallbackWithinBoots: 4 }
})

t.test('file: the boot environment is key=value with U-Boot names', async t => {
  const dir = t.testdir()
  const b = createBackend({ kind: 'file', dir, bootLimit: 2 })
  await b.setNextBoot('b', { tryBoot: true })
  await b.reboot()
  const text = await readFile(join(dir, 'bootenv'), 'utf8')
  t.match(text, /^bootcount=1$/m)
  t.match(text, /^bootlimit=2$/m)
  t.match(text, /^upgrade_available=1$/m)
  t.match(text, /^storemesh_slot=b$/m)
  t.match(text, /^storemesh_booted=b$/m)
  t.same(await b.bootAttempts(), { count: 1, limit: 2, pending: true })
})

t.test('file: a malformed boot environment fails closed', async t => {
  const dir = t.testdir({ bootenv: 'storemesh_slot=c\n' })
  const b = new FileBackend({ dir })
  await t.rejects(b.activeSlot(), { code: 'E_BACKEND' })
  const dir2 = t.testdir({ bootenv: 'storemesh_slot=a\nbootcount=lots\n' })
  await t.rejects(new FileBackend({ dir: dir2 }).status(), { code: 'E_BACKEND' })
})

t.test('file: onOpenForWrite sees every slot opened, never the active one', async t => {
  const dir = t.testdir()
  const opened: string[] = []
  const b = new FileBackend({ dir, onOpenForWrite: (s) => { opened.push(s) } })
  await b.writeSlot('b', chunksOf(randomBytes(10)))
  await t.rejects(b.writeSlot('a', chunksOf(randomBytes(10))), { code: 'E_ACTIVE_SLOT_WRITE' })
  t.same(opened, ['b'])
})

t.test('createBackend rejects unknown kinds and fields, naming the field', async t => {
  t.throws(() => createBackend({ kind: 'floppy' }), { code: 'E_INVALID_ARGUMENT' })
  t.throws(() => createBackend({ kind: 'file', dir: '/x', bootlimit: 3 }), { code: 'E_INVALID_ARGUMENT', message: /bootlimit|Unrecognized/ })
  t.throws(() => createBackend({ kind: 'uboot' }), { code: 'E_INVALID_ARGUMENT', message: /devices/ })
})
