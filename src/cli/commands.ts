/**
 * The command groups, one module each. Each exports `register(program, ctx)`.
 * Add a group here when its module lands.
 */
import type { Command } from 'commander'
import type { CommandContext } from './context.js'

export type Register = (program: Command, ctx: CommandContext) => void

export const COMMAND_GROUPS: Array<() => Promise<{ register: Register }>> = [
  () => import('./demo.js'),
  () => import('./policy.js'),
  () => import('./keygen.js'),
  () => import('./bundle.js'),
  () => import('./device.js'),
  () => import('./cache.js'),
  () => import('./wave.js'),
  () => import('./hub.js'),
  () => import('./status.js'),
  () => import('./super-hub.js'),
]
