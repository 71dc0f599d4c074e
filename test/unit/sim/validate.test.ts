import t from 'tap'
import { parseBenchLan } from '../../../src/sim/validate.js'

// bench:lan's lines as it prints them (N = 16 of a run at load 65, shortened where nothing is read)
const out = [
  'bench:lan  bundle 8.0 MiB in 31 chunks, every node\'s upload capped at 256KiB/s (262144 B/s), 2 cores, N = 4, 16',
  'N=4  P2P makespan 33.8 s  bound 32.0 s  ratio 1.06x (target <= 1.3: ok)  hub upload 1.00 copies (target <= 1.3: ok)',
  '      hub\'s first full copy uploaded at 32.8 s (F/u_hub 32.0 s); devices took 4.7 s to start, before the hub; CPU of 5 processes 11.2 s total',
  'N=16  P2P makespan 77.1 s  bound 32.0 s  ratio 2.41x (target <= 1.3: MISSED)  hub upload 1.42 copies (target <= 1.3: MISSED)',
  '      hub\'s first full copy uploaded at 34.4 s (F/u_hub 32.0 s); devices took 39.4 s to start, before the hub; hub connected to all 16 at 54.5 s (its status, every 1.0 s); CPU of 17 processes 98.7 s total',
  '      duplicates: devices received 4.1 MiB twice or refused in all (3.2% of 128 MiB), worst device 14.4% of the bundle'
].join('\n')

t.test('each N: makespan and hub copies, and the connect time and duplicates when printed', async t => {
  const m = parseBenchLan(out)
  t.same(m.get(4), { makespanMs: 33_800, hubCopies: 1 }, 'an older bench:lan line without them still parses')
  t.same(m.get(16), { makespanMs: 77_100, hubCopies: 1.42, connectMs: 54_500, duplicateShare: 0.032 })
  t.equal(m.size, 2)
})

t.test('continuation lines before any N line are not taken', async t => {
  t.equal(parseBenchLan('      duplicates: devices received 1 MiB twice (3.0% of 8 MiB)\n').size, 0)
})
