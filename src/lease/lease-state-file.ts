/**
 * The hub's lease table on disk: one small JSON file, replaced atomically (temporary
 * file, fsync, rename, fsync of the folder), so a hub killed at any moment restarts
 * with the leases it had granted, or the ones before, never a torn file.
 *
 * The decoder has a size limit and is strict. A file that fails it is moved aside
 * (`leases.json.corrupt-<ms>`) and reported as `corrupt`: the table then assumes every
 * slot may be taken until the longest lease could have expired (fail closed).
 */
import { rename } from 'node:fs/promises'
import { readFileLimited, writeFileAtomic } from '../interface/atomic-file.js'
import { isStoremeshError } from '../interface/errors.js'
import { MAX_LEASES, MAX_LEASE_STATE_BYTES, MAX_TRACKED_WAVES, MAX_WAVE_DEVICES } from './constants.js'
import { BUNDLE_ID_RE, DEVICE_ID_RE, WAVE_ID_RE } from './protocol/constants.js'
import { isLeaseId } from './protocol/messages.js'

export const LEASE_STATE_VERSION = 1

/** One granted lease as the hub keeps it. */
export interface LeaseRecord {
  leaseId: string
  deviceId: string
  bundleId: string
  waveId: string
  /** the libp2p peer id that acquired it; renew and release must come from it */
  peer?: string
  grantedAtMs: number
  expiresAtMs: number
  renewals: number
}

/** Devices granted a lease in one wave, for a wave budget (LeaseTableInit.waveBudget). */
export interface WaveRecord {
  waveId: string
  firstGrantMs: number
  devices: string[]
}

export interface LeaseState {
  version: typeof LEASE_STATE_VERSION
  leases: LeaseRecord[]
  waves: WaveRecord[]
  /** no grants before this (the hub lost its table and waits out the longest lease) */
  blindUntilMs?: number
}

export type LoadResult =
  | { kind: 'missing' }
  | { kind: 'ok', state: LeaseState }
  | { kind: 'corrupt', why: string, movedTo?: string }

class Corrupt extends Error {}

function check (cond: boolean, why: string): asserts cond {
  if (!cond) throw new Corrupt(why)
}

const isTime = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
const matches = (x: unknown, re: RegExp): x is string => typeof x === 'string' && re.test(x)

function parseLease (x: unknown): LeaseRecord {
  check(x !== null && typeof x === 'object' && !Array.isArray(x), 'lease is not an object')
  const o = x as Record<string, unknown>
  check(isLeaseId(o.leaseId), 'bad leaseId')
  check(matches(o.deviceId, DEVICE_ID_RE), 'bad deviceId')
  check(matches(o.bundleId, BUNDLE_ID_RE), 'bad bundleId')
  check(matches(o.waveId, WAVE_ID_RE), 'bad waveId')
  check(o.peer === undefined || (typeof o.peer === 'string' && o.peer.length <= 128), 'bad peer')
  check(isTime(o.grantedAtMs) && isTime(o.expiresAtMs) && isTime(o.renewals), 'bad times')
  const r: LeaseRecord = {
    leaseId: o.leaseId, deviceId: o.deviceId, bundleId: o.bundleId, waveId: o.waveId,
    grantedAtMs: o.grantedAtMs, expiresAtMs: o.expiresAtMs, renewals: o.renewals
  }
  if (o.peer !== undefined) r.peer = o.peer as string
  return r
}

function parseWave (x: unknown): WaveRecord {
  check(x !== null && typeof x === 'object' && !Array.isArray(x), 'wave is not an object')
  const o = x as Record<string, unknown>
  check(matches(o.waveId, WAVE_ID_RE), 'bad waveId')
  check(isTime(o.firstGrantMs), 'bad firstGrantMs')
  check(Array.isArray(o.devices) && o.devices.length <= MAX_WAVE_DEVICES && o.devices.every(d => matches(d, DEVICE_ID_RE)), 'bad devices')
  return { waveId: o.waveId, firstGrantMs: o.firstGrantMs, devices: [...o.devices as string[]] }
}

export function parseLeaseState (x: unknown): LeaseState {
  check(x !== null && typeof x === 'object' && !Array.isArray(x), 'not an object')
  const o = x as Record<string, unknown>
  check(o.version === LEASE_STATE_VERSION, `unknown version ${String(o.version)}`)
  check(Array.isArray(o.leases) && o.leases.length <= MAX_LEASES, 'bad leases')
  check(Array.isArray(o.waves) && o.waves.length <= MAX_TRACKED_WAVES, 'bad waves')
  check(o.blindUntilMs === undefined || isTime(o.blindUntilMs), 'bad blindUntilMs')
  const state: LeaseState = { version: LEASE_STATE_VERSION, leases: o.leases.map(parseLease), waves: o.waves.map(parseWave) }
  if (o.blindUntilMs !== undefined) state.blindUntilMs = o.blindUntilMs as number
  const ids = new Set(state.leases.map(l => l.deviceId))
  check(ids.size === state.leases.length, 'two leases for one device')
  return state
}

/** The shared size-limited read; over the limit is a corrupt table here (moved aside), not a hard error. */
async function readLimited (path: string): Promise<Buffer | undefined> {
  try {
    return await readFileLimited(path, MAX_LEASE_STATE_BYTES)
  } catch (err) {
    if (isStoremeshError(err, 'E_INSTALL_STATE_INVALID')) throw new Corrupt(`over ${MAX_LEASE_STATE_BYTES} bytes`)
    throw err
  }
}

/** Reads the table; a corrupt file is moved aside so the next save does not hide it. */
export async function loadLeaseState (path: string, nowMs: number): Promise<LoadResult> {
  try {
    const bytes = await readLimited(path)
    if (bytes === undefined) return { kind: 'missing' }
    let json: unknown
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
    } catch {
      throw new Corrupt('not UTF-8 JSON')
    }
    return { kind: 'ok', state: parseLeaseState(json) }
  } catch (err) {
    if (!(err instanceof Corrupt)) throw err
    const movedTo = `${path}.corrupt-${nowMs}`
    try {
      await rename(path, movedTo)
      return { kind: 'corrupt', why: err.message, movedTo }
    } catch {
      return { kind: 'corrupt', why: err.message }
    }
  }
}

/** Replaces the file atomically; resolves once the new content is durable. */
export async function saveLeaseState (path: string, state: LeaseState): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(state))
}
