/**
 * Two super hubs on one PostgreSQL database (the server this file starts), a store hub
 * reporting over the real `/storemesh/report/1.0.0` on 127.0.0.1, and the operator's
 * `storemesh fleet …` CLI on the same database: a report sent to both super hubs
 * counts once, a fleet-wide halt reaches the hub through the other super hub, bad
 * orders get their codes, and while the database is down reports stay unacknowledged
 * and the status file says so; the resend after it is back is applied.
 */
import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { reportProtocol, type HubBatch, type ReportProtocol } from '../../src/ledger/report/index.js'
import { readSuperLedgerStatus } from '../../src/ledger/super-ledger-status.js'
import { createStoremeshNode, type StoremeshNode } from '../../src/net/node.js'
import { generateSwarmKey } from '../../src/net/swarm-key.js'
import { startSuperHub, type SuperHub, type SuperHubInit } from '../../src/roles/super-hub.js'
import { runCli } from '../support/cli.js'
import { until } from '../support/poll.js'
import { postgresSkipReason, startPostgres } from '../support/postgres.js'

const skip = postgresSkipReason()
const swarmKey = generateSwarmKey()
const EPOCH = 'a'.repeat(32)

const batch = (entries: HubBatch['entries']): HubBatch => ({ type: 'hub-ledger', hubId: 'store-7', epoch: EPOCH, entries })
const entry = (seq: number, deviceId: string, state: 'updated' | 'rolled-back' | 'pending'): HubBatch['entries'][number] =>
  ({ seq, waveId: '142', deviceId, state, version: seq, atMs: 1 })

t.test('two super hubs on one PostgreSQL: exactly once, fleet orders, database down', { skip: skip ?? false }, async t => {
  const dir = await mkdtemp(join(tmpdir(), 'storemesh-fleet-sh-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const pg = await startPostgres()
  t.teardown(async () => { await pg.close() })
  const url = await pg.createDatabase('fleet')
  const start = async (name: string, metricsPort?: number, extra: Partial<SuperHubInit> = {}): Promise<SuperHub> => await startSuperHub({
    dataDir: join(dir, name), swarmKey, trust: { keys: [] }, listen: ['/ip4/127.0.0.1/tcp/0'], fleetDbUrl: url, name, ledgerStatusIntervalMs: 200, haltOnRollbackRatio: 1,
    ...(metricsPort !== undefined ? { metricsPort } : {}),
    ...extra
  })
  const a = await start('super-a', 0, { api: { port: 0 } })
  const metrics = async (path = '/metrics'): Promise<{ status: number, text: string }> => {
    const res = await fetch(`http://127.0.0.1:${a.metrics!.port}${path}`)
    return { status: res.status, text: await res.text() }
  }
  t.teardown(async () => { await a.stop() })
  const b = await start('super-b')
  t.teardown(async () => { await b.stop() })
  t.ok(await a.ledger.ready() && await b.ledger.ready(), 'both ledgers open on the server')
  const hub: StoremeshNode<{ report: ReportProtocol }> = await createStoremeshNode({ swarmKey, listen: ['/ip4/127.0.0.1/tcp/0'], services: { report: reportProtocol() } })
  t.teardown(async () => { await hub.stop() })
  const send = async (to: SuperHub, req: HubBatch): ReturnType<ReportProtocol['send']> => await hub.services.report.send(to.node.getMultiaddrs()[0]!, req)

  const first = batch([entry(1, 'pos-1', 'updated'), entry(2, 'pos-2', 'updated'), entry(3, 'pos-3', 'rolled-back')])
  t.equal((await send(a, first)).ackedSeq, 3)
  t.equal((await send(b, first)).ackedSeq, 3, 'the same report at the other super hub: acked, not applied again')
  t.same(await a.ledger.waveTotals('142').then(c => [c.updated, c.rolledBack, c.total]), [2, 1, 3], 'counted once')

  const fleet = async (...args: string[]): ReturnType<typeof runCli> => await runCli(['fleet', ...args, '--db', url], { timeoutMs: 60_000 })
  const halt = await fleet('wave', 'halt', '--wave', '142', '--reason', 'scanner firmware', '--by', 'ci')
  t.equal(halt.code, 0, halt.stderr)
  t.match(halt.stdout, /wave 142 halt: order o-[0-9a-f]+ by ci/)
  const again = await fleet('wave', 'halt', '--wave', '142', '--by', 'ci')
  t.match(again.stdout, /already in force.*nothing changed/, 'a repeat changes nothing')
  const ack = await send(b, batch([]))
  t.match(ack.orders, [{ waveId: '142', action: 'halt', reason: 'scanner firmware' }], 'the hub gets the halt from the other super hub')
  const unknown = await fleet('wave', 'pause', '--wave', 'nope', '--by', 'ci')
  t.not(unknown.code, 0)
  t.match(unknown.stderr, /E_WAVE_UNKNOWN/, 'an unknown wave')
  const store = await fleet('device', 'rollback', '--store', 'store-9', '--id', 'pos-1', '--by', 'ci')
  t.match(store.stderr, /E_STORE_UNKNOWN/, 'an unknown store')
  const status = await fleet('status', '--json')
  t.equal(status.code, 0, status.stderr)
  const s = JSON.parse(status.stdout) as { waves: Array<{ waveId: string, halted: boolean, halts: Array<{ reason: string, issuedBy: string }>, storesByState: Record<string, number> }> }
  t.match(s.waves.find(w => w.waveId === '142'), { halted: true, halts: [{ reason: 'scanner firmware', issuedBy: 'ci' }], storesByState: { halted: 1 } })
  const human = await fleet('status', '--wave', '142')
  t.match(human.stdout, /wave 142: halted/)
  const up = (await metrics()).text
  t.match(up, /^storemesh_fleet_db_up 1$/m, '/metrics: the database is up')
  t.match(up, /^storemesh_fleet_devices\{wave="142",state="updated"\} 2$/m, '/metrics: devices by outcome, each once')
  t.match(up, /^storemesh_fleet_stores\{wave="142",state="halted"\} 1$/m, '/metrics: stores by wave state')
  t.match(up, /^storemesh_fleet_reports_total\{result="replayed"\} 0$/m, 'super-a took no replay (super-b did)')
  t.notMatch(up, /store-7|pos-1/, 'no store or device label')
  t.equal((await metrics('/api')).status, 404)

  await pg.stopServer()
  const next = batch([entry(4, 'pos-4', 'updated')])
  await t.rejects(send(a, next), { code: 'E_PEER_ERROR' }, 'database down: the report is not acknowledged')
  t.ok(await until(async () => (await readSuperLedgerStatus(join(dir, 'super-a')))?.fleetDb?.up === false, 20_000), 'the status file says the database is down')
  t.equal(a.ledger.health().up, false)
  t.match((await metrics()).text, /^storemesh_fleet_db_up 0$/m, '/metrics says the database is down')
  const apiDown = await fetch(`${a.api!.url}/api/waves`)
  t.equal(apiDown.status, 503, 'the fleet API says so too')
  t.match(await apiDown.json(), { error: { code: 'E_DB_UNAVAILABLE' } })
  await pg.startServer()
  t.equal((await send(a, next)).ackedSeq, 4, 'the resend is applied once the database is back')
  t.same(await b.ledger.waveTotals('142').then(c => c.total), 4)
})
