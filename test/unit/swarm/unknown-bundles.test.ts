import t from 'tap'
import { randomBytes } from 'node:crypto'
import { STORE_ACTIVE_BUNDLES } from '../../../src/net/constants.js'
import { DEFAULT_REOPEN_MAX_MS, DEFAULT_REOPEN_MIN_MS, DEFAULT_UNKNOWN_BUNDLES_BURST } from '../../../src/swarm/constants.js'
import { UnknownBundleBudgets } from '../../../src/swarm/unknown-bundles.js'

const hash = (): string => randomBytes(20).toString('hex')

t.test('random info-hashes: refused at the first past the distinct burst, long before the handshake budget', async t => {
  const b = new UnknownBundleBudgets({}, 16)
  let admitted = 0
  let refusal
  // all at one instant: a flood names them as fast as streams open
  while ((refusal = b.take('flooder', hash(), 1000)) === undefined) admitted++
  t.equal(admitted, DEFAULT_UNKNOWN_BUNDLES_BURST, 'exactly the distinct burst passed')
  t.equal(refusal.budget, 'bundles')
  t.match(refusal.detail, /distinct bundles/)
  t.equal(b.take('other', hash(), 1000), undefined, 'another peer has its own budget')
})

t.test('an honest hub naming every active bundle, re-opened on its back-off for an hour, is never refused', async t => {
  const b = new UnknownBundleBudgets({}, 16)
  // the hub seeds the store's active bundles, none of which this device joined, plus
  // a device naming another class's bundle and an older one
  const hubBundles = Array.from({ length: STORE_ACTIVE_BUNDLES }, hash)
  const deviceBundles = [hash(), hash()]
  // each bundle's stream is re-opened at 1, 2, 4... s, capped (reopen.ts), for an hour
  const events: Array<{ peer: string, h: string, at: number }> = []
  for (const [peer, bundles] of [['hub', hubBundles], ['device', deviceBundles]] as const) {
    for (const h of bundles) {
      let wait = DEFAULT_REOPEN_MIN_MS
      for (let at = 0; at < 3_600_000; at += wait, wait = Math.min(2 * wait, DEFAULT_REOPEN_MAX_MS)) events.push({ peer, h, at })
    }
  }
  events.sort((a, b) => a.at - b.at)
  let refused = 0
  for (const e of events) if (b.take(e.peer, e.h, e.at) !== undefined) refused++
  const asked = events.length
  t.ok(asked > 1000, `${asked} handshakes`)
  t.equal(refused, 0, 'none refused')
})

t.test('repeats of one unknown hash cost the handshake budget only', async t => {
  const b = new UnknownBundleBudgets({ handshakeBurst: 10, handshakesPerSec: 1 }, 4)
  const h = hash()
  for (let i = 0; i < 10; i++) t.equal(b.take('p', h, 0), undefined)
  t.equal(b.take('p', h, 0)?.budget, 'handshakes', 'the 11th at once is refused by the handshake budget')
  t.equal(b.take('p', h, 1000), undefined, 'one more a second later')
})

t.test('state is bounded by maxPeers', async t => {
  const b = new UnknownBundleBudgets({}, 8)
  for (let i = 0; i < 100; i++) b.take(`peer-${i}`, hash(), 0)
  t.equal(b.size, 8)
})
