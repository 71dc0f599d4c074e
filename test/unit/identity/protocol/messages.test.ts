import t from 'tap'
import { codeOf } from '../fixture.js'
import {
  decodeIdentityRequest, decodeIdentityResponse, encodeIdentityRequest, encodeIdentityResponse, MAX_IDENTITY_REQUEST_BYTES,
  MAX_IDENTITY_RESPONSE_BYTES
} from '../../../../src/identity/protocol/index.js'

const enc = (x: unknown): Uint8Array => new TextEncoder().encode(typeof x === 'string' ? x : JSON.stringify(x))

t.test('requests: exactly want and an optional list version', async t => {
  t.same(decodeIdentityRequest(encodeIdentityRequest({ want: 'certificate', revocationsVersion: 3 })), { want: 'certificate', revocationsVersion: 3 })
  t.same(decodeIdentityRequest(enc({ want: 'certificate' })), { want: 'certificate' })
  t.equal(codeOf(() => decodeIdentityRequest(enc({ want: 'key' }))), 'E_WIRE_MALFORMED')
  t.equal(codeOf(() => decodeIdentityRequest(enc({ want: 'certificate', admin: true }))), 'E_WIRE_MALFORMED', 'unknown member')
  t.equal(codeOf(() => decodeIdentityRequest(enc({ want: 'certificate', revocationsVersion: -1 }))), 'E_WIRE_MALFORMED')
  t.equal(codeOf(() => decodeIdentityRequest(enc('{"want":'))), 'E_WIRE_MALFORMED', 'not JSON')
  t.equal(codeOf(() => decodeIdentityRequest(new Uint8Array(MAX_IDENTITY_REQUEST_BYTES + 1))), 'E_WIRE_MESSAGE_TOO_LARGE')
})

t.test('responses: a certificate object or null, an optional list object', async t => {
  t.same(decodeIdentityResponse(encodeIdentityResponse({ certificate: null })), { certificate: null })
  t.same(decodeIdentityResponse(enc({ certificate: { signed: {}, signatures: [] }, revocations: { signed: {} } })).revocations, { signed: {} },
    'the members inside are the verifier\'s to check')
  t.equal(codeOf(() => decodeIdentityResponse(enc({}))), 'E_WIRE_MALFORMED', 'certificate missing')
  t.equal(codeOf(() => decodeIdentityResponse(enc({ certificate: 'x' }))), 'E_WIRE_MALFORMED', 'certificate not an object')
  t.equal(codeOf(() => decodeIdentityResponse(enc({ certificate: null, extra: 1 }))), 'E_WIRE_MALFORMED', 'unknown member')
  t.equal(codeOf(() => decodeIdentityResponse(new Uint8Array(MAX_IDENTITY_RESPONSE_BYTES + 1))), 'E_WIRE_MESSAGE_TOO_LARGE')
})
