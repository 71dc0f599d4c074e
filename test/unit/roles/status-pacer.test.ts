/**
 * The status pacer (issue #19): an unchanged snapshot is looked at less and less often,
 * up to the cap; a change or a poke brings the pace back. Driven by a fake clock, so
 * the back-off is counted in ticks, never timed.
 */
import t from 'tap'
import { IDLE_TICKS_BEFORE_BACKOFF, StatusPacer, type PacerClock } from '../../../src/roles/status-pacer.js'

class FakeClock implements PacerClock {
  nowMs = 0
  #seq = 0
  readonly timers = new Map<number, { at: number, fn: () => void }>()
  now = (): number => this.nowMs
  setTimeout = (fn: () => void, ms: number): { id: number, unref: () => void } => {
    const id = ++this.#seq
    this.timers.set(id, { at: this.nowMs + ms, fn })
    return { id, unref: () => {} }
  }

  clearTimeout = (t: unknown): void => { this.timers.delete((t as { id: number }).id) }
  /** runs the next timer (there is at most one) and lets its promise chain settle */
  async next (): Promise<number> {
    const [id, e] = [...this.timers.entries()].sort((a, b) => a[1].at - b[1].at)[0] ?? []
    if (id === undefined || e === undefined) throw new Error('no timer armed')
    this.timers.delete(id)
    const waited = e.at - this.nowMs
    this.nowMs = e.at
    e.fn()
    for (let i = 0; i < 5; i++) await Promise.resolve()
    return waited
  }
}

t.test('unchanged looks back off to the cap; a change restores the base pace', async t => {
  const clock = new FakeClock()
  let changed = false
  let looks = 0
  const pacer = new StatusPacer({ baseMs: 1000, maxMs: 16_000, clock, tick: async () => { looks++; return changed } })
  pacer.start()
  const waits: number[] = []
  for (let i = 0; i < 9; i++) waits.push(await clock.next())
  t.same(waits, [1000, 1000, 2000, 4000, 8000, 16_000, 16_000, 16_000, 16_000],
    `the base pace until ${IDLE_TICKS_BEFORE_BACKOFF} looks found nothing new, then doubling up to the cap`)
  t.equal(looks, 9)
  changed = true
  await clock.next()
  t.equal(await clock.next(), 1000, 'a look that found a change goes back to the base pace')
  pacer.stop()
  t.equal(clock.timers.size, 0, 'stop leaves no timer')
})

t.test('a poke while backed off brings the next look within the base interval', async t => {
  const clock = new FakeClock()
  const pacer = new StatusPacer({ baseMs: 1000, maxMs: 60_000, clock, tick: async () => false })
  pacer.start()
  for (let i = 0; i < 8; i++) await clock.next()
  t.ok(pacer.delayMs > 1000, 'backed off')
  clock.nowMs += 500
  pacer.poke()
  t.equal(await clock.next(), 1000, 'rescheduled to the base interval from the poke')
  t.equal(await clock.next(), 1000, 'and stays there until unchanged looks pile up again')
  pacer.poke()
  t.equal(clock.timers.size, 1, 'a poke never arms a second timer')
  pacer.stop()
})

t.test('a failing look is retried at the base pace', async t => {
  const clock = new FakeClock()
  const pacer = new StatusPacer({ baseMs: 500, clock, tick: async () => { throw new Error('disk') } })
  pacer.start()
  for (let i = 0; i < 6; i++) t.equal(await clock.next(), 500)
  pacer.stop()
})
