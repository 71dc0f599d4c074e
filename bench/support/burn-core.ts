/**
 * `--burn-core` (issue #19, robustness under CPU starvation): one process that spins
 * a busy loop for the whole run, pinned with taskset to the last core, so the swarm
 * under test has one core fewer and is starved whenever it wants both. The caller
 * kills it at the end; `cpuSec()` says how much it really took (a share of one core
 * times the run's wall time when the scheduler gave it the whole core).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { cpus } from 'node:os'
import { cpuSecOf } from './proc.js'

export interface Burner { child: ChildProcess, pinnedTo: number | undefined, startedAt: number, cpuSec: () => Promise<number> }

export function startBurner (): Burner {
  const loop = ['-e', 'for (;;) {}']
  const core = cpus().length - 1
  const pinned = spawnSync('taskset', ['--version']).status === 0
  const child = pinned
    ? spawn('taskset', ['-c', String(core), process.execPath, ...loop], { stdio: 'ignore' })
    : spawn(process.execPath, loop, { stdio: 'ignore' })
  return { child, pinnedTo: pinned ? core : undefined, startedAt: Date.now(), cpuSec: async () => await cpuSecOf(child.pid) }
}
