import t from 'tap'
import { z } from 'zod'
import { decodeJsonMessage, encodeJsonMessage, parseWireMessage } from '../../../src/net/json-message.js'

const schema = z.strictObject({ id: z.string().regex(/^[a-z]+$/, 'malformed'), n: z.number().int().min(0).optional() })
const opts = { label: 'test message', maxBytes: 64 }
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)

t.test('bytes → size limit → UTF-8 JSON → schema → typed value', async t => {
  t.same(decodeJsonMessage(bytes('{"n":2,"id":"abc"}'), schema, opts), { id: 'abc', n: 2 })
  t.throws(() => decodeJsonMessage(bytes(`{"id":"${'a'.repeat(80)}"}`), schema, opts),
    { code: 'E_WIRE_MESSAGE_TOO_LARGE', meta: { maxBytes: 64 } }, 'over the limit before parsing')
  t.throws(() => decodeJsonMessage(Uint8Array.of(0xff, 0xfe), schema, opts), { code: 'E_WIRE_MALFORMED', message: 'bad test message: not UTF-8 JSON' })
  t.throws(() => decodeJsonMessage(bytes('{"id":'), schema, opts), { code: 'E_WIRE_MALFORMED', message: 'bad test message: not UTF-8 JSON' })
  t.throws(() => decodeJsonMessage(bytes('{"id":"ABC"}'), schema, opts),
    { code: 'E_WIRE_MALFORMED', message: 'bad test message: id: malformed', meta: { message: 'test message', field: 'id' } })
  t.throws(() => decodeJsonMessage(bytes('{"id":"a","n":-1}'), schema, opts), { code: 'E_WIRE_MALFORMED', meta: { field: 'n' } })
  t.throws(() => decodeJsonMessage(bytes('[]'), schema, opts), { code: 'E_WIRE_MALFORMED' })
})

t.test('an unknown member is named, cut to a short length', async t => {
  const long = 'k'.repeat(500)
  const err = t.throws(() => parseWireMessage(schema, { id: 'a', [long]: 1 }, 'test message')) as Error
  t.equal(err.message, `bad test message: unknown member "${'k'.repeat(32)}"`)
})

t.test('encoders check what the peer will check, and the size', async t => {
  t.equal(new TextDecoder().decode(encodeJsonMessage({ n: 1, id: 'ab' }, schema, opts)), '{"id":"ab","n":1}', 'schema order, the parsed value')
  t.throws(() => encodeJsonMessage({ id: 'AB' }, schema, opts), { code: 'E_WIRE_MALFORMED' })
  t.throws(() => encodeJsonMessage({ id: 'a'.repeat(70) }, schema, opts), { code: 'E_WIRE_MESSAGE_TOO_LARGE' })
})
