/**
 * Schema version 2: what the wave runner (src/control/waves/runner.ts) keeps.
 *   waves.machine          the wave state machine's whole state (src/control/waves/plan.ts
 *                          WaveState) with the runner's bookkeeping, as JSON; NULL for a
 *                          wave no runner drives (one first seen in a hub's report)
 *   wave_stores.started_ms when the store's batch started: until then the store's report
 *                          answers hold its devices (`wave-batch-not-started`)
 */
export const WAVE_RUNNER_V2 = `
ALTER TABLE waves ADD COLUMN machine jsonb;
ALTER TABLE wave_stores ADD COLUMN started_ms bigint;
`
