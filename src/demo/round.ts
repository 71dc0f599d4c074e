/**
 * One wave of the demo, as an operator runs it: the signed policy goes to the devices
 * and, through the hub's API (POST /api/prefetch), into the hub's pre-staging queue;
 * the hub pulls the bundle's missing chunks from the super hub under its WAN limit and
 * seeds it on the LAN; the devices fetch it from the hub and from each other and decide
 * with the policy, each in its own agent. The round ends when every device holds the
 * bundle and has decided; its figures are read from the hub's metrics and the peers'
 * status files at the end.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { SIGNED_POLICY_FILE } from '../install/facts.js'
import { DEMO_ROUND_TIMEOUT_MS, DEMO_STATUS_INTERVAL_MS, DEMO_WATCH_INTERVAL_MS } from './constants.js'
import { bundleStatusOf, bytesOf, installerStateOf, outcomeOfLine, type InstallOutcomeLine, type HubApi } from './figures.js'
import { waitFor } from './processes.js'
import type { DemoStore } from './store.js'

export interface RoundBundle {
  id: string
  version: string
  /** bytes of the bundle */
  totalBytes: number
  /** bytes a device that holds the previous round's bundle still needs (unique new chunks) */
  newBytes: number
  newChunks: number
  chunks: number
}

export interface RoundDevice {
  id: string
  expect: string
  expectResult: string
  result: string
  gate: string
  line: string
  /** the installer's state file after the round */
  installer: string
  /** the version in the slot the bootloader runs, per the installer's record */
  runs: string
  lanDownBytes: number
  /** bytes received twice or refused (status.json wastedBytes) */
  wastedBytes: number
  lanUpBytes: number
}

export interface RoundFigures {
  version: string
  waveId: string
  bundleId: string
  /** queued at the hub -> verified at the hub (the demo's clock, polled) */
  wanStageMs: number
  /** queued at the hub -> the last device holding every chunk (status.json times): devices fetch from the hub while it still pulls */
  makespanMs: number
  /** queued -> every device decided */
  roundMs: number
  wanDownBytes: number
  wanChunks: number
  hubLanUpBytes: number
  devicesLanDownBytes: number
  devicesWastedBytes: number
  devices: RoundDevice[]
}

const chunksDetail = async (store: DemoStore, bundleId: string): Promise<string> => {
  const held = await Promise.all([store.hub, ...store.devices.map(d => d.proc)].map(async p => {
    const b = await bundleStatusOf(p.dataDir, bundleId)
    return `${p.name} ${b !== undefined ? `${b.heldChunks}/${b.totalChunks} ${b.state}` : 'none'}`
  }))
  return held.join(', ')
}

export async function runRound (store: DemoStore, api: HubApi, bundle: RoundBundle, policy: { waveId: string, signedJson: string },
  opts: { log: (line: string) => void, factoryVersion: string, signal?: AbortSignal }): Promise<RoundFigures> {
  const { log } = opts
  const waitOpts = (detail: () => string): { signal?: AbortSignal, detail: () => string } => ({ ...(opts.signal !== undefined ? { signal: opts.signal } : {}), detail })
  for (const d of store.devices) await writeFile(join(d.dataDir, SIGNED_POLICY_FILE), policy.signedJson)
  const logMark = new Map(store.devices.map(d => [d.spec.id, d.proc.err.length]))
  const before = await api.metrics()
  const beforeStatus = await api.json<{ wan?: { chunksFetched?: number } | null }>('/api/status')
  const t0 = Date.now()
  const queued = await api.post<{ changed: boolean, state?: string }>('/api/prefetch', { policy: policy.signedJson })
  log(`wave ${policy.waveId}: pos-os ${bundle.version} queued for WAN pre-staging at the hub (POST /api/prefetch: ${queued.state ?? (queued.changed ? 'queued' : 'already queued')})`)

  let lastDetail = ''
  const progress = (): string => lastDetail
  await waitFor(`the hub to pre-stage pos-os ${bundle.version}`, DEMO_ROUND_TIMEOUT_MS, DEMO_WATCH_INTERVAL_MS, async () => {
    const b = await bundleStatusOf(store.hubDir, bundle.id)
    lastDetail = `hub ${b !== undefined ? `${b.heldChunks}/${b.totalChunks} ${b.state}` : 'nothing yet'}; ${store.hub.tail(3)}`
    return b?.state === 'verified' ? true : undefined
  }, waitOpts(progress))
  const stagedMs = Date.now()
  const staged = await api.metrics()
  const wanNow = bytesOf(staged, 'wan', 'down') - bytesOf(before, 'wan', 'down')
  log(`  hub pre-staged it in ${((stagedMs - t0) / 1000).toFixed(1)} s over the WAN (${(wanNow / 1024 / 1024).toFixed(1)} MiB, ` +
    `limit ${(staged.get('storemesh_wan_limit_bytes_per_second') ?? 0) / 1024 / 1024} MiB/s) and seeds it on the LAN`)

  const doneAt = new Map<string, number>()
  await waitFor(`every device to fetch pos-os ${bundle.version}`, DEMO_ROUND_TIMEOUT_MS, DEMO_WATCH_INTERVAL_MS, async () => {
    for (const d of store.devices) {
      if (doneAt.has(d.spec.id)) continue
      const b = await bundleStatusOf(d.dataDir, bundle.id)
      if (b !== undefined && b.heldChunks === b.totalChunks) doneAt.set(d.spec.id, b.atMs)
    }
    return doneAt.size === store.devices.length ? true : undefined
  }, waitOpts(() => '')).catch(async (err: Error) => { throw new Error(`${err.message}; ${await chunksDetail(store, bundle.id)}`) })
  const lastDoneMs = Math.max(...doneAt.values())
  log(`  all ${store.devices.length} devices hold it ${((lastDoneMs - t0) / 1000).toFixed(1)} s after it was queued ` +
    `(${((lastDoneMs - stagedMs) / 1000).toFixed(1)} s after the hub had all of it)`)

  const outcomes = new Map<string, InstallOutcomeLine>()
  await waitFor(`every device to decide on pos-os ${bundle.version}`, DEMO_ROUND_TIMEOUT_MS, DEMO_WATCH_INTERVAL_MS, async () => {
    await store.poll()
    for (const d of store.devices) {
      if (outcomes.has(d.spec.id)) continue
      // a decision on this bundle comes after the device held it (its status snapshot may lag one interval)
      const after = (doneAt.get(d.spec.id) ?? 0) - DEMO_STATUS_INTERVAL_MS
      for (const l of d.proc.err.slice(logMark.get(d.spec.id) ?? 0)) {
        const o = outcomeOfLine(l, bundle.version)
        if (o !== undefined && (o.kind === 'installed' || o.kind === 'rolled-back' || o.atMs >= after)) {
          outcomes.set(d.spec.id, o)
          log(`  ${d.spec.id}: ${o.line}`)
          break
        }
      }
    }
    return outcomes.size === store.devices.length ? true : undefined
  }, waitOpts(() => `undecided: ${store.devices.filter(d => !outcomes.has(d.spec.id)).map(d => `${d.spec.id} (${d.proc.tail(2)})`).join('; ')}`))
  const roundMs = Date.now() - t0

  const after = await api.metrics()
  const afterStatus = await api.json<{ wan?: { chunksFetched?: number } | null }>('/api/status')
  const devices: RoundDevice[] = []
  for (const d of store.devices) {
    const o = outcomes.get(d.spec.id)
    const b = await bundleStatusOf(d.dataDir, bundle.id)
    const inst = await installerStateOf(d.dataDir, opts.factoryVersion)
    devices.push({
      id: d.spec.id,
      expect: d.spec.expect,
      expectResult: d.spec.expectResult,
      result: o?.kind ?? 'undecided',
      gate: o?.gate ?? '-',
      line: o?.line ?? '-',
      installer: inst.state,
      runs: inst.runs,
      lanDownBytes: b?.bytes.lan.down ?? 0,
      wastedBytes: b?.wastedBytes ?? 0,
      lanUpBytes: b?.bytes.lan.up ?? 0
    })
  }
  return {
    version: bundle.version,
    waveId: policy.waveId,
    bundleId: bundle.id,
    wanStageMs: stagedMs - t0,
    makespanMs: lastDoneMs - t0,
    roundMs,
    wanDownBytes: bytesOf(after, 'wan', 'down') - bytesOf(before, 'wan', 'down'),
    wanChunks: (afterStatus.wan?.chunksFetched ?? 0) - (beforeStatus.wan?.chunksFetched ?? 0),
    hubLanUpBytes: bytesOf(after, 'lan', 'up') - bytesOf(before, 'lan', 'up'),
    devicesLanDownBytes: devices.reduce((s, d) => s + d.lanDownBytes, 0),
    devicesWastedBytes: devices.reduce((s, d) => s + d.wastedBytes, 0),
    devices
  }
}
