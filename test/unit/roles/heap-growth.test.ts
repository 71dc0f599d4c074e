import t from 'tap'
import { constants, PerformanceObserver } from 'node:perf_hooks'
import { setImmediate as tick } from 'node:timers/promises'
import { DEFAULT_HEAP_GROWING_PERCENT, setHeapGrowingPercent } from '../../../src/roles/heap-growth.js'

/**
 * Full collections while objects are promoted and then die in the old generation (as a
 * daemon's frames and buffers are at line rate): each lives through many scavenges in a
 * ring, beside a live set that every full collection has to mark.
 */
async function majorsWhileChurning (promotedObjects: number): Promise<number> {
  let majors = 0
  const obs = new PerformanceObserver(list => {
    for (const e of list.getEntries()) {
      if (((e as unknown as { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++
    }
  })
  obs.observe({ entryTypes: ['gc'] })
  const live = Array.from({ length: 100_000 }, (_, i) => ({ i, pad: [i, i + 1, i + 2, i + 3] }))
  const ring: unknown[] = new Array(50_000)
  for (let i = 0; i < promotedObjects; i++) ring[i % ring.length] = { i, pad: [i, i, i, i] }
  await tick()
  await tick()
  obs.disconnect()
  t.ok(live.length > 0 && ring.length > 0)
  return majors
}

t.test('the factor set at run time takes effect: a larger one, fewer full collections for the same promotion', async t => {
  t.teardown(() => { setHeapGrowingPercent(0) })
  setHeapGrowingPercent(10)
  const tight = await majorsWhileChurning(3_000_000)
  setHeapGrowingPercent(200)
  const loose = await majorsWhileChurning(3_000_000)
  t.ok(tight > loose, `full collections: ${tight} at 10%, ${loose} at 200%`)
})

t.test('bad values are a usage error; the default is in range', async t => {
  for (const bad of [-1, 1.5, Number.NaN, 301]) {
    t.throws(() => { setHeapGrowingPercent(bad) }, { code: 'E_USAGE' }, String(bad))
  }
  t.doesNotThrow(() => { setHeapGrowingPercent(DEFAULT_HEAP_GROWING_PERCENT) })
  setHeapGrowingPercent(0)
})
