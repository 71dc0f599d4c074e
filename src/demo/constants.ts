/**
 * The demo store's settings in one place: the rates it sets (the P2P lower bound is
 * computed from the same figures), the intervals its processes run at, and the bound
 * of every wait. Sized for a loaded 2-core machine: about two minutes end to end.
 */

const MiB = 1024 * 1024
const SECOND_MS = 1000

/** The store hub's WAN download limit: pre-staging 24 MiB takes about 4 s, visibly limited. */
export const DEMO_WAN_RATE_BYTES_PER_SEC = 6 * MiB
/** Every LAN node's chunk upload cap (hub and devices alike), as bench/lan.ts sets it. */
export const DEMO_UPLOAD_RATE_BYTES_PER_SEC = 4 * MiB
/** The hub is the lease authority: installs at once (the policy's maxConcurrentPerHub agrees). */
export const DEMO_MAX_CONCURRENT_INSTALLS = 4

/** Waves of the two rounds (the policies' metadata.wave). */
export const DEMO_WAVES = { v1: 142, v2: 143 } as const
export const DEMO_HUB_ID = 'demo-store-0042'
/**
 * The super hub halts a wave past this rollback ratio once this many devices have an
 * outcome: one health failure among six installs (0.17) is under it, so the demo's
 * rollback does not halt the wave whatever order the outcomes arrive in.
 */
export const DEMO_HALT_ON_ROLLBACK_RATIO = 0.5
export const DEMO_MIN_OUTCOMES_FOR_HALT = 4

/**
 * How often peers rewrite status.json, ask for manifests, query mDNS, decide on installs:
 * quick enough for a two-minute demo, slow enough that ten idle processes leave the
 * CPU to the transfers.
 */
export const DEMO_STATUS_INTERVAL_MS = 1000
export const DEMO_POLL_INTERVAL_MS = 1000
// an idle store of nine LAN peers querying every second used most of a core (measured: ~8 % each)
export const DEMO_MDNS_INTERVAL_MS = 3000
export const DEMO_INSTALL_INTERVAL_MS = 2000
/** How often the demo reads logs, status files and the hub's API while it waits. */
export const DEMO_WATCH_INTERVAL_MS = 200

/** Bounds of every wait (a loaded machine is slow; a stuck one must still end). */
export const DEMO_START_TIMEOUT_MS = 90 * SECOND_MS
export const DEMO_ROUND_TIMEOUT_MS = 150 * SECOND_MS
/** The ledger travels device -> hub -> super hub in batches; give the last ones this long. */
export const DEMO_LEDGER_SETTLE_MS = 8 * SECOND_MS
export const DEMO_STOP_GRACE_MS = 10 * SECOND_MS
export const DEMO_HTTP_TIMEOUT_MS = 10 * SECOND_MS
