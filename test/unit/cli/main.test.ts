import t from 'tap'
import { runCli } from '../../support/cli.js'

t.test('--help and --version exit 0', async t => {
  const help = await runCli(['--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /Usage: storemesh/)
  const v = await runCli(['--version'])
  t.equal(v.code, 0)
  t.match(v.stdout, /^\d+\.\d+\.\d+/)
})

t.test('an unknown command is a usage error', async t => {
  const r = await runCli(['no-such-command'])
  t.equal(r.code, 64)
  t.match(r.stderr, /unknown command|too many arguments/)
})
