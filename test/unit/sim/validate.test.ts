import t from 'tap'
import { parseBenchLan } from '../../../src/sim/validate.js'
import { hostCpuInputs, hostCpuLine } from '../../../bench/support/lan-host-cpu.js'

// bench:lan's lines as it prints them (N = 16 of a run at load 65, shortened where nothing is read)
const out = [
  'bench:lan  bundle 8.0 MiB in 31 chunks, every node\'s upload capped at 256KiB/s (262144 B/s), 2 cores, N = 4, 16',
  'N=4  P2P makespan 33.8 s  bound 32.0 s  ratio 1.06x (target <= 1.3: ok)  hub upload 1.00 copies (target <= 1.3: ok)',
  '      hub\'s first full copy uploaded at 32.8 s (F/u_hub 32.0 s); devices took 4.7 s to start, before the hub; CPU of 5 processes 11.2 s total',
  'N=16  P2P makespan 77.1 s  bound 32.0 s  ratio 2.41x (target <= 1.3: MISSED)  hub upload 1.42 copies (target <= 1.3: MISSED)',
  '      hub\'s first full copy uploaded at 34.4 s (F/u_hub 32.0 s); devices took 39.4 s to start, before the hub; hub connected to all 16 at 54.5 s (its status, every 1.0 s); CPU of 17 processes 98.7 s total',
  '      duplicates: devices received 4.1 MiB twice or refused in all (3.2% of 128 MiB), worst device 14.4% of the bundle',
  'N=8  P2P makespan 37.2 s  bound 32.0 s  ratio 1.16x (target <= 1.3: ok)  hub upload 1.00 copies (target <= 1.3: ok)',
  '      hub\'s first full copy uploaded at 32.7 s (F/u_hub 32.0 s); devices took 35.4 s to start, before the hub; hub connected to all 8 at 0.1 s (its status, every 1.0 s); CPU of 9 processes 34.6 s total, 14.5 s after all were ready, wall 95.9 s since the hub was spawned (18% of 2 cores), load 41.8',
  '      host CPU (main threads, ready to complete): hub 1.10 s for 8.0 MiB sent, devices 8.20 s for 56.0 MiB sent and 64.0 MiB received; on a CPU 9.30 s, waiting on the run queue 20.10 s: ' +
    'model inputs send 0.1375 CPU-s/MiB, receive 0.0078 CPU-s/MiB, core share while runnable 0.316'
].join('\n')

t.test('each N: makespan and hub copies, and the connect time and duplicates when printed', async t => {
  const m = parseBenchLan(out)
  t.same(m.get(4), { makespanMs: 33_800, hubCopies: 1 }, 'an older bench:lan line without them still parses')
  t.same(m.get(16), { makespanMs: 77_100, hubCopies: 1.42, connectMs: 54_500, duplicateShare: 0.032 })
  t.same(m.get(8), { makespanMs: 37_200, hubCopies: 1, connectMs: 100, cpuTransferSec: 14.5, hostCpu: { sendSecPerMiB: 0.1375, receiveSecPerMiB: 0.0078, coreShare: 0.316 } },
    'the CPU after ready and the host CPU model\'s inputs')
  t.equal(m.size, 3)
})

t.test('continuation lines before any N line are not taken', async t => {
  t.equal(parseBenchLan('      duplicates: devices received 1 MiB twice (3.0% of 8 MiB)\n').size, 0)
})

t.test('the host CPU line bench:lan prints is the one sim:validate reads', async t => {
  const MiB = 1024 * 1024
  // the hub: 1.2 CPU-s to send 8 MiB; the devices: 0.6 + 2 = 2.6 CPU-s to send 4 MiB and take in 16 MiB;
  // 3.8 CPU-s on a CPU against 6.2 waiting
  const h = hostCpuInputs([{ cpuSec: 1, waitSec: 1 }, { cpuSec: 0, waitSec: 0 }], [{ cpuSec: 2.2, waitSec: 2 }, { cpuSec: 2.6, waitSec: 5.2 }], 8 * MiB, 4 * MiB, 16 * MiB)
  const line = `N=2  P2P makespan 40.0 s  bound 32.0 s  ratio 1.25x  hub upload 1.00 copies\n      ${hostCpuLine(h)}`
  t.same(parseBenchLan(line).get(2)?.hostCpu, { sendSecPerMiB: 0.15, receiveSecPerMiB: 0.125, coreShare: 0.38 },
    'send = hub CPU / MiB sent; receive = the devices\' CPU beyond their sends / MiB received; share = on-CPU / (on-CPU + waiting)')
})
