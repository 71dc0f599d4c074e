/**
 * The store hub is killed (SIGKILL) twice in the middle of a wave while devices keep
 * reporting, and restarted on the same data dir, port and identity. Afterwards: every
 * journal entry of every device is on the hub exactly once (seqs 1..n, no gap), the
 * hub's counts hold each device once, and the super hub, fed by the hub's uplink across
 * the kills, has totals equal to the devices' outcomes.
 */
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { HubLedger } from '../../src/ledger/hub-ledger.js'
import { writeSwarmKeyFile } from '../../src/net/swarm-key.js'
import { REPO_ROOT, scriptArgs } from '../support/cli.js'
import { freePort, plannedAddr, startDevice, startSuper, tempDir, waveHistory, type Device, type Outcome } from './ledger-fixture.js'
import { until } from '../support/poll.js'

const CHILD = 'test/integration/ledger-hub-child.ts'
const CHILD_TIMEOUT_MS = 90_000
const WAVES = ['142', '143']
const OUTCOMES: Outcome[] = ['committed', 'rolled-back', 'committed', 'blocked', 'committed', 'committed']
/** kill after this many more stored batches, for each of the two kills */
const KILL_AFTER_BATCHES = [4, 12]
/** devices journal one entry every 1-2 gaps, so the wave spans both kills */
const ENTRY_GAP_MS = 120

interface HubProcess {
  child: ChildProcess
  batches: number
  ready: Promise<void>
  exited: Promise<[number | null, NodeJS.Signals | null]>
}

function spawnHub (args: string[]): HubProcess {
  const child = spawn(process.execPath, [...scriptArgs(CHILD, { polyfill: true }), ...args],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  const guard = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS)
  const exited = new Promise<[number | null, NodeJS.Signals | null]>(resolve => child.once('exit', (c, s) => { clearTimeout(guard); resolve([c, s]) }))
  const hp: HubProcess = { child, batches: 0, ready: Promise.resolve(), exited }
  hp.ready = new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      const ev = JSON.parse(line) as { event: string }
      if (ev.event === 'ready') resolve()
      if (ev.event === 'batch') hp.batches++
    })
    void exited.then(([code, signal]) => { reject(new Error(`hub child exited before ready: ${code ?? signal}`)) })
  })
  return hp
}

t.test('no event lost or counted twice across two SIGKILLs of the hub', async t => {
  const dirs = await tempDir('ledger-restart')
  t.teardown(dirs.remove)
  const swarmKeyFile = join(dirs.path, 'swarm.key')
  const swarmKey = await writeSwarmKeyFile(swarmKeyFile)
  const sup = await startSuper(swarmKey, join(dirs.path, 'super'), { haltOnRollbackRatio: 1 })
  t.teardown(sup.stop)
  const hubDir = join(dirs.path, 'hub')
  const hubPort = await freePort()
  const hubAddr = await plannedAddr(hubDir, hubPort)
  const args = [hubDir, String(hubPort), swarmKeyFile, sup.addr.toString(), 'store-0042']

  let hub = spawnHub(args)
  t.teardown(() => { hub.child.kill('SIGKILL') })
  await hub.ready

  const devices: Device[] = []
  for (let i = 0; i < OUTCOMES.length; i++) {
    const dev = await startDevice(swarmKey, join(dirs.path, `dev-${i}`), `pos-${i}`, () => hubAddr)
    devices.push(dev)
    t.teardown(dev.stop)
  }
  // devices go through two waves at their own pace while the hub dies under them
  const lastSeqs = new Array<number>(devices.length).fill(0)
  let journaling = true
  const writers = devices.map(async (d, i) => {
    for (const wave of WAVES) {
      for (const e of waveHistory(OUTCOMES[i]!, wave)) {
        lastSeqs[i] = (await d.journal.append(e)).seq
        d.uplink.kick()
        await new Promise(r => setTimeout(r, ENTRY_GAP_MS + Math.floor(Math.random() * ENTRY_GAP_MS)))
      }
    }
  })
  const allWritten = Promise.all(writers).then(() => { journaling = false })

  let kills = 0
  for (const n of KILL_AFTER_BATCHES) {
    const seen = hub.batches
    t.ok(await until(() => hub.batches >= seen + n || !journaling, 30_000, 2), `hub stored ${n} more batches`)
    t.comment(`kill ${kills + 1}: after ${hub.batches} stored batches, devices ${journaling ? 'still journaling' : 'done'}`)
    if (kills === 0) t.ok(journaling, 'the first kill lands in the middle of the wave')
    hub.child.kill('SIGKILL')
    const [, signal] = await hub.exited
    t.equal(signal, 'SIGKILL', 'killed mid-wave')
    kills++
    hub = spawnHub(args)
    await hub.ready
  }
  t.equal(kills, 2)
  await allWritten
  t.ok(lastSeqs.every(s => s > 0), 'every device wrote its history')

  t.ok(await until(async () => {
    const acked = await Promise.all(devices.map(async d => await d.journal.ackedSeq()))
    return acked.every((a, i) => a === lastSeqs[i])
  }, 60_000), 'every device journal is fully acked')

  const expected = (): Record<string, number> => ({
    updated: OUTCOMES.filter(o => o === 'committed').length,
    rolledBack: OUTCOMES.filter(o => o === 'rolled-back').length,
    blocked: OUTCOMES.filter(o => o === 'blocked').length,
    total: OUTCOMES.length
  })
  const pick = (c: Record<string, unknown>): Record<string, unknown> => ({ updated: c.updated, rolledBack: c.rolledBack, blocked: c.blocked, total: c.total })
  for (const wave of WAVES) {
    t.ok(await until(async () => JSON.stringify(pick({ ...await sup.ledger.waveTotals(wave) })) === JSON.stringify(expected()), 60_000),
      `super hub totals of wave ${wave} reach the devices' outcomes`)
    t.same(pick({ ...await sup.ledger.waveTotals(wave) }), expected())
  }

  // stop the hub cleanly and read its ledger
  hub.child.kill('SIGTERM')
  const [code] = await hub.exited
  t.equal(code, 0)
  const ledger = await HubLedger.open(hubDir)
  t.teardown(async () => { await ledger.close() })
  for (let i = 0; i < devices.length; i++) {
    const seqs = (await ledger.deviceEvents(`pos-${i}`, { limit: 10_000 })).map(e => e.seq)
    t.same(seqs, Array.from({ length: lastSeqs[i]! }, (_, k) => k + 1), `pos-${i}: every seq once, none missing`)
  }
  for (const wave of WAVES) t.same(pick({ ...await ledger.waveCounts(wave) }), expected(), `hub counts of wave ${wave}`)
  t.equal((await ledger.outboxStatus()).pending, 0, 'nothing waits for the super hub')
})
