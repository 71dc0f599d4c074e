/**
 * The argv that runs the storemesh CLI in a child process: the demo's hubs and devices
 * are separate processes, as they are separate machines in a store. Works from the
 * bundle (dist/storemesh.mjs), the built tree (dist/, plain node) and from source
 * (src/, through tsx).
 */
import { fileURLToPath } from 'node:url'

const FROM_SOURCE = import.meta.url.endsWith('.ts')
/** The CLI bundled into one module (dist/storemesh.mjs, scripts/bundle.mjs): this code is in it. */
const BUNDLED = import.meta.url.endsWith('.mjs')
const ENTRY = fileURLToPath(BUNDLED ? import.meta.url : new URL(FROM_SOURCE ? '../cli/entry.ts' : '../cli/entry.js', import.meta.url))

// Resolved here, not by the child: the child's cwd is a device's data dir.
const TSX_LOADER = FROM_SOURCE ? import.meta.resolve('tsx') : undefined

export function cliArgv (args: string[]): string[] {
  return [...(TSX_LOADER !== undefined ? ['--import', TSX_LOADER] : []), ENTRY, ...args]
}
