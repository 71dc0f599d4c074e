import t from 'tap'
import { COMMAND_GROUPS, groupsFor } from '../../../src/cli/commands.js'

const argv = (...args: string[]): string[] => ['node', 'storemesh', ...args]

t.test('the named group alone is loaded', async t => {
  t.same(groupsFor(argv('keygen', '--out', 'k')).map(g => g.command), ['keygen'])
  t.same(groupsFor(argv('--json', 'bundle', 'verify', 'x')).map(g => g.command), ['bundle'])
  t.same(groupsFor(argv('super-hub')).map(g => g.command), ['super-hub'])
})

t.test('help and unknown commands load every group', async t => {
  t.equal(groupsFor(argv()).length, COMMAND_GROUPS.length)
  t.equal(groupsFor(argv('--help')).length, COMMAND_GROUPS.length)
  t.equal(groupsFor(argv('no-such-command')).length, COMMAND_GROUPS.length)
})

t.test('every group registers the command it is filed under', async t => {
  const { Command } = await import('commander')
  for (const group of COMMAND_GROUPS) {
    const program = new Command('storemesh')
    const mod = await group.load()
    mod.register(program, { exitCode: 0 })
    t.ok(program.commands.some(c => c.name() === group.command), `${group.command} registered`)
  }
})
