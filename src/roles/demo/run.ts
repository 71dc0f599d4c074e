/**
 * `storemesh demo`: the store in a box. Today it shows the parts that have landed end
 * to end on real files and real processes: signed content-defined bundles v1 and v2,
 * the v2 delta, chunk stores, the offline policy engine deciding per device with a
 * stated gate, and A/B installs into file slots with a health check that rolls back.
 * The LAN swarm, WAN tier and ledger join this run as their roles land.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildBundle } from '../../bundle/build.js'
import { generateSigningKey, writeKeyFiles } from '../../bundle/keys.js'
import { verifyBundleDir } from '../../bundle/verify.js'
import { StoremeshError } from '../../interface/errors.js'
import type { BundleInfo, TrustOptions } from '../../interface/types.js'
import { parsePolicy } from '../../policy/schema.js'
import { encodeSignedPolicy, signPolicy } from '../../policy/signed.js'
import { openStore } from '../../store/index.js'
import { writeFile } from 'node:fs/promises'
import { DEMO_DEVICES, DEMO_HEALTH_COMMAND, writeDeviceDir, type DemoDeviceSpec } from './devices.js'
import { sampleConfig, sampleImageV1, sampleImageV2, DEFAULT_SAMPLE_IMAGE_BYTES } from './sample.js'
import { runChild } from './spawn.js'

export const DEMO_INSTALL_TIMEOUT_MS = 120_000
export const DEMO_WAVE = 142

export interface DemoOptions {
  workDir?: string
  keep?: boolean
  imageBytes?: number
  log?: (line: string) => void
  signal?: AbortSignal
}

export interface DeviceOutcome {
  id: string
  expect: string
  exitCode: number | null
  result: string
  line: string
}

export interface DemoSummary {
  workDir: string
  bundles: Array<{ version: string, id: string, chunks: number, bytes: number }>
  delta: { v2Bytes: number, newBytes: number, newChunks: number, sharedChunks: number }
  rounds: Array<{ version: string, devices: DeviceOutcome[] }>
  elapsedMs: number
}

interface Built { info: BundleInfo, dir: string }

async function buildVersion (work: string, version: string, image: Uint8Array, key: ReturnType<typeof generateSigningKey>): Promise<Built> {
  const src = join(work, `src-${version}`)
  await mkdir(src, { recursive: true })
  await writeFile(join(src, 'rootfs.img'), image)
  await writeFile(join(src, 'store.conf'), sampleConfig(version))
  const dir = join(work, 'bundles', `pos-os-${version}`)
  const info = await buildBundle({
    artifacts: [join(src, 'rootfs.img'), join(src, 'store.conf')],
    keys: [key], outDir: dir, name: 'pos-os', version, deviceClass: 'pos', cycle: 'demo',
    expiresAt: new Date(Date.now() + 30 * 86_400_000)
  })
  return { info, dir }
}

function policyFor (b: BundleInfo, version: string): ReturnType<typeof parsePolicy> {
  return parsePolicy({
    apiVersion: 'storemesh/v1',
    kind: 'RolloutPolicy',
    metadata: { name: 'pos-demo', wave: DEMO_WAVE },
    spec: {
      bundle: { id: b.id, version },
      targets: { deviceClass: 'pos', labels: { region: 'us-midwest' }, percentage: 100 },
      guardrails: { minBattery: 40, maxTemperatureC: 70, minFreeDiskMiB: 512, requireDualPartition: true, requireConfig: '>=12.4.1' },
      verification: { healthCheck: { run: DEMO_HEALTH_COMMAND, timeoutSeconds: 2 }, rollbackOnHealthLossMins: 0 }
    }
  })
}

async function importInto (dataDir: string, b: Built, trust: TrustOptions): Promise<{ written: number, bytes: number, held: number }> {
  const store = await openStore({ dataDir: join(dataDir, 'store') })
  try {
    const r = await store.importBundleDir(b.dir, trust)
    return { written: r.chunksWritten, bytes: r.bytesWritten, held: r.chunksAlreadyHeld }
  } finally {
    await store.stop()
  }
}

async function installAll (devices: Array<{ spec: DemoDeviceSpec, dataDir: string }>, signal?: AbortSignal): Promise<DeviceOutcome[]> {
  return await Promise.all(devices.map(async ({ spec, dataDir }) => {
    const r = await runChild(['device', 'install', '--once', '--data', dataDir, '--json'],
      { cwd: dataDir, timeoutMs: DEMO_INSTALL_TIMEOUT_MS, ...(signal !== undefined ? { signal } : {}) })
    let result = 'error'
    let line = r.stderr.trim().split('\n').pop() ?? ''
    try {
      const j = JSON.parse(r.stdout) as { result: string, line: string }
      result = j.result
      line = j.line
    } catch {}
    return { id: spec.id, expect: spec.expect, exitCode: r.code, result, line }
  }))
}

export async function runDemo (opts: DemoOptions = {}): Promise<DemoSummary> {
  const log = opts.log ?? (() => {})
  const started = Date.now()
  const work = opts.workDir ?? await mkdtemp(join(tmpdir(), 'storemesh-demo-'))
  await mkdir(work, { recursive: true })
  try {
    log(`work dir ${work}`)
    const key = generateSigningKey()
    const pub = join(work, 'release.pub.json')
    await writeKeyFiles(join(work, 'release.key.json'), pub, key)
    const trust: TrustOptions = { keys: [{ keyid: key.keyid, publicKey: key.publicKey }] }

    const v1Image = sampleImageV1(opts.imageBytes ?? DEFAULT_SAMPLE_IMAGE_BYTES)
    const v1 = await buildVersion(work, '1.0.0', v1Image, key)
    const v2 = await buildVersion(work, '1.1.0', sampleImageV2(v1Image), key)
    for (const b of [v1, v2]) {
      const check = await verifyBundleDir(b.dir, trust)
      if (check.problems.length > 0) throw new StoremeshError('E_CHUNK_HASH_MISMATCH', `bundle ${b.info.id} failed verification`)
      log(`built and verified pos-os ${b.info.manifest.signed.version}: ${b.info.id} (${b.info.pieces.length} chunks)`)
    }
    const v1Hashes = new Set(v1.info.pieces.map(p => p.hash))
    const fresh = v2.info.pieces.filter(p => !v1Hashes.has(p.hash))
    const delta = {
      v2Bytes: v2.info.totalBytes,
      newBytes: fresh.reduce((s, p) => s + p.size, 0),
      newChunks: fresh.length,
      sharedChunks: v2.info.pieces.length - fresh.length
    }

    const devices = DEMO_DEVICES.map(spec => ({ spec, dataDir: join(work, 'devices', spec.id) }))
    const rounds: DemoSummary['rounds'] = []
    for (const [version, built] of [['1.0.0', v1], ['1.1.0', v2]] as const) {
      const signed = encodeSignedPolicy(signPolicy(policyFor(built.info, version), [key]))
      for (const d of devices) {
        if (version === '1.0.0') await writeDeviceDir(d.dataDir, d.spec, pub)
        const imp = await importInto(d.dataDir, built, trust)
        if (version !== '1.0.0' && d.spec.id === devices[0]?.spec.id) {
          log(`${d.spec.id}: v2 import wrote ${imp.written} new chunks, ${imp.held} already held from v1`)
        }
        await writeFile(join(d.dataDir, 'policy.signed.json'), signed)
      }
      log(`wave ${DEMO_WAVE}: installing pos-os ${version} on ${devices.length} devices (separate processes)`)
      const outcomes = await installAll(devices, opts.signal)
      for (const o of outcomes) log(`  ${o.id}  exit ${String(o.exitCode)}  ${o.line}`)
      rounds.push({ version, devices: outcomes })
    }
    return {
      workDir: work,
      bundles: [v1, v2].map(b => ({ version: b.info.manifest.signed.version, id: b.info.id, chunks: b.info.pieces.length, bytes: b.info.totalBytes })),
      delta,
      rounds,
      elapsedMs: Date.now() - started
    }
  } finally {
    if (opts.keep !== true) await rm(work, { recursive: true, force: true })
  }
}
