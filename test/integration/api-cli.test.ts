/**
 * The operator CLI against a real API server whose wave handlers write a real hub
 * ledger (level database in a temp dir): cache list, wave start/pause, device rollback
 * --id; tokens from --data, STOREMESH_TOKEN and --token; idempotent repeats; one-line errors.
 */
import t from 'tap'
import { ApiServer, loadOrCreateApiToken, ledgerView, pauseWave, startWave } from '../../src/api/index.js'
import { HubLedger } from '../../src/ledger/index.js'
import { runCli } from '../support/cli.js'
import { fixtureApi } from '../unit/api/fixture.js'

t.test('CLI on the hub API', async t => {
  const dir = t.testdir({})
  const ledger = await HubLedger.open(dir)
  t.teardown(async () => await ledger.close())
  const token = await loadOrCreateApiToken(dir)
  const fake = fixtureApi()
  const server = new ApiServer({
    token, port: 0,
    sources: { ...fake.sources, ledger: async q => await ledgerView(ledger, q) },
    handlers: {
      ...fake.handlers,
      startWave: async (id, b) => await startWave(ledger, id, b.cohort),
      pauseWave: async (id, b) => await pauseWave(ledger, id, b.reason)
    }
  })
  await server.start()
  t.teardown(async () => await server.stop())
  const api = ['--api', server.url]
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.STOREMESH_TOKEN
  delete env.STOREMESH_API

  const [list, listJson, noToken, unreachable] = await Promise.all([
    runCli(['cache', 'list', '--limit', '1', ...api], { env }),
    runCli(['cache', 'list', '--limit', '5', '--json', ...api], { env }),
    runCli(['wave', 'pause', '--wave', '142', '--reason', 'x', ...api], { env }),
    runCli(['wave', 'start', '--wave', '142', '--cohort', 'c', '--api', 'http://127.0.0.1:9', '--token', token], { env })
  ])
  t.equal(list.code, 0, list.stderr)
  t.match(list.stdout, /^BUNDLE\s+NAME\s+VERSION\s+STATE\s+PINS\s+SIZE/)
  t.match(list.stdout, /pos-os\s+3\.8\.2\s+verified\s+active/)
  t.notMatch(list.stdout, /scanner-fw/, '--limit 1')
  t.match(list.stdout, /1 of 2 bundles/)
  t.equal(JSON.parse(listJson.stdout).entries.length, 2)
  t.equal(noToken.code, 1)
  t.match(noToken.stderr, /^storemesh: E_UNAUTHORIZED .*\n$/, 'one line')
  t.equal(unreachable.code, 1)
  t.match(unreachable.stderr, /^storemesh: E_NOT_CONNECTED cannot reach the hub API/)

  // start twice with the token from --data: the second changes nothing
  const start1 = await runCli(['wave', 'start', '--wave', '142', '--cohort', 'retail-us-midwest', '--data', dir, ...api], { env })
  t.equal(start1.code, 0, start1.stderr)
  t.equal(start1.stdout, 'wave 142 started for retail-us-midwest\n')
  const start2 = await runCli(['wave', 'start', '--wave', '142', '--cohort', 'retail-us-midwest', '--data', dir, ...api], { env })
  t.equal(start2.code, 0)
  t.match(start2.stdout, /already started/)
  t.equal(ledger.order('142')?.action, 'resume')

  const [pause1, wrong] = await Promise.all([
    runCli(['wave', 'pause', '--wave', '142', '--reason', 'scanner firmware issue', '--json', ...api], { env: { ...env, STOREMESH_TOKEN: token } }),
    runCli(['wave', 'pause', '--wave', '142', '--reason', 'x', '--token', 'not-the-token-0123456789', ...api], { env })
  ])
  t.equal(pause1.code, 0, pause1.stderr)
  t.same(JSON.parse(pause1.stdout), { changed: true, wave: '142', action: 'pause' })
  t.ok(ledger.isWavePaused('142'), 'the ledger holds the pause')
  t.equal(ledger.order('142')?.reason, 'scanner firmware issue')
  t.equal(wrong.code, 1)
  t.match(wrong.stderr, /^storemesh: E_UNAUTHORIZED/)
  const pause2 = await runCli(['wave', 'pause', '--wave', '142', '--reason', 'again', '--token', token, ...api], { env })
  t.match(pause2.stdout, /already paused/)
  t.equal(ledger.order('142')?.reason, 'scanner firmware issue', 'the repeat did not replace the order')

  const [rb1, rb2, badId, local] = await Promise.all([
    runCli(['device', 'rollback', '--id', 'pos-17', '--reason', 'screen flicker', '--token', token, ...api], { env }),
    runCli(['device', 'rollback', '--id', 'pos-17', '--reason', 'screen flicker', '--token', token, '--json', ...api], { env }),
    runCli(['device', 'rollback', '--id', 'pos 17', '--reason', 'x', '--token', token, ...api], { env }),
    runCli(['device', 'rollback', '--reason', 'x'], { env })
  ])
  t.equal(rb1.code, 0, rb1.stderr)
  t.equal(rb2.code, 0, rb2.stderr)
  const outs = [rb1.stdout, JSON.stringify(JSON.parse(rb2.stdout))]
  t.equal(fake.calls.filter(c => c.what === 'rollback').length, 2)
  t.ok(outs.some(o => /rollback of pos-17 ordered/.test(o) || /"changed":true/.test(o)), 'one of them ordered it')
  t.ok(outs.some(o => /already ordered/.test(o) || /"changed":false/.test(o)), 'the other changed nothing')
  t.equal(badId.code, 64)
  t.equal(local.code, 64, 'neither --local nor --id: usage')
  t.match(local.stderr, /--local --data <dir>.*--id <device>/)
})
