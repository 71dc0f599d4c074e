/**
 * Where a daemon's resident memory is at its peak (issue #19): /proc/<pid>/smaps_rollup
 * read every second, the sample with the largest Rss kept per process. Anonymous pages
 * are the process's own (V8's heap, malloc, WebAssembly memories, thread stacks);
 * file-backed pages are mostly the node binary's code and ICU data, shared with every
 * Node process and reclaimable, but counted in RSS all the same. Linux only.
 */
import { readFile } from 'node:fs/promises'

const KiB = 1024
const MiB = 1024 * KiB
const SAMPLE_EVERY_MS = 1000

export interface SmapsSample { rssBytes: number, anonBytes: number, fileBytes: number, shmemBytes: number }

/** One read of smaps_rollup (undefined once the process is gone). */
export async function smapsOf (pid: number): Promise<SmapsSample | undefined> {
  const s = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '')
  if (s === '') return undefined
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * KiB
  const rssBytes = kb('Rss')
  const anonBytes = kb('Anonymous')
  const shmemBytes = kb('Pss_Shmem')
  return { rssBytes, anonBytes, shmemBytes, fileBytes: Math.max(0, rssBytes - anonBytes - shmemBytes) }
}

export interface SmapsPeaks {
  /** stops sampling; the largest-Rss sample of each process, by the name it was given */
  stop: () => Map<string, SmapsSample>
}

/** Samples each named process every second until stop(); a bounded loop, one timer. */
export function sampleSmapsPeaks (pids: Map<string, number | undefined>): SmapsPeaks {
  const peaks = new Map<string, SmapsSample>()
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  const tick = async (): Promise<void> => {
    for (const [name, pid] of pids) {
      if (pid === undefined) continue
      const s = await smapsOf(pid)
      if (s !== undefined && s.rssBytes > (peaks.get(name)?.rssBytes ?? 0)) peaks.set(name, s)
    }
    if (!stopped) timer = setTimeout(() => { void tick() }, SAMPLE_EVERY_MS)
  }
  void tick()
  return {
    stop: () => {
      stopped = true
      clearTimeout(timer)
      return peaks
    }
  }
}

/** `hub 115 MiB (anon 62, file 53)`, one entry per process. */
export function formatSmapsPeaks (peaks: Map<string, SmapsSample>): string {
  const m = (b: number): string => (b / MiB).toFixed(0)
  return [...peaks].map(([name, s]) => `${name} ${m(s.rssBytes)} MiB (anon ${m(s.anonBytes)}, file ${m(s.fileBytes)}${s.shmemBytes > 0 ? `, shmem ${m(s.shmemBytes)}` : ''})`).join(', ')
}

/** The hub's entry and the device with the largest peak, for one line at any N. */
export function largestDevice (peaks: Map<string, SmapsSample>): Map<string, SmapsSample> {
  const devices = [...peaks].filter(([name]) => name !== 'hub').sort((a, b) => b[1].rssBytes - a[1].rssBytes)
  const hub = peaks.get('hub')
  return new Map([...(hub !== undefined ? [['hub', hub] as const] : []), ...devices.slice(0, 1)])
}
