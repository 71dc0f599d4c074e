import t from 'tap'
import { BUNDLE_ID_RE, HASH_HEX_RE, isBundleId, isHashHex } from '../../../src/interface/ids.js'

t.test('a hash is 64 lower-case hex characters; a bundle id is b3: and a hash', async t => {
  const hash = 'ab'.repeat(32)
  t.ok(isHashHex(hash))
  t.ok(isBundleId(`b3:${hash}`))
  for (const bad of ['AB'.repeat(32), 'ab'.repeat(31), 'ab'.repeat(33), `b3:${hash}`, ` ${hash}`, `${hash}\n`, 42, undefined]) {
    t.notOk(isHashHex(bad), `not a hash: ${JSON.stringify(bad)}`)
  }
  for (const bad of [hash, `b3:${'ab'.repeat(31)}`, `B3:${hash}`, `b3:${hash.toUpperCase()}`, `x/b3:${hash}`, null]) {
    t.notOk(isBundleId(bad), `not a bundle id: ${JSON.stringify(bad)}`)
  }
  t.notOk(HASH_HEX_RE.global || BUNDLE_ID_RE.global, 'stateless: test() keeps no lastIndex')
})
