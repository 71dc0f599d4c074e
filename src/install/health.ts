/**
 * Post-boot health of a trial slot. Local only: the check is a URL on the device
 * (HTTP GET, 2xx within the attempt timeout) or a command, plus the policy's
 * peripheral probes, so a rollback never needs the network. Everything that touches
 * the world (clock, sleep, fetch, exec) is injected.
 *
 * The trial passes when:
 * 1. the check passes within `budgetMs` (policy `healthCheck.timeoutSeconds`), retried
 *    every `intervalMs`; else `health.timeout`;
 * 2. every probe passes once; else `probe.<name>`;
 * 3. until `observeMs` after the trial began (policy `rollbackOnHealthLossMins`) the check
 *    keeps passing: `maxConsecutiveFailures` failures in a row is `health.lost`.
 * Past the watchdog deadline at any point the verdict is `watchdog`.
 */
import {
  DEFAULT_HEALTH_ATTEMPT_TIMEOUT_MS, DEFAULT_HEALTH_BUDGET_MS, DEFAULT_HEALTH_INTERVAL_MS,
  DEFAULT_HEALTH_MAX_CONSECUTIVE_FAILURES, WATCHDOG_FACTOR, WATCHDOG_SLACK_MS
} from './constants.js'
import { describeCommand, execCommand, failureOf, succeeded, type ExecFn } from './exec.js'
import type { HealthCheckConfig } from './state-machine.js'

export type { HealthCheckConfig }

export interface HealthDeps {
  now: () => number
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>
  fetch: (url: string, init: { signal: AbortSignal }) => Promise<{ status: number }>
  exec: ExecFn
}

export const defaultHealthDeps: HealthDeps = {
  now: () => Date.now(),
  sleep: async (ms, signal) => await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms)
    function done (): void { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve() }
    signal?.addEventListener('abort', done, { once: true })
  }),
  fetch: async (url, init) => {
    const res = await fetch(url, { signal: init.signal, redirect: 'manual' })
    await res.body?.cancel().catch(() => {}) // only the status matters; free the socket
    return { status: res.status }
  },
  exec: execCommand
}

/** Why a trial failed; the reason's code is also the journal's and the CLI's. */
export type HealthFailure = 'health.timeout' | 'health.lost' | 'watchdog' | `probe.${string}`

export type HealthVerdict =
  | { ok: true, checks: number, detail: string }
  | { ok: false, reason: HealthFailure, checks: number, detail: string }

export const defaultHealthConfig: HealthCheckConfig = {
  budgetMs: DEFAULT_HEALTH_BUDGET_MS,
  intervalMs: DEFAULT_HEALTH_INTERVAL_MS,
  attemptTimeoutMs: DEFAULT_HEALTH_ATTEMPT_TIMEOUT_MS,
  observeMs: 0,
  maxConsecutiveFailures: DEFAULT_HEALTH_MAX_CONSECUTIVE_FAILURES,
  probes: []
}

/** The policy's `spec.verification` section (DESIGN.md section 7), as far as the installer reads it. */
export interface PolicyVerification {
  peripheralChecks?: Array<{ name: string, run: string, timeoutSeconds?: number }>
  /** `run` is the policy's name for a health command (DESIGN.md section 7) */
  healthCheck?: { url?: string, run?: string, timeoutSeconds?: number }
  rollbackOnHealthLossMins?: number
}

export function healthConfigFromPolicy (v: PolicyVerification | undefined, overrides: Partial<HealthCheckConfig> = {}): HealthCheckConfig {
  const hc = v?.healthCheck
  return {
    ...defaultHealthConfig,
    ...(hc?.url !== undefined ? { url: hc.url } : {}),
    ...(hc?.run !== undefined ? { command: hc.run } : {}),
    ...(hc?.timeoutSeconds !== undefined ? { budgetMs: hc.timeoutSeconds * 1000 } : {}),
    ...(v?.rollbackOnHealthLossMins !== undefined ? { observeMs: v.rollbackOnHealthLossMins * 60_000 } : {}),
    probes: (v?.peripheralChecks ?? []).map(p => ({ name: p.name, run: p.run, timeoutMs: (p.timeoutSeconds ?? DEFAULT_HEALTH_ATTEMPT_TIMEOUT_MS / 1000) * 1000 })),
    ...overrides
  }
}

/** How long the watchdog lets a trial run, from arming to commit. */
export function watchdogMsOf (c: HealthCheckConfig): number {
  return WATCHDOG_FACTOR * (Math.max(c.budgetMs, c.observeMs) + c.attemptTimeoutMs) + WATCHDOG_SLACK_MS
}

/** One check: the URL or the command; no check configured passes. */
export async function checkOnce (c: HealthCheckConfig, deps: HealthDeps, signal?: AbortSignal): Promise<{ ok: boolean, detail: string }> {
  if (c.url !== undefined) {
    // a ref'd timer, not AbortSignal.timeout(): that one does not keep the process alive
    const timeout = new AbortController()
    const timer = setTimeout(() => timeout.abort(), c.attemptTimeoutMs)
    const s = signal !== undefined ? AbortSignal.any([signal, timeout.signal]) : timeout.signal
    try {
      const res = await deps.fetch(c.url, { signal: s })
      const ok = res.status >= 200 && res.status < 300
      return { ok, detail: `GET ${c.url} → ${res.status}` }
    } catch (err) {
      return { ok: false, detail: `GET ${c.url} failed: ${timeout.signal.aborted ? 'timed out' : (err as Error).message}` }
    } finally {
      clearTimeout(timer)
    }
  }
  if (c.command !== undefined) {
    const r = await deps.exec({ command: c.command, timeoutMs: c.attemptTimeoutMs, ...(signal !== undefined ? { signal } : {}) })
    return succeeded(r) ? { ok: true, detail: `${describeCommand(c.command)} passed` } : { ok: false, detail: `${describeCommand(c.command)}: ${failureOf(r)}` }
  }
  return { ok: true, detail: 'no health check configured' }
}

export interface TrialOptions {
  signal?: AbortSignal
  /** ms since the epoch; past it the verdict is `watchdog` */
  deadlineMs?: number
  /** called after every check, for the journal and metrics */
  onCheck?: (r: { ok: boolean, detail: string }) => void
}

export async function runHealthTrial (c: HealthCheckConfig, deps: HealthDeps, opts: TrialOptions = {}): Promise<HealthVerdict> {
  const start = deps.now()
  const deadline = opts.deadlineMs ?? Number.POSITIVE_INFINITY
  // bounded even under a clock that stands still: the planned checks and a few more
  const maxChecks = Math.ceil((c.budgetMs + c.observeMs) / c.intervalMs) + 3
  let checks = 0
  let last = ''
  const watchdog = (): HealthVerdict => ({ ok: false, reason: 'watchdog', checks, detail: `trial passed its watchdog deadline${last !== '' ? `; last check: ${last}` : ''}` })
  const check = async (): Promise<boolean> => {
    checks++
    const r = await checkOnce(c, deps, opts.signal)
    last = r.detail
    opts.onCheck?.(r)
    return r.ok
  }
  const wait = async (ms: number): Promise<void> => { await deps.sleep(Math.max(0, ms), opts.signal) }
  // a function, not a property test: TypeScript would keep the narrowing across awaits
  const aborted = (): boolean => opts.signal?.aborted === true

  // 1. first pass within the budget
  for (;;) {
    if (aborted()) return { ok: false, reason: 'health.timeout', checks, detail: 'aborted' }
    if (deps.now() >= deadline) return watchdog()
    if (await check()) break
    const elapsed = deps.now() - start
    if (elapsed >= c.budgetMs || checks >= maxChecks) {
      return { ok: false, reason: 'health.timeout', checks, detail: `no passing check within ${c.budgetMs} ms; last: ${last}` }
    }
    await wait(Math.min(c.intervalMs, c.budgetMs - elapsed))
  }

  // 2. probes, each once
  for (const p of c.probes) {
    if (deps.now() >= deadline) return watchdog()
    const r = await deps.exec({ command: p.run, timeoutMs: p.timeoutMs, ...(opts.signal !== undefined ? { signal: opts.signal } : {}) })
    if (!succeeded(r)) return { ok: false, reason: `probe.${p.name}`, checks, detail: `probe ${p.name}: ${failureOf(r)}` }
  }

  // 3. stay healthy through the observation window
  const observeEnd = start + c.observeMs
  let failures = 0
  while (deps.now() < observeEnd && checks < maxChecks) {
    await wait(Math.min(c.intervalMs, observeEnd - deps.now()))
    if (aborted()) return { ok: false, reason: 'health.lost', checks, detail: 'aborted' }
    if (deps.now() >= deadline) return watchdog()
    if (await check()) {
      failures = 0
    } else if (++failures >= c.maxConsecutiveFailures) {
      return { ok: false, reason: 'health.lost', checks, detail: `${failures} failed checks in a row after the first pass; last: ${last}` }
    }
  }
  return { ok: true, checks, detail: last }
}
