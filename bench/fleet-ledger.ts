/**
 * `node --import tsx bench/fleet-ledger.ts [--stores 600 --devices 50 --in-flight 24]`
 *
 * The fleet ledger alone on PostgreSQL (a server this bench starts in a temp dir): no
 * libp2p, no wire; `--in-flight` reports of `--devices` outcomes each handed to
 * FleetLedger.acceptHubBatch side by side, as the report handler does. Prints outcomes
 * per second, the transactions they took, and the statements' summed time (time spent
 * waiting on a lock counts in the statement that waited). The report protocol's share
 * is what bench/fleet.ts adds to this.
 */
import '../src/polyfill.js'
import { loadavg } from 'node:os'
import { FleetLedger } from '../src/control/fleet-ledger.js'
import { openFleetDb } from '../src/control/db/open.js'
import type { SqlDb, SqlQueryable } from '../src/control/db/sql.js'
import { postgresSkipReason, startPostgres } from '../test/support/postgres.js'

const args = process.argv.slice(2)
const opt = (name: string, def: string): number => Number(args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : def)
const STORES = opt('stores', '600')
const DEVICES = opt('devices', '50')
const IN_FLIGHT = opt('in-flight', '24')

const skip = postgresSkipReason()
if (skip !== undefined) {
  process.stdout.write(`skipped: ${skip}\n`)
  process.exit(0)
}
const pg = await startPostgres()
const db0 = await openFleetDb({ url: await pg.createDatabase('ledger_bench') })
const stats = new Map<string, { n: number, ms: number }>()
const note = (k: string, ms: number): void => { const s = stats.get(k) ?? { n: 0, ms: 0 }; s.n++; s.ms += ms; stats.set(k, s) }
const timed = (q: SqlQueryable): SqlQueryable => ({
  async query (sql, params) {
    const t = performance.now()
    try { return await q.query(sql, params) } finally { note(sql.replace(/\s+/g, ' ').slice(0, 70), performance.now() - t) }
  },
  exec: async sql => { await q.exec(sql) }
})
const db: SqlDb = { ...db0, query: timed(db0).query, async transaction (fn) { return await db0.transaction(async tx => await fn(timed(tx))) } }
const ledger = await FleetLedger.over(db, { haltOnRollbackRatio: 1 })
let next = 0
const t0 = performance.now()
await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
  for (let s = next++; s < STORES; s = next++) {
    // about one device in 50 rolls back, so every report runs the halt check
    const entries = Array.from({ length: DEVICES }, (_, d) => ({ seq: d + 1, waveId: 'w1', deviceId: `s${s}-d${d}`, state: (s * DEVICES + d) % 50 === 7 ? 'rolled-back' as const : 'updated' as const, version: d + 1, atMs: 1 }))
    await ledger.acceptHubBatch({ type: 'hub-ledger', hubId: `store-${s}`, epoch: 'b'.repeat(32), entries })
  }
}))
const sec = (performance.now() - t0) / 1000
process.stdout.write(`fleet ledger on PostgreSQL: ${STORES * DEVICES} outcomes from ${STORES} reports, ${IN_FLIGHT} in flight: ${(STORES * DEVICES / sec).toFixed(0)} outcomes/s ` +
  `(${sec.toFixed(1)} s, ${ledger.counters.reportTransactions} transactions); load average ${loadavg().map(x => x.toFixed(1)).join(' ')}\n`)
for (const [k, v] of [...stats].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12)) process.stdout.write(`${v.ms.toFixed(0).padStart(8)} ms ${String(v.n).padStart(6)}x  ${k}\n`)
await db0.close()
await pg.close()
