/**
 * bench:hostile's child processes: each is tracked from its output (ready, a bundle
 * verified, a peer's claim and its naming as a hoarder, read from the debug log lines of
 * swarm/peer-trace.ts) and killed by the bench's cleanup through `live`.
 */
import type { ChildProcess } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { sleep } from '../../src/interface/abort.js'

const POLL_MS = 100

export interface Proc {
  child: ChildProcess, name: string, ready: Promise<void>, exited: Promise<void>, stderr: () => string, lines: string[], verifiedAt: Map<string, number>
  /** a device at --log-level debug (the hoarders' runs): when its log says each peer claimed every chunk or a partial bitfield, and when it named each a hoarder (swarm/peer-trace.ts) */
  claimedAt: Map<string, number>, hoardingAt: Map<string, number>
}

/** every child still running, for the bench's cleanup */
export const live = new Set<ChildProcess>()

/** `readyOn`: what on stdout says the process is up (the CLI's ` ready: `, the attacker's JSON ready event). */
export function track (child: ChildProcess, name: string, readyOn: RegExp, logsDir = ''): Proc {
  live.add(child)
  let out = ''
  let err = ''
  let partial = ''
  const lines: string[] = []
  const verifiedAt = new Map<string, number>()
  const claimedAt = new Map<string, number>()
  const hoardingAt = new Map<string, number>()
  const logFile = logsDir !== '' ? join(logsDir, name + '.log') : undefined
  const exited = new Promise<void>(resolve => { child.once('exit', () => { live.delete(child); resolve() }) })
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const ls = out.split('\n')
      out = ls.pop() ?? ''
      lines.push(...ls)
      if (logFile !== undefined && ls.length > 0) appendFileSync(logFile, ls.map(l => 'stdout ' + l + '\n').join(''))
      if (lines.some(l => readyOn.test(l))) resolve()
    })
    void exited.then(() => { reject(new Error(`${name}: exited before ready (${String(child.exitCode)}): ${err.slice(-1500)}`)) })
  })
  ready.catch(() => {})
  child.stderr?.on('data', (d: Buffer) => {
    if (logFile !== undefined) appendFileSync(logFile, d)
    err = (err + d.toString()).slice(-4000)
    const ls = (partial + d.toString()).split('\n')
    partial = ls.pop() ?? ''
    for (const line of ls) {
      const m = /^(\S+) bundle (b3:[0-9a-f]{64}) complete and verified/.exec(line)
      if (m?.[1] !== undefined && m[2] !== undefined && !verifiedAt.has(m[2])) verifiedAt.set(m[2], Date.parse(m[1]))
      const c = /^(\S+) DEBUG peer (\S+) claims (?:every chunk|\d+\/\d+ chunks)/.exec(line)
      if (c?.[1] !== undefined && c[2] !== undefined && !claimedAt.has(c[2])) claimedAt.set(c[2], Date.parse(c[1]))
      const h = /^(\S+) WARN protocol violation hoarding by (\S+):/.exec(line)
      if (h?.[1] !== undefined && h[2] !== undefined && !hoardingAt.has(h[2])) hoardingAt.set(h[2], Date.parse(h[1]))
    }
  })
  return { child, name, ready, exited, stderr: () => err, lines, verifiedAt, claimedAt, hoardingAt }
}

/** Polls `cond` until it holds; fails at `ms` or as soon as one of `procs` exits. */
export async function until (what: string, cond: () => Promise<boolean>, ms: number, procs: Proc[]): Promise<void> {
  const end = Date.now() + ms
  while (!await cond()) {
    for (const p of procs) if (p.child.exitCode !== null) throw new Error(`${what}: ${p.name} exited (${p.child.exitCode}): ${p.stderr().slice(-1500)}`)
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`)
    await sleep(POLL_MS)
  }
}
