/**
 * The uboot backend against a real U-Boot environment image through Debian's
 * fw_printenv / fw_setenv (libubootenv), with U-Boot's bootcount/altbootcmd logic
 * played at each simulated power-on.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { UbootBackend } from '../../../src/install/backends/uboot.js'
import { backendCompliance } from './backend-compliance.js'
import { toolMissing, ubootPowerOn } from './sim-bootloaders.js'

const ENV_BYTES = 0x4000

const missing = toolMissing('fw_printenv', ['-V']) ?? toolMissing('fw_setenv', ['-V'])
if (missing !== undefined) {
  console.log(`# skipping uboot backend tests: ${missing}`)
  t.test('uboot backend', { skip: missing }, async () => {})
} else {
  const make = async (dir: string, bootLimit = 3): Promise<{ backend: UbootBackend, envImage: string, seedA: Uint8Array }> => {
    const envImage = join(dir, 'uboot.env')
    const configFile = join(dir, 'fw_env.config')
    const defaultEnvFile = join(dir, 'default.env')
    const cmdline = join(dir, 'cmdline')
    await writeFile(envImage, new Uint8Array(ENV_BYTES)) // blank: libubootenv falls back to the defaults
    await writeFile(configFile, `${envImage} 0x0 0x${ENV_BYTES.toString(16)}\n`)
    await writeFile(defaultEnvFile, `storemesh_slot=a\nbootlimit=${bootLimit}\nbootcmd=run storemesh_boot\n`)
    await writeFile(cmdline, 'console=ttyS0 storemesh.slot=a\n')
    const seedA = randomBytes(32 * 1024)
    await writeFile(join(dir, 'slot-a.img'), seedA)
    const holder: { b?: UbootBackend } = {}
    const backend = new UbootBackend({
      devices: { a: join(dir, 'slot-a.img'), b: join(dir, 'slot-b.img') },
      configFile,
      defaultEnvFile,
      cmdlineFile: cmdline,
      bootLimit,
      reboot: async () => {
        await ubootPowerOn(holder.b as UbootBackend, cmdline)
        return 'simulated'
      }
    })
    holder.b = backend
    return { backend, envImage, seedA }
  }

  backendCompliance(t, 'uboot', async (t) => {
    const { backend, seedA } = await make(t.testdir(), 3)
    return { backend, seedA, fallbackWithinBoots: 4 }
  })

  t.test('uboot: one fw_setenv script arms the trial; the image carries a valid CRC', async t => {
    const { backend, envImage } = await make(t.testdir(), 2)
    await backend.setNextBoot('b', { tryBoot: true })
    const vars = await backend.readVars()
    t.equal(vars.storemesh_slot, 'b')
    t.equal(vars.upgrade_available, '1')
    t.equal(vars.bootcount, '0')
    t.equal(vars.bootlimit, '2')
    t.equal(vars.bootcmd, 'run storemesh_boot', 'other variables are kept')
    const img = await readFile(envImage)
    t.not(img.readUInt32LE(0), 0, 'a CRC was written')
    t.match(img.subarray(4, 200).toString('latin1'), /storemesh_slot=b\0/)
    await backend.reboot()
    await backend.reboot()
    await backend.reboot()
    t.equal(await backend.activeSlot(), 'a', 'bootcount 3 > bootlimit 2: altbootcmd went back to a')
    t.same(await backend.bootAttempts(), { count: 3, limit: 2, pending: false })
  })

  t.test('uboot: a malformed bootcount fails closed', async t => {
    const { backend } = await make(t.testdir())
    await backend.writeVars({ bootcount: 'many' })
    await t.rejects(backend.status(), { code: 'E_BACKEND' })
  })
}
