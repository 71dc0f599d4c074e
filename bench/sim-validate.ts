/**
 * `npm run sim:validate [-- --n 4,8,16] [--bundle-mib 8] [--rate 256KiB/s] [--seeds 5] [--connect-ms 500] [--cli-dist <dir>]`
 *
 * The simulator against the real swarm in one run: for each N, one store through the
 * simulator's full-fidelity LAN model (the product's picker, choker, super-seeder and
 * upload turns on simulated time; mean of --seeds seeds) and the same store as real
 * processes through bench:lan (bench/lan.ts, its machinery and parameters: 8 MiB at
 * 256 KiB/s caps by default, the same seeded bundle, so the same chunk sizes). Prints
 * makespan and hub copies side by side and whether they agree within 15%.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseRate } from '../src/wan/rate.js'
import { parseBenchLan, simulateBenchStore } from '../src/sim/validate.js'
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
const CONNECT_MS = Number(opt('connect-ms', '500'))
const CLI_DIST = opt('cli-dist', '')
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

async function runBenchLan (): Promise<string> {
  const argv = ['--import', 'tsx', join(REPO_ROOT, 'bench', 'lan.ts'), '--n', NS.join(','), '--bundle-mib', String(BUNDLE_MIB), '--rate', RATE,
    '--skip-http', '--skip-wire', '--idle-ms', '0', ...(CLI_DIST !== '' ? ['--cli-dist', CLI_DIST] : [])]
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
console.log(`sim:validate  ${BUNDLE_MIB} MiB in ${sizes.length} chunks, every upload capped at ${RATE}, N = ${NS.join(', ')}; simulator: mean of ${SEEDS} seeds, connect ${CONNECT_MS} ms`)
const sim = new Map(NS.map(n => [n, simulateBenchStore({ n, pieceSizes: sizes, rateBytesPerSec: rate, connectMs: CONNECT_MS, latencyMs: 1, seeds: SEEDS })]))
for (const [n, s] of sim) console.log(`  sim N=${n}: makespan ${(s.makespanMs / 1000).toFixed(1)} s (seeds ${s.perSeedMs.map(x => (x / 1000).toFixed(1)).join(' ')}), hub ${s.hubCopies.toFixed(2)} copies`)
console.log('real processes (bench:lan):')
const real = parseBenchLan(await runBenchLan())
let ok = true
for (const n of NS) {
  const s = sim.get(n)
  const r = real.get(n)
  if (s === undefined || r === undefined) { console.log(`N=${n}: no measurement`); ok = false; continue }
  const dm = s.makespanMs / r.makespanMs - 1
  const dc = s.hubCopies / r.hubCopies - 1
  const good = Math.abs(dm) <= TARGET && Math.abs(dc) <= TARGET
  ok &&= good
  console.log(`N=${n}  makespan sim ${(s.makespanMs / 1000).toFixed(1)} s vs measured ${(r.makespanMs / 1000).toFixed(1)} s (${(100 * dm).toFixed(1)}%)  ` +
    `hub copies sim ${s.hubCopies.toFixed(2)} vs measured ${r.hubCopies.toFixed(2)} (${(100 * dc).toFixed(1)}%)  target within ${100 * TARGET}%: ${good ? 'ok' : 'MISSED'}`)
}
if (!ok) process.exitCode = 1
