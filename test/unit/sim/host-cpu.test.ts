import t from 'tap'
import { HostCpu } from '../../../src/sim/host-cpu.js'
import { simulateLanSwarm } from '../../../src/sim/lan-swarm.js'
import { KiB, STORE_CHUNKS as CHUNKS, store } from './lan-store.js'

const MiB = 1024 * KiB

t.test('a node\'s main thread works through its CPU work in order, at its share of a core', async t => {
  const cpu = new HostCpu({ sendSecPerMiB: 1, receiveSecPerMiB: 0.5, coreShare: 0.5 }, 2)
  t.equal(cpu.send(0, MiB, 0), 2000, '1 CPU-s at half a core: 2 s')
  t.equal(cpu.receive(0, MiB, 500), 3000, 'queued behind the send, 1 s more')
  t.equal(cpu.receive(0, MiB, 5000), 6000, 'a thread idle since then starts when the work is ready')
  t.equal(cpu.send(1, MiB, 0), 2000, 'another node has a thread of its own')
})

t.test('a parameter outside its range is refused naming it', async t => {
  t.throws(() => new HostCpu({ sendSecPerMiB: -1, receiveSecPerMiB: 0, coreShare: 1 }, 1), { code: 'E_SIM_PARAM', message: /sendSecPerMiB/ })
  t.throws(() => new HostCpu({ sendSecPerMiB: 0, receiveSecPerMiB: NaN, coreShare: 1 }, 1), { code: 'E_SIM_PARAM', message: /receiveSecPerMiB/ })
  t.throws(() => new HostCpu({ sendSecPerMiB: 0, receiveSecPerMiB: 0, coreShare: 0 }, 1), { code: 'E_SIM_PARAM', message: /coreShare/ })
  t.throws(() => new HostCpu({ sendSecPerMiB: 0, receiveSecPerMiB: 0, coreShare: 1.5 }, 1), { code: 'E_SIM_PARAM', message: /coreShare/ })
})

t.test('free CPU leaves the swarm as it was', async t => {
  t.same(simulateLanSwarm(store(8, { hostCpu: { sendSecPerMiB: 0, receiveSecPerMiB: 0, coreShare: 1 } })), simulateLanSwarm(store(8)))
})

t.test('a hub whose CPU needs twice the wire time per chunk takes twice as long to seed one device', async t => {
  const wireSec = CHUNKS * 256 * KiB / (256 * KiB)
  const plain = simulateLanSwarm(store(1))
  // 0.25 CPU-s per 256 KiB chunk at a quarter of a core: 1 s of CPU work, 2 s of wall, per 1 s of wire
  const starved = simulateLanSwarm(store(1, { hostCpu: { sendSecPerMiB: 2, receiveSecPerMiB: 0, coreShare: 0.25 } }))
  t.ok(plain.makespanMs < 1.1 * 1000 * wireSec, `with a CPU of its own: ${plain.makespanMs} ms, near ${wireSec} s`)
  t.ok(starved.makespanMs >= 2 * 1000 * wireSec, `on the starved host: ${starved.makespanMs} ms, at least ${2 * wireSec} s`)
  t.ok(starved.makespanMs < 2.2 * 1000 * wireSec, `and not more than the CPU work explains: ${starved.makespanMs} ms`)
  t.equal(starved.hubUpBytes, plain.hubUpBytes, 'the same bytes')
})

t.test('a receiver\'s CPU holds each chunk until its work is done', async t => {
  const wireSec = CHUNKS
  // 2 s of wall per chunk at the receiver, begun with its first byte: 1 s past the wire
  const r = simulateLanSwarm(store(1, { hostCpu: { sendSecPerMiB: 0, receiveSecPerMiB: 2, coreShare: 0.25 } }))
  t.ok(r.makespanMs >= 2 * 1000 * (wireSec - 1), `${r.makespanMs} ms: the receiver's queue, 2 s a chunk, is the bottleneck`)
  t.ok(r.makespanMs < 2.2 * 1000 * wireSec, `${r.makespanMs} ms: and no more than its work`)
})
