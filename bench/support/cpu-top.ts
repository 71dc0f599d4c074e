/**
 * Where a V8 CPU profile (`--cpu-prof`, node:inspector) spent its time, as text: self
 * time by function and by package (node_modules/<pkg>, node:internal, our src/), so a
 * benchmark can print what dominated a run. `node --import tsx bench/support/cpu-top.ts
 * <file.cpuprofile>` prints one file.
 */
import { readFile } from 'node:fs/promises'

interface ProfileNode { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, hitCount?: number }
export interface CpuProfile { nodes: ProfileNode[], startTime: number, endTime: number, samples?: number[] }

/** The part of a script URL that says whose code it is. */
function ownerOf (url: string): string {
  if (url === '') return '(native/V8)'
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (nm !== null) return nm[1]!
  if (url.startsWith('node:')) return 'node:' + (url.slice(5).split('/')[0] ?? '')
  const src = /\/(src|dist|bench|test)\/(.*)$/.exec(url)
  if (src !== null) return `${src[1]!}/${src[2]!.split('/')[0] ?? ''}`
  return url.split('/').slice(-1)[0] ?? url
}

export interface CpuTop { totalMs: number, byFunction: Array<[string, number]>, byOwner: Array<[string, number]> }

export function cpuTop (p: CpuProfile, n = 15): CpuTop {
  const totalMs = (p.endTime - p.startTime) / 1000
  const hits = p.nodes.reduce((a, x) => a + (x.hitCount ?? 0), 0)
  const msPerHit = hits > 0 ? totalMs / hits : 0
  const byFn = new Map<string, number>()
  const byOwner = new Map<string, number>()
  for (const x of p.nodes) {
    const ms = (x.hitCount ?? 0) * msPerHit
    if (ms === 0) continue
    const f = x.callFrame
    const where = f.url === '' ? '' : ` ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`
    const fnKey = `${f.functionName === '' ? '(anonymous)' : f.functionName}${where}`
    byFn.set(fnKey, (byFn.get(fnKey) ?? 0) + ms)
    const owner = f.url === '' && f.functionName.startsWith('(') ? f.functionName : ownerOf(f.url)
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + ms)
  }
  const top = (m: Map<string, number>): Array<[string, number]> => [...m].sort((a, b) => b[1] - a[1]).slice(0, n)
  return { totalMs, byFunction: top(byFn), byOwner: top(byOwner) }
}

export function formatCpuTop (label: string, t: CpuTop): string {
  const pct = (ms: number): string => `${(ms / t.totalMs * 100).toFixed(1).padStart(5)} %  ${(ms / 1000).toFixed(2).padStart(7)} s`
  return [
    `${label}: ${(t.totalMs / 1000).toFixed(1)} s profiled; self time by owner:`,
    ...t.byOwner.map(([k, ms]) => `  ${pct(ms)}  ${k}`),
    '  by function:',
    ...t.byFunction.map(([k, ms]) => `  ${pct(ms)}  ${k}`)
  ].join('\n')
}

export async function readCpuProfile (path: string): Promise<CpuProfile> {
  return JSON.parse(await readFile(path, 'utf8')) as CpuProfile
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  for (const f of process.argv.slice(2)) process.stdout.write(formatCpuTop(f, cpuTop(await readCpuProfile(f), 25)) + '\n')
}
