/**
 * Fuzz inputs as fast-check arbitraries: mutations of valid seed inputs (most inputs,
 * so that the decoder gets past its first checks) plus fully random bytes. fast-check
 * makes every input from a seed, so a run is repeatable and a failing input shrinks.
 *
 * Mutations: bit flips, truncation, deletion, insertion of random bytes, splices from
 * another seed, length-prefix edits (a big-endian u32 or a varint written over a
 * position near the start, where frame headers live), JSON tokens (huge numbers,
 * deep nesting, lone surrogates, a BOM) and JSON members (duplicate or unknown keys).
 */
import fc from 'fast-check'

/** Deeper than any decoder's nesting limit, shallow enough to build fast. */
const DEEP_NESTING = 5000
/** Frame headers sit in the first bytes: a length edit lands there this often. */
const HEADER_BYTES = 16

const TOKENS: readonly string[] = [
  '1e400', '-1e400', '99999999999999999999999999', '-0', '0.1', '1.5e-320', '9007199254740993',
  '"\\ud800"', '"\\u0000"', '\ufeff', 'null', 'true', '[]', '{}', '""', '"__proto__"',
  '['.repeat(DEEP_NESTING), '{"a":'.repeat(DEEP_NESTING), ']'.repeat(64), '}'.repeat(64),
  ' ', '\n', ',', ':', '"', '\\', 'x'.repeat(70_000)
]

/** Member names of our documents: an insertion makes a duplicate or an unknown member. */
const MEMBERS: readonly string[] = [
  'signed', 'signatures', 'keyid', 'sig', 'type', 'policy', 'version', 'specVersion', 'artifacts', 'chunks',
  'hash', 'size', 'op', 'deviceId', 'entries', 'status', 'certificate', 'revocations', 'schema', 'bundles',
  'hashes', 'want', 'extra', '__proto__', 'constructor'
]

type Op =
  | { kind: 'flip', at: number, bit: number }
  | { kind: 'truncate', at: number }
  | { kind: 'delete', at: number, len: number }
  | { kind: 'insert', at: number, bytes: Uint8Array }
  | { kind: 'splice', at: number, other: Uint8Array, from: number, len: number }
  | { kind: 'length', at: number, value: number, varint: boolean }
  | { kind: 'token', at: number, token: string }
  | { kind: 'member', nth: number, name: string, value: string }

const enc = new TextEncoder()
/** encoded once: a 70,000-byte token encoded at every use was a measurable part of making inputs */
const TOKEN_BYTES: ReadonlyMap<string, Uint8Array> = new Map(TOKENS.map(t => [t, enc.encode(t)]))

function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

function varint (n: number): Uint8Array {
  const out: number[] = []
  let v = n
  do {
    out.push((v & 0x7f) | (v >= 0x80 ? 0x80 : 0))
    v = Math.floor(v / 0x80)
  } while (v > 0)
  return Uint8Array.from(out)
}

function u32be (n: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, n >>> 0)
  return b
}

/** Index of the nth `{` (mod their count), or -1. */
function nthBrace (b: Uint8Array, nth: number): number {
  const at: number[] = []
  for (let i = 0; i < b.byteLength && at.length < 4096; i++) if (b[i] === 0x7b) at.push(i)
  return at.length === 0 ? -1 : at[nth % at.length] as number
}

export function applyOp (input: Uint8Array, op: Op): Uint8Array {
  const n = input.byteLength
  const pos = (at: number): number => n === 0 ? 0 : at % (n + 1)
  switch (op.kind) {
    case 'flip': {
      if (n === 0) return input
      const out = input.slice()
      const i = op.at % n
      out[i] = (out[i] as number) ^ (1 << op.bit)
      return out
    }
    case 'truncate': return input.slice(0, pos(op.at))
    case 'delete': { const i = pos(op.at); return concat(input.subarray(0, i), input.subarray(i + op.len)) }
    case 'insert': { const i = pos(op.at); return concat(input.subarray(0, i), op.bytes, input.subarray(i)) }
    case 'splice': {
      const i = pos(op.at)
      const from = op.other.byteLength === 0 ? 0 : op.from % op.other.byteLength
      return concat(input.subarray(0, i), op.other.subarray(from, from + op.len), input.subarray(i))
    }
    case 'length': {
      const i = Math.min(op.at % HEADER_BYTES, n)
      const field = op.varint ? varint(op.value) : u32be(op.value)
      return concat(input.subarray(0, i), field, input.subarray(i + field.byteLength))
    }
    case 'token': { const i = pos(op.at); return concat(input.subarray(0, i), TOKEN_BYTES.get(op.token) ?? enc.encode(op.token), input.subarray(i)) }
    case 'member': {
      const i = nthBrace(input, op.nth)
      if (i < 0) return input
      return concat(input.subarray(0, i + 1), enc.encode(`"${op.name}":${op.value},`), input.subarray(i + 1))
    }
  }
}

function opArbitrary (seeds: readonly Uint8Array[]): fc.Arbitrary<Op> {
  const at = fc.nat()
  return fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at, bit: fc.nat(7) }),
    fc.record({ kind: fc.constant('truncate' as const), at }),
    fc.record({ kind: fc.constant('delete' as const), at, len: fc.integer({ min: 1, max: 64 }) }),
    fc.record({ kind: fc.constant('insert' as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    fc.record({ kind: fc.constant('splice' as const), at, other: fc.constantFrom(...seeds), from: fc.nat(), len: fc.integer({ min: 1, max: 256 }) }),
    fc.record({
      kind: fc.constant('length' as const),
      at,
      value: fc.oneof(fc.constantFrom(0, 1, 0x7f, 0x80, 0xffff, 0x7fffffff, 0xffffffff), fc.nat()),
      varint: fc.boolean()
    }),
    fc.record({ kind: fc.constant('token' as const), at, token: fc.constantFrom(...TOKENS) }),
    fc.record({
      kind: fc.constant('member' as const),
      nth: fc.nat(),
      name: fc.constantFrom(...MEMBERS),
      value: fc.constantFrom('1', '"x"', 'null', '{}', '[]', '"AAAA"', '1e400', '{"a":1,"a":2}')
    })
  )
}

/** A seed with one to eight mutations applied in order. */
export function mutatedInput (seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  if (seeds.length === 0) throw new Error('a fuzz target needs at least one seed')
  return fc.tuple(fc.constantFrom(...seeds), fc.array(opArbitrary(seeds), { minLength: 1, maxLength: 8 }))
    .map(([seed, ops]) => ops.reduce(applyOp, seed))
}

/** What every target is fed: four parts mutated seeds, one part random bytes. */
export function fuzzInput (seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 4, arbitrary: mutatedInput(seeds) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 1024 }) }
  )
}
