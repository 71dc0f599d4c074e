/**
 * bench:lan's child processes: each one's readiness (its ` ready: ` line), when it
 * logged a bundle complete and verified, its stderr tail and optional log file, and the
 * live set killed on exit. Split from bench/lan.ts, which runs the measurements.
 */
import type { ChildProcess } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { readStatusFile, type BundleStatus } from '../../src/roles/peer-status.js'
import { cpuSecOf, stopChild } from './proc.js'

export interface Proc { child: ChildProcess, dataDir: string, ready: Promise<void>, exited: Promise<void>, stderr: () => string
  /** when this process printed that a bundle was complete and verified (ms since epoch, by bundle id) */
  verifiedAt: Map<string, number> }

/** every child started and not yet exited, killed by killAll() */
export const live = new Set<ChildProcess>()

export function killAll (): void {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
}

/** `logsDir`: '' for none; else every line of the child's stdout and stderr is appended to a file there */
export function track (child: ChildProcess, dataDir: string, logsDir: string): Proc {
  live.add(child)
  let out = ''
  let err = ''
  const verifiedAt = new Map<string, number>()
  const exited = new Promise<void>(resolve => { child.once('exit', () => { live.delete(child); resolve() }) })
  const logFile = logsDir !== '' ? join(logsDir, dataDir.split('/').slice(-2).join('-') + '.log') : undefined
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (logFile !== undefined) appendFileSync(logFile, d)
      out += d.toString()
      if (/ ready: /.test(out)) resolve()
    })
    let partial = ''
    child.stderr?.on('data', (d: Buffer) => {
      if (logFile !== undefined) appendFileSync(logFile, d)
      err = (err + d.toString()).slice(-4000)
      // log lines: `<ISO time> <text>`
      const lines = (partial + d.toString()).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        const m = /^(\S+) bundle (b3:[0-9a-f]{64}) complete and verified/.exec(line)
        if (m?.[1] !== undefined && m[2] !== undefined && !verifiedAt.has(m[2])) verifiedAt.set(m[2], Date.parse(m[1]))
      }
    })
    void exited.then(() => { reject(new Error(`${dataDir}: exited before ready (${String(child.exitCode)}): ${err.slice(-1500)}`)) })
  })
  ready.catch(() => {})
  return { child, dataDir, ready, exited, stderr: () => err, verifiedAt }
}

/** with TIMER_CENSUS_DIR and `--node-args "--require bench/support/timer-census.cjs"`: each child writes its wake-ups since the last dump */
export function censusDump (procs: Proc[]): void {
  if ((process.env.TIMER_CENSUS_DIR ?? '') !== '') for (const p of procs) p.child.kill('SIGUSR2')
}

export async function cpuSecOfAll (procs: Proc[], of = cpuSecOf): Promise<number> {
  return (await Promise.all(procs.map(async p => await of(p.child.pid)))).reduce((a, b) => a + b, 0)
}

export async function bundleStatus (dataDir: string, id: string): Promise<BundleStatus | undefined> {
  const s = await readStatusFile(dataDir).catch(() => undefined)
  return s?.bundles.find(x => x.id === id)
}

export async function stopAll (procs: Proc[], graceMs: number): Promise<void> {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM')
  await Promise.all(procs.map(async p => { await stopChild(p.child, p.exited, graceMs) }))
}
