import t from 'tap'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { LeaseTable, type LeaseEvent, type LeaseTableInit } from '../../../src/lease/lease-table.js'
import type { LeaseRequest } from '../../../src/lease/protocol/index.js'

const BUNDLE = 'b3:' + 'a'.repeat(64)
const SEC = 1000
const T0 = Date.UTC(2026, 2, 10, 8, 0, 0)

function clock (start = T0): { now: () => number, advance: (ms: number) => void, set: (ms: number) => void } {
  let ms = start
  return { now: () => ms, advance: (d) => { ms += d }, set: (x) => { ms = x } }
}

function req (deviceId: string, op: LeaseRequest['op'] = 'acquire', extra: Partial<LeaseRequest> = {}): LeaseRequest {
  return { op, deviceId, bundleId: BUNDLE, waveId: '142', ...extra }
}

function table (init: LeaseTableInit & { now: () => number }): LeaseTable {
  return new LeaseTable({ maxConcurrentPerHub: 2, defaultTtlMs: 60 * SEC, minTtlMs: SEC, maxTtlMs: 300 * SEC, retryAfterMs: 30 * SEC, minRetryAfterMs: SEC, ...init })
}

t.test('at most maxConcurrentPerHub leases; the denied are told when to ask again', async t => {
  const c = clock()
  const lt = table({ now: c.now })
  const a = await lt.acquire(req('pos-1'))
  c.advance(10 * SEC)
  const b = await lt.acquire(req('pos-2'))
  t.match(a, { granted: true, reason: 'granted', active: 1, limit: 2, ttlMs: 60 * SEC, expiresAtMs: T0 + 60 * SEC })
  t.match(b, { granted: true, active: 2 })
  t.not(a.leaseId, b.leaseId)
  const denied = await lt.acquire(req('pos-3'))
  t.match(denied, { granted: false, reason: 'cap-reached', active: 2, limit: 2 })
  t.equal(denied.leaseId, undefined)
  t.equal(denied.retryAfterMs, 30 * SEC, 'the default, since no lease ends sooner')
  c.advance(45 * SEC)
  t.equal((await lt.acquire(req('pos-3'))).retryAfterMs, 5 * SEC, 'the earliest expiry, when sooner')
  t.equal(lt.activeCount, 2)
})

t.test('asking again returns the same lease (idempotent per device id), extended', async t => {
  const c = clock()
  const lt = table({ now: c.now })
  const first = await lt.acquire(req('pos-1'))
  c.advance(20 * SEC)
  const again = await lt.acquire(req('pos-1', 'acquire', { bundleId: 'b3:' + 'b'.repeat(64) }))
  t.match(again, { granted: true, reason: 'existing', leaseId: first.leaseId, active: 1, expiresAtMs: T0 + 80 * SEC })
  t.equal(lt.active()[0]?.bundleId, 'b3:' + 'b'.repeat(64), 'the lease names the bundle asked for last')
  await lt.acquire(req('pos-2'))
  t.match(await lt.acquire(req('pos-1')), { granted: true, reason: 'existing' }, 'a holder is never refused by the cap it fills')
})

t.test('leases expire after their TTL unless renewed', async t => {
  const c = clock()
  const events: LeaseEvent[] = []
  const lt = table({ now: c.now, onEvent: e => events.push(e) })
  const a = await lt.acquire(req('pos-1'))
  await lt.acquire(req('pos-2', 'acquire', { ttlMs: 120 * SEC }))
  c.advance(40 * SEC)
  const r = await lt.renew(req('pos-1'))
  t.match(r, { granted: true, reason: 'renewed', leaseId: a.leaseId, expiresAtMs: T0 + 100 * SEC })
  c.advance(59 * SEC) // T0 + 99 s: the renewed lease lives, the unrenewed original would have ended at 60 s
  t.equal(lt.activeCount, 2)
  c.advance(1 * SEC) // T0 + 100 s: exactly its expiry
  t.same(lt.active().map(l => l.deviceId), ['pos-2'], 'a lease ends at expiresAtMs')
  t.ok(events.some(e => e.type === 'expired' && e.deviceId === 'pos-1'))
  t.match(await lt.renew(req('pos-1')), { granted: false, reason: 'not-held' }, 'renew never creates a lease')
  t.equal(lt.activeCount, 1)
  t.match(await lt.acquire(req('pos-3')), { granted: true }, 'the expired slot is free')
  c.advance(20 * SEC)
  t.same(lt.active().map(l => l.deviceId), ['pos-3'], 'pos-2 asked for 120 s and got it')
})

t.test('TTLs are clamped to the hub bounds', async t => {
  const c = clock()
  const lt = table({ now: c.now, maxConcurrentPerHub: 3 })
  t.equal((await lt.acquire(req('a', 'acquire', { ttlMs: 1 }))).ttlMs, SEC)
  t.equal((await lt.acquire(req('b', 'acquire', { ttlMs: 24 * 3600 * SEC }))).ttlMs, 300 * SEC)
  t.equal((await lt.acquire(req('c'))).ttlMs, 60 * SEC)
  t.throws(() => new LeaseTable({ minTtlMs: 10, maxTtlMs: 5 }), { code: 'E_INVALID_ARGUMENT' })
  t.throws(() => new LeaseTable({ maxConcurrentPerHub: -1 }), { code: 'E_INVALID_ARGUMENT' })
})

t.test('release frees the slot; releasing twice is harmless', async t => {
  const c = clock()
  const lt = table({ now: c.now })
  const a = await lt.acquire(req('pos-1'))
  await lt.acquire(req('pos-2'))
  t.match(await lt.release(req('pos-1', 'release')), { granted: false, reason: 'released', leaseId: a.leaseId, active: 1 })
  t.match(await lt.release(req('pos-1', 'release')), { granted: false, reason: 'not-held', active: 1 })
  t.match(await lt.acquire(req('pos-3')), { granted: true, active: 2 })
})

t.test('a lease is bound to the peer that took it', async t => {
  const c = clock()
  const lt = table({ now: c.now })
  await lt.acquire(req('pos-1'), { peer: 'peerA' })
  t.match(await lt.release(req('pos-1', 'release'), { peer: 'peerB' }), { granted: false, reason: 'wrong-peer' })
  t.match(await lt.renew(req('pos-1', 'renew'), { peer: 'peerB' }), { granted: false, reason: 'wrong-peer' })
  t.match(await lt.acquire(req('pos-1'), { peer: 'peerB' }), { granted: false, reason: 'wrong-peer', retryAfterMs: 60 * SEC }, 'retry when the held lease ends')
  t.equal(lt.activeCount, 1)
  t.match(await lt.renew(req('pos-1', 'renew'), { peer: 'peerA' }), { granted: true, reason: 'renewed' })
})

t.test('respond() dispatches and never throws', async t => {
  const c = clock()
  const lt = table({ now: c.now })
  t.match(await lt.respond(req('x')), { granted: true, reason: 'granted' })
  t.match(await lt.respond(req('x', 'renew')), { granted: true, reason: 'renewed' })
  t.match(await lt.respond(req('x', 'release')), { granted: false, reason: 'released' })
  await lt.close()
  t.match(await lt.respond(req('x')), { granted: false, reason: 'hub-error' }, 'a closed table answers hub-error')
})

t.test('the policy hubBudget caps distinct devices per wave', async t => {
  const c = clock()
  const lt = table({ now: c.now, maxConcurrentPerHub: 10, waveBudget: w => (w === '142' ? 2 : undefined) })
  await lt.acquire(req('a'))
  await lt.acquire(req('b'))
  t.match(await lt.acquire(req('c')), { granted: false, reason: 'wave-budget' })
  await lt.release(req('a', 'release'))
  t.match(await lt.acquire(req('c')), { granted: false, reason: 'wave-budget' }, 'a released device still counts')
  t.match(await lt.acquire(req('a')), { granted: true }, 'a counted device may come back')
  t.match(await lt.acquire(req('c', 'acquire', { waveId: '143' })), { granted: true }, 'another wave has no budget')
  t.equal(lt.waveDevices('142'), 2)
})

t.test('ten racing acquires: exactly the cap is granted', async t => {
  const dir = t.testdir()
  const lt = await LeaseTable.open({ maxConcurrentPerHub: 4, statePath: join(dir, 'leases.json') })
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => lt.acquire(req(`dev-${i}`))))
  t.equal(answers.filter(a => a.granted).length, 4)
  t.equal(answers.filter(a => a.reason === 'cap-reached').length, 6)
  const onDisk = JSON.parse(await readFile(join(dir, 'leases.json'), 'utf8')) as { leases: unknown[] }
  t.equal(onDisk.leases.length, 4, 'every grant was on disk before its answer')
})

t.test('a restarted hub remembers outstanding leases until they expire', async t => {
  const dir = t.testdir()
  const statePath = join(dir, 'leases.json')
  const c = clock()
  const before = await LeaseTable.open({ maxConcurrentPerHub: 2, defaultTtlMs: 60 * SEC, minTtlMs: SEC, statePath, now: c.now })
  const a = await before.acquire(req('pos-1'), { peer: 'peerA' })
  await before.acquire(req('pos-2', 'acquire', { ttlMs: 30 * SEC }))
  await before.close()

  c.advance(20 * SEC)
  const after = await LeaseTable.open({ maxConcurrentPerHub: 2, defaultTtlMs: 60 * SEC, minTtlMs: SEC, statePath, now: c.now })
  t.match(after.recovery, { loaded: 'ok', restored: 2, expired: 0 })
  t.match(await after.acquire(req('pos-3')), { granted: false, reason: 'cap-reached' }, 'the cap holds across the restart')
  t.match(await after.acquire(req('pos-1'), { peer: 'peerA' }), { granted: true, reason: 'existing', leaseId: a.leaseId })
  t.match(await after.acquire(req('pos-1'), { peer: 'peerX' }), { granted: false, reason: 'wrong-peer' }, 'and the peer binding')
  await after.close()

  c.advance(15 * SEC) // pos-2 (30 s) has expired while "down"; pos-1 was extended to T0+80 s
  const later = await LeaseTable.open({ maxConcurrentPerHub: 2, defaultTtlMs: 60 * SEC, minTtlMs: SEC, statePath, now: c.now })
  t.match(later.recovery, { loaded: 'ok', restored: 1, expired: 1 })
  t.same(later.active().map(l => l.deviceId), ['pos-1'])
  const onDisk = JSON.parse(await readFile(statePath, 'utf8')) as { leases: unknown[] }
  t.equal(onDisk.leases.length, 1, 'the expired lease is dropped from the file too')
})

t.test('a wall clock set back cannot stretch a restored lease past maxTtl', async t => {
  const dir = t.testdir()
  const statePath = join(dir, 'leases.json')
  const c = clock()
  const lt = await LeaseTable.open({ maxConcurrentPerHub: 1, defaultTtlMs: 60 * SEC, minTtlMs: SEC, maxTtlMs: 120 * SEC, statePath, now: c.now })
  await lt.acquire(req('pos-1'))
  await lt.close()
  c.set(T0 - 3600 * SEC) // an hour back
  const back = await LeaseTable.open({ maxConcurrentPerHub: 1, minTtlMs: SEC, maxTtlMs: 120 * SEC, statePath, now: c.now })
  t.equal(back.active()[0]?.expiresAtMs, T0 - 3600 * SEC + 120 * SEC)
})

t.test('a corrupt state file: moved aside, and no grants until the longest lease is over', async t => {
  const dir = t.testdir()
  const statePath = join(dir, 'leases.json')
  await writeFile(statePath, '{"version":1,"leases":[{"leaseId":"zz"}],"waves":[]}')
  const c = clock()
  const init = { maxConcurrentPerHub: 4, minTtlMs: SEC, maxTtlMs: 120 * SEC, statePath, now: c.now }
  const lt = await LeaseTable.open(init)
  t.equal(lt.recovery.loaded, 'corrupt')
  t.ok((await readdir(dir)).some(f => f.startsWith('leases.json.corrupt-')), 'the bad file is kept for the operator')
  t.match(await lt.acquire(req('pos-1')), { granted: false, reason: 'recovering', retryAfterMs: 120 * SEC })
  await lt.close()
  c.advance(60 * SEC)
  const restarted = await LeaseTable.open(init)
  t.match(await restarted.acquire(req('pos-1')), { granted: false, reason: 'recovering', retryAfterMs: 60 * SEC }, 'a restart keeps waiting')
  c.advance(60 * SEC)
  t.match(await restarted.acquire(req('pos-1')), { granted: true })
})

t.test('oversize and non-JSON state files are corrupt, not crashes', async t => {
  for (const bytes of [Buffer.from([0xff, 0xfe]), Buffer.alloc(5 * 1024 * 1024, 0x20), Buffer.from('{"version":2,"leases":[],"waves":[]}')]) {
    const dir = t.testdir()
    await writeFile(join(dir, 'leases.json'), bytes)
    const lt = await LeaseTable.open({ statePath: join(dir, 'leases.json') })
    t.equal(lt.recovery.loaded, 'corrupt')
  }
})

t.test('setLimit: a lower cap keeps existing leases and blocks new ones', async t => {
  const c = clock()
  const lt = table({ now: c.now, maxConcurrentPerHub: 3 })
  for (const d of ['a', 'b', 'c']) await lt.acquire(req(d))
  lt.setLimit(1)
  t.match(await lt.acquire(req('d')), { granted: false, reason: 'cap-reached', active: 3, limit: 1 })
  await lt.release(req('a', 'release'))
  await lt.release(req('b', 'release'))
  t.match(await lt.acquire(req('d')), { granted: false }, 'still one over')
  await lt.release(req('c', 'release'))
  t.match(await lt.acquire(req('d')), { granted: true, active: 1 })
  lt.setLimit(0)
  t.match(await lt.acquire(req('e')), { granted: false, reason: 'cap-reached' }, 'a cap of 0 pauses installs')
})
