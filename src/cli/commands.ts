/**
 * The command groups, one module each. Each exports `register(program, ctx)`.
 * Add a group here when its module lands.
 */
import type { Command } from 'commander'
import type { CommandContext } from './context.js'

export type Register = (program: Command, ctx: CommandContext) => void

export interface CommandGroup {
  /** the top-level command this module registers */
  command: string
  load: () => Promise<{ register: Register }>
}

/**
 * Loaded lazily: `hub` and `device` pull in libp2p (over a second of CPU to import),
 * which `keygen` or `bundle verify` should not pay for. main() loads only the group
 * named on the command line, or all of them for help and unknown commands.
 */
export const COMMAND_GROUPS: CommandGroup[] = [
  { command: 'demo', load: async () => await import('./demo.js') },
  { command: 'policy', load: async () => await import('./policy.js') },
  { command: 'keygen', load: async () => await import('./keygen.js') },
  { command: 'identity', load: async () => await import('./identity.js') },
  { command: 'root', load: async () => await import('./root.js') },
  { command: 'bundle', load: async () => await import('./bundle.js') },
  { command: 'device', load: async () => await import('./device.js') },
  { command: 'cache', load: async () => await import('./cache.js') },
  { command: 'wave', load: async () => await import('./wave.js') },
  { command: 'hub', load: async () => await import('./hub.js') },
  { command: 'status', load: async () => await import('./status.js') },
  { command: 'super-hub', load: async () => await import('./super-hub.js') },
  { command: 'fleet', load: async () => await import('./fleet.js') }
]

/** The groups to load for argv (node, script, args...): the named one, else all. */
export function groupsFor (argv: readonly string[]): CommandGroup[] {
  const first = argv.slice(2).find(a => !a.startsWith('-'))
  const named = COMMAND_GROUPS.filter(g => g.command === first)
  return named.length > 0 ? named : COMMAND_GROUPS
}
