/**
 * Schema version 1 of the fleet ledger (docs/fleet.md "Tables"). Times are ms since
 * the epoch (bigint) as on the report wire; states are checked lists so a bad write
 * fails in the database, not later in a reader.
 *
 * The wave logic (src/control/waves/) owns waves.state, batches and wave_stores.state
 * through the WaveStore seam (src/control/wave-store.ts); the report ingest owns hubs,
 * hub_reports, device_outcomes and wave_hub_counts; orders and order_acks are shared.
 */
export const FLEET_LEDGER_V1 = `
CREATE TABLE hubs (
  hub_id          text PRIMARY KEY,
  -- the hub ledger's epoch; a new one restarts its outbox seq
  epoch           text NOT NULL DEFAULT '',
  -- exactly-once: the highest outbox seq of this epoch applied
  acked_seq       bigint NOT NULL DEFAULT 0,
  last_report_ms  bigint,
  peer            text,
  -- operator (fleet hub add), certificate (certified hub id), first-report (open admission)
  admitted_by     text NOT NULL CHECK (admitted_by IN ('operator', 'certificate', 'first-report')),
  created_ms      bigint NOT NULL
);

-- one row per applied report: a report replayed whole (same hub, epoch, last seq) conflicts here
CREATE TABLE hub_reports (
  hub_id       text NOT NULL REFERENCES hubs (hub_id),
  epoch        text NOT NULL,
  last_seq     bigint NOT NULL,
  first_seq    bigint NOT NULL,
  entries      integer NOT NULL,
  received_ms  bigint NOT NULL,
  -- which super hub took it (several may share one database)
  via          text NOT NULL,
  PRIMARY KEY (hub_id, epoch, last_seq)
);

CREATE TABLE waves (
  wave_id                 text PRIMARY KEY,
  policy_name             text,
  bundle_id               text,
  state                   text NOT NULL DEFAULT 'planned'
                          CHECK (state IN ('planned', 'prestaging', 'installing', 'paused', 'halted', 'done')),
  current_batch           integer,
  state_reason            text NOT NULL DEFAULT '',
  halt_on_rollback_ratio  double precision CHECK (halt_on_rollback_ratio BETWEEN 0 AND 1),
  min_outcomes_for_halt   integer CHECK (min_outcomes_for_halt >= 1),
  -- the wave logic's parameters as applied, each with where it came from (policy or flag)
  plan                    jsonb,
  created_ms              bigint NOT NULL,
  updated_ms              bigint NOT NULL
);

CREATE TABLE batches (
  wave_id        text NOT NULL REFERENCES waves (wave_id) ON DELETE CASCADE,
  batch_no       integer NOT NULL CHECK (batch_no >= 0),
  state          text NOT NULL CHECK (state IN ('planned', 'prestaging', 'installing', 'healthy', 'halted', 'done')),
  not_before_ms  bigint,
  started_ms     bigint,
  healthy_ms     bigint,
  PRIMARY KEY (wave_id, batch_no)
);

CREATE TABLE wave_stores (
  wave_id           text NOT NULL REFERENCES waves (wave_id) ON DELETE CASCADE,
  hub_id            text NOT NULL REFERENCES hubs (hub_id),
  batch_no          integer,
  state             text NOT NULL
                    CHECK (state IN ('planned', 'prestaging', 'prestaged', 'installing', 'healthy', 'paused', 'halted', 'done', 'failed')),
  devices_selected  integer,
  updated_ms        bigint NOT NULL,
  PRIMARY KEY (wave_id, hub_id)
);

-- a device counts once per wave wherever it reported from: the highest journal seq (version) wins
CREATE TABLE device_outcomes (
  wave_id      text NOT NULL,
  device_id    text NOT NULL,
  hub_id       text NOT NULL,
  state        text NOT NULL CHECK (state IN ('updated', 'rolled-back', 'failed', 'pending', 'blocked')),
  gate         text,
  version      bigint NOT NULL,
  at_ms        bigint NOT NULL,
  recorded_ms  bigint NOT NULL,
  PRIMARY KEY (wave_id, device_id)
);
CREATE INDEX device_outcomes_by_hub ON device_outcomes (wave_id, hub_id);

-- devices per state of a wave, one row per store hub: a report moves only its own hub's row
-- (held under that hub's lock), so reports of one wave from many stores never wait on each other;
-- a wave's totals are the sum of its rows
CREATE TABLE wave_hub_counts (
  wave_id      text NOT NULL,
  hub_id       text NOT NULL,
  updated      integer NOT NULL DEFAULT 0,
  rolled_back  integer NOT NULL DEFAULT 0,
  failed       integer NOT NULL DEFAULT 0,
  pending      integer NOT NULL DEFAULT 0,
  blocked      integer NOT NULL DEFAULT 0,
  total        integer NOT NULL DEFAULT 0,
  -- blocked devices per gate, failed devices per reason: {"device.battery": 3}
  by_gate      jsonb NOT NULL DEFAULT '{}',
  by_failure   jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (wave_id, hub_id)
);

-- {"a": 1} + {"a": 2, "b": -1} = {"a": 3, "b": -1}; keys that come to 0 are dropped
CREATE FUNCTION storemesh_jsonb_add (x jsonb, y jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $fn$
  SELECT coalesce(jsonb_object_agg(k, n), '{}'::jsonb) FROM (
    SELECT k, sum(n) AS n FROM (
      SELECT key AS k, value::text::numeric AS n FROM jsonb_each(x)
      UNION ALL
      SELECT key, value::text::numeric FROM jsonb_each(y)
    ) parts GROUP BY k
  ) sums WHERE n <> 0
$fn$;

CREATE TABLE orders (
  order_id    text PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('wave', 'bundle', 'device')),
  action      text NOT NULL CHECK (action IN ('start', 'pause', 'resume', 'halt', 'hold', 'release', 'rollback')),
  wave_id     text,
  bundle_id   text,
  hub_id      text,
  device_id   text,
  reason      text NOT NULL DEFAULT '',
  issued_by   text NOT NULL,
  source      text NOT NULL CHECK (source IN ('operator', 'auto')),
  issued_ms   bigint NOT NULL,
  CHECK ((kind = 'wave') = (wave_id IS NOT NULL)),
  CHECK (kind <> 'bundle' OR bundle_id IS NOT NULL),
  CHECK (kind <> 'device' OR (hub_id IS NOT NULL AND device_id IS NOT NULL))
);
CREATE INDEX orders_by_wave ON orders (wave_id, issued_ms DESC);
CREATE INDEX orders_by_bundle ON orders (bundle_id, issued_ms DESC);

-- delivered: an answer to this hub carried the order; acked: the hub reported again after that
CREATE TABLE order_acks (
  order_id      text NOT NULL REFERENCES orders (order_id),
  hub_id        text NOT NULL REFERENCES hubs (hub_id),
  delivered_ms  bigint NOT NULL,
  acked_ms      bigint,
  PRIMARY KEY (order_id, hub_id)
);
`
