import t from 'tap'
import { StoremeshError } from '../../../src/interface/errors.js'
import { LeaseKeeper, waveHoldCode, type LeaseFacts } from '../../../src/lease/lease-keeper.js'
import { waveGatedLeaseAuthority } from '../../../src/lease/wave-gated.js'
import type { LeaseClient } from '../../../src/lease/protocol/index.js'
import { LeaseTable } from '../../../src/lease/lease-table.js'
import type { LeaseRequest, LeaseResponse } from '../../../src/lease/protocol/index.js'
import { hubLease } from '../../../src/policy/gates-device.js'
import { captureLog } from '../../support/log-capture.js'
import type { GateContext } from '../../../src/policy/gate.js'
import { until } from '../../support/poll.js'

const REF = { bundleId: 'b3:' + 'd'.repeat(64), waveId: '142' }
const TTL_MS = 300

/** An in-process hub behind a switch: `down` makes every request fail as a lost hub would. */
class FakeHub implements LeaseClient {
  down = false
  requests: LeaseRequest[] = []
  constructor (public table: LeaseTable) {}
  async request (_hub: unknown, req: LeaseRequest, options: { signal?: AbortSignal } = {}): Promise<LeaseResponse> {
    this.requests.push(req)
    await new Promise(resolve => setImmediate(resolve))
    if (options.signal?.aborted === true) throw new StoremeshError('E_ABORTED', 'aborted')
    if (this.down) throw new StoremeshError('E_NOT_CONNECTED', 'hub unreachable')
    return await this.table.respond(req, { peer: req.deviceId })
  }

  ops (op: string): number {
    return this.requests.filter(r => r.op === op).length
  }
}

function table (limit = 1): LeaseTable {
  return new LeaseTable({ maxConcurrentPerHub: limit, defaultTtlMs: TTL_MS, minTtlMs: 50, retryAfterMs: 100, minRetryAfterMs: 20 })
}

function keeper (hub: FakeHub, deviceId: string, extra: Partial<ConstructorParameters<typeof LeaseKeeper>[0]> = {}): LeaseKeeper {
  return new LeaseKeeper({ deviceId, client: hub, hub: [], ttlMs: TTL_MS, ...extra })
}

function gate (lease: LeaseFacts, nowMs = Date.now()) {
  const ctx = { policy: { spec: { rollout: { maxConcurrentPerHub: 4 } } }, facts: { lease }, nowMs } as unknown as GateContext
  return hubLease(ctx)
}

t.test('acquire, renew on its own at TTL/3, release', async t => {
  const hub = new FakeHub(table())
  const k = keeper(hub, 'pos-1')
  t.same(k.facts(), { state: 'none' }, 'nothing asked yet')
  t.equal(gate(k.facts()).ok, false)
  const before = Date.now()
  const f = await k.acquire(REF)
  t.equal(f.state, 'held')
  t.ok(f.expiresAtMs! >= before + TTL_MS && f.expiresAtMs! <= Date.now() + TTL_MS, 'counted from the send, on the device clock')
  t.equal(gate(k.facts()).ok, true, 'the hub.lease gate passes')
  t.equal(k.hubReachable(), true)
  t.ok(await until(() => hub.ops('renew') >= 3), 'renewed by itself, again and again')
  t.equal(hub.table.activeCount, 1)
  t.equal(k.facts().state, 'held', 'renewals keep it held past the first TTL')
  await k.release()
  t.same(k.facts(), { state: 'none' })
  t.equal(hub.table.activeCount, 0, 'the slot is free')
  const renewsAtRelease = hub.ops('renew')
  await new Promise(resolve => setTimeout(resolve, TTL_MS))
  t.equal(hub.ops('renew'), renewsAtRelease, 'no renewal after release')
})

t.test('a denied device is told when to ask again; waitForLease gets a slot when one frees', async t => {
  const hub = new FakeHub(table())
  const a = keeper(hub, 'pos-1')
  const b = keeper(hub, 'pos-2', { random: () => 0 })
  await a.acquire(REF)
  const denied = await b.acquire(REF)
  t.match(denied, { state: 'denied', detail: /cap-reached/ })
  t.ok(denied.retryAtMs! > Date.now() - 1000)
  t.match(gate(denied), { ok: false, passAtMs: denied.retryAtMs }, 'the gate retries when the hub said')
  const waiting = b.waitForLease(REF, { signal: AbortSignal.timeout(10_000) })
  setTimeout(() => { void a.release() }, 50)
  t.equal((await waiting).state, 'held')
  await b.release()
})

t.test('waitForLease is bounded: maxAttempts and the signal', async t => {
  const hub = new FakeHub(table())
  await keeper(hub, 'pos-1').acquire(REF)
  const k = keeper(hub, 'pos-2')
  await t.rejects(k.waitForLease(REF, { maxAttempts: 2 }), { code: 'E_LEASE_DENIED' })
  const ctl = new AbortController()
  setTimeout(() => { ctl.abort() }, 30)
  await t.rejects(k.waitForLease(REF, { signal: ctl.signal }), { code: 'E_ABORTED' })
})

t.test('losing the hub mid-install never stops the install', async t => {
  const hub = new FakeHub(table())
  const logs = captureLog()
  // a longer TTL leaves a wide window between the failed renewal (TTL/3) and the lapse
  const k = keeper(hub, 'pos-1', { log: logs.log.child({ component: 'lease' }), ttlMs: 1_500 })
  const seen: Array<{ facts: LeaseFacts, atMs: number }> = []
  const result = await k.withLease(REF, async () => {
    hub.down = true
    // the "install" goes on well past the lease: renewals fail, the lease lapses
    t.ok(await until(() => k.facts().state === 'held' && /renewal failed/.test(k.facts().detail ?? '')), 'still held while time is left')
    seen.push({ facts: k.facts(), atMs: Date.now() })
    t.ok(await until(() => k.facts().state === 'unreachable'), 'then reported unreachable')
    seen.push({ facts: k.facts(), atMs: Date.now() })
    t.equal(k.hubReachable(), false)
    return 'committed'
  })
  t.equal(result, 'committed', 'the work ran to its end')
  t.equal(gate(seen[0]!.facts, seen[0]!.atMs).ok, true, 'while time is left the gate still passes')
  t.match(gate(seen[1]!.facts, seen[1]!.atMs), { ok: false, detail: /unreachable/ })
  t.match(k.facts(), { state: 'none', detail: /release not confirmed/ }, 'release did not throw')
  t.ok(logs.records.some(l => l.level === 'warn' && l.component === 'lease' && /failed/.test(l.line)), 'the failed renewal is a warning of the lease component')
  hub.down = false
  // the hub's own clock ends the lease: at most a TTL after the device gave up on it
  t.ok(await until(() => hub.table.active().length === 0, 3_000), 'the hub freed the slot by expiry')
})

t.test('a lease the hub lost is asked for again while installing', async t => {
  const hub = new FakeHub(table())
  const k = keeper(hub, 'pos-1')
  await k.acquire(REF)
  const first = k.leaseId
  // the hub restarted without its state file
  hub.table = table()
  t.ok(await until(() => k.leaseId !== undefined && k.leaseId !== first), 'a new lease after not-held')
  t.equal(hub.table.activeCount, 1)
  await k.release()
  t.equal(hub.table.activeCount, 0)
})

t.test('stop() ends renewals without releasing', async t => {
  const hub = new FakeHub(table())
  const k = keeper(hub, 'pos-1')
  await k.acquire(REF)
  await k.stop()
  const n = hub.requests.length
  await new Promise(resolve => setTimeout(resolve, TTL_MS))
  t.equal(hub.requests.length, n)
  await t.rejects(k.acquire(REF), { code: 'E_ABORTED' })
  t.equal(hub.table.activeCount, 0, 'the slot came free by expiry alone')
})

t.test('no hub known yet is unreachable, not a crash', async t => {
  const hub = new FakeHub(table())
  const k = new LeaseKeeper({ deviceId: 'pos-1', client: hub, hub: () => undefined })
  t.match(await k.acquire(REF), { state: 'unreachable', detail: /no store hub/ })
  t.equal(k.hubReachable(), false)
})

t.test('a lease denied because the hub holds the wave names the hold; a plain denial names none', async t => {
  let hold: { code: string, detail: string, retryAfterMs: number } | undefined = { code: 'wave.paused', detail: 'wave 142 paused by ops', retryAfterMs: 100 }
  const gated = waveGatedLeaseAuthority(table(), () => hold)
  const client: LeaseClient = { request: async (_hub, req) => await gated.respond(req, { peer: req.deviceId }) }
  const k = keeper(new FakeHub(table()), 'pos-1', { client })
  t.match(await k.acquire(REF), { state: 'denied', hold: 'wave.paused', detail: /wave-held: wave\.paused/ })
  hold = { code: 'fleet.halt', detail: 'halted: rollback ratio 0.4', retryAfterMs: 100 }
  t.match(await k.acquire(REF), { state: 'denied', hold: 'fleet.halt' })
  hold = undefined
  t.equal((await k.acquire(REF)).state, 'held')
  t.equal(k.facts().hold, undefined, 'a granted lease carries no hold')
  await k.release()
  const a = keeper(new FakeHub(table()), 'pos-2')
  t.equal(waveHoldCode('cap-reached'), undefined)
  t.equal(waveHoldCode('wave.store-pending: wave 9: not heard'), 'wave.store-pending')
  t.equal(waveHoldCode('Wave.paused: x'), undefined, 'codes are lower case')
  t.equal(a.facts().hold, undefined)
})
