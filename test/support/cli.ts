/**
 * Runs the real CLI as a child process (TypeScript through tsx, no build needed), and
 * locates the repository and its scripts whether the suites run from source or compiled.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { dirname, join } from 'node:path'

/**
 * `npm test` runs the suites compiled into BUILD_DIR (scripts/test.sh); a single file
 * can still run from source through tsx. Paths into the repository go through
 * REPO_ROOT, which is the same in both cases.
 */
export const BUILD_DIR = '.test-build'
const HERE = dirname(fileURLToPath(import.meta.url))
/** true when this module runs as compiled JavaScript from BUILD_DIR */
export const COMPILED = !import.meta.url.endsWith('.ts')
export const REPO_ROOT = COMPILED ? join(HERE, '..', '..', '..') : join(HERE, '..', '..')
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

/**
 * Node's argv for a TypeScript script of the repository (`rel` from its root, e.g.
 * `test/support/store-writer.ts`) run in a child: through tsx from source, or its
 * compiled copy when the suites run compiled. `polyfill` loads src/polyfill first,
 * as every libp2p process needs (STACK-NOTES).
 */
export function scriptArgs (rel: string, options: { polyfill?: boolean } = {}): string[] {
  if (COMPILED) {
    const js = (r: string): string => join(REPO_ROOT, BUILD_DIR, r.replace(/\.ts$/, '.js'))
    return [...(options.polyfill === true ? ['--import', pathToFileURL(js('src/polyfill.ts')).href] : []), js(rel)]
  }
  return ['--import', 'tsx', ...(options.polyfill === true ? ['--import', pathToFileURL(join(REPO_ROOT, 'src', 'polyfill.ts')).href] : []), join(REPO_ROOT, rel)]
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
