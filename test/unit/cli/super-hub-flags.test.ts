/**
 * `storemesh super-hub --serve-stall-ms`: shown in --help with its default, and bad
 * values refused with E_USAGE (exit 64) before anything starts. The value reaching the
 * running super hub is shown by test/lab/serve-stall.test.ts (a stalled store hub behind
 * a tc-shaped link reset after it).
 */
import t from 'tap'
import { runCli } from '../../support/cli.js'
import { parseServeStallMs } from '../../../src/cli/super-hub.js'
import { DEFAULT_SERVE_STALL_MS } from '../../../src/wan/pull/index.js'

const EXIT_USAGE = 64
/** what the flag needs besides itself; the paths are never read when the flag is refused */
const REQUIRED = ['--data', '/nonexistent/super', '--bundles', '/nonexistent/bundles', '--swarm-key', '/nonexistent/swarm.key', '--trust', '/nonexistent/trust.pub.json']

t.test('--help shows --serve-stall-ms with its default', async t => {
  const r = await runCli(['super-hub', '--help'])
  t.equal(r.code, 0)
  const line = r.stdout.split('\n').findIndex(l => l.includes('--serve-stall-ms <ms>'))
  t.ok(line >= 0, 'the flag is listed')
  // commander wraps long descriptions: the default may sit on a following line
  t.match(r.stdout.split('\n').slice(line, line + 4).join(' '), `default ${DEFAULT_SERVE_STALL_MS}`)
})

t.test('bad --serve-stall-ms values are refused with E_USAGE before anything starts', async t => {
  for (const bad of ['0', '-5', '1.5', 'abc', '3s', '', String(2 ** 31)]) {
    const r = await runCli(['super-hub', ...REQUIRED, '--serve-stall-ms', bad])
    t.equal(r.code, EXIT_USAGE, `"${bad}" exits ${EXIT_USAGE}`)
    t.match(r.stderr, /E_USAGE/, `"${bad}": stable code`)
    t.match(r.stderr, /--serve-stall-ms/, `"${bad}": names the flag`)
  }
})

t.test('parseServeStallMs takes whole milliseconds up to a timer\'s limit', async t => {
  t.equal(parseServeStallMs('2500'), 2500)
  t.equal(parseServeStallMs('1'), 1)
  t.equal(parseServeStallMs(String(2 ** 31 - 1)), 2 ** 31 - 1)
  t.throws(() => parseServeStallMs('0'), { code: 'E_USAGE' })
})
