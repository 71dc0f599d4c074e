import { Command, CommanderError } from 'commander'
import { EXIT } from '../interface/errors.js'
import { COMMAND_GROUPS, groupsFor, type CommandGroup } from './commands.js'
import type { CommandContext } from './context.js'
import { reportError } from './output.js'

export const VERSION = '0.1.0'

export async function buildProgram (ctx: CommandContext, groups: readonly CommandGroup[] = COMMAND_GROUPS): Promise<Command> {
  const program = new Command('storemesh')
    .description('Edge update distribution: signed bundles, LAN swarm, WAN seeding, offline policy, A/B installs.')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride()
  for (const group of groups) {
    const mod = await group.load()
    mod.register(program, ctx)
  }
  return program
}

/** Runs the CLI and resolves to the process exit code. */
export async function main (argv: string[]): Promise<number> {
  const ctx: CommandContext = { exitCode: 0 }
  const program = await buildProgram(ctx, groupsFor(argv))
  try {
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ||
          err.code === 'commander.help') return EXIT.OK
      return EXIT.USAGE
    }
    return reportError(err)
  }
  return ctx.exitCode
}
