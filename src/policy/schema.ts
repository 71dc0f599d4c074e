/**
 * The RolloutPolicy of DESIGN.md section 7, validated strictly: an unknown or wrong
 * field is an error naming its path and line, because a typo such as `minBatery`
 * would otherwise switch a guardrail off without a word. Absent optional fields take
 * the DEFAULT_* values of constants.ts; a guardrail left out is not checked, except
 * requireDualPartition, which defaults to true.
 */
import semver from 'semver'
import { z } from 'zod'
import { BUNDLE_ID_RE } from '../interface/ids.js'
import {
  DEFAULT_BATCH_DELAY_MINUTES, DEFAULT_FRESHNESS_GRACE_HOURS, DEFAULT_HALT_ON_ROLLBACK_RATIO, DEFAULT_HEALTH_TIMEOUT_SECONDS,
  DEFAULT_MAX_CONCURRENT_PER_HUB, DEFAULT_MIN_OUTCOMES_FOR_HALT, DEFAULT_OFFLINE_ROLLBACK_ALLOWED, DEFAULT_PERCENTAGE, DEFAULT_PRESTAGE_HOURS,
  DEFAULT_PROBE_TIMEOUT_SECONDS, DEFAULT_REQUIRE_DUAL_PARTITION, DEFAULT_ROLLBACK_ON_HEALTH_LOSS_MINS,
  DEFAULT_TIMEZONE, MAX_COMMAND_CHARS, MAX_POLICY_YAML_BYTES, MAX_PROBES, MAX_TARGET_LABELS,
  POLICY_API_VERSION, POLICY_KIND
} from './constants.js'
import { isValidTimezone, MAX_WINDOW_TEXT_CHARS, parseWindow } from '../time/index.js'
import { parseValueWith, parseYamlWith } from './yaml-schema.js'

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/
/** Probe names become gate names (`probe.<name>`), so they stay short and plain. */
const PROBE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/
const LABEL_KEY_RE = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/

const name = z.string().regex(NAME_RE, 'letters, digits, ".", "_", "-"; at most 128')
const semverVersion = z.string().max(64).refine(v => semver.valid(v) !== null, 'not a semver version (e.g. 3.8.2)')
const semverRange = z.string().max(256).refine(r => semver.validRange(r) !== null, 'not a semver range (e.g. ">=12.4.1")')
const labelValue = z.string().max(128)
const seconds = (max: number): z.ZodNumber => z.number().positive().max(max)

const windowExpr = z.string().max(MAX_WINDOW_TEXT_CHARS).superRefine((w, ctx) => {
  try {
    parseWindow(w)
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^time window "(?:[^"\\]|\\.)*": /, '') })
  }
})

const probeSchema = z.strictObject({
  name: z.string().regex(PROBE_NAME_RE, 'letters, digits, "_", "-"; at most 63'),
  run: z.string().min(1).max(MAX_COMMAND_CHARS),
  timeoutSeconds: seconds(3600).default(DEFAULT_PROBE_TIMEOUT_SECONDS)
})

const healthCheckSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).max(2048).optional(),
  run: z.string().min(1).max(MAX_COMMAND_CHARS).optional(),
  timeoutSeconds: seconds(86_400).default(DEFAULT_HEALTH_TIMEOUT_SECONDS)
}).refine(h => (h.url === undefined) !== (h.run === undefined), 'give exactly one of url or run')

export const rolloutPolicySchema = z.strictObject({
  apiVersion: z.literal(POLICY_API_VERSION),
  kind: z.literal(POLICY_KIND),
  metadata: z.strictObject({
    name,
    wave: z.number().int().min(0).max(2 ** 31 - 1),
    description: z.string().max(1024).optional()
  }),
  spec: z.strictObject({
    bundle: z.strictObject({
      id: z.string().regex(BUNDLE_ID_RE, 'not a bundle id (b3: and 64 hex digits)'),
      version: semverVersion
    }),
    targets: z.strictObject({
      deviceClass: name.optional(),
      /** every label must match; a list means any of its values */
      labels: z.record(z.string().regex(LABEL_KEY_RE, 'not a label key'), z.union([labelValue, z.array(labelValue).min(1).max(64)]))
        .refine(l => Object.keys(l).length <= MAX_TARGET_LABELS, `at most ${MAX_TARGET_LABELS} labels`)
        .default({}),
      percentage: z.number().min(0).max(100).default(DEFAULT_PERCENTAGE),
      /**
       * store hubs installing at once (a batch of the fleet wave, src/control/waves/);
       * absent: every store of the wave in one batch. docs/fleet-waves.md
       */
      hubBudget: z.number().int().min(1).optional()
    }).prefault({}),
    schedule: z.strictObject({
      /** absent: any time */
      maintenanceWindow: windowExpr.optional(),
      timezone: z.string().max(64).refine(isValidTimezone, 'not an IANA time zone (e.g. America/Chicago)').default(DEFAULT_TIMEZONE),
      /** WAN pre-staging of a store starts this long before its maintenance window opens (docs/fleet-waves.md) */
      prestageHours: z.number().min(0).max(24 * 90).default(DEFAULT_PRESTAGE_HOURS)
    }).prefault({}),
    rollout: z.strictObject({
      maxConcurrentPerHub: z.number().int().min(1).max(10_000).default(DEFAULT_MAX_CONCURRENT_PER_HUB),
      batchDelayMinutes: z.number().min(0).max(7 * 24 * 60).default(DEFAULT_BATCH_DELAY_MINUTES),
      haltOnRollbackRatio: z.number().min(0).max(1).default(DEFAULT_HALT_ON_ROLLBACK_RATIO),
      /** outcomes across the wave before haltOnRollbackRatio may halt it; absent in older policies, which stay valid */
      minOutcomesForHalt: z.number().int().min(1).max(10_000_000).default(DEFAULT_MIN_OUTCOMES_FOR_HALT)
    }).prefault({}),
    guardrails: z.strictObject({
      minBattery: z.number().min(0).max(100).optional(),
      maxTemperatureC: z.number().min(-100).max(300).optional(),
      minFreeDiskMiB: z.number().min(0).optional(),
      requireDualPartition: z.boolean().default(DEFAULT_REQUIRE_DUAL_PARTITION),
      requireConfig: semverRange.optional(),
      signedWithinDays: z.number().positive().max(3650).optional(),
      /** installs continue this long after the newest timestamp statement expired (the freeze bound; trust.freshness gate) */
      freshnessGraceHours: z.number().min(0).max(24 * 365).default(DEFAULT_FRESHNESS_GRACE_HOURS)
    }).prefault({}),
    verification: z.strictObject({
      peripheralChecks: z.array(probeSchema).max(MAX_PROBES)
        .refine(ps => new Set(ps.map(p => p.name)).size === ps.length, 'probe names must be unique')
        .default([]),
      healthCheck: healthCheckSchema.optional(),
      rollbackOnHealthLossMins: z.number().min(0).max(7 * 24 * 60).default(DEFAULT_ROLLBACK_ON_HEALTH_LOSS_MINS)
    }).prefault({}),
    rollback: z.strictObject({
      /** a device may roll back with no hub reachable */
      offlineAllowed: z.boolean().default(DEFAULT_OFFLINE_ROLLBACK_ALLOWED)
    }).prefault({})
  })
})

/** A validated policy with every default filled in. */
export type RolloutPolicy = z.output<typeof rolloutPolicySchema>
export type PeripheralCheck = RolloutPolicy['spec']['verification']['peripheralChecks'][number]

/** Parses policy YAML; throws E_POLICY_INVALID `path: message (line N)`. */
export function parsePolicyYaml (text: string, source?: string): RolloutPolicy {
  return parseYamlWith(text, rolloutPolicySchema, { code: 'E_POLICY_INVALID', maxBytes: MAX_POLICY_YAML_BYTES, source })
}

/** Validates a policy object (the body of a signed policy); throws E_POLICY_INVALID. */
export function parsePolicy (value: unknown, source?: string): RolloutPolicy {
  return parseValueWith(value, rolloutPolicySchema, 'E_POLICY_INVALID', source)
}
