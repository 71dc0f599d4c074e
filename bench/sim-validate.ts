/**
 * `npm run sim:validate [-- --n 4,8,16] [--bundle-mib 8] [--rate 256KiB/s] [--seeds 5] [--connect-ms measured|<ms>]
 *   [--startup-deadline-ms 900000] [--cli-dist <dir>] [--replay <log>]`
 *
 * The model judged is the LAN model with a host CPU (src/sim/host-cpu.ts: bench:lan's
 * N + 1 processes share one machine; each main thread's CPU per MiB sent and received
 * and its share of a core while runnable, measured in the same run) and the hub's
 * connection to each device opening when the run's hub status first counted it. Beside
 * it: the host CPU alone, and the model as the fleet simulator runs it (a CPU per node).
 * docs/sim-validate.md has the runs.
 *
 * The simulator against the real swarm in one run: for each N, the store as real
 * processes through bench:lan (bench/lan.ts, its machinery and parameters: 8 MiB at
 * 256 KiB/s caps by default, the same seeded bundle, so the same chunk sizes), then the
 * same store through the simulator's full-fidelity LAN model (the product's picker,
 * choker, super-seeder and upload turns on simulated time; mean of --seeds seeds).
 * Prints makespan, hub copies and duplicates side by side and whether makespan and
 * copies agree within 15%.
 *
 * On a loaded machine: each N is its own bench:lan process with a start-up deadline of
 * --startup-deadline-ms (bench:lan's 300 s default starved a niced N = 16 at load 30+),
 * so a starved N costs only itself. bench:lan starts every device, waits for all to be
 * ready, then starts the hub and measures from the hub's ready line. The model connects
 * the hub to every device --connect-ms after that (500 ms: discovery and dials on a quiet
 * machine); `--connect-ms measured` takes instead the time the run's hub status first
 * counted all N peers, printed either way. It is not the default: at load 58 the hub
 * counted its 16th peer at 115.6 s of a 120.7 s run, having uploaded its first full copy
 * at 54.8 s: it measures the last dial, not the swarm's start.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseRate } from '../src/wan/rate.js'
import { hubConnectSchedule, parseBenchLan, simulateBenchStore } from '../src/sim/validate.js'
import { REPO_ROOT } from '../test/support/cli.js'
import { makeBundleDir } from '../test/support/lan-fixture.js'

const MiB = 1024 * 1024
const args = process.argv.slice(2)
const opt = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? (args[i + 1] ?? def) : def
}
const NS = opt('n', '4,8,16').split(',').map(Number)
const BUNDLE_MIB = Number(opt('bundle-mib', '8'))
const RATE = opt('rate', '256KiB/s')
const SEEDS = Number(opt('seeds', '5'))
const CONNECT = opt('connect-ms', '500')
/** the model's connect time when the run did not measure one (README: 0.5-2 s on a quiet machine) */
const CONNECT_DEFAULT_MS = 500
const STARTUP_DEADLINE_MS = opt('startup-deadline-ms', '900000')
const CLI_DIST = opt('cli-dist', '')
/** `--replay <file>`: no processes; the bench:lan output saved in <file> (a sim:validate log) is compared again */
const REPLAY = opt('replay', '')
const TARGET = 0.15
/** bench:lan's chunking: its --avg-chunk-kib default, min a quarter, max four times */
const AVG_CHUNK_BYTES = 256 * 1024

async function chunkSizes (): Promise<number[]> {
  const dir = await mkdtemp(join(tmpdir(), 'storemesh-sim-validate-'))
  try {
    // bench/lan.ts builds this very bundle (name, size, seed, chunking): same chunks
    const { info } = await makeBundleDir(dir, 'bench-os', BUNDLE_MIB * MiB, 23, '1.0.0', { minBytes: AVG_CHUNK_BYTES / 4, avgBytes: AVG_CHUNK_BYTES, maxBytes: AVG_CHUNK_BYTES * 4 })
    return info.pieces.map(p => p.size)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function runBenchLan (n: number): Promise<string> {
  if (REPLAY !== '') {
    const log = (await readFile(REPLAY, 'utf8')).split('\n').map(l => l.replace(/^ {2}\| /, ''))
    // the lines of this N's own bench:lan run: from its N= line to the next one
    const from = log.findIndex(l => l.startsWith(`N=${n} `))
    const to = log.findIndex((l, i) => i > from && /^N=\d+ /.test(l))
    return from < 0 ? '' : log.slice(from, to < 0 ? undefined : to).join('\n')
  }
  const argv = ['--import', 'tsx', join(REPO_ROOT, 'bench', 'lan.ts'), '--n', String(n), '--bundle-mib', String(BUNDLE_MIB), '--rate', RATE,
    '--skip-http', '--skip-wire', '--idle-ms', '0', '--startup-deadline-ms', STARTUP_DEADLINE_MS, ...(CLI_DIST !== '' ? ['--cli-dist', CLI_DIST] : [])]
  const child = spawn(process.execPath, argv, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); process.stdout.write(`  | ${d.toString().replace(/\n(?=.)/g, '\n  | ')}`) })
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  // a partial run still compares the N it measured; the missing ones are reported
  if (code !== 0) console.log(`bench:lan exited ${String(code)} (its error is above)`)
  return out
}

const sizes = await chunkSizes()
const rate = parseRate(RATE)
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`
const signed = (x: number): string => `${x >= 0 ? '+' : ''}${pct(x)}`
const sec = (ms: number): string => `${(ms / 1000).toFixed(1)} s`
const cores = cpus().length
console.log(`sim:validate  ${BUNDLE_MIB} MiB in ${sizes.length} chunks, every upload capped at ${RATE}, N = ${NS.join(', ')}; simulator: mean of ${SEEDS} seeds, ` +
  `connect ${CONNECT === 'measured' ? 'as measured in each real run' : `${CONNECT} ms`}; load ${loadavg().map(x => x.toFixed(1)).join(' ')}`)
let ok = true
const rows: string[] = []
for (const n of NS) {
  console.log(`real processes (bench:lan --n ${n}):`)
  const r = parseBenchLan(await runBenchLan(n)).get(n)
  const load = REPLAY !== '' ? 'as in the replayed run' : loadavg()[0]?.toFixed(1) ?? '?'
  const connectMs = CONNECT === 'measured' ? (r?.connectMs ?? CONNECT_DEFAULT_MS) : Number(CONNECT)
  if (r !== undefined) console.log(`  measured: the hub's status counted all ${n} peers at ${r.connectMs === undefined ? '?' : (r.connectMs / 1000).toFixed(1)} s`)
  const store = { n, pieceSizes: sizes, rateBytesPerSec: rate, connectMs, latencyMs: 1, seeds: SEEDS }
  const own = simulateBenchStore(store)
  console.log(`  sim N=${n}, a CPU per node: makespan ${sec(own.makespanMs)} (seeds ${own.perSeedMs.map(sec).join(' ')}; connect ${sec(connectMs)}), ` +
    `hub ${own.hubCopies.toFixed(2)} copies, duplicates ${pct(own.duplicateShare)}`)
  if (r === undefined) { console.log(`N=${n}: no measurement (load ${load})`); rows.push(`N=${n}  no measurement (load ${load})`); ok = false; continue }
  const cpuLoad = r.cpuTransferSec === undefined ? '?' : `${pct(r.cpuTransferSec / (r.makespanMs / 1000) / cores)} of ${cores} cores (${r.cpuTransferSec.toFixed(1)} CPU-s)`
  if (r.hostCpu === undefined) { console.log(`N=${n}: bench:lan printed no host CPU line`); rows.push(`N=${n}  no host CPU measurement (load ${load})`); ok = false; continue }
  const h = r.hostCpu
  // the model of what bench:lan runs on: N + 1 processes on this one host (src/sim/host-cpu.ts)
  const cpuOnly = simulateBenchStore({ ...store, hostCpu: h })
  console.log(`  sim N=${n}, host CPU as measured (send ${h.sendSecPerMiB.toFixed(4)} CPU-s/MiB, receive ${h.receiveSecPerMiB.toFixed(4)} CPU-s/MiB, core share ${h.coreShare.toFixed(3)}): ` +
    `makespan ${sec(cpuOnly.makespanMs)} (seeds ${cpuOnly.perSeedMs.map(sec).join(' ')}), hub ${cpuOnly.hubCopies.toFixed(2)} copies, duplicates ${pct(cpuOnly.duplicateShare)}`)
  // and the hub's connections as they opened (its status, written every second)
  const hubConnectMs = hubConnectSchedule(r, n, connectMs)
  const s = simulateBenchStore({ ...store, hostCpu: h, hubConnectMs })
  console.log(`  sim N=${n}, host CPU and the hub's connections at ${hubConnectMs.map(ms => (ms / 1000).toFixed(1)).join(' ')} s: ` +
    `makespan ${sec(s.makespanMs)} (seeds ${s.perSeedMs.map(sec).join(' ')}), hub ${s.hubCopies.toFixed(2)} copies, duplicates ${pct(s.duplicateShare)}`)
  const dm = s.makespanMs / r.makespanMs - 1
  const dc = s.hubCopies / r.hubCopies - 1
  const good = Math.abs(dm) <= TARGET && Math.abs(dc) <= TARGET
  ok &&= good
  const row = `N=${n}  makespan sim ${sec(s.makespanMs)} vs measured ${sec(r.makespanMs)} (${signed(dm)}; host CPU alone ${sec(cpuOnly.makespanMs)}, ${signed(cpuOnly.makespanMs / r.makespanMs - 1)}; a CPU per node ${sec(own.makespanMs)}, ${signed(own.makespanMs / r.makespanMs - 1)})  ` +
    `hub copies sim ${s.hubCopies.toFixed(2)} vs measured ${r.hubCopies.toFixed(2)} (${signed(dc)})  ` +
    `duplicates sim ${pct(s.duplicateShare)} vs measured ${r.duplicateShare === undefined ? '?' : pct(r.duplicateShare)}  ` +
    `real run's CPU ${cpuLoad}, main threads' core share ${h.coreShare.toFixed(3)}; load ${load}  target within ${100 * TARGET}%: ${good ? 'ok' : 'MISSED'}`
  console.log(row)
  rows.push(row)
}
console.log(`\nsim:validate summary (the model judged: host CPU (src/sim/host-cpu.ts) and the hub's connection times, both measured in each run):\n${rows.join('\n')}`)
if (!ok) process.exitCode = 1
