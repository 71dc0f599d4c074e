/**
 * Runs the storemesh CLI as a child process: the demo's devices are separate
 * processes, as they are separate machines in a store. Works from the built tree
 * (dist/, plain node) and from source (src/, through tsx).
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const FROM_SOURCE = import.meta.url.endsWith('.ts')
const ENTRY = fileURLToPath(new URL(FROM_SOURCE ? '../../cli/entry.ts' : '../../cli/entry.js', import.meta.url))

export interface ChildResult {
  code: number | null
  stdout: string
  stderr: string
}

// Resolved here, not by the child: the child's cwd is a device's data dir.
const TSX_LOADER = FROM_SOURCE ? import.meta.resolve('tsx') : undefined

export function cliArgv (args: string[]): string[] {
  return [...(TSX_LOADER !== undefined ? ['--import', TSX_LOADER] : []), ENTRY, ...args]
}

/** Runs one CLI command to completion, bounded by timeoutMs (then SIGKILL). */
export async function runChild (args: string[], opts: { cwd: string, timeoutMs: number, signal?: AbortSignal }): Promise<ChildResult> {
  const child = spawn(process.execPath, cliArgv(args), { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const kill = (): void => { child.kill('SIGKILL') }
  const timer = setTimeout(kill, opts.timeoutMs)
  opts.signal?.addEventListener('abort', kill, { once: true })
  return await new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', code => {
      clearTimeout(timer)
      opts.signal?.removeEventListener('abort', kill)
      resolve({ code, stdout, stderr })
    })
  })
}
