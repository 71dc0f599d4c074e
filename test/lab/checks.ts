/**
 * What every lab drill checks at its end (issue 7): every honest device ended updated
 * or cleanly on its old slot, no store holds a chunk whose bytes do not hash to its
 * name, and the wave ledger (hub and super hub) neither lost a device nor counted one twice.
 */
import type { Test } from 'tap'
import type { LedgerView, WaveView } from '../../src/api/types.js'
import { readSuperLedgerStatus, type SuperLedgerStatus } from '../../src/ledger/super-ledger-status.js'
import { stopProc, waitUntil } from '../support/lan-fixture.js'
import { auditStore, LAB_WAVE, slotOutcome, type StoreLab } from './store-lab.js'

export interface LedgerCounts {
  updated: number
  total: number
  /** devices the ledger must show blocked, by gate (when given) */
  blockedByGate?: Record<string, number>
}

/** Reports travel device → hub → super hub on their own schedules (retries back off up to a minute). */
const LEDGER_SETTLE_MS = 120_000

async function hubWave (lab: StoreLab): Promise<{ wave: WaveView | undefined, ids: string[] }> {
  const view = JSON.parse(await lab.hubGet(`/api/ledger?wave=${LAB_WAVE}`)) as LedgerView
  return { wave: view.waves.find(w => w.waveId === String(LAB_WAVE)), ids: (view.devices ?? []).map(d => d.deviceId) }
}

/**
 * The wave ledger, on the hub (read while it runs, through its API) and on the super
 * hub (`super-ledger.json`): once the reports settle, each device is counted once, and
 * the updated devices are all there. Waits, bounded, for the counts to arrive.
 */
export async function checkLedger (t: Test, lab: StoreLab, expect: LedgerCounts): Promise<void> {
  // settled once every update and every device arrived (the outcomes that must travel); totals are read then
  const settled = (c: { total: number, updated: number } | undefined): boolean =>
    c !== undefined && c.updated >= expect.updated && c.total >= expect.total
  let hub: { wave: WaveView | undefined, ids: string[] } = { wave: undefined, ids: [] }
  await waitUntil('the hub\'s ledger counts the wave', async () => {
    hub = await hubWave(lab).catch(() => hub)
    if (settled(hub.wave?.counts)) return true
    // each look is a node process in the hub's namespace: not too often
    await new Promise(resolve => setTimeout(resolve, 1000))
    return false
  }, LEDGER_SETTLE_MS).catch(() => {})
  t.equal(hub.wave?.counts.total, expect.total, `hub ledger: ${expect.total} devices in wave ${LAB_WAVE}, none lost, none counted twice`)
  t.equal(hub.wave?.counts.updated, expect.updated, `hub ledger: ${expect.updated} updated`)
  t.equal(new Set(hub.ids).size, hub.ids.length, `hub ledger: each device once (${hub.ids.join(', ')})`)
  if (expect.blockedByGate !== undefined) t.match(hub.wave?.counts.blockedByGate, expect.blockedByGate, 'hub ledger: blocked devices by gate')

  let sup: SuperLedgerStatus['waves'][number] | undefined
  await waitUntil('the super hub\'s ledger counts the wave', async () => {
    sup = (await readSuperLedgerStatus(lab.superDir).catch(() => undefined))?.waves.find(w => w.waveId === String(LAB_WAVE))
    return settled(sup?.counts)
  }, LEDGER_SETTLE_MS).catch(() => {})
  t.equal(sup?.counts.total, expect.total, `super hub ledger: ${expect.total} devices in wave ${LAB_WAVE}`)
  t.equal(sup?.counts.updated, expect.updated, `super hub ledger: ${expect.updated} updated`)
}

/** SIGTERM every process still running (SIGKILL after the grace). */
export async function stopAll (lab: StoreLab): Promise<void> {
  await Promise.all(lab.running().map(async p => await stopProc(p)))
}

/** Audits every store of the lab (the processes must have stopped): no corrupt chunk anywhere. */
export async function checkStores (t: Test, lab: StoreLab, dirs: string[] = [lab.superDir, lab.hubDir, ...lab.devices.map(d => d.dataDir)]): Promise<void> {
  for (const dir of dirs) {
    const a = await auditStore(dir)
    t.same(a.corrupt, [], `${dir.split('/').pop() ?? dir}: ${a.chunks} chunk files, none corrupt${a.temps > 0 ? ` (${a.temps} temp files, never served)` : ''}`)
  }
}

/** Each listed device ended updated (or, with `allowOld`, cleanly on its old slot); never half. */
export async function checkSlots (t: Test, lab: StoreLab, indices: number[], allowOld = false): Promise<Record<number, string>> {
  const out: Record<number, string> = {}
  for (const i of indices) {
    const d = lab.devices[i]
    if (d === undefined) continue
    const o = await slotOutcome(lab, d.dataDir)
    out[i] = o.kind === 'updated' ? `updated (slot ${o.slot})` : o.kind === 'old-slot' ? `old slot (${o.state})` : `HALF: ${o.why}`
    if (allowOld) t.not(o.kind, 'half', `device ${i}: ${out[i]}`)
    else t.equal(o.kind, 'updated', `device ${i}: ${out[i]}`)
  }
  return out
}
