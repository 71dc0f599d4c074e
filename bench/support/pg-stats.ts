/**
 * Where a PostgreSQL server spent a benchmark's statements (`pg_stat_statements`): the
 * bench starts its server with the module preloaded (PG_STATS_SERVER_OPTIONS), resets
 * the counters before the measured part and prints the top statements after it.
 * Execution time is the backend's wall time in the executor, so on a loaded machine it
 * ranks statements; the server's CPU-seconds come from /proc (bench/fleet.ts).
 */
export const PG_STATS_SERVER_OPTIONS = '-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all'

interface Client { query: (sql: string) => Promise<{ rows: Array<Record<string, unknown>> }>, end: () => Promise<void> }

async function connect (url: string): Promise<Client> {
  const pg = (await import('pg')).default
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  return c as unknown as Client
}

/** Creates the extension in the bench's database and zeroes its counters. */
export async function resetPgStats (url: string): Promise<void> {
  const c = await connect(url)
  try {
    await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements')
    await c.query('SELECT pg_stat_statements_reset()')
  } finally {
    await c.end()
  }
}

/** The top `n` statements by execution time since the reset, one line each (per 1,000 outcomes). */
export async function formatPgStats (url: string, outcomes: number, n = 12): Promise<string> {
  const c = await connect(url)
  try {
    const { rows } = await c.query(`SELECT calls, total_exec_time, rows, regexp_replace(query, '\\s+', ' ', 'g') AS q FROM pg_stat_statements
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY total_exec_time DESC LIMIT ${n}`)
    const total = (await c.query(`SELECT coalesce(sum(total_exec_time), 0) AS t, coalesce(sum(calls), 0) AS c FROM pg_stat_statements
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`)).rows[0]!
    const lines = [`PostgreSQL statements (pg_stat_statements): ${Number(total.c)} calls, ${(Number(total.t) / 1000).toFixed(2)} s executing` +
      ` = ${(Number(total.t) / outcomes).toFixed(3)} s per 1,000 outcomes; top ${n} by time:`]
    for (const r of rows) {
      const ms = Number(r.total_exec_time)
      lines.push(`  ${(ms / Number(total.t) * 100).toFixed(1).padStart(5)} %  ${(ms / 1000).toFixed(2).padStart(6)} s  ${String(r.calls).padStart(7)} calls  ${(ms / Number(r.calls)).toFixed(2).padStart(7)} ms each  ${String(r.q).slice(0, 110)}`)
    }
    return lines.join('\n')
  } finally {
    await c.end()
  }
}
