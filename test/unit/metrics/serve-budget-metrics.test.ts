/**
 * storemesh_serve_inflight_*: the super hub's bound on chunk bytes in flight as read
 * by a scrape, from a real ByteBudget with a grant held and one waiting.
 */
import t from 'tap'
import { Registry } from 'prom-client'
import { registerServeBudgetMetrics, SERVE_BUDGET_METRIC_NAMES as N } from '../../../src/metrics/serve-budget-metrics.js'
import { ByteBudget } from '../../../src/wan/byte-budget.js'

const valueOf = (text: string, name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1])

t.test('the scrape reads what is held, the bound, the peak and who waits', async t => {
  const budget = new ByteBudget(1000)
  const registry = new Registry()
  registerServeBudgetMetrics(registry, budget)
  const g = await budget.acquire(700)
  const waiting = budget.acquire(600)
  let text = await registry.metrics()
  t.equal(valueOf(text, N.inFlightBytes), 700)
  t.equal(valueOf(text, N.limitBytes), 1000)
  t.equal(valueOf(text, N.waiters), 1)
  t.equal(valueOf(text, N.waitedTotal), 1)
  g.release()
  ;(await waiting).release()
  text = await registry.metrics()
  t.equal(valueOf(text, N.inFlightBytes), 0)
  t.equal(valueOf(text, N.peakBytes), 700)
  t.equal(valueOf(text, N.waiters), 0)
})

t.test('stalled streams reset by the wan-pull server are counted', async t => {
  const registry = new Registry()
  let stalledAborts = 0
  registerServeBudgetMetrics(registry, new ByteBudget(1000), { stats: () => ({ stalledAborts }) })
  t.equal(valueOf(await registry.metrics(), N.stalledAbortsTotal), 0)
  stalledAborts = 3
  t.equal(valueOf(await registry.metrics(), N.stalledAbortsTotal), 3)
})
