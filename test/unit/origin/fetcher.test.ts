/** Bounded origin reads: each bad answer gets its stable code, a bounded number of tries, and nothing is returned. */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { OriginFetcher, parseOriginUrl } from '../../../src/origin/index.js'
import { StoremeshError } from '../../../src/interface/errors.js'
import { blake3Hex } from '../../../src/bundle/hash.js'
import { seededBytes, tempDir } from '../../support/store-fixture.js'
import { scriptedOrigin } from '../../support/origin-server.js'

const body = seededBytes(10_000, 5)
const ATTEMPTS = 3
const fast = { attempts: ATTEMPTS, retryBaseMs: 5, retryMaxMs: 20, stallTimeoutMs: 300, requestTimeoutMs: 400 }

t.test('a good answer is returned whole', async t => {
  const o = await scriptedOrigin(t)
  o.script('a/x', { kind: 'ok', body })
  let bytes = 0
  const f = new OriginFetcher({ base: o.url, ...fast, onBytes: n => { bytes += n } })
  t.same(new Uint8Array(await f.fetch('a/x', { maxBytes: 1 << 20, expectedBytes: body.byteLength })), body)
  t.equal(bytes, body.byteLength, 'origin bytes counted')
})

t.test('404 fails at once with E_ORIGIN_NOT_FOUND', async t => {
  const o = await scriptedOrigin(t)
  const f = new OriginFetcher({ base: o.url, ...fast })
  await t.rejects(f.fetch('nope', { maxBytes: 100 }), { code: 'E_ORIGIN_NOT_FOUND' })
  t.equal(o.requests.get('nope'), 1, 'not retried')
})

t.test('500 is retried a bounded number of times, then E_ORIGIN_HTTP', async t => {
  const o = await scriptedOrigin(t)
  o.script('x', { kind: 'status', status: 500 })
  const failures: string[] = []
  const f = new OriginFetcher({ base: o.url, ...fast, onFailure: (_k, e) => { failures.push(e.code) } })
  await t.rejects(f.fetch('x', { maxBytes: 1 << 20 }), { code: 'E_ORIGIN_HTTP', meta: { status: 500 } })
  t.equal(o.requests.get('x'), ATTEMPTS)
  t.same(failures, Array(ATTEMPTS).fill('E_ORIGIN_HTTP'))
})

t.test('a 503 then a good answer succeeds on the retry', async t => {
  const o = await scriptedOrigin(t)
  o.script('x', { kind: 'status', status: 503 }, { kind: 'ok', body })
  const f = new OriginFetcher({ base: o.url, ...fast })
  t.same(new Uint8Array(await f.fetch('x', { maxBytes: 1 << 20, expectedBytes: body.byteLength })), body)
  t.equal(o.requests.get('x'), 2)
})

t.test('a body cut short is E_ORIGIN_TRUNCATED', async t => {
  const o = await scriptedOrigin(t)
  o.script('x', { kind: 'truncate', body, sendBytes: 4000 })
  const f = new OriginFetcher({ base: o.url, ...fast })
  await t.rejects(f.fetch('x', { maxBytes: 1 << 20, expectedBytes: body.byteLength }), { code: 'E_ORIGIN_TRUNCATED' })
  t.equal(o.requests.get('x'), ATTEMPTS)
})

t.test('a body of the wrong size is E_SIZE_MISMATCH, before it is read', async t => {
  const o = await scriptedOrigin(t)
  o.script('x', { kind: 'ok', body: body.subarray(0, 9000) })
  const f = new OriginFetcher({ base: o.url, ...fast })
  await t.rejects(f.fetch('x', { maxBytes: 1 << 20, expectedBytes: body.byteLength }), { code: 'E_SIZE_MISMATCH' })
  o.script('y', { kind: 'ok', body })
  await t.rejects(f.fetch('y', { maxBytes: 1000 }), { code: 'E_SIZE_MISMATCH' }, 'over the limit')
})

t.test('bytes the check refuses (a wrong hash) are retried, then the check\'s code', async t => {
  const o = await scriptedOrigin(t)
  const bad = new Uint8Array(body)
  bad[7] = bad[7]! ^ 0xff
  o.script('x', { kind: 'ok', body: bad }, { kind: 'ok', body })
  const want = blake3Hex(body)
  const check = (b: Uint8Array): void => { if (blake3Hex(b) !== want) throw new StoremeshError('E_CHUNK_HASH_MISMATCH', 'bad') }
  const f = new OriginFetcher({ base: o.url, ...fast })
  t.same(new Uint8Array(await f.fetch('x', { maxBytes: 1 << 20, check })), body, 'the second read is good')
  o.script('y', { kind: 'ok', body: bad })
  await t.rejects(f.fetch('y', { maxBytes: 1 << 20, check }), { code: 'E_CHUNK_HASH_MISMATCH' })
  t.equal(o.requests.get('y'), ATTEMPTS)
})

t.test('a body that stops, or an origin that never answers, is E_ORIGIN_STALLED', async t => {
  const o = await scriptedOrigin(t)
  o.script('x', { kind: 'stall', body, sendBytes: 1000 })
  o.script('y', { kind: 'silent' })
  const f = new OriginFetcher({ base: o.url, ...fast, attempts: 2 })
  const startMs = Date.now()
  await t.rejects(f.fetch('x', { maxBytes: 1 << 20 }), { code: 'E_ORIGIN_STALLED' })
  await t.rejects(f.fetch('y', { maxBytes: 1 << 20 }), { code: 'E_ORIGIN_STALLED' })
  t.ok(Date.now() - startMs < 10_000, 'bounded by the timeouts')
})

t.test('a closed port is E_ORIGIN_UNREACHABLE', async t => {
  const o = await scriptedOrigin(t)
  const url = o.url
  await o.close()
  const f = new OriginFetcher({ base: url, ...fast })
  await t.rejects(f.fetch('x', { maxBytes: 100 }), { code: 'E_ORIGIN_UNREACHABLE' })
})

t.test('file:// origins: missing, FIFO, good', async t => {
  const dir = await tempDir(t, 'origin-file-')
  const f = new OriginFetcher({ base: `file://${dir}`, ...fast })
  await t.rejects(f.fetch('none', { maxBytes: 100 }), { code: 'E_ORIGIN_NOT_FOUND' })
  execFileSync('mkfifo', [join(dir, 'fifo')])
  await t.rejects(f.fetch('fifo', { maxBytes: 100 }), { code: 'E_ORIGIN_HTTP' }, 'a FIFO is refused, not read forever')
})

t.test('only http, https and file URLs', async t => {
  t.throws(() => parseOriginUrl('ftp://x/'), { code: 'E_USAGE' })
  t.throws(() => parseOriginUrl('not a url'), { code: 'E_USAGE' })
  t.equal(parseOriginUrl('http://h/o').toString(), 'http://h/o/')
})
