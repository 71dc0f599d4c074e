/**
 * The rauc backend against a real RAUC service (Debian's rauc 1.8) on a private
 * D-Bus session bus, with file slots and a custom bootloader backend script that
 * counts boots; a simulated power-on restarts the service on the booted slot.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { RaucBackend, parseRaucStatus } from '../../../src/install/backends/rauc.js'
import { backendCompliance } from './backend-compliance.js'
import { RaucHarness, raucPowerOn, toolMissing, writeRaucCustomBackend } from './sim-bootloaders.js'

const missing = toolMissing('rauc') ?? toolMissing('dbus-daemon')
if (missing !== undefined) {
  console.log(`# skipping rauc backend tests: ${missing}`)
  t.test('rauc backend', { skip: missing }, async () => {})
} else {
  const make = async (dir: string, limit: number): Promise<{ backend: RaucBackend, harness: RaucHarness, seedA: Uint8Array }> => {
    const { script, state } = await writeRaucCustomBackend(dir, limit)
    await mkdir(join(dir, 'mnt'))
    await mkdir(join(dir, 'data'))
    const seedA = randomBytes(32 * 1024)
    await writeFile(join(dir, 'slot-a.img'), seedA)
    await writeFile(join(dir, 'slot-b.img'), new Uint8Array(0))
    const conf = join(dir, 'system.conf')
    await writeFile(conf, `[system]
compatible=storemesh-test
bootloader=custom
mountprefix=${join(dir, 'mnt')}
data-directory=${join(dir, 'data')}

[handlers]
bootloader-custom-backend=${script}

[slot.rootfs.0]
device=${join(dir, 'slot-a.img')}
type=raw
bootname=A

[slot.rootfs.1]
device=${join(dir, 'slot-b.img')}
type=raw
bootname=B
`)
    const harness = new RaucHarness(conf)
    await harness.start('A')
    const backend = new RaucBackend({
      confFile: conf,
      env: harness.env,
      reboot: async () => {
        await harness.restart(raucPowerOn(state))
        return 'simulated'
      }
    })
    return { backend, harness, seedA }
  }

  backendCompliance(t, 'rauc', async (t) => {
    const { backend, harness, seedA } = await make(t.testdir(), 2)
    return { backend, seedA, fallbackWithinBoots: 3, close: async () => await harness.close() }
  })

  t.test('rauc: slot names map to rootfs.0 / rootfs.1; marks reach the bootloader', async t => {
    const { backend, harness } = await make(t.testdir(), 2)
    t.teardown(async () => await harness.close())
    t.equal(backend.raucName('a'), 'rootfs.0')
    t.equal(backend.raucName('b'), 'rootfs.1')
    await backend.setNextBoot('b', { tryBoot: true })
    const st = await backend.raucStatus()
    t.equal(st.primary, 'rootfs.1')
    t.equal(await backend.bootAttempts(), undefined, 'RAUC hides the boot counter')
  })

  t.test('rauc: status output is parsed fail-closed', async t => {
    t.throws(() => parseRaucStatus('not json'), { code: 'E_BACKEND' })
    t.throws(() => parseRaucStatus('{"slots":[]}'), { code: 'E_BACKEND' })
    const st = parseRaucStatus('{"booted":"A","boot_primary":"rootfs.0","slots":[{"rootfs.0":{"device":"/dev/a","bootname":"A","state":"booted","mountpoint":"/"}}]}')
    t.equal(st.slots[0]?.mountpoint, '/')
  })
}
