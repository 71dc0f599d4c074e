import t from 'tap'
import { formatProtocolId, isCompatibleProtocol, parseProtocolId } from '../../../src/net/protocol-id.js'

t.test('format and parse round-trip', async t => {
  t.equal(formatProtocolId('manifest', '1.0.0'), '/storemesh/manifest/1.0.0')
  t.same(parseProtocolId('/storemesh/chunks/1.2.3'), { name: 'chunks', version: '1.2.3' })
  t.same(parseProtocolId(formatProtocolId('lease', '2.0.1')), { name: 'lease', version: '2.0.1' })
})

t.test('malformed ids and parts are refused', async t => {
  for (const id of ['/ipfs/ping/1.0.0', '/storemesh/manifest', '/storemesh/manifest/1.0', '/storemesh/Manifest/1.0.0',
    'storemesh/manifest/1.0.0', '/storemesh/manifest/1.0.0/', '/storemesh/manifest/v1.0.0', '/storemesh//1.0.0',
    '/storemesh/' + 'a'.repeat(200) + '/1.0.0']) {
    t.throws(() => parseProtocolId(id), { code: 'E_INVALID_ARGUMENT' }, id.slice(0, 40))
  }
  t.throws(() => formatProtocolId('has space', '1.0.0'), { code: 'E_INVALID_ARGUMENT' })
  t.throws(() => formatProtocolId('chunks', 'latest'), { code: 'E_INVALID_ARGUMENT' })
  t.throws(() => formatProtocolId('chunks', ' 1.0.0'), { code: 'E_INVALID_ARGUMENT' }, 'not normalised by semver')
})

t.test('compatibility is same name and major version', async t => {
  t.ok(isCompatibleProtocol('/storemesh/chunks/1.0.0', '/storemesh/chunks/1.4.2'))
  t.notOk(isCompatibleProtocol('/storemesh/chunks/1.0.0', '/storemesh/chunks/2.0.0'))
  t.notOk(isCompatibleProtocol('/storemesh/chunks/1.0.0', '/storemesh/lease/1.0.0'))
})
