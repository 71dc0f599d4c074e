/**
 * Gates about the device and the store: the maintenance window, guardrails read from
 * device facts, peripheral probes, the hub's install lease, fleet halt orders and the
 * health of a version the device already runs. A fact that could not be read fails
 * its gate (fail closed) and asks for `defer`: facts are polled again. Only a missing
 * A/B layout is permanent (`refuse`). Health loss, and a probe or halt while a trial
 * is not yet committed, ask for `rollback`.
 */
import { DateTime } from 'luxon'
import semver from 'semver'
import {
  DEFAULT_FACTS_RECHECK_MS, DEFAULT_HEALTH_TIMEOUT_SECONDS, DEFAULT_LEASE_RETRY_MS, DEFAULT_ORDERS_RECHECK_MS, MINUTE_MS
} from './constants.js'
import { fail, iso, pass, type Effect, type GateContext, type GateOutcome } from './gate.js'
import { windowState } from '../time/index.js'

/** recent (zone, instant) -> text: every device of a zone names the same opening (the fleet simulator's hottest call) */
const localTimeMemo = new Map<string, string>()
const LOCAL_TIME_MEMO_ENTRIES = 512

function localTime (ms: number, tz: string): string {
  const key = `${tz}|${ms}`
  let text = localTimeMemo.get(key)
  if (text === undefined) {
    text = DateTime.fromMillis(ms, { zone: tz, locale: 'en-US' }).toFormat('ccc yyyy-MM-dd HH:mm ZZ')
    if (localTimeMemo.size >= LOCAL_TIME_MEMO_ENTRIES) localTimeMemo.clear()
    localTimeMemo.set(key, text)
  }
  return text
}

function whyUnknown (ctx: GateContext, fact: string): string {
  const err = ctx.facts.factErrors[fact]
  return err !== undefined ? `${fact} unknown: ${err}` : `${fact} unknown`
}

function recheck (ctx: GateContext): number {
  return ctx.nowMs + DEFAULT_FACTS_RECHECK_MS
}

function hubReachable (ctx: GateContext): boolean {
  return ctx.facts.hubReachable ?? ctx.facts.lease.state !== 'unreachable'
}

/** Rollback, unless the policy forbids it with no hub and the hub is away. */
function rollbackEffect (ctx: GateContext): { effect: Effect, note: string, passAtMs?: number } {
  if (ctx.policy.spec.rollback.offlineAllowed || hubReachable(ctx)) return { effect: 'rollback', note: '' }
  return { effect: 'defer', note: ' (rollback waits for the hub: rollback.offlineAllowed is false)', passAtMs: ctx.nowMs + DEFAULT_LEASE_RETRY_MS }
}

export function scheduleWindow (ctx: GateContext): GateOutcome {
  const { maintenanceWindow: w, timezone: tz } = ctx.policy.spec.schedule
  if (w === undefined) return pass('schedule.window', 'no maintenance window: any time', 'defer')
  const s = windowState(w, tz, ctx.nowMs)
  if (s.open) return pass('schedule.window', `open until ${localTime(s.closesAtMs, tz)} (${w}, ${tz})`, 'defer', s.closesAtMs)
  return fail('schedule.window', `closed; opens ${localTime(s.opensAtMs, tz)} (${w}, ${tz})`, 'defer', s.opensAtMs)
}

export function deviceBattery (ctx: GateContext): GateOutcome {
  const min = ctx.policy.spec.guardrails.minBattery
  const b = ctx.facts.batteryPercent
  if (min === undefined) return pass('device.battery', 'no battery guardrail', 'defer')
  if (ctx.facts.onMains === true) return pass('device.battery', `on mains power${b !== undefined ? ` (battery ${b} %)` : ''}`, 'defer')
  if (b === undefined) return fail('device.battery', whyUnknown(ctx, 'batteryPercent'), 'defer', recheck(ctx))
  if (b >= min) return pass('device.battery', `battery ${b} % >= ${min} %`, 'defer')
  return fail('device.battery', `battery ${b} % < ${min} %`, 'defer', recheck(ctx))
}

export function deviceTemperature (ctx: GateContext): GateOutcome {
  const max = ctx.policy.spec.guardrails.maxTemperatureC
  const c = ctx.facts.temperatureC
  if (max === undefined) return pass('device.temperature', 'no temperature guardrail', 'defer')
  if (c === undefined) return fail('device.temperature', whyUnknown(ctx, 'temperatureC'), 'defer', recheck(ctx))
  if (c <= max) return pass('device.temperature', `${c} °C <= ${max} °C`, 'defer')
  return fail('device.temperature', `${c} °C > ${max} °C`, 'defer', recheck(ctx))
}

export function deviceDisk (ctx: GateContext): GateOutcome {
  const min = ctx.policy.spec.guardrails.minFreeDiskMiB
  const free = ctx.facts.freeDiskMiB
  if (min === undefined) return pass('device.disk', 'no free-disk guardrail', 'defer')
  if (free === undefined) return fail('device.disk', whyUnknown(ctx, 'freeDiskMiB'), 'defer', recheck(ctx))
  if (free >= min) return pass('device.disk', `${free} MiB free >= ${min} MiB`, 'defer')
  return fail('device.disk', `${free} MiB free < ${min} MiB`, 'defer', recheck(ctx))
}

export function deviceDualPartition (ctx: GateContext): GateOutcome {
  const n = ctx.facts.slotCount
  if (!ctx.policy.spec.guardrails.requireDualPartition) return pass('device.dual-partition', 'not required', 'refuse')
  if (n === undefined) return fail('device.dual-partition', whyUnknown(ctx, 'slotCount'), 'defer', recheck(ctx))
  if (n >= 2) return pass('device.dual-partition', `${n} boot slots`, 'refuse')
  // Waiting does not add a partition: only a policy without the requirement helps.
  return fail('device.dual-partition', `${n} boot slot(s); an A/B layout is required`, 'refuse')
}

export function configRequires (ctx: GateContext): GateOutcome {
  const ranges = [
    ['policy', ctx.policy.spec.guardrails.requireConfig],
    ['bundle', ctx.manifest.requiresConfig]
  ].filter((r): r is [string, string] => r[1] !== undefined)
  if (ranges.length === 0) return pass('config.requires', 'no config requirement', 'defer')
  const v = ctx.facts.configVersion
  if (v === undefined) return fail('config.requires', whyUnknown(ctx, 'configVersion'), 'defer', recheck(ctx))
  if (semver.valid(v) === null) return fail('config.requires', `config version ${JSON.stringify(v)} is not semver`, 'defer', recheck(ctx))
  const unmet = ranges.filter(([, r]) => !semver.satisfies(v, r))
  const want = ranges.map(([who, r]) => `${who} ${r}`).join(', ')
  // A config update may arrive on its own, so an unmet range is transient.
  if (unmet.length > 0) return fail('config.requires', `config ${v} does not satisfy ${unmet.map(([who, r]) => `${who} ${r}`).join(', ')}`, 'defer', recheck(ctx))
  return pass('config.requires', `config ${v} satisfies ${want}`, 'defer')
}

export function probes (ctx: GateContext): GateOutcome[] {
  return ctx.policy.spec.verification.peripheralChecks.map(check => {
    const gate = `probe.${check.name}`
    const r = ctx.facts.probes[check.name]
    if (r === undefined) return fail(gate, 'not run', 'defer', recheck(ctx))
    if (r.ok) return pass(gate, r.detail, 'defer')
    // Before an install a missing peripheral only delays it; after, the new slot broke it.
    if (ctx.inTrial) {
      const rb = rollbackEffect(ctx)
      return fail(gate, r.detail + ' (during trial)' + rb.note, rb.effect, rb.passAtMs)
    }
    return fail(gate, r.detail, 'defer', recheck(ctx))
  })
}

export function hubLease (ctx: GateContext): GateOutcome {
  const cap = ctx.policy.spec.rollout.maxConcurrentPerHub
  const l = ctx.facts.lease
  const retry = ctx.nowMs + DEFAULT_LEASE_RETRY_MS
  const extra = l.detail !== undefined && l.detail !== '' ? `: ${l.detail}` : ''
  switch (l.state) {
    case 'held':
      if (l.expiresAtMs === undefined) return pass('hub.lease', `lease held${extra}`, 'defer')
      if (l.expiresAtMs <= ctx.nowMs) return fail('hub.lease', `lease expired ${iso(l.expiresAtMs)}`, 'defer', retry)
      return pass('hub.lease', `lease held until ${iso(l.expiresAtMs)}${extra}`, 'defer', l.expiresAtMs)
    case 'none':
      return fail('hub.lease', `no install lease yet (the hub grants ${cap} at once)`, 'defer', retry)
    case 'denied':
      return fail('hub.lease', `lease denied${extra !== '' ? extra : `: all ${cap} install slots in use`}`, 'defer',
        l.retryAtMs !== undefined && l.retryAtMs > ctx.nowMs ? l.retryAtMs : retry)
    case 'unreachable':
      return fail('hub.lease', `store hub unreachable${extra}`, 'defer', retry)
  }
}

export function fleetHalt (ctx: GateContext): GateOutcome {
  const limit = ctx.policy.spec.rollout.haltOnRollbackRatio
  const { halted, rollbackRatio: ratio, reason } = ctx.facts.fleet
  const over = ratio !== undefined && ratio > limit
  if (halted !== true && !over) {
    return pass('fleet.halt', ratio !== undefined ? `rollback ratio ${ratio} <= ${limit}` : 'no halt order', 'defer')
  }
  const why = reason !== undefined && reason !== '' ? reason : over ? `rollback ratio ${ratio} > ${limit}` : 'halt ordered'
  // An uncommitted trial of a halted wave goes back; others just wait for the wave to resume.
  if (ctx.inTrial) {
    const rb = rollbackEffect(ctx)
    return fail('fleet.halt', `wave halted during trial: ${why}${rb.note}`, rb.effect, rb.passAtMs)
  }
  return fail('fleet.halt', `wave halted: ${why}`, 'defer', ctx.nowMs + DEFAULT_ORDERS_RECHECK_MS)
}

/**
 * Health of the version this device runs (an addition to the gate list of DESIGN.md
 * section 7: the source of the `rollback` verdict). A trial must report healthy within
 * healthCheck.timeoutSeconds of its boot; any run of this version that stays unhealthy
 * for rollbackOnHealthLossMins rolls back.
 */
export function healthCheck (ctx: GateContext): GateOutcome {
  const { facts, policy, nowMs } = ctx
  if (!ctx.runsThis) return pass('health.check', `not running ${ctx.manifest.version}: nothing to check`, 'rollback')
  const v = policy.spec.verification
  const h = facts.health
  const note = h.detail !== undefined && h.detail !== '' ? `: ${h.detail}` : ''
  if (h.state === 'healthy') return pass('health.check', `healthy${ctx.inTrial ? ' (trial)' : ''}${note}`, 'rollback')
  const deadlines: Array<{ atMs: number, why: string }> = []
  if (h.state === 'unhealthy') {
    const since = h.sinceMs ?? nowMs
    deadlines.push({ atMs: since + v.rollbackOnHealthLossMins * MINUTE_MS, why: `unhealthy since ${iso(since)} (limit ${v.rollbackOnHealthLossMins} min)` })
  }
  if (ctx.inTrial && facts.install.sinceMs !== undefined) {
    const budgetSeconds = v.healthCheck?.timeoutSeconds ?? DEFAULT_HEALTH_TIMEOUT_SECONDS
    deadlines.push({ atMs: facts.install.sinceMs + budgetSeconds * 1000, why: `not healthy within ${budgetSeconds} s of the trial boot` })
  }
  const first = deadlines.sort((a, b) => a.atMs - b.atMs)[0]
  if (first === undefined) return pass('health.check', `health ${h.state}${note}`, 'rollback')
  const rb = rollbackEffect(ctx)
  if (first.atMs <= nowMs) return fail('health.check', first.why + note + rb.note, rb.effect, rb.passAtMs)
  return pass('health.check', `${h.state}${note}; rolls back at ${iso(first.atMs)} unless healthy`, rb.effect, first.atMs)
}
