import t from 'tap'
import { LeaseTable } from '../../../src/lease/lease-table.js'
import type { LeaseRequest } from '../../../src/lease/protocol/index.js'
import { waveGatedLeaseAuthority, type WaveHold } from '../../../src/lease/wave-gated.js'

const BUNDLE = 'b3:' + 'a'.repeat(64)

function req (deviceId: string, op: LeaseRequest['op'], waveId: string): LeaseRequest {
  return { op, deviceId, bundleId: BUNDLE, waveId }
}

t.test('a held wave gets no lease (reason wave-held, the gate\'s code and detail); other waves and renewals go to the table', async t => {
  const table = new LeaseTable({ maxConcurrentPerHub: 2 })
  const holds = new Map<string, WaveHold>([['145', { code: 'wave.paused', detail: 'wave 145: this store\'s batch has not started (wave-batch-not-started)', retryAfterMs: 5000 }]])
  const asked: string[] = []
  const auth = waveGatedLeaseAuthority(table, (waveId, bundleId) => { asked.push(`${waveId} ${bundleId}`); return holds.get(waveId) })
  const held = await auth.respond(req('pos-1', 'acquire', '145'))
  t.match(held, { granted: false, reason: 'wave-held', retryAfterMs: 5000, active: 0, limit: 2, detail: /^wave\.paused: wave 145: this store's batch has not started/ })
  t.equal(table.activeCount, 0, 'no slot taken')
  const other = await auth.respond(req('pos-1', 'acquire', '144'))
  t.match(other, { granted: true, reason: 'granted' }, 'a wave the gate lets go gets the table\'s answer')
  // the gate now holds 144 too (a halt heard): the running install keeps its lease, a new acquire is refused
  holds.set('144', { code: 'fleet.halt', detail: 'wave 144 halted: rollback ratio', retryAfterMs: 5000 })
  t.match(await auth.respond(req('pos-1', 'renew', '144')), { granted: true, reason: 'renewed' }, 'a renewal is not cut off')
  t.match(await auth.respond(req('pos-2', 'acquire', '144')), { granted: false, reason: 'wave-held', detail: /^fleet\.halt: / })
  t.match(await auth.respond(req('pos-1', 'release', '144')), { granted: false, reason: 'released' }, 'a release goes through')
  t.same(asked, [`145 ${BUNDLE}`, `144 ${BUNDLE}`, `144 ${BUNDLE}`], 'the gate is asked for acquires only')
})
