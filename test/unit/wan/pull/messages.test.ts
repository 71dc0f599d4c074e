/**
 * The wan-pull codec (src/wan/pull/messages.ts): frames, requests and answers, byte
 * for byte as protocols/wan-pull/SPEC.md fixes them, and every way a peer can get
 * them wrong mapped to a typed error.
 */
import t, { type Test } from 'tap'
import * as lp from 'it-length-prefixed'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { isStoremeshError } from '../../../../src/interface/errors.js'
import { MAX_PULL_BATCH_CHUNKS, MAX_PULL_REQUEST_BYTES } from '../../../../src/wan/pull/constants.js'
import {
  PULL_STATUS, decodeFrames, decodePullAnswer, decodePullRequest, encodePullAnswer, encodePullRequest, endedMidFrame
} from '../../../../src/wan/pull/messages.js'

const H1 = 'a'.repeat(64)
const H2 = '0123456789abcdef'.repeat(4)
const enc = (x: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(x))
const concat = (parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts))

async function collect (source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const f of source) out.push(f)
  return out
}

/** The bytes one at a time: every frame and every prefix is split across reads. */
function * byteByByte (bytes: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i++) yield bytes.subarray(i, i + 1)
}

/** Yields `bytes`, then fails the test if the decoder asks for more: proves an error came from what was already read. */
function * thenNothing (t: Test, bytes: Uint8Array): Generator<Uint8Array> {
  yield bytes
  t.fail('the decoder read past the bad prefix')
}

t.test('a request is one varint-prefixed frame of exactly {"hashes":[...]}', async t => {
  const frame = encodePullRequest([H1])
  const body = enc({ hashes: [H1] })
  t.equal(body.byteLength, 79)
  t.same([...frame.subarray(0, 1)], [79], 'a one-byte prefix below 128')
  t.same(Buffer.from(frame.subarray(1)).toString(), `{"hashes":["${H1}"]}`)
  const frames = await collect(decodeFrames(byteByByte(frame), { maxDataLength: MAX_PULL_REQUEST_BYTES }))
  t.equal(frames.length, 1)
  t.same(decodePullRequest(frames[0] as Uint8Array), [H1])

  const full = Array.from({ length: MAX_PULL_BATCH_CHUNKS }, (_, i) => i.toString(16).padStart(64, '0'))
  const big = encodePullRequest(full)
  t.same([...big.subarray(0, 2)], [(big.byteLength - 2) % 128 | 0x80, Math.floor((big.byteLength - 2) / 128)], 'a two-byte minimal prefix')
  t.ok(big.byteLength - 2 <= MAX_PULL_REQUEST_BYTES, '64 hashes fit the request limit')
  t.same(decodePullRequest(big.subarray(2)), full)
})

t.test('we never send a request a super hub would refuse', async t => {
  for (const hashes of [[], Array.from({ length: MAX_PULL_BATCH_CHUNKS + 1 }, () => H1), ['A'.repeat(64)], ['ab']]) {
    t.throws(() => encodePullRequest(hashes), { code: 'E_INVALID_ARGUMENT' }, `${hashes.length} hashes`)
  }
})

t.test('a malformed request is E_WIRE_MALFORMED', async t => {
  const bad: unknown[] = [
    null, [], 'x', 42, {}, { hashes: [] }, { hashes: H1 }, { hashes: [H1], more: 1 }, { hashes: [H1.toUpperCase()] },
    { hashes: [H1 + 'a'] }, { hashes: [1] }, { hashes: Array.from({ length: MAX_PULL_BATCH_CHUNKS + 1 }, () => H1) }
  ]
  for (const b of bad) t.throws(() => decodePullRequest(enc(b)), { code: 'E_WIRE_MALFORMED' }, JSON.stringify(b)?.slice(0, 60))
  t.throws(() => decodePullRequest(new TextEncoder().encode(`{"hashes":["${H1}"],"__proto__":{}}`)), { code: 'E_WIRE_MALFORMED' }, 'a __proto__ member')
  t.throws(() => decodePullRequest(new Uint8Array([0xff, 0xfe])), { code: 'E_WIRE_MALFORMED' }, 'not UTF-8')
  t.throws(() => decodePullRequest(new Uint8Array(0)), { code: 'E_WIRE_MALFORMED' }, 'empty')
  t.same(decodePullRequest(enc({ hashes: [H1, H1, H2] })), [H1, H1, H2], 'a repeated hash is answered each time')
})

t.test('an answer is prefix(1 + size), a status byte and the chunk, never copied', async t => {
  const chunk = new Uint8Array(256 * 1024).fill(7)
  const parts = encodePullAnswer(chunk)
  t.equal(parts.length, 2)
  t.same([...(parts[0] as Uint8Array)], [0x81, 0x80, 0x10, PULL_STATUS.OK], 'varint(262145) then OK')
  t.equal(parts[1], chunk, 'the chunk itself')
  t.same(encodePullAnswer(undefined).map(p => [...p]), [[1, PULL_STATUS.NOT_FOUND]], 'NOT_FOUND has no body')

  const wire = concat([...parts, ...encodePullAnswer(undefined)])
  const sizes = [chunk.byteLength, 10]
  const frames = await collect(decodeFrames([wire.subarray(0, 1000), wire.subarray(1000)], {
    maxDataLength: 1 + chunk.byteLength,
    maxFrameBytes: n => 1 + (sizes[n] ?? 0)
  }))
  t.equal(frames.length, 2)
  t.same(decodePullAnswer(frames[0] as Uint8Array, { hash: H1, size: chunk.byteLength }), chunk)
  t.equal(decodePullAnswer(frames[1] as Uint8Array, { hash: H2, size: 10 }), undefined)
})

t.test('an answer that is not the one asked for is E_WIRE_MALFORMED', async t => {
  const want = { hash: H1, size: 3 }
  const cases: Array<[string, number[]]> = [
    ['unknown status', [2, 1, 2, 3]],
    ['OK shorter than asked', [PULL_STATUS.OK, 1, 2]],
    ['OK longer than asked', [PULL_STATUS.OK, 1, 2, 3, 4]],
    ['NOT_FOUND with a body', [PULL_STATUS.NOT_FOUND, 1]],
    ['empty', []]
  ]
  for (const [name, body] of cases) t.throws(() => decodePullAnswer(new Uint8Array(body), want), { code: 'E_WIRE_MALFORMED' }, name)
})

t.test('an oversized frame fails at its prefix, before the body is read', async t => {
  // 8193 announced, 8192 allowed
  await t.rejects(collect(decodeFrames(thenNothing(t, new Uint8Array([0x81, 0x40])), { maxDataLength: MAX_PULL_REQUEST_BYTES })),
    { code: 'E_WIRE_MESSAGE_TOO_LARGE' })
  // the per-frame limit: the second frame may hold 1 byte
  await t.rejects(collect(decodeFrames(thenNothing(t, new Uint8Array([1, 0, 2])), { maxDataLength: 100, maxFrameBytes: n => n === 0 ? 5 : 1 })),
    { code: 'E_WIRE_MESSAGE_TOO_LARGE' })
  // a partial prefix already over the limit fails without waiting for its end
  await t.rejects(collect(decodeFrames(thenNothing(t, new Uint8Array([0xff, 0xff])), { maxDataLength: 1000 })),
    { code: 'E_WIRE_MESSAGE_TOO_LARGE' })
  // more than 8 prefix bytes
  await t.rejects(collect(decodeFrames(thenNothing(t, new Uint8Array(9).fill(0x80)), { maxDataLength: Number.MAX_SAFE_INTEGER })),
    { code: 'E_WIRE_MESSAGE_TOO_LARGE' })
})

t.test('a non-minimal length prefix is E_WIRE_MALFORMED (it-length-prefixed alone would accept it)', async t => {
  // why the strict length decoder: the library's own reads 0x80 0x00 as length 0 but
  // consumes one byte only (the minimal encoding's), so the 0x00 becomes a frame of its
  // own and the framing slips
  const loose = [...lp.decode([new Uint8Array([0x80, 0x00, 0x02, 9, 9])])].map(f => f.byteLength)
  t.same(loose, [0, 0, 2], 'it-length-prefixed: three frames out of one non-minimal prefix and a 2-byte frame')
  for (const prefix of [[0x80, 0x00], [0x81, 0x00], [0x85, 0x80, 0x00]]) {
    await t.rejects(collect(decodeFrames(thenNothing(t, new Uint8Array([...prefix, 0, 0, 0, 0, 0])), { maxDataLength: 1000 })),
      { code: 'E_WIRE_MALFORMED', message: /minimal/ }, JSON.stringify(prefix))
  }
})

t.test('a stream that ends mid-frame is E_WIRE_MALFORMED, told apart by endedMidFrame', async t => {
  for (const bytes of [[5, 1, 2], [0x85], [0x81, 0x01, 0]]) {
    const err = await collect(decodeFrames([new Uint8Array(bytes)], { maxDataLength: 1000 })).then(() => undefined, (e: unknown) => e)
    t.ok(isStoremeshError(err, 'E_WIRE_MALFORMED'), JSON.stringify(bytes))
    t.ok(endedMidFrame(err), 'ended mid-frame')
  }
  const other = await collect(decodeFrames([new Uint8Array([0x80, 0x00])], { maxDataLength: 1000 })).then(() => undefined, (e: unknown) => e)
  t.notOk(endedMidFrame(other), 'a non-minimal prefix is not an early end')
  t.same(await collect(decodeFrames([], { maxDataLength: 1000 })), [], 'no bytes, no frames, no error')
  t.same(await collect(decodeFrames([new Uint8Array([0])], { maxDataLength: 1000 })), [new Uint8Array(0)], 'an empty frame')
})

t.test('a failing source is passed on unchanged', async t => {
  const boom = new Error('reset')
  async function * failing (): AsyncGenerator<Uint8Array> { yield new Uint8Array([3, 1]); throw boom }
  await t.rejects(collect(decodeFrames(failing(), { maxDataLength: 10 })), boom)
})

t.test('a decoded hash keeps nothing of its request alive', async t => {
  // V8's JSON.parse hands out slices of the request's text: a super hub keeping one
  // hash of each request (what it served a peer, an origin 404) kept every request whole
  // (issue 17: ~4.3 KiB per hash, the heap growing through a bench:origin run)
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const REQUESTS = 2000
  const bodies = Array.from({ length: REQUESTS }, (_, r) => encodePullRequest(Array.from({ length: MAX_PULL_BATCH_CHUNKS }, (_, i) => (r * MAX_PULL_BATCH_CHUNKS + i).toString(16).padStart(64, '0'))).subarray(2))
  gc()
  const before = process.memoryUsage().heapUsed
  const kept = bodies.map(b => decodePullRequest(b)[0]!)
  gc()
  const retainedBytes = process.memoryUsage().heapUsed - before
  const requestBytes = bodies.reduce((n, b) => n + b.byteLength, 0)
  t.equal(new Set(kept).size, REQUESTS)
  // a copy is ~80 bytes and a slot in `kept`; a slice pins its ~4.3 KiB request text
  t.ok(retainedBytes < requestBytes / 8, `${REQUESTS} hashes kept hold ${retainedBytes} bytes of heap; their requests were ${requestBytes}`)
})
