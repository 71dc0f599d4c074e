/**
 * Defaults and limits of the policy engine, in one place. The schema (schema.ts) fills
 * absent policy fields from these; the gates (gates-*.ts) use the timing ones to say
 * when a verdict is worth checking again.
 */

export const POLICY_API_VERSION = 'storemesh/v1'
export const POLICY_KIND = 'RolloutPolicy'
/** `type` tag of the signed policy body, so a manifest signature never passes as a policy's. */
export const POLICY_TYPE = 'storemesh/policy'

/** A policy YAML is a few hundred bytes; anything near this is not one. */
export const MAX_POLICY_YAML_BYTES = 64 * 1024
/** A signed policy (JSON envelope) read from disk or the wire. */
export const MAX_SIGNED_POLICY_BYTES = 256 * 1024
export const MAX_PROBES = 32
export const MAX_TARGET_LABELS = 64
export const MAX_COMMAND_CHARS = 4096

// ---- defaults for absent policy fields ----
export const DEFAULT_TIMEZONE = 'UTC'
/** wave percentage: every matching device */
export const DEFAULT_PERCENTAGE = 100
export const DEFAULT_PRESTAGE_HOURS = 24
export const DEFAULT_MAX_CONCURRENT_PER_HUB = 5
export const DEFAULT_BATCH_DELAY_MINUTES = 0
export const DEFAULT_HALT_ON_ROLLBACK_RATIO = 0.05
/**
 * Devices with an outcome (updated + rolled back) across the wave before its rollback
 * ratio may halt it. 1 keeps the behaviour of policies signed before the field existed
 * (the first rollback over the ratio halts); a fleet sets about 1 / haltOnRollbackRatio
 * so one early rollback in a large wave does not stop it. Also the super ledger's default.
 */
export const DEFAULT_MIN_OUTCOMES_FOR_HALT = 1
/** A/B is what makes an install safe, so it is required unless the policy says otherwise. */
export const DEFAULT_REQUIRE_DUAL_PARTITION = true
export const DEFAULT_PROBE_TIMEOUT_SECONDS = 10
export const DEFAULT_HEALTH_TIMEOUT_SECONDS = 120
export const DEFAULT_ROLLBACK_ON_HEALTH_LOSS_MINS = 5
export const DEFAULT_OFFLINE_ROLLBACK_ALLOWED = true
/**
 * `guardrails.freshnessGraceHours`: a device installs until its newest timestamp
 * statement's expiry plus this (protocols/root/SPEC.md section 6). Three days ride out
 * a long weekend without WAN; with the 24 h statements `root timestamp` writes, a
 * freeze is bounded by four days. @default 72
 */
export const DEFAULT_FRESHNESS_GRACE_HOURS = 72

// ---- wave admission ----
/** Devices are hashed into this many buckets; a percentage admits `percentage * 100` of them. */
export const WAVE_BUCKETS = 10_000
/** Domain separation for the wave hash, so it never equals another BLAKE3 use. */
export const WAVE_HASH_CONTEXT = 'storemesh/wave/v1'

// ---- timing of re-checks ----
export const MINUTE_MS = 60_000
export const HOUR_MS = 60 * MINUTE_MS
export const DAY_MS = 24 * HOUR_MS
/** Facts that change by themselves (battery, temperature, disk, probes, chunk arrival) are polled this often. */
export const DEFAULT_FACTS_RECHECK_MS = 5 * MINUTE_MS
/** Hub orders (pause, halt) are looked at again this often when no push arrives. */
export const DEFAULT_ORDERS_RECHECK_MS = 15 * MINUTE_MS
/** A denied or unreachable lease is asked for again after this, unless the hub said when. */
export const DEFAULT_LEASE_RETRY_MS = MINUTE_MS
/** A manifest created up to this far in the future is accepted (device clocks drift). */
export const MAX_CLOCK_SKEW_MS = 5 * MINUTE_MS
