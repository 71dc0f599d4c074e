/**
 * `storemesh device install-status`: what the installer, the bootloader and the chunk
 * store say about this device's slots. Read-only as far as it can be: the state file
 * is read without a lock; the store and the journal are single-process databases, so
 * while the device agent holds them their part is reported as unavailable, not an error.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { StoremeshError, toStoremeshError } from '../interface/errors.js'
import type { JournalEntry } from '../interface/types.js'
import { createBackend, installPhaseOf, Journal, StateStore, type BootStatus, type InstallRecord } from '../install/index.js'
import { openStore, type BundleRecord } from '../store/index.js'
import { DEVICE_STORE_DIR, loadInstallConfig } from './device-install-config.js'

export interface BundleRef {
  id: string
  name: string
  version: string
  state: string
}

export interface DeviceInstallStatus {
  dataDir: string
  /** the installer's state; `idle` before the first install */
  state: string
  record?: InstallRecord
  backend: { kind: string, status?: BootStatus, error?: string }
  /** the store's pins for the installed bundles; `error` when the store is busy or unreadable */
  pins: { active?: BundleRef, lastKnownGood?: BundleRef, error?: string }
  journal: { lastSeq?: number, ackedSeq?: number, last?: JournalEntry, error?: string }
}

function ref (b: BundleRecord | undefined): BundleRef | undefined {
  return b === undefined ? undefined : { id: b.id, name: b.name, version: b.version, state: b.state }
}

function why (err: unknown): string {
  const e = toStoremeshError(err)
  return `${e.code} ${e.message}`
}

export async function readInstallStatus (opts: { dataDir: string, signal?: AbortSignal }): Promise<DeviceInstallStatus> {
  const { dataDir } = opts
  try {
    await stat(dataDir)
  } catch (err) {
    throw new StoremeshError('E_FILE_NOT_FOUND', `no data directory ${dataDir}`, { path: dataDir }, { cause: err })
  }
  const config = await loadInstallConfig(dataDir)
  const record = await new StateStore(dataDir).load()
  const out: DeviceInstallStatus = {
    dataDir,
    state: record?.state ?? installPhaseOf(record),
    ...(record !== undefined ? { record } : {}),
    backend: { kind: config.backend.kind },
    pins: {},
    journal: {}
  }
  try {
    out.backend.status = await createBackend(config.backend).status(opts.signal !== undefined ? { signal: opts.signal } : {})
  } catch (err) {
    out.backend.error = why(err)
  }
  try {
    const store = await openStore({ dataDir: join(dataDir, DEVICE_STORE_DIR) })
    try {
      const bundles = store.listBundles()
      const pinned = (reason: 'active' | 'last-known-good'): BundleRef | undefined => ref(bundles.find(b => b.pins.includes(reason)))
      const active = pinned('active')
      const lkg = pinned('last-known-good')
      out.pins = { ...(active !== undefined ? { active } : {}), ...(lkg !== undefined ? { lastKnownGood: lkg } : {}) }
    } finally {
      await store.stop()
    }
  } catch (err) {
    out.pins.error = why(err)
  }
  try {
    const journal = await Journal.open(dataDir)
    try {
      const last = await journal.last()
      out.journal = { lastSeq: await journal.lastSeq(), ackedSeq: await journal.ackedSeq(), ...(last !== undefined ? { last } : {}) }
    } finally {
      await journal.close()
    }
  } catch (err) {
    out.journal.error = why(err)
  }
  return out
}
