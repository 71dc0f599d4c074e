import t from 'tap'
import { writeFile, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  INSTALL_EVENTS, INSTALL_STATES, TERMINAL_STATES, TRANSITIONS, TRIAL_STATES, applyEvent, canTransition, nextState,
  type InstallRecord, type InstallState
} from '../../../src/install/state-machine.js'
import { StateStore, stateFileOf } from '../../../src/install/state-store.js'
import { defaultHealthConfig } from '../../../src/install/health.js'

export function sampleRecord (over: Partial<InstallRecord> = {}): InstallRecord {
  return {
    schema: 1,
    installId: 'i-1',
    state: 'idle',
    step: 0,
    settled: true,
    lastEvent: 'resume',
    bundleId: 'b3:' + 'a'.repeat(64),
    version: '1.2.3',
    waveId: '142',
    targetSlot: 'b',
    previousSlot: 'a',
    expected: { blake3: 'c'.repeat(64), sizeBytes: 10 },
    health: defaultHealthConfig,
    attempts: { write: 0, boot: 0 },
    limits: { maxBootAttempts: 3, maxWriteAttempts: 3 },
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    stateEnteredAt: '2026-01-01T00:00:00.000Z',
    watchdogMs: 1000,
    slots: {},
    rolledBack: [],
    ...over
  }
}

t.test('the happy path is a chain of table rows', async t => {
  const path: Array<[InstallState, string]> = [
    ['idle', 'stage'], ['staged', 'write-start'], ['writing', 'write-done'], ['written', 'verify-ok'],
    ['verified', 'arm'], ['try-boot', 'boot-new'], ['booted-trial', 'health-ok']
  ]
  let s: InstallState = 'idle'
  for (const [from, ev] of path) {
    t.equal(s, from)
    s = nextState(s, ev as never)
  }
  t.equal(s, 'committed')
})

t.test('every trial state rolls back on failed health, watchdog, attempts, fallback, error', async t => {
  for (const s of TRIAL_STATES) {
    for (const ev of ['watchdog-timeout', 'attempts-exceeded', 'boot-fallback', 'error', 'rollback-requested'] as const) {
      t.equal(nextState(s, ev), 'rolled-back', `${s} --${ev}-->`)
    }
  }
  t.equal(nextState('booted-trial', 'health-failed'), 'rolled-back')
  t.notOk(canTransition('try-boot', 'health-failed'), 'no health verdict before the new slot runs')
})

t.test('before the switch an error fails (nothing to roll back); no pre-trial state can roll back', async t => {
  for (const s of ['staged', 'writing', 'written', 'verified'] as const) {
    t.equal(nextState(s, 'error'), 'failed')
    for (const ev of INSTALL_EVENTS) {
      if (canTransition(s, ev)) t.not(nextState(s, ev), 'rolled-back', `${s} --${ev}--> never rolled-back`)
    }
  }
})

t.test('resume rows: writing restarts from staged; the rest re-enter their state', async t => {
  for (const s of INSTALL_STATES) {
    t.ok(canTransition(s, 'resume'), `${s} has a resume row`)
    t.equal(nextState(s, 'resume'), s === 'writing' ? 'staged' : s)
  }
})

t.test('a new install starts only from a terminal state', async t => {
  for (const s of INSTALL_STATES) {
    t.equal(canTransition(s, 'stage'), TERMINAL_STATES.includes(s), s)
  }
})

t.test('illegal moves throw E_INSTALL_TRANSITION; the table names only known states', async t => {
  t.throws(() => nextState('idle', 'health-ok'), { code: 'E_INSTALL_TRANSITION' })
  t.throws(() => nextState('committed', 'write-start'), { code: 'E_INSTALL_TRANSITION' })
  for (const [from, row] of Object.entries(TRANSITIONS)) {
    t.ok(INSTALL_STATES.includes(from as InstallState))
    for (const [ev, to] of Object.entries(row)) {
      t.ok(INSTALL_EVENTS.includes(ev as never), `${from}: event ${ev}`)
      t.ok(INSTALL_STATES.includes(to), `${from}: target ${to}`)
    }
  }
})

t.test('applyEvent moves the step and unsettles; entering the same state keeps its time', async t => {
  const r0 = sampleRecord()
  const r1 = applyEvent(r0, 'stage', Date.parse('2026-02-01T00:00:00Z'))
  t.equal(r1.state, 'staged')
  t.equal(r1.step, 1)
  t.equal(r1.settled, false)
  t.equal(r1.stateEnteredAt, '2026-02-01T00:00:00.000Z')
  const r2 = applyEvent(r1, 'resume', Date.parse('2026-02-02T00:00:00Z'))
  t.equal(r2.stateEnteredAt, r1.stateEnteredAt)
  t.equal(r2.updatedAt, '2026-02-02T00:00:00.000Z')
  t.equal(r0.state, 'idle', 'pure: the input is untouched')
})

t.test('state store: atomic save leaves no temporary files; load round-trips', async t => {
  const dir = t.testdir()
  const store = new StateStore(dir)
  t.equal(await store.load(), undefined)
  const rec = sampleRecord({ state: 'writing', step: 2, settled: false })
  await store.save(rec)
  t.same(await store.load(), rec)
  t.same(await readdir(join(dir, 'install')), ['state.json'])
  t.equal(store.path, stateFileOf(dir))
})

t.test('state store: corrupt, oversized or unknown-field files fail closed and move aside', async t => {
  const dir = t.testdir()
  const store = new StateStore(dir)
  await store.save(sampleRecord())
  await writeFile(store.path, '{"schema":1,')
  await t.rejects(store.load(), { code: 'E_INSTALL_STATE_INVALID' })
  await writeFile(store.path, JSON.stringify({ ...sampleRecord(), extra: 1 }))
  await t.rejects(store.load(), { code: 'E_INSTALL_STATE_INVALID' })
  await writeFile(store.path, JSON.stringify({ ...sampleRecord(), state: 'flying' }))
  await t.rejects(store.load(), { code: 'E_INSTALL_STATE_INVALID', message: /state/ })
  await writeFile(store.path, ' '.repeat(70 * 1024))
  await t.rejects(store.load(), { code: 'E_INSTALL_STATE_INVALID', message: /limit/ })
  const aside = await store.moveAside(123)
  t.match(aside, /state\.json\.corrupt-123$/)
  t.equal(await store.load(), undefined)
  t.equal((await readFile(aside, 'utf8')).length, 70 * 1024)
  await t.rejects(store.save({ ...sampleRecord(), targetSlot: 'c' as never }), { code: 'E_INSTALL_STATE_INVALID' }, 'a bad record never reaches the disk')
  t.equal(await store.load(), undefined)
})
