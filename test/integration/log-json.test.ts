/**
 * Structured logs from real daemons: a store hub started with `--log-format json`
 * and a device told by STOREMESH_LOG_FORMAT=json (no flag) each write only JSON lines
 * on stderr, every line with a level, a component, the role and the time, and the
 * lines about a bundle carry its id as a field. The hub's stdout keeps its human
 * `ready` line (--log-format changes the logs only, not the events).
 */
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { LOG_FORMAT_ENV, LOG_LEVELS } from '../../src/log/index.js'
import { spawnCli } from '../support/cli.js'
import { adopt, bundleOf, commonArgs, DEVICE_CLASS, lanFixture, makeBundleDir, readStatus, spawnHub, stopProc, waitUntil, type Proc } from '../support/lan-fixture.js'

interface Rec { level: string, at: string, event: string, role: string, component: string, line: string, bundle?: string }

function parseLines (t: Test, p: Proc, role: string): Rec[] {
  const lines = p.stderr().split('\n').filter(l => l !== '')
  const recs: Rec[] = []
  for (const l of lines) {
    let r: Rec
    try {
      r = JSON.parse(l) as Rec
    } catch {
      t.fail(`${role}: not a JSON line: ${l.slice(0, 200)}`)
      continue
    }
    recs.push(r)
  }
  t.ok(recs.length > 0, `${role} logged`)
  t.ok(recs.every(r => (LOG_LEVELS as readonly string[]).includes(r.level)), `${role}: every line has a level`)
  t.ok(recs.every(r => typeof r.component === 'string' && r.component !== ''), `${role}: every line has a component`)
  t.ok(recs.every(r => r.role === role && r.event === 'log' && typeof r.line === 'string' && !Number.isNaN(Date.parse(r.at))), `${role}: role, event, time and text`)
  return recs
}

t.test('a hub with --log-format json and a device with the environment variable log JSON lines', async t => {
  const f = await lanFixture(t)
  const { outDir, info } = await makeBundleDir(f.dir, 'fleet-os', 2 * 1024 * 1024, 21)
  const hub = spawnHub(f, join(f.dir, 'hub'), ['--bundle', outDir, '--no-api', '--log-format', 'json'])
  await waitUntil('hub ready', async () => /^hub ready: peer \S+ on /m.test(hub.stdout()), 60_000, [hub])

  const devDir = join(f.dir, 'dev')
  const env = { ...process.env, STOREMESH_DEBUG: '1', [LOG_FORMAT_ENV]: 'json' }
  const device = adopt(f, spawnCli(['device', ...commonArgs(f, devDir), '--device-class', DEVICE_CLASS, '--poll-interval-ms', '500'], { env }), devDir)
  await waitUntil('the device holds the bundle verified', async () => bundleOf(await readStatus(devDir), info.id)?.state === 'verified', 120_000, [hub, device])
  await waitUntil('the device logged it', async () => device.stderr().includes('complete and verified'), 10_000, [device])

  t.same(await Promise.all([stopProc(hub), stopProc(device)]), [0, 0], 'both stop cleanly on SIGTERM')

  const hubRecs = parseLines(t, hub, 'hub')
  t.match(hubRecs.find(r => r.line.startsWith('imported ')), { level: 'info', component: 'store', bundle: info.id }, 'the import, under store, with the bundle id')
  t.match(hubRecs.find(r => r.line === `seeding ${info.id}`), { level: 'info', component: 'swarm', bundle: info.id }, 'seeding, under swarm')
  t.match(hubRecs.at(-1), { component: 'hub', line: 'hub stopped' }, 'the last line')

  const devRecs = parseLines(t, device, 'device')
  t.match(devRecs.find(r => r.line.startsWith(`fetching ${info.id}`)), { component: 'swarm', bundle: info.id })
  t.match(devRecs.find(r => r.line === `bundle ${info.id} complete and verified`), { level: 'info', component: 'swarm', bundle: info.id })
  t.match(devRecs.find(r => r.line.startsWith('reporting to the store hub as device ')), { component: 'ledger' })
  t.match(devRecs.at(-1), { component: 'device', line: 'device agent stopped' })
})
