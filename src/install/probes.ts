/**
 * Commands with timeouts: peripheral probes (`probe.<name>` gates) and fact commands.
 * Each runs as `sh -c <run>` in a process group of its own, so a timeout kills the
 * whole pipeline (`lsusb | grep -q scanner`), not only the shell. The exec function
 * is injectable: tests and roles pass their own.
 */
import { spawn } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { StoremeshError } from '../interface/errors.js'
import type { ProbeResult } from '../interface/types.js'

/** Output kept per stream; probes and fact commands print a line or two. */
export const DEFAULT_EXEC_MAX_OUTPUT_BYTES = 64 * 1024
/** After SIGKILL, wait this long for the pipes to close before giving up on them. */
export const KILL_GRACE_MS = 2_000
/** Detail lines quote this much of a command's output. */
const DETAIL_OUTPUT_CHARS = 160

export interface ExecRequest {
  /** run with `sh -c` */
  command: string
  timeoutMs: number
  signal?: AbortSignal
  cwd?: string
  maxOutputBytes?: number
}

export interface ExecResult {
  /** null when killed or never started */
  exitCode: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  timedOut: boolean
  /** the process could not be started (ENOENT, EACCES ...) */
  error?: string
  durationMs: number
}

export type ExecFn = (req: ExecRequest) => Promise<ExecResult>

/** What a probe needs from a policy's peripheral check. */
export interface ProbeSpec {
  name: string
  run: string
  timeoutSeconds: number
}

function collector (limit: number): { push: (b: Buffer) => void, text: () => string } {
  const parts: Buffer[] = []
  let size = 0
  return {
    push: (b: Buffer) => {
      if (size >= limit) return
      const keep = b.subarray(0, limit - size)
      parts.push(keep)
      size += keep.length
    },
    text: () => Buffer.concat(parts).toString('utf8')
  }
}

/** The real exec: `sh -c` in its own process group, SIGKILL to the group on timeout or abort. */
export const shellExec: ExecFn = async (req) => {
  if (req.signal?.aborted === true) throw new StoremeshError('E_ABORTED', 'aborted before start')
  const started = performance.now()
  const limit = req.maxOutputBytes ?? DEFAULT_EXEC_MAX_OUTPUT_BYTES
  const out = collector(limit)
  const err = collector(limit)
  const child = spawn('sh', ['-c', req.command], { cwd: req.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout.on('data', out.push)
  child.stderr.on('data', err.push)
  let timedOut = false
  let aborted = false
  let spawnError: string | undefined
  const killGroup = (): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
    } catch {
      child.kill('SIGKILL')
    }
  }
  return await new Promise<ExecResult>((resolve, reject) => {
    let grace: NodeJS.Timeout | undefined
    let done = false
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
      // 'error' may be followed by 'close', and the grace timer may race 'close'.
      if (done) return
      done = true
      clearTimeout(timer)
      clearTimeout(grace)
      req.signal?.removeEventListener('abort', onAbort)
      if (aborted) {
        reject(new StoremeshError('E_ABORTED', 'command aborted', { command: req.command.slice(0, 80) }))
        return
      }
      resolve({
        exitCode, signal, stdout: out.text(), stderr: err.text(), timedOut,
        ...(spawnError !== undefined ? { error: spawnError } : {}),
        durationMs: performance.now() - started
      })
    }
    const stop = (): void => {
      killGroup()
      // A grandchild holding the pipes open must not hold us: give up on them after the grace.
      grace = setTimeout(() => {
        child.stdout.destroy()
        child.stderr.destroy()
        finish(null, 'SIGKILL')
      }, KILL_GRACE_MS)
    }
    const onAbort = (): void => { aborted = true; stop() }
    const timer = setTimeout(() => { timedOut = true; stop() }, req.timeoutMs)
    req.signal?.addEventListener('abort', onAbort, { once: true })
    child.on('error', e => { spawnError = e.message; finish(null, null) })
    child.on('close', (code, signal) => finish(code, signal))
  })
}

function firstLine (s: string): string {
  const line = s.split('\n').map(l => l.trim()).find(l => l !== '') ?? ''
  return line.length > DETAIL_OUTPUT_CHARS ? line.slice(0, DETAIL_OUTPUT_CHARS) + '…' : line
}

/** A human detail for a finished command: `exit 1: no scanner`, `timed out after 5 s (killed)`. */
export function describeExec (r: ExecResult, timeoutSeconds: number): string {
  if (r.timedOut) return `timed out after ${timeoutSeconds} s (killed)`
  if (r.error !== undefined) return `could not run: ${r.error}`
  if (r.exitCode === null) return `killed by ${r.signal ?? 'a signal'}`
  const text = firstLine(r.exitCode === 0 ? r.stdout : (r.stderr !== '' ? r.stderr : r.stdout))
  return `exit ${r.exitCode}${text !== '' ? `: ${text}` : ''}`
}

export interface ProbeOptions {
  exec?: ExecFn
  signal?: AbortSignal
  cwd?: string
}

/** Runs one probe; a probe that fails, times out or cannot start is a failed result, never a throw (except abort). */
export async function runProbe (check: ProbeSpec, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const exec = opts.exec ?? shellExec
  const r = await exec({ command: check.run, timeoutMs: Math.round(check.timeoutSeconds * 1000), signal: opts.signal, cwd: opts.cwd })
  return {
    ok: !r.timedOut && r.error === undefined && r.exitCode === 0,
    detail: describeExec(r, check.timeoutSeconds),
    exitCode: r.exitCode,
    durationMs: Math.round(r.durationMs)
  }
}

/** Runs all probes at once (each bounded by its own timeout); results keyed by probe name. */
export async function runProbes (checks: readonly ProbeSpec[], opts: ProbeOptions = {}): Promise<Record<string, ProbeResult>> {
  const results = await Promise.all(checks.map(async c => [c.name, await runProbe(c, opts)] as const))
  return Object.fromEntries(results)
}
