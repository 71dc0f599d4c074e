/**
 * The demo's two fleet waves across its two stores (src/demo/fleet.ts says what each
 * shows). Every figure is read from what the processes wrote: the super hub's
 * super-ledger.json (the wave's state, batches with their stores and times, halts) and
 * the devices' `install:` log lines.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { SIGNED_POLICY_FILE } from '../install/facts.js'
import { readSuperLedgerStatus } from '../ledger/super-ledger-status.js'
import { DEMO_HUB_ID, DEMO_ROUND_TIMEOUT_MS, DEMO_WATCH_INTERVAL_MS } from './constants.js'
import { DEMO_DEVICES, FAIL_HEALTH_MARKER } from './devices.js'
import { outcomeOfLine, type HubApi } from './figures.js'
import { DEMO_HUB2_ID, type SecondStore } from './fleet.js'
import { waitFor } from './processes.js'
import type { DemoDeviceProc, DemoStore } from './store.js'

/** What the wave shows in super-ledger.json (status-view.ts `fleet`). */
interface FleetView {
  state: string
  stateReason: string
  batches: Array<{ batchNo: number, state: string, storeIds: string[], startedMs?: number, healthyMs?: number }>
  halts: Array<{ reason: string, source: string }>
}

export interface FleetStoreFigures {
  hubId: string
  /** the store's batch (1-based), undefined when it never joined */
  batch?: number
  /** devices that installed this wave's version, and when the first did */
  installed: string[]
  rolledBack: string[]
  firstInstallMs?: number
}

export interface FleetWaveFigures {
  waveId: string
  version: string
  state: string
  stateReason: string
  batches: FleetView['batches']
  halts: FleetView['halts']
  stores: FleetStoreFigures[]
}

/** The demo store's devices that install whenever they may (DEMO_DEVICES' facts). */
const INSTALLERS = DEMO_DEVICES.filter(d => d.expectResult === 'installed').map(d => d.id)

async function fleetView (store: DemoStore, waveId: string): Promise<FleetView | undefined> {
  const s = await readSuperLedgerStatus(store.superDir).catch(() => undefined)
  const w = s?.waves.find(x => x.waveId === waveId) as { fleet?: FleetView } | undefined
  return w?.fleet
}

function outcomesOf (devices: readonly DemoDeviceProc[], version: string, marks: Map<string, number>): Map<string, { kind: string, atMs: number }> {
  const out = new Map<string, { kind: string, atMs: number }>()
  for (const d of devices) {
    for (const l of d.proc.err.slice(marks.get(d.spec.id) ?? 0)) {
      const o = outcomeOfLine(l, version)
      if (o !== undefined && (o.kind === 'installed' || o.kind === 'rolled-back')) { out.set(d.spec.id, o); break }
    }
  }
  return out
}

export interface FleetWavePlan {
  waveId: string
  version: string
  signedJson: string
  /** `healthy`: batch 2 must start after batch 1; `halt`: batch 1 rolls back and the wave halts */
  expect: 'healthy' | 'halt'
}

/** Runs one fleet wave: the second store first, the demo store once the second store is in the wave. */
export async function runFleetWave (store: DemoStore, api: HubApi, second: SecondStore, plan: FleetWavePlan,
  opts: { log: (line: string) => void, signal?: AbortSignal }): Promise<FleetWaveFigures> {
  const { log } = opts
  const wait = { ...(opts.signal !== undefined ? { signal: opts.signal } : {}) }
  let view: FleetView | undefined
  const detail = (): string => `wave ${plan.waveId}: ${view !== undefined ? `${view.state} (${view.stateReason}); batches ${JSON.stringify(view.batches.map(b => [b.state, b.storeIds]))}` : 'not in super-ledger.json yet'}`
  const all = [...second.devices, ...store.devices]
  const marks = new Map(all.map(d => [d.spec.id, d.proc.err.length]))
  if (plan.expect === 'halt') {
    // a build that is bad on this store's hardware: every health check there fails
    for (const d of second.devices) await writeFile(join(d.dataDir, FAIL_HEALTH_MARKER), 'injected by the demo: a bad build for this class\n')
  }
  for (const d of second.devices) await writeFile(join(d.dataDir, SIGNED_POLICY_FILE), plan.signedJson)
  await second.api.post('/api/prefetch', { policy: plan.signedJson })
  log(`fleet wave ${plan.waveId} (pos-os ${plan.version}, hubBudget 1, batchDelayMinutes 0): policy handed to ${DEMO_HUB2_ID}`)
  await waitFor(`${DEMO_HUB2_ID} to join wave ${plan.waveId}`, DEMO_ROUND_TIMEOUT_MS, DEMO_WATCH_INTERVAL_MS, async () => {
    view = await fleetView(store, plan.waveId)
    return view?.batches.some(b => b.storeIds.includes(DEMO_HUB2_ID)) === true ? true : undefined
  }, { ...wait, detail })
  for (const d of store.devices) await writeFile(join(d.dataDir, SIGNED_POLICY_FILE), plan.signedJson)
  await api.post('/api/prefetch', { policy: plan.signedJson })
  log(`  ${DEMO_HUB2_ID} is batch 1; policy handed to ${DEMO_HUB_ID}, which joins as batch 2 and holds (wave-batch-not-started)`)

  if (plan.expect === 'healthy') {
    await waitFor(`wave ${plan.waveId}: batch 1 healthy, batch 2 started, the demo store installed`, DEMO_ROUND_TIMEOUT_MS, DEMO_WATCH_INTERVAL_MS, async () => {
      await Promise.all(all.map(async d => { await d.proc.poll() }))
      view = await fleetView(store, plan.waveId)
      const b2 = view?.batches[1]
      const done = outcomesOf(store.devices, plan.version, marks)
      return b2?.startedMs !== undefined && INSTALLERS.every(id => done.has(id)) ? true : undefined
    }, { ...wait, detail })
  } else {
    await waitFor(`wave ${plan.waveId} to halt`, DEMO_ROUND_TIMEOUT_MS, DEMO_WATCH_INTERVAL_MS, async () => {
      await Promise.all(all.map(async d => { await d.proc.poll() }))
      view = await fleetView(store, plan.waveId)
      return view?.state === 'halted' ? true : undefined
    }, { ...wait, detail })
    // the demo store's devices hear of the halt through their hub: each logs a decision that names it
    await waitFor(`the demo store's devices to hold at fleet.halt`, DEMO_ROUND_TIMEOUT_MS, DEMO_WATCH_INTERVAL_MS, async () => {
      await Promise.all(store.devices.map(async d => { await d.proc.poll() }))
      const held = store.devices.filter(d => INSTALLERS.includes(d.spec.id) &&
        d.proc.err.slice(marks.get(d.spec.id) ?? 0).some(l => l.text.startsWith('install: deferred') && l.text.includes('fleet.halt')))
      return held.length === INSTALLERS.length ? true : undefined
    }, { ...wait, detail: () => `${detail()}; ${store.devices.map(d => `${d.spec.id}: ${d.proc.tail(1)}`).join('; ')}` })
  }
  view = await fleetView(store, plan.waveId)
  const stores = [second.devices, store.devices].map((devices, i): FleetStoreFigures => {
    const hubId = i === 0 ? DEMO_HUB2_ID : DEMO_HUB_ID
    const o = outcomesOf(devices, plan.version, marks)
    const installed = [...o].filter(([, x]) => x.kind === 'installed')
    const batch = view?.batches.findIndex(b => b.storeIds.includes(hubId)) ?? -1
    return {
      hubId,
      ...(batch >= 0 ? { batch: batch + 1 } : {}),
      installed: installed.map(([id]) => id).sort(),
      rolledBack: [...o].filter(([, x]) => x.kind === 'rolled-back').map(([id]) => id).sort(),
      ...(installed.length > 0 ? { firstInstallMs: Math.min(...installed.map(([, x]) => x.atMs)) } : {})
    }
  })
  const figures: FleetWaveFigures = {
    waveId: plan.waveId, version: plan.version, state: view?.state ?? 'unknown', stateReason: view?.stateReason ?? '',
    batches: view?.batches ?? [], halts: view?.halts ?? [], stores
  }
  for (const b of figures.batches) {
    log(`  batch ${b.batchNo + 1} (${b.storeIds.join(', ')}): ${b.state}${b.startedMs !== undefined ? `, started ${new Date(b.startedMs).toISOString()}` : ''}${b.healthyMs !== undefined ? `, healthy ${new Date(b.healthyMs).toISOString()}` : ''}`)
  }
  for (const s of stores) log(`  ${s.hubId}: installed ${s.installed.length} (${s.installed.join(', ') || 'none'}), rolled back ${s.rolledBack.length}${s.firstInstallMs !== undefined ? `, first install ${new Date(s.firstInstallMs).toISOString()}` : ''}`)
  for (const h of figures.halts) log(`  halted (${h.source}): ${h.reason}`)
  return figures
}
