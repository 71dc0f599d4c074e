/**
 * The serve-stall bound over a real shaped link (issue 17): a store hub whose reader
 * stops, in the store-hub namespace behind the tc-shaped WAN veth, asks the super hub
 * for every chunk on a few streams and never reads. The super hub (`--serve-stall-ms`
 * small, `--chunk-bytes-in-flight` small enough that those streams hold all of it)
 * resets each stalled stream after the stall time, gives its bytes back, and an honest
 * store hub (`storemesh hub`) behind the same link, started while the stalled streams
 * hold the budget, completes and verifies the bundle.
 *
 * Every figure checked is counted by the super hub (its /metrics and its log) or by the
 * kernel-shaped processes themselves; nothing is timed. Without the flag (the old CLI)
 * the super hub refuses to start; with the default 128 s bound nothing is reset within
 * the test's wait.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { adopt, waitUntil } from '../support/lan-fixture.js'
import { REPO_ROOT, scriptArgs } from '../support/cli.js'
import { metricValue } from '../integration/hub-fixture.js'
import { START_TIMEOUT_MS, StoreLab } from './store-lab.js'

const MiB = 1024 * 1024
/** small, so the resets come within the test; the super hub echoes it in each warning */
const STALL_MS = 3000
/** the stalled streams' grants cover all of it (one largest chunk each at least) */
const CHUNK_BYTES_IN_FLIGHT = '2MiB'
const STALLED_STREAMS = 3
const SUPER_METRICS_PORT = 9471

t.test('a stalled store hub behind a shaped link is reset after --serve-stall-ms; an honest one is served', async t => {
  const lab = await StoreLab.start(t, { devices: 1, bundleBytes: 8 * MiB, wanRate: '16mbit' })
  if (lab === undefined) return
  const { bundle } = lab
  const sup = await lab.startSuper(['--serve-stall-ms', String(STALL_MS), '--chunk-bytes-in-flight', CHUNK_BYTES_IN_FLIGHT, '--metrics-port', String(SUPER_METRICS_PORT)])
  const metric = async (name: string): Promise<number> => metricValue(await lab.getIn(lab.net.superNs, SUPER_METRICS_PORT, '/metrics'), name) ?? NaN

  const hashesPath = join(lab.f.dir, 'hashes.txt')
  await writeFile(hashesPath, [...new Set(bundle.pieces.map(p => p.hash))].join('\n'))
  const reader = adopt(lab.f, lab.net.spawnIn(lab.net.hubNs, process.execPath,
    [...scriptArgs('test/lab/stalled-reader.ts', { polyfill: true }), lab.superAddr, lab.f.swarmKeyPath, hashesPath, String(STALLED_STREAMS)], { cwd: REPO_ROOT }), lab.f.dir)
  await waitUntil('the stalled reader asked on its streams', async () => reader.stdout().includes(`asked ${STALLED_STREAMS}`), START_TIMEOUT_MS, [sup, reader])
  const stalledPeer = /peer (\S+)/.exec(reader.stdout())?.[1] ?? ''
  await waitUntil('the stalled streams hold chunk bytes in flight', async () => await metric('storemesh_serve_inflight_bytes') > 0, START_TIMEOUT_MS, [sup, reader])
  const abortsBeforeHonest = await metric('storemesh_serve_stalled_aborts_total')
  t.comment(`honest store hub started with ${abortsBeforeHonest} of ${STALLED_STREAMS} stalled streams reset`)

  lab.startHub()
  await waitUntil('the honest store hub completed and verified the bundle', async () => await lab.hubVerified(), 120_000, lab.running())
  await waitUntil('every stalled stream reset', async () => await metric('storemesh_serve_stalled_aborts_total') >= STALLED_STREAMS, 60_000, [sup, reader])

  await waitUntil('the stalled reader saw its streams closed', async () => reader.stdout().split('\n').filter(l => l.startsWith('closed ')).length === STALLED_STREAMS, 30_000, [reader])
  const warnings = sup.stdout().split('\n').filter(l => l.includes('"E_SERVE_STALLED"'))
  const ofStalled = warnings.filter(l => l.includes(stalledPeer))
  // a store hub process that stops reading for the stall time on a loaded machine is reset too; it asks again for what it lacks
  t.comment(`${warnings.length} resets: ${ofStalled.length} of the stalled reader's streams, ${warnings.length - ofStalled.length} of the honest store hub's`)
  t.equal(ofStalled.length, STALLED_STREAMS, 'the super hub reset each stalled stream once (its E_SERVE_STALLED warnings)')
  t.equal(await metric('storemesh_serve_stalled_aborts_total'), warnings.length, 'storemesh_serve_stalled_aborts_total counts every reset')
  t.ok(warnings.every(l => l.includes(`${STALL_MS} ms`)), `each after the --serve-stall-ms given (${STALL_MS} ms)`)
  t.ok(await lab.hubVerified(), 'the honest store hub holds the bundle verified')
  t.equal(await metric('storemesh_serve_inflight_bytes'), 0, 'nothing stays held for the reset streams')
  t.ok(sup.child.exitCode === null, 'the super hub keeps running')
})
