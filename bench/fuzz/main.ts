/**
 * `npm run fuzz -- [--minutes N | --inputs N] [--only name[,name]] [--seed S] [--save DIR] [--corpus DIR] [--stuck-ms MS]`
 *
 * Fuzzes every decoder that takes untrusted bytes (targets.ts) with fast-check
 * (deterministic seeds, runs inside tap for the short seeded test, no native build)
 * and prints, per decoder: inputs tried, rate, crashes (an exception that is not a
 * StoremeshError with a stable code, or E_INTERNAL), hangs (an input over 1 s), the
 * slowest input; then the process's peak RSS (the workers' included: they are threads
 * of this process). `--minutes` is the whole run's budget, shared evenly by the
 * targets. Each target runs in a worker thread (supervise.ts): an input still running
 * after `--stuck-ms` (default 5 s) is killed, counted as a hang and its input written
 * to `--corpus DIR/<target>/stuck-<seed>-<n>.bin` (default the regression corpus,
 * test/fixtures/fuzz-corpus/, so `npm test` fails on it until it is fixed). `--save DIR`
 * writes every finding to `DIR/<target>/<kind>-<seed>-<n>.bin`.
 * Exit 1 when anything crashed or hung.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { DEFAULT_HANG_MS, type TargetStats } from './runner.js'
import { fuzzTargetSupervised } from './supervise.js'
import { TARGETS, targetNamed } from './targets.js'

const MS_PER_MINUTE = 60_000
const KIB = 1024

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    inputs: { type: 'string' },
    only: { type: 'string' },
    seed: { type: 'string', default: '1' },
    save: { type: 'string' },
    corpus: { type: 'string', default: join('test', 'fixtures', 'fuzz-corpus') },
    'stuck-ms': { type: 'string' }
  }
})

const targets = values.only === undefined ? TARGETS : values.only.split(',').map(targetNamed)
const minutes = values.minutes === undefined ? undefined : Number(values.minutes)
const inputs = values.inputs === undefined ? undefined : Number(values.inputs)
if (minutes === undefined && inputs === undefined) {
  process.stderr.write('usage: npm run fuzz -- --minutes N | --inputs N [--only name,...] [--seed S] [--save DIR]\n')
  process.exit(64)
}
const seed = Number(values.seed)
const perTargetMs = minutes === undefined ? undefined : minutes * MS_PER_MINUTE / targets.length

const pad = (s: string | number, n: number): string => String(s).padStart(n)
// inputs/s is wall clock and falls with the machine's load; CPU µs per input (making and
// running it) does not, so both are printed, with the load they were taken at
process.stdout.write(`load ${loadavg().map(l => l.toFixed(1)).join(' ')} at start\n`)
process.stdout.write(`${'target'.padEnd(18)} ${pad('inputs', 9)} ${pad('inputs/s', 9)} ${pad('cpu µs/in', 9)} ${pad('crashes', 8)} ${pad('hangs', 6)} ${pad('max ms', 8)} ${pad('max cpu', 8)} ${pad('rss MiB', 8)}  top refusals\n`)
const all: TargetStats[] = []
for (const target of targets) {
  const stuckMs = values['stuck-ms'] === undefined ? undefined : Number(values['stuck-ms'])
  const s = await fuzzTargetSupervised(target, { seed, maxInputs: inputs, budgetMs: perTargetMs, hangMs: DEFAULT_HANG_MS, stuckMs })
  all.push(s)
  const rate = s.tried / (s.elapsedMs / 1000)
  const rssMiB = process.memoryUsage().rss / KIB / KIB
  const top = Object.entries(s.codes).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([c, n]) => `${c}:${n}`).join(' ')
  const cpuPerInputUs = s.tried > 0 ? 1000 * s.cpuMs / s.tried : 0
  process.stdout.write(`${s.name.padEnd(18)} ${pad(s.tried, 9)} ${pad(rate.toFixed(0), 9)} ${pad(cpuPerInputUs.toFixed(0), 9)} ${pad(s.crashes, 8)} ${pad(s.hangs, 6)} ${pad(s.maxMs.toFixed(1), 8)} ${pad(s.maxCpuMs.toFixed(1), 8)} ${pad(rssMiB.toFixed(0), 8)}  ${top}\n`)
  for (const f of s.findings.slice(0, 3)) {
    process.stdout.write(`  ${f.kind}: ${f.detail} input(${f.input.byteLength} bytes, hex prefix) ${Buffer.from(f.input.subarray(0, 48)).toString('hex')}\n`)
  }
  for (const [i, f] of s.findings.filter(f => f.detail.includes('worker killed')).entries()) {
    const dir = join(values.corpus, s.name)
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, `stuck-${seed}-${i}.bin`), f.input)
    process.stdout.write(`  stuck input saved: ${join(dir, `stuck-${seed}-${i}.bin`)}\n`)
  }
  if (values.save !== undefined) {
    for (const [i, f] of s.findings.entries()) {
      const dir = join(values.save, s.name)
      await mkdir(dir, { recursive: true })
      await writeFile(join(dir, `${f.kind}-${seed}-${i}.bin`), f.input)
    }
  }
}
const peakRssMiB = process.resourceUsage().maxRSS / KIB
const total = all.reduce((n, s) => n + s.tried, 0)
const bad = all.reduce((n, s) => n + s.crashes + s.hangs, 0)
process.stdout.write(`load ${loadavg().map(l => l.toFixed(1)).join(' ')} at the end; ${(all.reduce((n, s) => n + s.cpuMs, 0) / 1000).toFixed(0)} CPU-s fuzzing\n`)
process.stdout.write(`total ${total} inputs, ${all.reduce((n, s) => n + s.crashes, 0)} crashes, ${all.reduce((n, s) => n + s.hangs, 0)} hangs, peak RSS ${peakRssMiB.toFixed(0)} MiB (seed ${seed})\n`)
process.exit(bad > 0 ? 1 : 0)
