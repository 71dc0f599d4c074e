import t from 'tap'
import { ReopenBackoff } from '../../../src/swarm/reopen.js'

t.test('re-open back-off: due at once, then doubling up to the cap, reset by a wire that came up', async t => {
  const b = new ReopenBackoff({ minMs: 1000, maxMs: 4000 })
  const k = 'b3:aa peer1'
  t.ok(b.due(k, 0), 'never tried: due')
  b.attempted(k, 0)
  t.notOk(b.due(k, 999), 'first retry waits minMs')
  t.ok(b.due(k, 1000))
  b.attempted(k, 1000)
  t.notOk(b.due(k, 2999), 'second waits twice as long')
  t.ok(b.due(k, 3000))
  b.attempted(k, 3000)
  b.attempted(k, 7000)
  t.notOk(b.due(k, 10_999), 'capped at maxMs')
  t.ok(b.due(k, 11_000))
  b.succeeded(k)
  t.ok(b.due(k, 11_000), 'a wire that came up resets it')
  b.attempted(k, 11_000)
  t.notOk(b.due(k, 11_999), 'and the next loss starts at minMs again')
  t.ok(b.due(k, 12_000))
})

t.test('forget drops every key of a bundle only', async t => {
  const b = new ReopenBackoff({ minMs: 1000, maxMs: 4000 })
  b.attempted('b3:aa p1', 0)
  b.attempted('b3:aa p2', 0)
  b.attempted('b3:bb p1', 0)
  b.forget('b3:aa ')
  t.equal(b.size, 1)
  t.ok(b.due('b3:aa p1', 1))
  t.notOk(b.due('b3:bb p1', 1))
})
