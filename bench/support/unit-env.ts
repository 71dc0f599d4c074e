/**
 * The memory settings a daemon's systemd unit gives it (`Environment=NODE_OPTIONS=…`,
 * `Environment=MALLOC_ARENA_MAX=…` and any other glibc `MALLOC_*`), so a bench runs the process as deployed and its
 * RSS figure is the deployed one (bench:origin for the super hub, bench:lan for the
 * store hub and the devices).
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

export type DaemonUnit = 'storemesh-super-hub' | 'storemesh-hub' | 'storemesh-device'

/**
 * The unit file in the repo's systemd/: two levels up from this module when run from
 * source, three when run compiled from .test-build/bench/support/ (sim:validate's test).
 */
export function unitPath (unit: DaemonUnit): string {
  const candidates = ['../../', '../../../'].map(up => fileURLToPath(new URL(`${up}systemd/${unit}.service`, import.meta.url)))
  return candidates.find(p => existsSync(p)) ?? candidates[0]!
}

/** NODE_OPTIONS and the glibc MALLOC_* settings as the unit sets them (absent when it does not). */
export async function unitEnv (unit: DaemonUnit): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const line of (await readFile(unitPath(unit), 'utf8')).split('\n')) {
    // `Environment=K=V` or, when V has spaces, `Environment="K=V"`
    const m = /^Environment="?(NODE_OPTIONS|MALLOC_[A-Z_]+)=(.*?)"?$/.exec(line.trim())
    if (m?.[1] !== undefined && m[2] !== undefined) out[m[1]] = m[2]
  }
  return out
}

/** The child environment: ours, the unit's memory settings, then any extra NODE_OPTIONS on top. */
export function withUnitEnv (unit: Record<string, string>, extraNodeOptions = ''): NodeJS.ProcessEnv {
  const nodeOptions = [process.env.NODE_OPTIONS, unit.NODE_OPTIONS, extraNodeOptions].filter(x => x !== undefined && x !== '').join(' ')
  return { ...process.env, ...unit, ...(nodeOptions !== '' ? { NODE_OPTIONS: nodeOptions } : {}) }
}
