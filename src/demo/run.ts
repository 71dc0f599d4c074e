/**
 * `storemesh demo`: the store in a box (issue 7). Builds deterministic bundles v1 and
 * v2 (v2 a small delta of v1), publishes them to an origin folder, starts a super hub
 * that pulls through from it, a store hub with a WAN limit and
 * window, and eight device agents, each the real CLI in its own process on 127.0.0.1
 * with a fresh swarm key and an mDNS tag of its own; then runs two waves: WAN
 * pre-staging, the LAN swarm, the policy gates per device, A/B installs into file
 * slots with one health check failing and rolling back; v2 the same way, as a delta.
 * The summary's figures are read from the hub's metrics and API, the peers' status
 * files, the devices' installer state and log, and the super hub's ledger and origin files.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { buildBundle } from '../bundle/build.js'
import { generateSigningKey, writeKeyFiles } from '../bundle/keys.js'
import { verifyBundleDir } from '../bundle/verify.js'
import { StoremeshError } from '../interface/errors.js'
import type { BundleInfo, TrustOptions } from '../interface/types.js'
import { parsePolicy } from '../policy/schema.js'
import { encodeSignedPolicy, signPolicy } from '../policy/signed.js'
import { readSuperLedgerStatus, type SuperLedgerStatus } from '../ledger/super-ledger-status.js'
import {
  DEMO_HALT_ON_ROLLBACK_RATIO, DEMO_HUB_ID, DEMO_LEDGER_SETTLE_MS, DEMO_MIN_OUTCOMES_FOR_HALT, DEMO_STOP_GRACE_MS, DEMO_MAX_CONCURRENT_INSTALLS, DEMO_UPLOAD_RATE_BYTES_PER_SEC,
  DEMO_WAN_RATE_BYTES_PER_SEC, DEMO_WATCH_INTERVAL_MS, DEMO_WAVES
} from './constants.js'
import { DEMO_DEVICES, DEMO_HEALTH_COMMAND, FACTORY_VERSION, writeDeviceDir } from './devices.js'
import { cpuSecondsOf, HubApi } from './figures.js'
import { waitFor } from './processes.js'
import { runRound, type RoundBundle, type RoundFigures } from './round.js'
import { sampleConfig, sampleImageV1, sampleImageV2, DEFAULT_SAMPLE_IMAGE_BYTES } from './sample.js'
import { startDemoStore, type DemoStore } from './store.js'
import { publishBundle, readOriginStatus, type OriginStatus } from '../origin/index.js'
import { DEMO_FLEET_WAVES, DEMO_HUB2_ID, DEMO_STORE2_DEVICES, DEMO_WAVE_TICK_MS, fleetPolicy, startSecondStore, type SecondStore } from './fleet.js'
import { runFleetWave, type FleetWaveFigures } from './fleet-waves.js'

export interface DemoOptions {
  workDir?: string
  keep?: boolean
  imageBytes?: number
  log?: (line: string) => void
  signal?: AbortSignal
}

export interface RoundSummary extends RoundFigures {
  bundle: RoundBundle
  /** the bytes each device needed this round: the whole bundle, then only v2's new chunks */
  neededBytes: number
  /** hub LAN upload in copies of neededBytes */
  hubCopies: number
  /** F/w at the hub's WAN limit, F the bytes the hub lacked */
  wanBoundMs: number
  /** max(F/w, F/u_hub, N*F/(u_hub + N*u_dev)) for F = neededBytes at the rates the demo set */
  p2pBoundMs: number
  /** chunk bytes the super hub read from the origin this round (<data>/origin.json) */
  originChunkBytes: number
  /** every byte it read from the origin this round: chunks, manifests, index */
  originBytes: number
}

export interface DemoSummary {
  workDir: string
  bundles: Array<{ version: string, id: string, chunks: number, bytes: number }>
  delta: { v2Bytes: number, newBytes: number, newChunks: number, sharedChunks: number }
  rates: { wanBytesPerSec: number, uploadBytesPerSec: number, devices: number, maxConcurrentInstalls: number }
  urls: { dashboard: string, metrics: string, api: string }
  rounds: RoundSummary[]
  /** the origin the super hub pulled through from, and what it read in all */
  origin: { url: string, bytes: number, chunkBytes: number, corruptRefused: number }
  /** the super hub's per-wave totals (super-ledger.json); null when no wave reached it */
  ledger: {
    waves: SuperLedgerStatus['waves']
    hubs: string[]
    haltOnRollbackRatio: number
    /** every device of every wave reported a settled state before the demo read the file */
    settled: boolean
    /** the file's time stamp */
    updatedAt: string
  } | null
  /** CPU seconds the store's processes used (from /proc; null where it cannot tell) and the machine's load, to read the makespan against */
  cpu: { processSeconds: number | null, processes: number, cores: number, loadAverage1m: number }
  /** the fleet part: a second store under the same super hub, two waves the control plane runs (src/demo/fleet.ts) */
  fleet: { stores: string[], waves: FleetWaveFigures[], originChunkBytes: number }
  /** set with --keep: the store still runs */
  kept?: { pids: number[], stop: string }
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

function policyFor (b: BundleInfo, version: string, wave: number): ReturnType<typeof parsePolicy> {
  return parsePolicy({
    apiVersion: 'storemesh/v1',
    kind: 'RolloutPolicy',
    metadata: { name: 'pos-demo', wave },
    spec: {
      bundle: { id: b.id, version },
      targets: { deviceClass: 'pos', labels: { region: 'us-midwest' }, percentage: 100 },
      rollout: { maxConcurrentPerHub: DEMO_MAX_CONCURRENT_INSTALLS, haltOnRollbackRatio: DEMO_HALT_ON_ROLLBACK_RATIO, minOutcomesForHalt: DEMO_MIN_OUTCOMES_FOR_HALT },
      guardrails: { minBattery: 40, maxTemperatureC: 70, minFreeDiskMiB: 512, requireDualPartition: true, requireConfig: '>=12.4.1' },
      verification: { healthCheck: { run: DEMO_HEALTH_COMMAND, timeoutSeconds: 2 }, rollbackOnHealthLossMins: 0 }
    }
  })
}

function uniqueBytes (pieces: BundleInfo['pieces'], skip: Set<string> = new Set()): { bytes: number, chunks: number } {
  const seen = new Set<string>()
  let bytes = 0
  for (const p of pieces) {
    if (skip.has(p.hash) || seen.has(p.hash)) continue
    seen.add(p.hash)
    bytes += p.size
  }
  return { bytes, chunks: seen.size }
}

/**
 * The lower bound of getting F new bytes to n devices through a hub that pulls them over
 * a WAN at w: every byte crosses the WAN once (F/w), the hub uploads every byte at least
 * once (F/u_hub), and all uploads together carry n*F (n*F/(u_hub + n*u_dev)).
 */
export function p2pBoundMs (fBytes: number, n: number, rates: { wan: number, hubUp: number, devUp: number }): number {
  return 1000 * Math.max(fBytes / rates.wan, fBytes / rates.hubUp, (n * fBytes) / (rates.hubUp + n * rates.devUp))
}

/** Waits (bounded) for the super hub's ledger to show every device of both waves settled; returns what it has then. */
/** The super hub's origin counters once written after `afterMs` (it rewrites them every second); bounded. */
async function originStatusAfter (store: DemoStore, afterMs: number, signal?: AbortSignal): Promise<OriginStatus> {
  let last: OriginStatus | undefined
  await waitFor('the super hub\'s origin counters', DEMO_LEDGER_SETTLE_MS, DEMO_WATCH_INTERVAL_MS, async () => {
    last = await readOriginStatus(store.superDir).catch(() => last)
    return last !== undefined && Date.parse(last.updatedAt) > afterMs ? true : undefined
  }, signal !== undefined ? { signal } : {}).catch(() => undefined)
  if (last === undefined) throw new StoremeshError('E_INTERNAL', `the super hub wrote no origin counters in ${store.superDir}`)
  return last
}

async function superLedger (store: DemoStore, waves: string[], devices: number, signal?: AbortSignal): Promise<{ status?: SuperLedgerStatus, settled: boolean }> {
  let last: SuperLedgerStatus | undefined
  const settled = await waitFor('the ledger at the super hub', DEMO_LEDGER_SETTLE_MS, DEMO_WATCH_INTERVAL_MS, async () => {
    last = await readSuperLedgerStatus(store.superDir).catch(() => last)
    const all = waves.every(w => {
      const c = last?.waves.find(x => x.waveId === w)?.counts
      return c !== undefined && c.total >= devices && c.pending === 0
    })
    return all ? true : undefined
  }, signal !== undefined ? { signal } : {}).catch(() => false)
  return { ...(last !== undefined ? { status: last } : {}), settled }
}

export async function runDemo (opts: DemoOptions = {}): Promise<DemoSummary> {
  const log = opts.log ?? (() => {})
  const started = Date.now()
  const work = opts.workDir ?? await mkdtemp(join(tmpdir(), 'storemesh-demo-'))
  await mkdir(work, { recursive: true })
  let store: DemoStore | undefined
  let second: SecondStore | undefined
  let kept = false
  let summary: DemoSummary
  try {
    log(`work dir ${work}`)
    const key = generateSigningKey()
    const pub = join(work, 'release.pub.json')
    await writeKeyFiles(join(work, 'release.key.json'), pub, key)
    const trust: TrustOptions = { keys: [{ keyid: key.keyid, publicKey: key.publicKey }] }

    const v1Image = sampleImageV1(opts.imageBytes ?? DEFAULT_SAMPLE_IMAGE_BYTES)
    const v1 = await buildVersion(work, '1.0.0', v1Image, key)
    const v2Image = sampleImageV2(v1Image)
    const v2 = await buildVersion(work, '1.1.0', v2Image, key)
    // the fleet waves' builds: v2's image with a new config, so only a few chunks are new
    const v3 = await buildVersion(work, '1.2.0', v2Image, key)
    const v4 = await buildVersion(work, '1.3.0', v2Image, key)
    for (const b of [v1, v2, v3, v4]) {
      const check = await verifyBundleDir(b.dir, trust)
      if (check.problems.length > 0) throw new StoremeshError('E_CHUNK_HASH_MISMATCH', `bundle ${b.info.id} failed verification`)
      log(`built and verified pos-os ${b.info.manifest.signed.version}: ${b.info.id} (${b.info.pieces.length} chunks)`)
    }
    const v1Hashes = new Set(v1.info.pieces.map(p => p.hash))
    const fresh = uniqueBytes(v2.info.pieces, v1Hashes)
    const delta = {
      v2Bytes: v2.info.totalBytes,
      newBytes: fresh.bytes,
      newChunks: fresh.chunks,
      sharedChunks: v2.info.pieces.filter(p => v1Hashes.has(p.hash)).length
    }
    log(`v2 changes ${fresh.chunks} of ${v2.info.pieces.length} chunks (${(fresh.bytes / 1024 / 1024).toFixed(2)} MiB)`)

    const origin = join(work, 'origin')
    for (const b of [v1, v2, v3, v4]) {
      const p = await publishBundle(b.dir, origin, { keys: [key], trust })
      log(`published pos-os ${b.info.manifest.signed.version} to the origin ${origin}: ${p.chunksWritten} chunks written, ${p.chunksPresent} already there`)
    }
    const originUrl = pathToFileURL(origin).href

    const devices = DEMO_DEVICES.map(spec => ({ spec, dataDir: join(work, 'devices', spec.id) }))
    for (const d of devices) await writeDeviceDir(d.dataDir, d.spec, pub)
    // every wave's signed policy goes to the super hub (its halt rule); it runs the two fleet waves itself
    const signed = (b: Built, wave: number, fleet: boolean): string => {
      const version = b.info.manifest.signed.version
      return new TextDecoder().decode(encodeSignedPolicy(signPolicy(fleet ? fleetPolicy(b.info, version, wave, 'pos-fleet') : policyFor(b.info, version, wave), [key])))
    }
    const policies: Record<number, string> = { [DEMO_WAVES.v1]: signed(v1, DEMO_WAVES.v1, false), [DEMO_WAVES.v2]: signed(v2, DEMO_WAVES.v2, false),
      [DEMO_FLEET_WAVES.good]: signed(v3, DEMO_FLEET_WAVES.good, true), [DEMO_FLEET_WAVES.bad]: signed(v4, DEMO_FLEET_WAVES.bad, true) }
    const policyFiles: string[] = []
    for (const [wave, json] of Object.entries(policies)) {
      policyFiles.push(join(work, `wave-${wave}.policy.json`))
      await writeFile(policyFiles.at(-1)!, json)
    }
    const superArgs = ['--policy', ...policyFiles, '--start-wave', String(DEMO_FLEET_WAVES.good), String(DEMO_FLEET_WAVES.bad), '--wave-tick-ms', String(DEMO_WAVE_TICK_MS)]
    store = await startDemoStore({ work, originUrl, trustKeyPath: pub, superArgs }, devices,
      { log, ...(opts.signal !== undefined ? { signal: opts.signal } : {}) })
    const api = new HubApi(store.apiUrl, store.apiToken)

    const n = devices.length
    const rounds: RoundSummary[] = []
    const plan: Array<{ built: Built, wave: number, needed: { bytes: number, chunks: number } }> = [
      { built: v1, wave: DEMO_WAVES.v1, needed: uniqueBytes(v1.info.pieces) },
      { built: v2, wave: DEMO_WAVES.v2, needed: fresh }
    ]
    for (const { built, wave, needed } of plan) {
      const version = built.info.manifest.signed.version
      const bundle: RoundBundle = {
        id: built.info.id, version, totalBytes: built.info.totalBytes, newBytes: needed.bytes, newChunks: needed.chunks, chunks: built.info.pieces.length
      }
      const signedJson = policies[wave]!
      const originBefore = await originStatusAfter(store, 0, opts.signal)
      const r = await runRound(store, api, bundle, { waveId: String(wave), signedJson }, { log, factoryVersion: FACTORY_VERSION, ...(opts.signal !== undefined ? { signal: opts.signal } : {}) })
      const originAfter = await originStatusAfter(store, Date.now(), opts.signal)
      rounds.push({
        ...r,
        originChunkBytes: originAfter.chunkBytesFetched - originBefore.chunkBytesFetched,
        originBytes: originAfter.originBytes - originBefore.originBytes,
        bundle,
        neededBytes: needed.bytes,
        hubCopies: r.hubLanUpBytes / needed.bytes,
        wanBoundMs: 1000 * needed.bytes / DEMO_WAN_RATE_BYTES_PER_SEC,
        p2pBoundMs: p2pBoundMs(needed.bytes, n, { wan: DEMO_WAN_RATE_BYTES_PER_SEC, hubUp: DEMO_UPLOAD_RATE_BYTES_PER_SEC, devUp: DEMO_UPLOAD_RATE_BYTES_PER_SEC })
      })
    }

    const store2Devices = DEMO_STORE2_DEVICES.map(spec => ({ spec, dataDir: join(work, 'devices', spec.id) }))
    for (const d of store2Devices) await writeDeviceDir(d.dataDir, d.spec, pub)
    const originBeforeFleet = await originStatusAfter(store, Date.now(), opts.signal)
    second = await startSecondStore(store, work, store2Devices, { trustKeyPath: pub, log, ...(opts.signal !== undefined ? { signal: opts.signal } : {}) })
    const fleetWaves: FleetWaveFigures[] = []
    for (const [b, wave, expect] of [[v3, DEMO_FLEET_WAVES.good, 'healthy'], [v4, DEMO_FLEET_WAVES.bad, 'halt']] as const) {
      fleetWaves.push(await runFleetWave(store, api, second, { waveId: String(wave), version: b.info.manifest.signed.version, signedJson: policies[wave]!, expect },
        { log, ...(opts.signal !== undefined ? { signal: opts.signal } : {}) }))
    }

    const originEnd = await originStatusAfter(store, Date.now(), opts.signal)
    const fleetOriginChunkBytes = originEnd.chunkBytesFetched - originBeforeFleet.chunkBytesFetched
    const ledger = await superLedger(store, plan.map(p => String(p.wave)), n, opts.signal)
    const cpuEach = await Promise.all(store.all().map(async p => await cpuSecondsOf(p.pid)))
    summary = {
      workDir: work,
      bundles: [v1, v2].map(b => ({ version: b.info.manifest.signed.version, id: b.info.id, chunks: b.info.pieces.length, bytes: b.info.totalBytes })),
      delta,
      rates: { wanBytesPerSec: DEMO_WAN_RATE_BYTES_PER_SEC, uploadBytesPerSec: DEMO_UPLOAD_RATE_BYTES_PER_SEC, devices: n, maxConcurrentInstalls: DEMO_MAX_CONCURRENT_INSTALLS },
      urls: { dashboard: `${store.apiUrl}/`, metrics: `${store.apiUrl}/metrics`, api: `${store.apiUrl}/api/status` },
      rounds,
      origin: { url: originUrl, bytes: originEnd.originBytes, chunkBytes: originEnd.chunkBytesFetched, corruptRefused: originEnd.corruptRefused },
      cpu: {
        processSeconds: cpuEach.every(c => c !== undefined) ? cpuEach.reduce<number>((a, c) => a + (c ?? 0), 0) : null,
        processes: cpuEach.length,
        cores: cpus().length,
        loadAverage1m: loadavg()[0] ?? 0
      },
      ledger: ledger.status !== undefined && ledger.status.waves.length > 0
        ? {
            waves: ledger.status.waves,
            hubs: ledger.status.hubs.map(h => h.hubId),
            haltOnRollbackRatio: DEMO_HALT_ON_ROLLBACK_RATIO,
            settled: ledger.settled,
            updatedAt: ledger.status.updatedAt
          }
        : null,
      fleet: { stores: [DEMO_HUB_ID, DEMO_HUB2_ID], waves: fleetWaves, originChunkBytes: fleetOriginChunkBytes },
      elapsedMs: 0
    }
    if (opts.keep === true) {
      const pids = [...store.all(), second.hub, ...second.devices.map(d => d.proc)].map(p => p.pid)
      const pidFile = join(work, 'store.pids')
      await writeFile(pidFile, pids.join('\n') + '\n')
      summary.kept = { pids, stop: `kill ${pids.join(' ')}    # or: kill $(cat ${pidFile}); then rm -rf ${work}` }
      kept = true
    }
  } finally {
    if (!kept) {
      await Promise.all([second?.hub, ...(second?.devices.map(d => d.proc) ?? [])].map(async p => { await p?.stop(DEMO_STOP_GRACE_MS) }))
      await store?.stop()
      if (opts.keep !== true) await rm(work, { recursive: true, force: true })
    }
  }
  // with the clean-up: what the user waits for
  summary.elapsedMs = Date.now() - started
  return summary
}
