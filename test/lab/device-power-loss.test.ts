/**
 * Drill 3 (issue 7): a device loses power in the middle of its install (SIGKILL as
 * soon as its installer record says the slot write began: writing, written, verified
 * or the health trial) and boots again. It ends installed, or cleanly on its old slot,
 * never half; the other devices are unaffected; no store holds a corrupt chunk.
 *
 * The policy's health command sleeps a little, so the install has a trial of a known
 * length to be caught in even on a fast machine; the installer state is polled often.
 */
import t from 'tap'
import { waitUntil } from '../support/lan-fixture.js'
import { checkLedger, checkSlots, checkStores, stopAll } from './checks.js'
import { installRecord, START_TIMEOUT_MS, StoreLab } from './store-lab.js'

const MiB = 1024 * 1024
const DEVICES = 3
const VICTIM = 0
const POLL_MS = 20
const TERMINAL = new Set(['committed', 'rolled-back', 'failed'])
/** after the slot write began: a power loss there must not leave a half-written or half-armed slot */
const IN_FLIGHT = new Set(['writing', 'written', 'verified', 'try-boot', 'booted-trial'])

t.test('device SIGKILLed mid-install and restarted: installed or on its old slot, never half', async t => {
  const lab = await StoreLab.start(t, { devices: DEVICES, bundleBytes: 4 * MiB, healthRun: 'sleep 2', healthTimeoutSeconds: 30 })
  if (lab === undefined) return
  await lab.startSuper()
  lab.startHub()
  await waitUntil('the hub pre-staged the bundle', async () => await lab.hubVerified(), START_TIMEOUT_MS, lab.running())
  for (let i = 0; i < DEVICES; i++) lab.startDevice(i)
  const victim = lab.devices[VICTIM]
  if (victim?.proc === undefined) throw new Error('no victim')

  // a tight poll of the installer record: kill the moment an install is under way
  let killedIn = ''
  const deadline = Date.now() + 180_000
  while (killedIn === '' && Date.now() < deadline) {
    const state = (await installRecord(victim.dataDir))?.state
    if (state !== undefined && IN_FLIGHT.has(state)) {
      victim.proc.child.kill('SIGKILL')
      killedIn = state
      break
    }
    if (state === 'committed' || victim.proc.child.exitCode !== null) break
    await new Promise(resolve => setTimeout(resolve, POLL_MS))
  }
  await victim.proc.exited
  t.not(killedIn, '', `the power loss hit an install in flight (state ${killedIn || 'none'})`)
  const onDisk = await installRecord(victim.dataDir)
  t.comment(`device ${VICTIM} killed in state ${killedIn}; on disk after the kill: ${onDisk?.state ?? 'none'}`)

  lab.startDevice(VICTIM)
  const others = [...Array(DEVICES).keys()].filter(i => i !== VICTIM)
  await lab.waitInstalled(others, 240_000)
  await waitUntil('the restarted device settled (committed, rolled back or failed)', async () =>
    TERMINAL.has((await installRecord(victim.dataDir))?.state ?? ''), 180_000, lab.running())
  t.comment(`device ${VICTIM} after the restart: ${(await installRecord(victim.dataDir))?.state ?? 'none'}`)
  t.match(victim.proc.stderr(), /resum|install:/, 'the restarted device logged its install outcome')

  const victimUpdated = (await installRecord(victim.dataDir))?.state === 'committed'
  await checkLedger(t, lab, { updated: DEVICES - (victimUpdated ? 0 : 1), total: DEVICES })
  await stopAll(lab)
  await checkSlots(t, lab, [VICTIM], true)
  await checkSlots(t, lab, others)
  await checkStores(t, lab)
})
