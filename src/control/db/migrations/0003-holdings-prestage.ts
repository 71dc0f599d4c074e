/**
 * Schema version 3: store hubs' bundle holdings and the `prestage` order
 * (docs/fleet.md "Holdings", docs/fleet-waves.md "Pre-staging").
 *   hub_holdings       per store hub and bundle, the latest holdings its reports carried
 *                      (report 1.2.0 `holdings`): chunks held of total, complete or not
 *   hubs.holdings_ms   the hub's clock of the holdings kept: older ones never replace newer
 *   orders             a fifth kind, `prestage` (action `prestage`, a bundle, and at most
 *                      one target: a store in hub_id or a wave's stores in wave_id; none:
 *                      every store). wave_id stays required for wave orders and is now
 *                      allowed on prestage orders. The constraints are PostgreSQL's own
 *                      names for the v1 checks (column checks <table>_<column>_check, the
 *                      first table check orders_check).
 */
export const HOLDINGS_PRESTAGE_V3 = `
CREATE TABLE hub_holdings (
  hub_id        text NOT NULL REFERENCES hubs (hub_id),
  bundle_id     text NOT NULL,
  held_chunks   integer NOT NULL CHECK (held_chunks >= 0),
  total_chunks  integer NOT NULL CHECK (total_chunks >= 1 AND held_chunks <= total_chunks),
  complete      boolean NOT NULL CHECK (NOT complete OR held_chunks = total_chunks),
  -- the hub's clock (holdings.atMs) and ours
  reported_ms   bigint NOT NULL,
  recorded_ms   bigint NOT NULL,
  PRIMARY KEY (hub_id, bundle_id)
);
CREATE INDEX hub_holdings_by_bundle ON hub_holdings (bundle_id, complete);
ALTER TABLE hubs ADD COLUMN holdings_ms bigint;

ALTER TABLE orders DROP CONSTRAINT orders_kind_check;
ALTER TABLE orders ADD CONSTRAINT orders_kind_check CHECK (kind IN ('wave', 'bundle', 'device', 'prestage'));
ALTER TABLE orders DROP CONSTRAINT orders_action_check;
ALTER TABLE orders ADD CONSTRAINT orders_action_check
  CHECK (action IN ('start', 'pause', 'resume', 'halt', 'hold', 'release', 'rollback', 'prestage'));
ALTER TABLE orders DROP CONSTRAINT orders_check;
ALTER TABLE orders ADD CONSTRAINT orders_wave_check CHECK ((kind = 'wave' AND wave_id IS NOT NULL) OR (kind <> 'wave' AND (kind = 'prestage' OR wave_id IS NULL)));
ALTER TABLE orders ADD CONSTRAINT orders_prestage_check
  CHECK ((kind = 'prestage') = (action = 'prestage') AND (kind <> 'prestage' OR (bundle_id IS NOT NULL AND device_id IS NULL AND (wave_id IS NULL OR hub_id IS NULL))));
CREATE INDEX orders_prestage ON orders (kind, bundle_id) WHERE kind = 'prestage';
`
