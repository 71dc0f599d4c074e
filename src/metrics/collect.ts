/**
 * Scrape-time collection helpers. A source that throws must not fail the whole scrape:
 * its metrics are left empty for that scrape and `storemesh_metrics_source_errors_total`
 * counts the failure by source name (a bounded label).
 */
import { Counter, Gauge, type Registry } from 'prom-client'
import { METRIC_NAMES } from './constants.js'

/** the one SourceErrors of each registry (its counter can be registered once) */
const byRegistry = new WeakMap<Registry, SourceErrors>()

export class SourceErrors {
  readonly counter: Counter<'source'>
  readonly #pending = new Set<Promise<void>>()

  /** The registry's SourceErrors, made on first use: for series added to a registry another module set up. */
  static of (registry: Registry): SourceErrors {
    return byRegistry.get(registry) ?? new SourceErrors(registry)
  }

  constructor (registry: Registry) {
    byRegistry.set(registry, this)
    const pending = this.#pending
    this.counter = new Counter({
      name: METRIC_NAMES.sourceErrorsTotal,
      help: 'Scrapes in which a metrics source failed, by source.',
      labelNames: ['source'],
      registers: [registry],
      // the other collectors of this scrape start in the same pass as this one: wait for
      // their sources, so a failure shows in the scrape it happened in
      async collect () {
        await new Promise(resolve => setImmediate(resolve))
        await Promise.allSettled([...pending])
      }
    })
  }

  async guard (source: string, fn: () => Promise<void>): Promise<void> {
    const p = (async () => {
      try {
        await fn()
      } catch {
        this.counter.inc({ source })
      }
    })()
    this.#pending.add(p)
    try {
      await p
    } finally {
      this.#pending.delete(p)
    }
  }
}

/** A gauge whose values are set from a source at every scrape. */
export function scrapedGauge<L extends string> (
  registry: Registry, name: string, help: string, labelNames: readonly L[],
  collect: (g: Gauge<L>) => Promise<void> | void
): Gauge<L> {
  return new Gauge<L>({
    name, help, labelNames, registers: [registry],
    async collect () {
      this.reset()
      await collect(this)
    }
  })
}

/** A counter mirrored from a cumulative figure held by a source. */
export function scrapedCounter<L extends string> (
  registry: Registry, name: string, help: string, labelNames: readonly L[],
  collect: (c: Counter<L>) => Promise<void> | void
): Counter<L> {
  return new Counter<L>({
    name, help, labelNames, registers: [registry],
    async collect () {
      this.reset()
      await collect(this)
    }
  })
}

/** Non-negative finite counts only: a source bug must not produce a negative counter. */
export function count (n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0
}

/**
 * One source read shared by the several collectors of a scrape: prom-client starts
 * every collect() in one synchronous pass, so they all get the same promise, and the
 * next scrape reads afresh once it settled.
 */
export function perScrape<T> (fn: () => T | Promise<T>): () => Promise<T> {
  let inflight: Promise<T> | undefined
  return async () => {
    if (inflight === undefined) {
      const p = (async () => await fn())()
      inflight = p
      const clear = (): void => { if (inflight === p) inflight = undefined }
      p.then(clear, clear)
    }
    return await inflight
  }
}
