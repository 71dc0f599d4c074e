/**
 * `storemesh demo` from the CLI: every device ends as its facts say it must, with the
 * deciding gate named, and the v2 bundle reuses v1's unchanged chunks.
 */
import t from 'tap'
import { runCli } from '../helpers/cli.js'

t.test('the store-in-a-box demo decides and installs per device, and v2 is a delta', async t => {
  const r = await runCli(['demo', '--json', '--image-mib', '6'], { timeoutMs: 240_000 })
  t.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout) as {
    delta: { v2Bytes: number, newBytes: number, sharedChunks: number }
    rounds: Array<{ version: string, devices: Array<{ id: string, exitCode: number, result: string, line: string }> }>
  }
  t.equal(s.rounds.length, 2)
  for (const round of s.rounds) {
    const by = Object.fromEntries(round.devices.map(d => [d.id, d]))
    for (const id of ['pos-01', 'pos-02', 'pos-06']) t.match(by[id], { exitCode: 0, result: 'installed' }, `${round.version} ${id}`)
    t.match(by['pos-03'], { exitCode: 75, line: /device\.battery/ })
    t.match(by['pos-04'], { exitCode: 3, line: /target\.match/ })
    t.match(by['pos-05'], { exitCode: 4, result: 'rolled-back', line: /health/ })
  }
  t.ok(s.delta.sharedChunks > 0, 'v2 reuses v1 chunks')
  t.ok(s.delta.newBytes < s.delta.v2Bytes / 2, `v2 delta ${s.delta.newBytes} of ${s.delta.v2Bytes} bytes`)
})
