import t from 'tap'
import { multiaddr } from '@multiformats/multiaddr'
import { StoremeshError } from '../../../src/interface/errors.js'
import { SuperHubFailover } from '../../../src/ledger/super-failover.js'
import type { ReportAck, ReportClient, ReportTarget } from '../../../src/ledger/report/index.js'

const A = multiaddr('/ip4/127.0.0.1/tcp/1001')
const B = multiaddr('/ip4/127.0.0.1/tcp/1002')
const C = multiaddr('/ip4/127.0.0.1/tcp/1003')
const poll = { type: 'hub-ledger' as const, hubId: 'h-1', epoch: '1'.repeat(32), entries: [] }

/** A client whose super hubs answer or fail as `down` says at the time of each call. */
function client (down: Set<string>, calls: string[]): ReportClient {
  return {
    async send (target: ReportTarget): Promise<ReportAck> {
      const name = String(target)
      calls.push(name)
      if (down.has(name)) throw new StoremeshError('E_NOT_CONNECTED', `${name} is down`)
      return { status: 'ok', ackedSeq: calls.length, orders: [] }
    }
  }
}

t.test('moves on to the next super hub when one fails, and stays there', async t => {
  const down = new Set<string>()
  const calls: string[] = []
  const switches: string[] = []
  const f = new SuperHubFailover(client(down, calls), [A, B, C], { onSwitch: s => { switches.push(`${s.from} -> ${s.to}: ${s.error.code}`) } })
  await f.send(f.current(), poll)
  t.same(calls, [String(A)], 'the first super hub while it answers')
  down.add(String(A))
  await f.send(f.current(), poll)
  t.same(calls.slice(1), [String(A), String(B)], 'A failed: the same exchange went to B')
  t.equal(String(f.current()), String(B))
  t.same(switches, [`${String(A)} -> ${String(B)}: E_NOT_CONNECTED`])
  down.delete(String(A))
  await f.send(f.current(), poll)
  t.equal(calls.at(-1), String(B), 'no flapping back to A once it returns')
  down.add(String(B))
  await f.send(f.current(), poll)
  t.same(calls.slice(-2), [String(B), String(C)], 'B failed: C')
  t.equal(f.switches, 2)
})

t.test('fails only when every super hub failed; an abort ends the exchange at once', async t => {
  const calls: string[] = []
  const f = new SuperHubFailover(client(new Set([String(A), String(B)]), calls), [A, B])
  await t.rejects(f.send(f.current(), poll), { code: 'E_NOT_CONNECTED' })
  t.same(calls, [String(A), String(B)], 'each tried once')
  const abort = new AbortController()
  abort.abort()
  const aborted: string[] = []
  const g = new SuperHubFailover(client(new Set([String(A)]), aborted), [A, B])
  await t.rejects(g.send(g.current(), poll, { signal: abort.signal }), { code: 'E_NOT_CONNECTED' })
  t.same(aborted, [String(A)], 'no second try after an abort')
  t.throws(() => new SuperHubFailover(client(new Set(), []), []), TypeError)
})
