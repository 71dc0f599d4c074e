/**
 * Bytes by link and direction, the WAN limit and achieved rate, verify failures and
 * bans, protocol violations. Labels: `link` (wan, lan), `direction` (up, down) and
 * `violation` (a stable code, bounded); never a peer id.
 */
import type { Registry } from 'prom-client'
import { count, perScrape, scrapedCounter, scrapedGauge, type SourceErrors } from './collect.js'
import { MAX_VIOLATION_SERIES, METRIC_NAMES as N } from './constants.js'
import { boundGates } from './rollout-metrics.js'
import type { SecuritySource, TrafficSource, WanSource } from './sources.js'

const LINKS = ['lan', 'wan'] as const
const DIRECTIONS = ['up', 'down'] as const

export function createTrafficMetrics (registry: Registry, source: TrafficSource, errors: SourceErrors): void {
  scrapedCounter(registry, N.bytesTotal, 'Chunk payload bytes moved, by link (wan, lan) and direction (up, down).', ['link', 'direction'], async c => {
    await errors.guard('traffic', async () => {
      const b = await source.bytes()
      for (const link of LINKS) for (const direction of DIRECTIONS) c.inc({ link, direction }, count(b[link][direction]))
    })
  })
}

export function createWanMetrics (registry: Registry, source: WanSource, errors: SourceErrors): void {
  scrapedGauge(registry, N.wanLimit, 'WAN rate limit in force (+Inf: unlimited, 0: outside the window).', [], async g => {
    await errors.guard('wan', async () => {
      const v = await source.limitBytesPerSec()
      g.set(Number.isNaN(v) || v < 0 ? 0 : v)
    })
  })
  scrapedGauge(registry, N.wanAchieved, 'WAN bytes per second achieved over the recent interval.', [], async g => {
    await errors.guard('wan', async () => { g.set(count(await source.achievedBytesPerSec())) })
  })
}

export function createSecurityMetrics (registry: Registry, source: SecuritySource, errors: SourceErrors): void {
  const read = perScrape(async () => {
    let v: { verify: number, bans: number, banned: number | undefined } | undefined
    await errors.guard('security', async () => {
      v = {
        verify: await source.verifyFailuresTotal(),
        bans: await source.peerBansTotal(),
        banned: source.peersBanned !== undefined ? await source.peersBanned() : undefined
      }
    })
    return v
  })
  scrapedCounter(registry, N.verifyFailuresTotal, 'Chunks that failed BLAKE3 verification.', [], async c => {
    const v = await read()
    if (v !== undefined) c.inc(count(v.verify))
  })
  scrapedCounter(registry, N.peerBansTotal, 'Peers banned for bad chunks or protocol violations.', [], async c => {
    const v = await read()
    if (v !== undefined) c.inc(count(v.bans))
  })
  const violations = source.peerViolationsTotal
  if (violations !== undefined) {
    scrapedCounter(registry, N.peerViolationsTotal, 'Chunk-wire protocol violations by peers, by stable violation code.', ['violation'], async c => {
      await errors.guard('security', async () => {
        // codes are a fixed set; the bound only guards against a source bug
        for (const [violation, n] of Object.entries(boundGates(await violations(), MAX_VIOLATION_SERIES))) c.inc({ violation }, n)
      })
    })
  }
  const refusals = source.banRefusalsTotal
  if (refusals !== undefined) {
    scrapedCounter(registry, N.banRefusalsTotal, 'Connections of banned peers refused, by stage: address (before Noise), encrypted (by peer id, after Noise), dial (our own).', ['stage'], async c => {
      await errors.guard('security', async () => {
        // three stages; the bound only guards against a source bug
        for (const [stage, n] of Object.entries(boundGates(await refusals(), MAX_VIOLATION_SERIES))) c.inc({ stage }, count(n))
      })
    })
  }
  if (source.peersBanned !== undefined) {
    scrapedGauge(registry, N.peersBanned, 'Peers banned now.', [], async g => {
      const v = await read()
      if (v?.banned !== undefined) g.set(count(v.banned))
    })
  }
  const hoarders = source.superseedHoardersTotal?.bind(source)
  if (hoarders !== undefined) {
    scrapedCounter(registry, N.superseedHoardersTotal, 'Peers found claiming chunks they never served; their claims are ignored by super-seeding.', [], async c => {
      await errors.guard('security', async () => { c.inc(count(await hoarders())) })
    })
  }
}
