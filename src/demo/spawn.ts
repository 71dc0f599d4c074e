/**
 * The argv that runs the storemesh CLI in a child process: the demo's hubs and devices
 * are separate processes, as they are separate machines in a store. Works from the
 * bundle (dist/storemesh.mjs and dist/chunks/), the built tree (dist/, plain node) and from source
 * (src/, through tsx).
 */
import { fileURLToPath } from 'node:url'

const FROM_SOURCE = import.meta.url.endsWith('.ts')
/**
 * The bundled CLI (dist/storemesh.mjs and its chunks in dist/chunks/, scripts/bundle.mjs):
 * this code is in the entry or in one of its chunks.
 */
const BUNDLED = import.meta.url.endsWith('.mjs')
const BUNDLE_ENTRY = import.meta.url.includes('/chunks/') ? new URL('../storemesh.mjs', import.meta.url) : new URL(import.meta.url)
const ENTRY = fileURLToPath(BUNDLED ? BUNDLE_ENTRY : new URL(FROM_SOURCE ? '../cli/entry.ts' : '../cli/entry.js', import.meta.url))

// Resolved here, not by the child: the child's cwd is a device's data dir.
const TSX_LOADER = FROM_SOURCE ? import.meta.resolve('tsx') : undefined

export function cliArgv (args: string[]): string[] {
  return [...(TSX_LOADER !== undefined ? ['--import', TSX_LOADER] : []), ENTRY, ...args]
}
