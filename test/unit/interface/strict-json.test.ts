import t from 'tap'
import { decodeCanonicalBase64, isCanonicalBase64 } from '../../../src/interface/base64.js'
import { parseStrictJson } from '../../../src/interface/strict-json.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

t.test('strict JSON reads what JSON.parse reads for well-formed documents', async t => {
  for (const s of ['{}', '[]', '0', '-1.5e3', '"a\\u00e9\\n\\"x"', '{"a":[1,{"b":null}],"c":true,"d":false}', ' {"a" : 1 }\n',
    '{"__proto__":1}', '"\\ud800"', '[1e308]']) {
    t.same(parseStrictJson(enc(s), 'doc'), JSON.parse(s), s)
    t.same(parseStrictJson(s, 'doc'), JSON.parse(s), `${s} as a string`)
  }
  const proto = parseStrictJson('{"__proto__":{"x":1}}', 'doc') as Record<string, unknown>
  t.equal(Object.getPrototypeOf(proto), Object.prototype, 'a __proto__ member stays a member')
  t.same(Object.keys(proto), ['__proto__'])
})

t.test('each leniency is refused with the caller code and a reason', async t => {
  const cases: Array<[string, Uint8Array | string, string]> = [
    ['UTF-8 BOM', Uint8Array.of(0xef, 0xbb, 0xbf, ...enc('{}')), 'bom'],
    ['BOM in a string', '\ufeff{}', 'bom'],
    ['invalid UTF-8', Uint8Array.of(0x7b, 0xff, 0x7d), 'utf8'],
    ['duplicate key', '{"a":1,"a":2}', 'duplicate-key'],
    ['duplicate key, deep', '{"x":[{"b":{"c":1,"c":1}}]}', 'duplicate-key'],
    ['trailing data', '{} {}', 'trailing-data'],
    ['trailing garbage', '{}x', 'trailing-data'],
    ['huge number', '[1e400]', 'number-range'],
    ['deep nesting', '['.repeat(100) + ']'.repeat(100), 'too-deep'],
    ['leading zero', '01', 'trailing-data'],
    ['control character', '"a\u0001"', 'syntax'],
    ['bad escape', '"\\x"', 'syntax'],
    ['single quotes', "{'a':1}", 'syntax'],
    ['trailing comma', '[1,]', 'syntax'],
    ['empty', '', 'syntax'],
    ['NaN', 'NaN', 'syntax']
  ]
  for (const [name, input, reason] of cases) {
    t.throws(() => parseStrictJson(input, 'test doc', { code: 'E_MANIFEST_INVALID' }),
      { code: 'E_MANIFEST_INVALID', meta: { document: 'test doc', reason } }, name)
  }
  t.throws(() => parseStrictJson('{"a":1,"a":1}', 'root document'), { code: 'E_JSON_STRICT' }, 'the default code')
  t.throws(() => parseStrictJson('[1]', 'doc', { maxBytes: 2 }), { code: 'E_JSON_STRICT', meta: { reason: 'too-large' } })
})

t.test('canonical base64: exactly what Buffer writes', async t => {
  const sig = Buffer.alloc(64, 0xab).toString('base64')
  t.ok(isCanonicalBase64(sig))
  t.ok(isCanonicalBase64(''))
  t.same(decodeCanonicalBase64(sig, 'sig', { bytes: 64 }), new Uint8Array(64).fill(0xab))
  const spare = sig.slice(0, 85) + String.fromCharCode(sig.charCodeAt(85) + 1) + '=='
  t.equal(Buffer.from(spare, 'base64').equals(Buffer.from(sig, 'base64')), true, 'node decodes the variant to the same bytes')
  for (const [name, s] of [['spare bits set', spare], ['no padding', sig.slice(0, 86)], ['whitespace', sig.slice(0, 40) + '\n' + sig.slice(40)],
    ['url alphabet', sig.replace(/\+/g, '-').replace(/\//g, '_') + (sig.includes('+') || sig.includes('/') ? '' : '-')], ['junk', '!!!!']]) {
    t.notOk(isCanonicalBase64(s as string), name as string)
    t.throws(() => decodeCanonicalBase64(s, 'sig'), { code: 'E_BASE64_INVALID' }, name as string)
  }
  t.throws(() => decodeCanonicalBase64('AAAA', 'sig', { bytes: 64 }), { code: 'E_BASE64_INVALID' }, 'wrong length')
  t.throws(() => decodeCanonicalBase64(42, 'sig'), { code: 'E_BASE64_INVALID' }, 'not a string')
})
