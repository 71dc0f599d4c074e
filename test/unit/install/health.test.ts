import t from 'tap'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { defaultHealthConfig, defaultHealthDeps, healthConfigFromPolicy, runHealthTrial, watchdogMsOf, type HealthDeps } from '../../../src/install/health.js'
import type { HealthCheckConfig } from '../../../src/install/state-machine.js'

/** A clock that moves only when the trial sleeps: no test depends on real time. */
function fakeTime (over: Partial<HealthDeps> = {}): HealthDeps & { slept: number[] } {
  let now = 1_000_000
  const slept: number[] = []
  return {
    ...defaultHealthDeps,
    now: () => now,
    sleep: async (ms) => { slept.push(ms); now += ms },
    slept,
    ...over
  }
}

const cfg = (over: Partial<HealthCheckConfig>): HealthCheckConfig => ({ ...defaultHealthConfig, budgetMs: 10_000, intervalMs: 1_000, attemptTimeoutMs: 2_000, ...over })

async function listen (handler: (n: number) => number): Promise<{ url: string, server: Server, hits: () => number }> {
  let n = 0
  const server = createServer((_req, res) => { n++; res.statusCode = handler(n); res.end() })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/health`, server, hits: () => n }
}

async function closedPortUrl (): Promise<string> {
  const { url, server } = await listen(() => 200)
  await new Promise(resolve => server.close(resolve))
  return url
}

t.test('URL: 503 twice then 200 passes on the third check', async t => {
  const s = await listen(n => n < 3 ? 503 : 200)
  t.teardown(() => { s.server.close() })
  const v = await runHealthTrial(cfg({ url: s.url }), fakeTime())
  t.match(v, { ok: true, checks: 3 })
  t.equal(s.hits(), 3)
})

t.test('URL: nothing listening fails with health.timeout inside the budget', async t => {
  const deps = fakeTime()
  const v = await runHealthTrial(cfg({ url: await closedPortUrl() }), deps)
  t.match(v, { ok: false, reason: 'health.timeout' })
  t.ok(v.checks >= 10 && v.checks <= 12, `checks ${v.checks}`)
  t.ok(deps.slept.reduce((a, b) => a + b, 0) <= 10_000, 'never waits past the budget')
})

t.test('URL: a check that hangs is cut at the attempt timeout', async t => {
  const hang: HealthDeps['fetch'] = async (_url, init) => await new Promise((_resolve, reject) => {
    init.signal.addEventListener('abort', () => reject(new Error('aborted')))
  })
  const v = await runHealthTrial(cfg({ url: 'http://127.0.0.1:9/x', attemptTimeoutMs: 30, budgetMs: 2_000 }), fakeTime({ fetch: hang }))
  t.match(v, { ok: false, reason: 'health.timeout', detail: /timed out/ })
})

t.test('command: exit 0 passes, non-zero fails until the budget ends', async t => {
  t.match(await runHealthTrial(cfg({ command: 'true' }), fakeTime()), { ok: true, checks: 1 })
  t.match(await runHealthTrial(cfg({ command: ['/bin/sh', '-c', 'exit 4'], budgetMs: 3_000 }), fakeTime()), { ok: false, reason: 'health.timeout', detail: /exit 4/ })
})

t.test('no check configured: the boot itself was the test', async t => {
  t.match(await runHealthTrial(cfg({}), fakeTime()), { ok: true, detail: /no health check/ })
})

t.test('a failing probe names itself', async t => {
  const v = await runHealthTrial(cfg({ command: 'true', probes: [{ name: 'printer', run: 'true', timeoutMs: 1000 }, { name: 'scanner', run: 'exit 1', timeoutMs: 1000 }] }), fakeTime())
  t.match(v, { ok: false, reason: 'probe.scanner' })
})

t.test('observation window: a blip is tolerated, a run of failures is health.lost', async t => {
  let n = 0
  const blip = fakeTime({ exec: async () => ({ code: ++n === 3 ? 1 : 0, stdout: '', stderr: '', timedOut: false }) })
  t.match(await runHealthTrial(cfg({ command: 'x', observeMs: 10_000, maxConsecutiveFailures: 2 }), blip), { ok: true })
  let m = 0
  const lost = fakeTime({ exec: async () => ({ code: ++m >= 4 ? 1 : 0, stdout: '', stderr: '', timedOut: false }) })
  const v = await runHealthTrial(cfg({ command: 'x', observeMs: 10_000, maxConsecutiveFailures: 2 }), lost)
  t.match(v, { ok: false, reason: 'health.lost' })
  t.equal(v.checks, 5)
})

t.test('past the watchdog deadline the verdict is watchdog', async t => {
  const deps = fakeTime()
  const v = await runHealthTrial(cfg({ command: 'exit 1' }), deps, { deadlineMs: deps.now() + 2_500 })
  t.match(v, { ok: false, reason: 'watchdog' })
})

t.test('a clock that stands still cannot make the trial loop forever', async t => {
  const still = fakeTime({ sleep: async () => {} })
  const v = await runHealthTrial(cfg({ command: 'exit 1', budgetMs: 5_000 }), still)
  t.match(v, { ok: false, reason: 'health.timeout' })
  t.ok(v.checks <= 8)
})

t.test('policy mapping: seconds and minutes become ms; watchdog covers budget and window', async t => {
  const c = healthConfigFromPolicy({
    healthCheck: { url: 'http://127.0.0.1:8080/health', timeoutSeconds: 120 },
    rollbackOnHealthLossMins: 5,
    peripheralChecks: [{ name: 'scanner', run: 'lsusb | grep -q scanner', timeoutSeconds: 5 }]
  })
  t.equal(c.budgetMs, 120_000)
  t.equal(c.observeMs, 300_000)
  t.same(c.probes, [{ name: 'scanner', run: 'lsusb | grep -q scanner', timeoutMs: 5_000 }])
  t.ok(watchdogMsOf(c) > c.observeMs)
  const cmd = healthConfigFromPolicy({ healthCheck: { run: 'systemctl is-active pos', timeoutSeconds: 10 } })
  t.equal(cmd.command, 'systemctl is-active pos', 'the policy field `run` becomes the health command')
})
