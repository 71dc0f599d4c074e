/**
 * Runs the real CLI as a child process (TypeScript through tsx, no build needed).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const CLI_ENTRY = join(REPO_ROOT, 'src', 'cli', 'entry.ts')
/**
 * The test command builds dist/ first and sets STOREMESH_TEST_CLI=dist: the bundled CLI
 * (what bin/storemesh.js runs) starts in about a third of the CPU time of the sources
 * compiled on the fly by tsx, and the suites spawn it hundreds of times. Without the
 * variable the tests run the sources directly.
 */
const DIST_ENTRY = join(REPO_ROOT, 'dist', 'storemesh.mjs')
const USE_DIST = process.env.STOREMESH_TEST_CLI === 'dist' && existsSync(DIST_ENTRY)

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** argv for spawning the CLI with this Node: `[execPath, [...]]`. */
export function cliCommand (args: string[]): [string, string[]] {
  return USE_DIST ? [process.execPath, [DIST_ENTRY, ...args]] : [process.execPath, ['--import', 'tsx', CLI_ENTRY, ...args]]
}

export function spawnCli (args: string[], options: SpawnOptions = {}): ChildProcess {
  const [cmd, argv] = cliCommand(args)
  return spawn(cmd, argv, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...options })
}

/** Runs the CLI to completion; bounded by timeoutMs (default 120 s), then SIGKILL. */
export async function runCli (args: string[], options: SpawnOptions & { timeoutMs?: number } = {}): Promise<CliResult> {
  const child = spawnCli(args, options)
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
  return await new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}
