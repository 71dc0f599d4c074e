/**
 * `npm run bench:wan [-- --seconds N] [--rates 1,5,20] [--image-mib 256] [--chunking default,disk-image] [--skip-rate] [--skip-delta]`
 *
 * (a) Rate accuracy: a store hub (WanPuller) pulls from a super hub over loopback
 *     libp2p with its download limit at 1, 5 and 20 Mbit/s for N seconds each
 *     (default 30); RateMeter prints long-run error, p95 per-second error and the
 *     largest burst. Beside it: `rsync --inplace --bwlimit` on the same byte count and
 *     rate (a local copy; the destination file is sampled every 50 ms).
 * (b) Delta: a deterministic image (default 256 MiB), v2 with ~5% scattered edits and
 *     insertions, both built with FastCDC at the default chunking and at the one
 *     recommended for disk images; WAN bytes for v2 after v1 (pull stream + manifest)
 *     against the full v2 size and against `rsync --no-whole-file --stats` literal data
 *     for the pair (v1 copied into a second directory, v2 synced onto it).
 */
import '../src/polyfill.js'
import { spawn } from 'node:child_process'
import { createCipheriv } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildBundle } from '../src/bundle/build.js'
import { CHUNKING_PRESETS } from '../src/bundle/fastcdc.js'
import { createStoremeshNode } from '../src/net/node.js'
import { generateSwarmKey } from '../src/net/swarm-key.js'
import { openStore } from '../src/store/index.js'
import { startSuperHub, type SuperHub } from '../src/roles/super-hub.js'
import { createWanPuller, type WanPuller } from '../src/wan/puller.js'
import { addPrefetch } from '../src/wan/prefetch-queue.js'
import { createLogger } from '../src/log/index.js'
import { formatRate, RateMeter, type RateReport } from '../src/wan/index.js'
import { FIXTURE_KEY, FIXTURE_TRUST, simpleBundle, writeBundleDir } from '../test/support/store-fixture.js'

const MiB = 1024 * 1024
const args = process.argv.slice(2)
const opt = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? (args[i + 1] ?? def) : def
}
const SECONDS = Number(opt('seconds', '30'))
const RATES_MBIT = opt('rates', '1,5,20').split(',').map(Number)
const IMAGE_MIB = Number(opt('image-mib', '256'))
const swarmKey = generateSwarmKey()
const trust = FIXTURE_TRUST

function line (r: RateReport, label: string): string {
  return `${label.padEnd(8)} achieved ${formatRate(r.achievedBytesPerSec, 'bits').padStart(13)}  long-run err ${(r.longRunError * 100).toFixed(2).padStart(6)}%  ` +
    `p95 1s err ${(r.p95SampleError * 100).toFixed(2).padStart(6)}%  max 1s err ${(r.maxSampleError * 100).toFixed(2).padStart(6)}%  ` +
    `largest burst ${(r.maxBurstBytes / 1024).toFixed(1)} KiB (${r.maxBurstMs.toFixed(0)} ms)`
}

async function storeHub (root: string, supers: string[], rate: number | undefined, onBytes?: (n: number) => void): Promise<{ puller: WanPuller, dataDir: string, close: () => Promise<void> }> {
  const dataDir = await mkdtemp(join(root, 'store-'))
  const store = await openStore({ dataDir })
  const node = await createStoremeshNode({ swarmKey, dataDir })
  const puller = createWanPuller({
    node, store, dataDir, supers, trust, pollMs: 100, ...(process.env.WAN_BENCH_LOG === '1' ? { log: createLogger({ role: 'wan-bench' }).child({ component: 'wan' }) } : {}),
    ...(rate !== undefined ? { rateBytesPerSec: rate } : {}),
    ...(onBytes !== undefined ? { onWireBytes: (n: number, dir: string) => { if (dir === 'in') onBytes(n) } } : {})
  })
  await puller.start()
  return { puller, dataDir, close: async () => { await puller.stop(); await node.stop(); await store.stop() } }
}

async function runRsyncRate (root: string, bytes: number, rateBytesPerSec: number, seconds: number): Promise<RateReport> {
  const src = join(root, 'rsync-src.bin')
  const dstDir = join(root, 'rsync-dst')
  await rm(dstDir, { recursive: true, force: true })
  await mkdir(dstDir)
  await writeFile(src, pseudoRandom(bytes, 9))
  const dst = join(dstDir, 'rsync-src.bin')
  const kbps = Math.round(rateBytesPerSec / 1024)
  const start = Date.now()
  const meter = new RateMeter({ targetBytesPerSec: rateBytesPerSec, startMs: start })
  const child = spawn('rsync', ['--inplace', `--bwlimit=${kbps}`, src, dstDir + '/'], { stdio: 'ignore' })
  let last = 0
  let exited = false
  child.on('exit', () => { exited = true })
  const end = start + seconds * 1000
  while (!exited && Date.now() < end) {
    await new Promise(resolve => setTimeout(resolve, 50))
    const size = await stat(dst).then(s => s.size, () => 0)
    if (size > last) { meter.record(size - last, Date.now()); last = size }
  }
  const stopAt = Math.min(Date.now(), end)
  child.kill('SIGKILL')
  // rsync's limit is KiB/s: measure against what it was asked for
  return meter.report(stopAt)
}

function pseudoRandom (bytes: number, seed: number): Buffer {
  const key = Buffer.alloc(32, seed)
  const c = createCipheriv('aes-256-ctr', key, Buffer.alloc(16, 0))
  return c.update(Buffer.alloc(bytes))
}

async function rateBench (root: string): Promise<void> {
  const maxRate = Math.max(...RATES_MBIT) * 1e6 / 8
  const totalBytes = Math.ceil(maxRate * SECONDS * 1.2 / (256 * 1024)) * 256 * 1024
  process.stdout.write(`(a) rate accuracy: ${SECONDS} s per rate, super hub bundle ${(totalBytes / MiB).toFixed(0)} MiB in 256 KiB chunks\n`)
  const bundle = simpleBundle(3, totalBytes / (256 * 1024), 256 * 1024)
  await writeBundleDir(join(root, 'rate-bundles', 'b0'), bundle)
  const sup: SuperHub = await startSuperHub({ dataDir: join(root, 'rate-super'), bundlesDir: join(root, 'rate-bundles'), swarmKey, trust })
  const addr = sup.node.getMultiaddrs()[0]!.toString()
  try {
    for (const mbit of RATES_MBIT) {
      const rate = mbit * 1e6 / 8
      let meter: RateMeter | undefined
      const hub = await storeHub(root, [addr], rate, n => {
        const now = Date.now()
        meter ??= new RateMeter({ targetBytesPerSec: rate, startMs: now })
        meter.record(n, now)
      })
      await addPrefetch(hub.dataDir, { bundleId: bundle.info.id })
      hub.puller.poke()
      const deadline = Date.now() + 20_000
      while (meter === undefined && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))
      const m = meter as RateMeter | undefined
      if (m === undefined) throw new Error('no bytes within 20 s')
      const startMs = Date.now()
      await new Promise(resolve => setTimeout(resolve, SECONDS * 1000 - (startMs - (m as unknown as { startMs: number }).startMs)))
      const report = m.report(Date.now())
      await hub.close()
      const rs = await runRsyncRate(root, Math.ceil(rate * SECONDS), Math.round(rate / 1024) * 1024, SECONDS)
      process.stdout.write(`${mbit} Mbit/s\n  ${line(report, 'storemesh')}\n  ${line(rs, 'rsync')}\n`)
    }
  } finally {
    await sup.stop()
  }
}

/** v1: deterministic bytes; v2: ~5% changed as scattered overwrites and insertions. */
function images (sizeBytes: number): { v1: Buffer, v2: Buffer, changedBytes: number } {
  const v1 = pseudoRandom(sizeBytes, 1)
  const edits = 64
  const editBytes = Math.floor(sizeBytes * 0.05 / edits)
  const parts: Buffer[] = []
  let pos = 0
  let changed = 0
  for (let i = 0; i < edits; i++) {
    const at = Math.floor((i + 0.5) * sizeBytes / edits)
    parts.push(v1.subarray(pos, at))
    const fresh = pseudoRandom(editBytes, 100 + i)
    if (i % 2 === 0) { parts.push(fresh); pos = at + editBytes } else { parts.push(fresh); pos = at } // overwrite / insertion
    changed += editBytes
  }
  parts.push(v1.subarray(pos))
  return { v1, v2: Buffer.concat(parts), changedBytes: changed }
}

async function rsyncLiteral (root: string, v1: string, v2: string): Promise<number> {
  const dst = join(root, 'rsync-delta')
  await mkdir(dst, { recursive: true })
  await copyFile(v1, join(dst, 'image.img'))
  const out = await new Promise<string>((resolve, reject) => {
    const c = spawn('rsync', ['--no-whole-file', '--stats', v2, dst + '/'])
    let s = ''
    c.stdout.on('data', (d: Buffer) => { s += d.toString() })
    c.on('error', reject)
    c.on('exit', () => { resolve(s) })
  })
  const m = /Literal data: ([\d,.]+)/.exec(out)
  if (m === null) throw new Error(`no literal data in rsync output:\n${out}`)
  return Number((m[1] ?? '').replace(/[,.]/g, ''))
}

/**
 * Chunking settings compared in (b): the build default (issue #2) and the preset
 * recommended for disk images (`bundle build --chunking disk-image`, 8/32/128 KiB).
 * Smaller chunks cost a larger manifest (about 90 bytes per chunk, and
 * MAX_MANIFEST_BYTES = 4 MiB caps an image at about 45,000 chunks: some 1.4 GiB at a
 * 32 KiB average) and more chunk files and index entries per store.
 */
const CHUNKINGS = CHUNKING_PRESETS
const CHUNKING_NAMES = opt('chunking', Object.keys(CHUNKINGS).join(',')).split(',')

async function deltaRun (root: string, label: string, v1: Buffer, v2: Buffer, literal: number): Promise<void> {
  const chunking = CHUNKINGS[label]
  if (chunking === undefined) throw new Error(`unknown --chunking ${label} (${Object.keys(CHUNKINGS).join(', ')})`)
  const dir = join(root, `delta-${label}`)
  const infos = []
  for (const name of ['v1', 'v2'] as const) {
    infos.push(await buildBundle({
      name: 'pos-image', version: name === 'v1' ? '1.0.0' : '1.1.0', deviceClass: 'pos', expiresAt: '2099-01-01T00:00:00Z',
      artifacts: [join(root, name, 'image.img')], keys: [FIXTURE_KEY], outDir: join(dir, 'bundles', name), chunking
    }))
  }
  const manifestBytes = (await stat(join(dir, 'bundles', 'v2', 'bundle.json'))).size
  const sup = await startSuperHub({ dataDir: join(dir, 'super'), bundlesDir: join(dir, 'bundles'), swarmKey, trust })
  const [id1, id2] = sup.imported as [string, string]
  const hub = await storeHub(dir, [sup.node.getMultiaddrs()[0]!.toString()], undefined)
  try {
    const staged = async (id: string): Promise<void> => {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => { reject(new Error(`${id} not staged in 600 s`)) }, 600_000)
        const on = (e: { bundleId: string }): void => { if (e.bundleId === id) { clearTimeout(t); hub.puller.off('prestaged', on); resolve() } }
        hub.puller.on('prestaged', on)
      })
    }
    let p = staged(id1)
    await addPrefetch(hub.dataDir, { bundleId: id1 })
    hub.puller.poke()
    await p
    const afterV1 = { ...hub.puller.stats }
    p = staged(id2)
    await addPrefetch(hub.dataDir, { bundleId: id2 })
    hub.puller.poke()
    await p
    const wire = hub.puller.stats.wireBytes - afterV1.wireBytes
    const payload = hub.puller.stats.payloadBytes - afterV1.payloadBytes
    const chunks = hub.puller.stats.chunksFetched - afterV1.chunksFetched
    // the signed manifest crosses the WAN too (/storemesh/manifest/1.0.0), once per version
    const wan = wire + manifestBytes
    const c = (n: number): string => `${n / 1024} KiB`
    process.stdout.write(`  chunking ${label} (min/avg/max ${c(chunking.minBytes)}/${c(chunking.avgBytes)}/${c(chunking.maxBytes)}): v2 ${infos[1]?.pieces.length} chunks, manifest ${manifestBytes} bytes
`)
    process.stdout.write(`    v1 WAN bytes ${afterV1.wireBytes} (v1 size ${v1.length})
`)
    process.stdout.write(`    v2 WAN bytes ${wan} = pull ${wire} (payload ${payload} in ${chunks} chunks, framing ${wire - payload}) + manifest ${manifestBytes}
`)
    process.stdout.write(`    v2 WAN/full = ${(100 * wan / v2.length).toFixed(2)}% (target <= 10%); WAN/rsync literal = ${(wan / literal).toFixed(2)}x (target <= 1.5x)
`)
  } finally {
    await hub.close()
    await sup.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

async function deltaBench (root: string): Promise<void> {
  const size = IMAGE_MIB * MiB
  const { v1, v2, changedBytes } = images(size)
  process.stdout.write(`(b) delta: ${IMAGE_MIB} MiB image, v2 = 64 scattered edits (half overwrites, half insertions), ${(changedBytes / MiB).toFixed(1)} MiB changed (${(100 * changedBytes / v2.length).toFixed(1)}%)\n`)
  for (const [name, img] of [['v1', v1], ['v2', v2]] as const) {
    await mkdir(join(root, name), { recursive: true })
    await writeFile(join(root, name, 'image.img'), img)
  }
  const literal = await rsyncLiteral(root, join(root, 'v1', 'image.img'), join(root, 'v2', 'image.img'))
  process.stdout.write(`  rsync --no-whole-file --stats literal data ${literal} (${(100 * literal / v2.length).toFixed(2)}% of v2)\n`)
  for (const label of CHUNKING_NAMES) await deltaRun(root, label, v1, v2, literal)
}

const root = await mkdtemp(join(tmpdir(), 'storemesh-bench-wan-'))
try {
  if (!args.includes('--skip-rate')) await rateBench(root)
  if (!args.includes('--skip-delta')) await deltaBench(root)
} finally {
  await rm(root, { recursive: true, force: true })
}
process.exit(0)
