/**
 * What the process benchmarks (bench/lan.ts, bench/hostile.ts) read of their children:
 * CPU time and peak RSS from /proc, and a bounded wait. Linux only, as the benches are.
 */
import type { ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'

/** Linux USER_HZ: what /proc/<pid>/stat counts CPU in. */
export const CLK_TCK = 100

/** `p`, or a rejection naming `what` after `ms`; the timer never outlives the race. */
export async function withDeadline<T> (what: string, p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`timed out after ${ms} ms: ${what}`)) }, ms) })
  try {
    return await Promise.race([p, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** utime + stime of a live process, in seconds (0 once it is gone). */
export async function cpuSecOf (pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0
  const s = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
  if (s === '') return 0
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ')
  return (Number(rest[11]) + Number(rest[12])) / CLK_TCK
}

/**
 * utime + stime of a process's main thread alone, in seconds (0 once it is gone). The
 * rest of cpuSecOf is its helper threads: V8's optimizing compiler and GC workers and
 * libuv's file-system pool. They are unnamed in a Node process, so not told apart here.
 */
export async function mainThreadCpuSecOf (pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0
  const s = await readFile(`/proc/${pid}/task/${pid}/stat`, 'utf8').catch(() => '')
  if (s === '') return 0
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ')
  return (Number(rest[11]) + Number(rest[12])) / CLK_TCK
}

/** Peak resident set (VmHWM) of a live process, in bytes (0 once it is gone). */
export async function peakRssOf (pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0
  const s = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  return Number(/VmHWM:\s+(\d+) kB/.exec(s)?.[1] ?? 0) * 1024
}

/** SIGTERM, then SIGKILL if the child has not exited within `graceMs`. */
export async function stopChild (child: ChildProcess, exited: Promise<void>, graceMs: number): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  await withDeadline('stop', exited, graceMs).catch(async () => { child.kill('SIGKILL'); await exited })
}

/** CPU seconds of a process and every descendant alive now (nginx's master and its workers). */
export async function treeCpuSecOf (pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0
  let total = await cpuSecOf(pid)
  const kids = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')
  for (const k of kids.split(' ').filter(x => x !== '')) total += await treeCpuSecOf(Number(k))
  return total
}

/** The 1-minute load average, as `uptime` prints it (what a figure was taken under). */
export async function loadAvg (): Promise<string> {
  return (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ')
}

/**
 * A process's resident bytes now, by kind of mapping (/proc/PID/smaps): glibc's brk heap
 * (`[heap]`: what malloc keeps, freed or not), anonymous mappings (V8's heap, mmapped
 * buffers, other arenas), file-backed pages (the node binary, libraries) and the rest.
 */
export async function rssSplitOf (pid: number | undefined): Promise<{ brk: number, anon: number, file: number, other: number }> {
  const out = { brk: 0, anon: 0, file: 0, other: 0 }
  if (pid === undefined) return out
  const text = await readFile(`/proc/${pid}/smaps`, 'utf8').catch(() => '')
  let kind: keyof typeof out = 'other'
  for (const line of text.split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line)
    if (head !== null) {
      const name = head[1] ?? ''
      kind = name === '[heap]' ? 'brk' : name === '' ? 'anon' : name.startsWith('/') ? 'file' : 'other'
      continue
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line)
    if (rss !== null) out[kind] += Number(rss[1]) * 1024
  }
  return out
}

/**
 * A process's main thread as the scheduler counted it (/proc/<pid>/task/<pid>/schedstat,
 * nanoseconds): time on a CPU and time runnable but waiting on a run queue. Their ratio
 * is the share of a core the thread got whenever it wanted one: how starved it was on a
 * loaded host, which /proc/<pid>/stat's CPU ticks alone do not say. Zeros once it is gone.
 */
export async function schedOf (pid: number | undefined): Promise<{ cpuSec: number, waitSec: number }> {
  if (pid === undefined) return { cpuSec: 0, waitSec: 0 }
  const s = await readFile(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').catch(() => '')
  const [cpuNs, waitNs] = s.split(' ').map(Number)
  return { cpuSec: (cpuNs ?? 0) / 1e9 || 0, waitSec: (waitNs ?? 0) / 1e9 || 0 }
}
