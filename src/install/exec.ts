/**
 * Runs an operator command (health check, probe, backend hook, bootloader tool) with
 * a timeout and an AbortSignal. A string runs through `/bin/sh -c` (operators write
 * pipelines such as `lsusb | grep -q scanner`); an array runs without a shell.
 * The child gets its own process group so a timeout kills the whole pipeline.
 */
import { spawn } from 'node:child_process'
import { DEFAULT_COMMAND_TIMEOUT_MS, MAX_COMMAND_OUTPUT_BYTES } from './constants.js'

export type CommandLine = string | string[]

export interface ExecRequest {
  command: CommandLine
  /** added to the parent's environment */
  env?: Record<string, string>
  /** bytes fed to stdin; stdin is closed when they end */
  input?: AsyncIterable<Uint8Array> | Uint8Array
  /** @default DEFAULT_COMMAND_TIMEOUT_MS */
  timeoutMs?: number
  signal?: AbortSignal
  /** @default MAX_COMMAND_OUTPUT_BYTES, per stream */
  maxOutputBytes?: number
}

export interface ExecResult {
  /** exit code; null when killed */
  code: number | null
  stdout: string
  stderr: string
  timedOut: boolean
  /** the command could not be started (not found, not executable) */
  spawnError?: string
}

export type ExecFn = (req: ExecRequest) => Promise<ExecResult>

export function argvOf (command: CommandLine): [string, string[]] {
  if (typeof command === 'string') return ['/bin/sh', ['-c', command]]
  const [cmd, ...args] = command
  return [cmd ?? '', args]
}

export function describeCommand (command: CommandLine): string {
  return typeof command === 'string' ? command : command.join(' ')
}

function killGroup (pid: number | undefined): void {
  if (pid === undefined) return
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

export const execCommand: ExecFn = async (req) => {
  const [cmd, args] = argvOf(req.command)
  const maxOut = req.maxOutputBytes ?? MAX_COMMAND_OUTPUT_BYTES
  const timeoutMs = req.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS
  if (req.signal?.aborted === true) {
    return { code: null, stdout: '', stderr: 'aborted before start', timedOut: false }
  }
  return await new Promise<ExecResult>((resolve) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, ...req.env },
      stdio: [req.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: true
    })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    let spawnError: string | undefined
    const keep = (acc: string, d: Buffer): string => acc.length >= maxOut ? acc : acc + d.toString('utf8').slice(0, maxOut - acc.length)
    child.stdout?.on('data', (d: Buffer) => { stdout = keep(stdout, d) })
    child.stderr?.on('data', (d: Buffer) => { stderr = keep(stderr, d) })
    const timer = setTimeout(() => { timedOut = true; killGroup(child.pid) }, timeoutMs)
    const onAbort = (): void => killGroup(child.pid)
    req.signal?.addEventListener('abort', onAbort, { once: true })
    child.on('error', (err) => { spawnError = err.message })
    if (req.input !== undefined && child.stdin !== null) {
      const stdin = child.stdin
      stdin.on('error', () => {}) // EPIPE when the command exits without reading all
      void feed(stdin, req.input).catch(() => killGroup(child.pid))
    }
    child.on('close', (code) => {
      clearTimeout(timer)
      req.signal?.removeEventListener('abort', onAbort)
      resolve({ code: spawnError !== undefined ? null : code, stdout, stderr, timedOut, ...(spawnError !== undefined ? { spawnError } : {}) })
    })
  })
}

async function feed (stdin: NodeJS.WritableStream, input: AsyncIterable<Uint8Array> | Uint8Array): Promise<void> {
  const write = async (chunk: Uint8Array): Promise<void> => {
    if (stdin.write(chunk)) return
    // wait for room, or give up when the command closed its stdin
    await new Promise<void>((resolve, reject) => {
      const done = (): void => { stdin.off('drain', done); stdin.off('close', closed); resolve() }
      const closed = (): void => { stdin.off('drain', done); reject(new Error('stdin closed')) }
      stdin.once('drain', done)
      stdin.once('close', closed)
    })
  }
  if (input instanceof Uint8Array) await write(input)
  else for await (const chunk of input) await write(chunk)
  stdin.end()
}

/** True when the command exited 0 within its time. */
export function succeeded (r: ExecResult): boolean {
  return r.code === 0 && !r.timedOut && r.spawnError === undefined
}

/** One line for logs and errors: why a command did not succeed. */
export function failureOf (r: ExecResult): string {
  if (r.spawnError !== undefined) return `could not start: ${r.spawnError}`
  if (r.timedOut) return 'timed out'
  const err = r.stderr.trim().split('\n').pop() ?? ''
  return `exit ${String(r.code)}${err.length > 0 ? `: ${err.slice(0, 200)}` : ''}`
}
