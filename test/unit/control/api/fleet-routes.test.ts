/**
 * The fleet API's bad input on a real ApiServer over an embedded fleet database (no
 * libp2p): each refused with its stable code and status, and nothing written.
 */
import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ApiServer } from '../../../../src/api/server.js'
import { fleetRoutes } from '../../../../src/control/api/fleet-routes.js'
import { FleetLedger, openFleetDb, type SqlDb } from '../../../../src/control/index.js'

const TOKEN = 't'.repeat(32)
let db: SqlDb | undefined
const dir = await mkdtemp(join(tmpdir(), 'storemesh-fleet-routes-'))
t.teardown(async () => {
  await db?.close()
  await rm(dir, { recursive: true, force: true })
})
db = await openFleetDb({ dataDir: dir })
const ledger = await FleetLedger.over(db, { via: 'test' })
const server = new ApiServer({ token: TOKEN, port: 0, routes: fleetRoutes({ ledger, metrics: { contentType: 'text/plain', text: async () => '' } }) })
await server.start()
t.teardown(async () => { await server.stop() })

const call = async (method: string, path: string, body?: string, auth = true): Promise<{ status: number, code?: string }> => {
  const res = await fetch(server.url + path, { method, headers: { ...(auth ? { authorization: `Bearer ${TOKEN}` } : {}), 'content-type': 'application/json' }, ...(body !== undefined ? { body } : {}) })
  const text = await res.text()
  let code: string | undefined
  try { code = JSON.parse(text).error?.code } catch {}
  return { status: res.status, ...(code !== undefined ? { code } : {}) }
}

t.test('bad reads', async t => {
  t.same(await call('GET', '/api/stores?limit=0'), { status: 400, code: 'E_INVALID_ARGUMENT' }, 'limit below 1')
  t.same(await call('GET', '/api/stores?limit=10001'), { status: 400, code: 'E_INVALID_ARGUMENT' }, 'limit above the maximum')
  t.same(await call('GET', '/api/stores?after=a%20b'), { status: 400, code: 'E_INVALID_ARGUMENT' }, 'a malformed store id')
  t.same(await call('GET', '/api/waves/%ZZ'), { status: 400, code: 'E_INVALID_ARGUMENT' }, 'bad percent-encoding')
  t.same(await call('GET', '/api/orders?wave=' + 'x'.repeat(300)), { status: 400, code: 'E_INVALID_ARGUMENT' }, 'an over-long wave id')
  t.same(await call('GET', '/api/fleet?wave=nope'), { status: 404, code: 'E_WAVE_UNKNOWN' })
  t.same(await call('GET', '/api/nothing'), { status: 404, code: 'E_NOT_FOUND' })
  t.same(await call('PUT', '/api/orders', '{}'), { status: 405, code: 'E_USAGE' })
})

t.test('bad orders leave the ledger unchanged', async t => {
  const order = (o: Record<string, unknown>): string => JSON.stringify({ by: 'ci', ...o })
  t.same(await call('POST', '/api/orders', order({ kind: 'wave', action: 'halt', waveId: '1' }), false), { status: 401, code: 'E_UNAUTHORIZED' }, 'no token')
  t.same(await call('POST', '/api/orders', order({ kind: 'wave', action: 'halt', waveId: '1' })), { status: 404, code: 'E_WAVE_UNKNOWN' }, 'an unknown wave')
  t.same(await call('POST', '/api/orders', order({ kind: 'device', action: 'rollback', store: 'store-1', deviceId: 'pos-1' })), { status: 404, code: 'E_STORE_UNKNOWN' }, 'an unknown store')
  t.same(await call('POST', '/api/orders', order({ kind: 'wave', action: 'hold', waveId: '1' })), { status: 400, code: 'E_INVALID_ARGUMENT' }, 'an action of another kind')
  t.same(await call('POST', '/api/orders', order({ kind: 'bundle', action: 'hold', bundleId: 'b3:nothex' })), { status: 400, code: 'E_INVALID_ARGUMENT' }, 'a malformed bundle id')
  t.same(await call('POST', '/api/orders', order({ kind: 'bundle', action: 'release', bundleId: 'b3:' + 'a'.repeat(64) })), { status: 409, code: 'E_CONFLICT' }, 'releasing a bundle not held')
  t.same(await call('POST', '/api/orders', order({ kind: 'wave', action: 'halt', waveId: '1', admin: true })), { status: 400, code: 'E_INVALID_ARGUMENT' }, 'an unknown member')
  t.same(await call('POST', '/api/orders', '{"by":"ci","by":"x"}'), { status: 400, code: 'E_INVALID_ARGUMENT' }, 'a duplicate key')
  t.same(await call('POST', '/api/orders', JSON.stringify({ by: 'ci', reason: 'x'.repeat(70_000) })), { status: 413, code: 'E_REQUEST_TOO_LARGE' }, 'a body over the limit')
  t.same(await call('POST', '/api/hubs', JSON.stringify({ hubId: '../x' })), { status: 400, code: 'E_INVALID_ARGUMENT' }, 'a malformed hub id')
  const orders = await (await fetch(server.url + '/api/orders')).json() as { orders: unknown[] }
  t.same(orders.orders, [], 'no order was written')
  t.same((await ledger.status()).hubs, [], 'no hub was written')
})
