/**
 * The fleet ledger's timings and its limit on report groups in flight (fleet-ledger.ts):
 * apart so the ledger reads as what it does, and the figures are found in one place.
 */

/** Re-probing a database that went away: from 0.5 s up to 15 s between tries. */
export const DB_RETRY = { baseMs: 500, maxMs: 15_000, jitterFraction: 0.2 }
/** Report groups in flight on a server: each holds one pooled connection through its commit. @default 4 */
export const PG_GROUPS_IN_FLIGHT = 4
/** How often an idle ledger checks its server is still there (health, metrics). @default 5 s */
export const DB_PROBE_INTERVAL_MS = 5_000
