import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { blake3 } from '@napi-rs/blake-hash'
import { FileBackend } from '../../../src/install/backends/file.js'
import { defaultHealthConfig, defaultHealthDeps, type HealthDeps } from '../../../src/install/health.js'
import { Installer, type InstallRequest } from '../../../src/install/installer.js'
import { Journal, type JournalEntry } from '../../../src/install/journal.js'
import type { BootBackend, RebootResult, SlotName } from '../../../src/install/backend.js'
import type { HealthCheckConfig, InstallRecord } from '../../../src/install/state-machine.js'
import { StoremeshError } from '../../../src/interface/errors.js'
import { chunksOf } from './backend-compliance.js'

const hex = (b: Uint8Array): string => blake3(b).toString('hex')

interface Rig {
  dir: string
  slots: string
  backend: FileBackend
  journal: Journal
  opened: SlotName[]
  seedA: Buffer
  clock: { now: number }
  installer: (over?: Partial<ConstructorParameters<typeof Installer>[0]>) => Installer
  request: (image: Uint8Array, over?: Partial<InstallRequest>) => InstallRequest
  slotHash: (slot: SlotName) => Promise<string>
  entries: () => Promise<JournalEntry[]>
}

/** Health deps with a clock that moves only when the trial sleeps, and a scripted command result. */
function deps (clock: { now: number }, healthy: () => boolean): Partial<HealthDeps> {
  return {
    now: () => clock.now,
    sleep: async (ms) => { clock.now += ms },
    exec: async () => ({ code: healthy() ? 0 : 1, stdout: '', stderr: healthy() ? '' : 'unhealthy', timedOut: false })
  }
}

const HEALTH: HealthCheckConfig = { ...defaultHealthConfig, command: 'health-check', budgetMs: 5_000, intervalMs: 1_000 }

async function rig (t: Test, healthy: () => boolean = () => true, bootLimit = 3): Promise<Rig> {
  const dir = t.testdir()
  const slots = join(dir, 'slots')
  const seedA = randomBytes(128 * 1024)
  const opened: SlotName[] = []
  const backend = new FileBackend({ dir: slots, bootLimit, onOpenForWrite: s => { opened.push(s) } })
  await backend.status() // creates the boot env: slot a running
  await writeFile(backend.slotPath('a'), seedA)
  const journal = await Journal.open(join(dir, 'data'))
  t.teardown(async () => await journal.close())
  const clock = { now: Date.parse('2026-04-01T00:00:00Z') }
  const r: Rig = {
    dir,
    slots,
    backend,
    journal,
    opened,
    seedA,
    clock,
    installer: (over = {}) => new Installer({ dataDir: join(dir, 'data'), backend, journal, now: () => clock.now, healthDeps: deps(clock, healthy), newInstallId: () => `inst-${clock.now}`, ...over }),
    request: (image, over = {}) => ({
      bundleId: 'b3:' + hex(image),
      version: '2.0.0',
      waveId: 'wave-142',
      image: () => chunksOf(image),
      expected: { blake3: hex(image), sizeBytes: image.length },
      health: HEALTH,
      ...over
    }),
    slotHash: async (slot) => hex(await readFile(backend.slotPath(slot))),
    entries: async () => await journal.readFrom(1)
  }
  return r
}

t.test('happy path: installed, exit 0, the new slot committed, the old one untouched, every step journaled', async t => {
  const r = await rig(t)
  const image = randomBytes(700 * 1024)
  const out = await r.installer().runOnce(r.request(image))
  t.match(out, { outcome: 'installed', state: 'committed', exitCode: 0, waveId: 'wave-142' })
  t.equal(await r.backend.activeSlot(), 'b')
  t.same(await r.backend.bootAttempts(), { count: 0, limit: 3, pending: false }, 'marked good')
  t.equal(await r.slotHash('b'), hex(image))
  t.equal(await r.slotHash('a'), hex(r.seedA))
  t.same(r.opened, ['b'], 'only the inactive slot was ever opened for write')
  const rec = await r.installer().status() as InstallRecord
  t.match(rec, { state: 'committed', settled: true, targetSlot: 'b', previousSlot: 'a', attempts: { write: 1, boot: 1 } })
  t.same(rec.slots.b, { bundleId: 'b3:' + hex(image), version: '2.0.0' })
  const transitions = (await r.entries()).filter(e => e.kind === 'transition')
  t.same(transitions.map(e => e.to), ['staged', 'writing', 'written', 'verified', 'try-boot', 'booted-trial', 'committed'])
  t.same(transitions.map(e => e.step), [1, 2, 3, 4, 5, 6, 7])
  t.ok((await r.entries()).every(e => e.waveId === 'wave-142'), 'every entry carries the wave id')
  const seqs = (await r.entries()).map(e => e.seq)
  t.same(seqs, [...seqs].sort((a, b) => a - b), 'monotonic sequence')

  const again = await r.installer().runOnce(r.request(image))
  t.match(again, { outcome: 'nothing', reason: 'already-installed', exitCode: 0 })
})

t.test('a second bundle goes into the other slot; the committed one is never opened', async t => {
  const r = await rig(t)
  const v1 = randomBytes(100_000)
  const v2 = randomBytes(120_000)
  await r.installer().runOnce(r.request(v1))
  r.clock.now += 1000
  const out = await r.installer().runOnce(r.request(v2, { version: '2.1.0' }))
  t.match(out, { outcome: 'installed' })
  t.equal(await r.backend.activeSlot(), 'a')
  t.same(r.opened, ['b', 'a'])
  t.equal(await r.slotHash('b'), hex(v1), 'the slot running during the install kept its bytes')
  const rec = await r.installer().status() as InstallRecord
  t.same(Object.keys(rec.slots).sort(), ['a', 'b'])
})

t.test('a failing health check rolls back with no network: exit 4, reason named, old slot running', async t => {
  const r = await rig(t)
  // the only "network" is a local URL with nothing listening: no peer, no hub
  const probe = createServer()
  await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise(resolve => probe.close(resolve))
  const health: HealthCheckConfig = { ...defaultHealthConfig, url: `http://127.0.0.1:${port}/health`, budgetMs: 3_000, intervalMs: 1_000 }
  const image = randomBytes(64 * 1024)
  const installer = r.installer({ healthDeps: { ...defaultHealthDeps, now: () => r.clock.now, sleep: async (ms) => { r.clock.now += ms } } })
  const out = await installer.runOnce(r.request(image, { health }))
  t.match(out, { outcome: 'rolled-back', state: 'rolled-back', reason: 'health.timeout', exitCode: 4 })
  t.match(out.detail, /rolled back to slot a/)
  t.equal(await r.backend.activeSlot(), 'a')
  t.match(await r.backend.status(), { primary: 'a', attempts: { pending: false } })
  t.equal(await r.slotHash('a'), hex(r.seedA))
  t.same(r.opened, ['b'])
  const rec = await installer.status() as InstallRecord
  t.same(rec.rolledBack, ['b3:' + hex(image)])
  t.equal(rec.slots.b, undefined, 'the bad slot is not last-known-good')
  const tr = (await r.entries()).filter(e => e.kind === 'transition').map(e => e.to)
  t.same(tr.slice(-2), ['booted-trial', 'rolled-back'])

  const again = await installer.runOnce(r.request(image, { health }))
  t.match(again, { outcome: 'nothing', reason: 'previously-rolled-back' }, 'a rolled-back bundle is not retried in a loop')
})

t.test('health lost during the observation window rolls back', async t => {
  let n = 0
  const r = await rig(t, () => ++n < 3)
  const out = await r.installer().runOnce(r.request(randomBytes(1000), { health: { ...HEALTH, observeMs: 20_000, maxConsecutiveFailures: 2 } }))
  t.match(out, { outcome: 'rolled-back', reason: 'health.lost' })
  t.equal(await r.backend.activeSlot(), 'a')
})

t.test('a new slot that never comes up: the bootloader falls back after bootlimit boots', async t => {
  const r = await rig(t, () => true, 2)
  // the new kernel panics at once: every boot of slot b reboots again, so the
  // bootloader counts until it gives up and boots a
  const panicking: BootBackend = Object.create(r.backend, {
    reboot: {
      value: async (): Promise<RebootResult> => {
        for (let i = 0; i < 10; i++) {
          await r.backend.reboot()
          if (await r.backend.activeSlot() !== 'b') break
        }
        return 'simulated'
      }
    }
  })
  const out = await r.installer({ backend: panicking }).runOnce(r.request(randomBytes(1000)))
  t.match(out, { outcome: 'rolled-back', reason: 'boot.fallback', exitCode: 4 })
  t.match(await r.backend.bootAttempts(), { pending: false })
  t.equal(await r.backend.activeSlot(), 'a')
  t.equal(await r.slotHash('a'), hex(r.seedA))
})

t.test('too many boot attempts: a reboot that never lands rolls back on the installer\'s own count', async t => {
  const r = await rig(t)
  let reboots = 0
  const stuck: BootBackend = Object.create(r.backend, { reboot: { value: async (): Promise<RebootResult> => { reboots++; return 'simulated' } } })
  const out = await r.installer({ backend: stuck }).runOnce(r.request(randomBytes(1000)))
  t.match(out, { outcome: 'rolled-back', reason: 'boot.attempts' })
  t.equal(reboots, 3)
  t.equal(await r.backend.activeSlot(), 'a')
  t.equal((await r.backend.status()).primary, 'a', 'disarmed')
})

t.test('restarts inside the trial count as boots: the fourth start rolls back', async t => {
  const r = await rig(t)
  const image = randomBytes(5000)
  let crashes = 0
  const crashInTrial = (rec: InstallRecord): void => {
    if (rec.state === 'booted-trial' && crashes < 3) { crashes++; throw new Error('power cut') }
  }
  await t.rejects(r.installer({ onStep: crashInTrial }).runOnce(r.request(image)), /power cut/)
  const outcomes: string[] = []
  for (let i = 0; i < 3; i++) {
    const out = await r.installer({ onStep: crashInTrial }).resume({ image: () => chunksOf(image) }).catch((e: Error) => e)
    outcomes.push(out instanceof Error ? out.message : `${out.outcome}:${out.reason}`)
  }
  t.same(outcomes, ['power cut', 'power cut', 'rolled-back:boot.attempts'])
  const rec = await r.installer().status() as InstallRecord
  t.equal(rec.state, 'rolled-back')
  t.equal(rec.attempts.boot, 4)
  t.equal(await r.backend.activeSlot(), 'a')
})

t.test('the watchdog rolls back a trial resumed after its deadline', async t => {
  const r = await rig(t)
  const image = randomBytes(1000)
  const crash = (rec: InstallRecord): void => { if (rec.state === 'booted-trial') throw new Error('hang, then power cut') }
  await t.rejects(r.installer({ onStep: crash }).runOnce(r.request(image)))
  const rec = await r.installer().status() as InstallRecord
  r.clock.now = (rec.trialStartedAtMs ?? 0) + rec.watchdogMs + 1
  const out = await r.installer().resume()
  t.match(out, { outcome: 'rolled-back', reason: 'watchdog', exitCode: 4 })
  t.equal(await r.backend.activeSlot(), 'a')
})

t.test('an image that does not match the manifest fails with exit 2 and arms nothing', async t => {
  const r = await rig(t)
  const image = randomBytes(10_000)
  const out = await r.installer().runOnce(r.request(image, { expected: { blake3: 'f'.repeat(64), sizeBytes: image.length } }))
  t.match(out, { outcome: 'failed', state: 'failed', reason: 'E_ARTIFACT_HASH_MISMATCH', exitCode: 2 })
  t.match(await r.backend.status(), { booted: 'a', primary: 'a', attempts: { pending: false } })
  const later = await r.installer().runOnce(r.request(image))
  t.match(later, { outcome: 'installed' }, 'a failed install does not block the next one')
})

t.test('an operator rollback after commit goes back to the previous slot', async t => {
  const r = await rig(t)
  await r.installer().runOnce(r.request(randomBytes(1000)))
  const out = await r.installer().requestRollback('bad receipts')
  t.match(out, { outcome: 'rolled-back', reason: 'operator' })
  t.equal(await r.backend.activeSlot(), 'a')
  await t.rejects(r.installer().requestRollback('again'), { code: 'E_INSTALL_TRANSITION' })
})

t.test('resume with nothing in flight confirms the running slot and says nothing', async t => {
  const r = await rig(t)
  t.match(await r.installer().resume(), { outcome: 'nothing', reason: 'no-install-in-progress' })
})

t.test('a corrupt state file during an unconfirmed trial puts the bootloader back on the old slot', async t => {
  const r = await rig(t)
  await r.backend.setNextBoot('b', { tryBoot: true })
  await r.backend.reboot()
  t.equal(await r.backend.activeSlot(), 'b')
  const installer = r.installer()
  await mkdir(dirname(installer.store.path), { recursive: true })
  await writeFile(installer.store.path, '{ torn')
  t.match(await installer.resume(), { outcome: 'nothing' })
  t.equal(await r.backend.activeSlot(), 'a')
  t.ok((await r.entries()).some(e => e.reason === 'state.corrupt'))
})

t.test('a transition persisted but not journaled before a crash is journaled at the next start', async t => {
  const r = await rig(t)
  const image = randomBytes(1000)
  let failJournal = true
  const flaky = {
    append: async (e: Parameters<Journal['append']>[0]) => {
      if (failJournal && e.to === 'written') throw new Error('disk hiccup')
      return await r.journal.append(e)
    },
    lastInstallStep: async (id: string) => await r.journal.lastInstallStep(id)
  }
  const crashAtWritten = (rec: InstallRecord): void => { if (rec.state === 'written') throw new Error('crash') }
  await t.rejects(r.installer({ journal: flaky, onStep: crashAtWritten }).runOnce(r.request(image)))
  failJournal = false
  const out = await r.installer({ journal: flaky }).resume({ image: () => chunksOf(image) })
  t.match(out, { outcome: 'installed' })
  const written = (await r.entries()).filter(e => e.to === 'written')
  t.same(written.map(e => e.data?.reconciled ?? false), [true, false], 'reconciled, then the resume transition')
})

t.test('a store error while streaming the image fails the install with its own exit code', async t => {
  const r = await rig(t)
  const image = randomBytes(200_000)
  const broken = async function * (): AsyncGenerator<Uint8Array> {
    yield image.subarray(0, 50_000)
    throw new StoremeshError('E_CHUNK_MISSING', 'chunk 3 of rootfs.img is not in the store')
  }
  const out = await r.installer().runOnce(r.request(image, { image: broken }))
  t.match(out, { outcome: 'failed', reason: 'E_CHUNK_MISSING', exitCode: 2 })
  t.equal(await r.backend.activeSlot(), 'a')
})

t.test('an abort mid-write leaves the install resumable; resume rewrites from byte zero', async t => {
  const r = await rig(t)
  const image = randomBytes(300_000)
  const ac = new AbortController()
  const aborting = async function * (): AsyncGenerator<Uint8Array> {
    yield image.subarray(0, 100_000)
    ac.abort()
    yield image.subarray(100_000)
  }
  const out = await r.installer().runOnce(r.request(image, { image: aborting, signal: ac.signal }))
  t.match(out, { outcome: 'failed', reason: 'E_ABORTED', state: 'writing' })
  const done = await r.installer().resume({ image: () => chunksOf(image) })
  t.match(done, { outcome: 'installed' })
  t.equal(await r.slotHash('b'), hex(image))
  const rec = await r.installer().status() as InstallRecord
  t.equal(rec.attempts.write, 2)
})

t.test('resume without an image source cannot rewrite: the install fails, nothing switched', async t => {
  const r = await rig(t)
  const image = randomBytes(1000)
  const crash = (rec: InstallRecord): void => { if (rec.state === 'writing') throw new Error('crash') }
  await t.rejects(r.installer({ onStep: crash }).runOnce(r.request(image)))
  t.match(await r.installer().resume(), { outcome: 'failed', reason: 'E_INSTALL_FAILED' })
  t.equal(await r.backend.activeSlot(), 'a')
})
