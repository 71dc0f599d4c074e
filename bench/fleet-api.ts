/**
 * The fleet API at fleet size: a PGlite ledger with N stores in one wave (rows inserted
 * by SQL) behind the fleet routes on a real ApiServer; prints the median of 5 requests
 * per route and the answer size. `node --import tsx bench/fleet-api.ts 10000`
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ApiServer } from '../src/api/server.js'
import { fleetRoutes } from '../src/control/api/fleet-routes.js'
import { FleetLedger, openFleetDb } from '../src/control/index.js'

const STORES = Number(process.argv[2] ?? 10000)
const dir = await mkdtemp(join(tmpdir(), 'api-scale-'))
const db = await openFleetDb({ dataDir: dir })
const now = Date.now()
await db.query(`INSERT INTO hubs (hub_id, admitted_by, created_ms, peer, last_report_ms) SELECT 'store-' || lpad(i::text, 5, '0'), 'operator', $1, 'peer-' || i, $1 FROM generate_series(1, $2) i`, [now, STORES])
await db.query(`INSERT INTO waves (wave_id, state, created_ms, updated_ms) VALUES ('1', 'installing', $1, $1)`, [now])
await db.query(`INSERT INTO wave_stores (wave_id, hub_id, batch_no, state, updated_ms) SELECT '1', hub_id, 0, 'installing', $1 FROM hubs`, [now])
await db.query(`INSERT INTO wave_hub_counts (wave_id, hub_id, updated, pending, total) SELECT '1', hub_id, 40, 10, 50 FROM hubs`)
const ledger = await FleetLedger.over(db, {})
const server = new ApiServer({ token: 'x'.repeat(32), port: 0, routes: fleetRoutes({ ledger, metrics: { contentType: 'text/plain', text: async () => '' } }) })
await server.start()
for (const path of ['/api/waves', '/api/stores', `/api/stores?limit=${Math.min(STORES, 10000)}`, '/api/halts', '/api/fleet']) {
  const times: number[] = []
  let bytes = 0
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now()
    const r = await fetch(server.url + path)
    bytes = (await r.text()).length
    times.push(performance.now() - t0)
  }
  times.sort((a, b) => a - b)
  console.log(`${path}: median ${times[2]!.toFixed(0)} ms, ${(bytes / 1024).toFixed(0)} KiB`)
}
await server.stop()
await db.close()
await rm(dir, { recursive: true, force: true })
