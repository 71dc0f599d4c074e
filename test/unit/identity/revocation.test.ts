import t from 'tap'
import { canonicalString } from '../../../src/bundle/canonical.js'
import { signEnvelope } from '../../../src/bundle/envelope.js'
import {
  decodeRevocationList, encodeRevocationList, extendRevocationList, MAX_REVOKED_ENTRIES, newerRevocationList, signRevocationList,
  verifyRevocationList
} from '../../../src/identity/index.js'
import { enrolmentKey, newPeerId, trustOf, codeOf } from './fixture.js'

const S1 = '11'.repeat(16)
const S2 = '22'.repeat(16)

t.test('sign, extend and verify a list', async t => {
  const key = enrolmentKey()
  const peer = await newPeerId()
  const v1 = extendRevocationList(undefined, { serials: [S2, S1, S2] }, [key])
  t.equal(v1.signed.version, 1)
  t.same(v1.signed.serials, [S1, S2], 'unique and sorted')
  const v2 = extendRevocationList(v1, { peerIds: [peer] }, [key])
  t.equal(v2.signed.version, 2)
  t.same(v2.signed.serials, [S1, S2], 'nothing is dropped')
  t.same(v2.signed.peerIds, [peer])
  const back = verifyRevocationList(encodeRevocationList(v2), trustOf(key))
  t.same(back, v2)
})

t.test('bad lists are E_REVOCATION_INVALID', async t => {
  const key = enrolmentKey()
  const list = signRevocationList({ version: 1, serials: [S1], peerIds: [] }, [key])
  const trust = trustOf(key)
  t.equal(codeOf(() => verifyRevocationList(list, trustOf(enrolmentKey()))), 'E_REVOCATION_INVALID', 'signed by a stranger')
  t.equal(codeOf(() => verifyRevocationList({ ...list, signed: { ...list.signed, serials: [] } }, trust)), 'E_REVOCATION_INVALID', 'entries removed after signing')
  t.equal(codeOf(() => verifyRevocationList(signEnvelope({ ...list.signed, serials: [S1, S1] }, [key]), trust)), 'E_REVOCATION_INVALID', 'duplicates')
  t.equal(codeOf(() => verifyRevocationList(signEnvelope({ ...list.signed, version: 0 }, [key]), trust)), 'E_REVOCATION_INVALID', 'version 0')
  t.equal(codeOf(() => verifyRevocationList(signEnvelope({ ...list.signed, extra: [] }, [key]), trust)), 'E_REVOCATION_INVALID', 'unknown member')
  t.equal(codeOf(() => verifyRevocationList(signEnvelope({ ...list.signed, peerIds: ['nope'] }, [key]), trust)), 'E_REVOCATION_INVALID', 'bad peer id')
  const many = Array.from({ length: MAX_REVOKED_ENTRIES + 1 }, (_, i) => i.toString(16).padStart(32, '0'))
  t.equal(codeOf(() => verifyRevocationList(signEnvelope({ ...list.signed, serials: many }, [key]), trust)), 'E_REVOCATION_INVALID', 'too many entries')
  t.equal(codeOf(() => decodeRevocationList(new TextEncoder().encode(canonicalString(list).slice(1)))), 'E_REVOCATION_INVALID', 'not JSON')
})

t.test('an older list never replaces a newer one', async t => {
  const key = enrolmentKey()
  const v1 = signRevocationList({ version: 1, serials: [S1], peerIds: [] }, [key])
  const v2 = extendRevocationList(v1, { serials: [S2] }, [key])
  t.equal(newerRevocationList(undefined, v1), v1)
  t.equal(newerRevocationList(v1, v2), v2)
  t.equal(codeOf(() => newerRevocationList(v2, v1)), 'E_REVOCATION_ROLLBACK')
  const v2again = signRevocationList({ version: 2, serials: [S2, S1], peerIds: [] }, [key])
  t.equal(newerRevocationList(v2, v2again), v2, 'the same list again changes nothing')
  const fork = signRevocationList({ version: 2, serials: [S1], peerIds: [] }, [key])
  t.equal(codeOf(() => newerRevocationList(v2, fork)), 'E_REVOCATION_INVALID', 'two lists under one version')
})
