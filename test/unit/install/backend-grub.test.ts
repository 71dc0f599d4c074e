/**
 * The grub-editenv backend against a real GRUB environment block (Debian's
 * grub-common), with RAUC's grub.cfg logic played at each simulated power-on.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { GrubEditenvBackend } from '../../../src/install/backends/grub-editenv.js'
import { backendCompliance } from './backend-compliance.js'
import { grubPowerOn, toolMissing } from './sim-bootloaders.js'

const missing = toolMissing('grub-editenv')
if (missing !== undefined) {
  console.log(`# skipping grub-editenv backend tests: ${missing}`)
  t.test('grub-editenv backend', { skip: missing }, async () => {})
} else {
  const make = async (dir: string): Promise<{ backend: GrubEditenvBackend, envFile: string, cmdline: string, seedA: Uint8Array }> => {
    const envFile = join(dir, 'grubenv')
    const cmdline = join(dir, 'cmdline')
    // provisioning, as an image build would do it: a block that boots A
    const r = spawnSync('grub-editenv', [envFile, 'create'])
    if (r.status !== 0) throw new Error('grub-editenv create failed')
    spawnSync('grub-editenv', [envFile, 'set', 'ORDER=A B', 'A_OK=1', 'A_TRY=0', 'B_OK=1', 'B_TRY=0'])
    await writeFile(cmdline, 'root=/dev/sda2 rauc.slot=A quiet\n')
    const seedA = randomBytes(32 * 1024)
    await writeFile(join(dir, 'slot-a.img'), seedA)
    const devices = { a: join(dir, 'slot-a.img'), b: join(dir, 'slot-b.img') }
    const holder: { b?: GrubEditenvBackend } = {}
    const backend = new GrubEditenvBackend({
      envFile,
      devices,
      cmdlineFile: cmdline,
      reboot: async () => {
        await grubPowerOn(holder.b as GrubEditenvBackend, cmdline)
        return 'simulated'
      }
    })
    holder.b = backend
    return { backend, envFile, cmdline, seedA }
  }

  backendCompliance(t, 'grub-editenv', async (t) => {
    const { backend, seedA } = await make(t.testdir())
    return { backend, seedA, fallbackWithinBoots: 2 }
  })

  t.test('grub-editenv: variables follow RAUC\'s scheme and the block stays 1024 bytes', async t => {
    const dir = t.testdir()
    const { backend, envFile } = await make(dir)
    await backend.setNextBoot('b', { tryBoot: true })
    let vars = await backend.list()
    t.equal(vars.ORDER, 'B A')
    t.equal(vars.B_OK, '1')
    t.equal(vars.B_TRY, '0')
    t.equal(vars.storemesh_trial, 'B')
    t.same(await backend.bootAttempts(), { count: 0, limit: 1, pending: true })
    await backend.reboot()
    t.same(await backend.bootAttempts(), { count: 1, limit: 1, pending: true })
    await backend.markGood('b')
    vars = await backend.list()
    t.equal(vars.B_TRY, '0')
    t.equal(vars.storemesh_trial, '')
    t.equal((await stat(envFile)).size, 1024)
    t.match(await readFile(envFile, 'utf8'), /^# GRUB Environment Block/)
  })

  t.test('grub-editenv: a missing tool is E_BACKEND_UNAVAILABLE', async t => {
    const dir = t.testdir({ cmdline: 'rauc.slot=A' })
    const b = new GrubEditenvBackend({ envFile: join(dir, 'env'), devices: { a: 'x', b: 'y' }, cmdlineFile: join(dir, 'cmdline'), grubEditenv: '/nonexistent/grub-editenv' })
    await t.rejects(b.status(), { code: 'E_BACKEND_UNAVAILABLE' })
  })

  t.test('grub-editenv: a command line without a slot fails with a hint', async t => {
    const dir = t.testdir({ cmdline: 'root=/dev/sda2 quiet' })
    const b = new GrubEditenvBackend({ envFile: join(dir, 'env'), devices: { a: 'x', b: 'y' }, cmdlineFile: join(dir, 'cmdline') })
    await t.rejects(b.activeSlot(), { code: 'E_BACKEND', message: /storemesh\.slot/ })
  })
}
