/**
 * Shared parts of the LAN integration tests: keys and a swarm key on disk, a bundle
 * built with buildBundle from deterministic bytes, hub/device processes through the
 * real CLI, and bounded waits on their status.json files. Every child is killed in
 * t.teardown, whatever the test did.
 */
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { writeKeyFiles } from '../../src/bundle/keys.js'
import type { BundleInfo, ChunkingParams } from '../../src/interface/types.js'
import { writeSwarmKeyFile } from '../../src/net/swarm-key.js'
import { readStatusFile, type BundleStatus, type PeerStatus } from '../../src/roles/peer-status.js'
import { spawnCli } from './cli.js'
import { FIXTURE_KEY, FIXTURE_TRUST, seededBytes } from './store-fixture.js'
import { buildSeededBundle } from './bundles.js'
import { waitFor } from './poll.js'

export { FIXTURE_TRUST }
export const DEVICE_CLASS = 'pos-tablet'
export const MDNS_INTERVAL_MS = 500
export const STATUS_INTERVAL_MS = 300

export interface LanFixture {
  dir: string
  /** every child spawned for this test; killed before the directory is removed */
  procs: Proc[]
  swarmKeyPath: string
  trustPath: string
  serviceTag: string
}

export async function lanFixture (t: Test): Promise<LanFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'storemesh-lan-'))
  const procs: Proc[] = []
  // one teardown: children first (they write status files), then the directory
  t.teardown(async () => {
    await Promise.all(procs.map(async p => {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGKILL')
        await p.exited
      }
    }))
    await rm(dir, { recursive: true, force: true })
  })
  const swarmKeyPath = join(dir, 'swarm.key')
  const trustPath = join(dir, 'trust.pub.json')
  await writeSwarmKeyFile(swarmKeyPath)
  await writeKeyFiles(join(dir, 'sign.key.json'), trustPath, FIXTURE_KEY)
  return { dir, procs, swarmKeyPath, trustPath, serviceTag: `storemesh-lan-${process.pid}-${randomBytes(4).toString('hex')}` }
}

/** Builds a one-artifact bundle of `sizeBytes` deterministic bytes into `<dir>/<name>`. */
export async function makeBundleDir (dir: string, name: string, sizeBytes: number, seed: number, version = '1.0.0',
  chunking?: Partial<Omit<ChunkingParams, 'algorithm'>>): Promise<{ outDir: string, info: BundleInfo }> {
  const outDir = join(dir, name)
  const info = await buildSeededBundle({
    artifacts: [{ name: `${name}.img`, bytes: seededBytes(sizeBytes, seed) }],
    srcDir: dir,
    outDir,
    name,
    version,
    deviceClass: DEVICE_CLASS,
    ...(chunking !== undefined ? { chunking } : {})
  })
  return { outDir, info }
}

export interface Proc {
  child: ChildProcess
  dataDir: string
  stderr: () => string
  stdout: () => string
  exited: Promise<number | null>
}

export function spawnRole (f: LanFixture, args: string[], dataDir: string): Proc {
  return adopt(f, spawnCli(args, { env: { ...process.env, STOREMESH_DEBUG: '1' } }), dataDir)
}

/** Tracks any child (the test-only liar too) so the fixture's teardown kills it. */
export function adopt (f: LanFixture, child: ChildProcess, dataDir: string): Proc {
  let out = ''
  let err = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { err += d.toString() })
  const exited = new Promise<number | null>(resolve => { child.once('exit', code => { resolve(code) }) })
  const proc = { child, dataDir, stderr: () => err, stdout: () => out, exited }
  f.procs.push(proc)
  return proc
}

export function commonArgs (f: LanFixture, dataDir: string): string[] {
  return ['--data', dataDir, '--swarm-key', f.swarmKeyPath, '--trust', f.trustPath, '--service-tag', f.serviceTag,
    '--listen', '/ip4/127.0.0.1/tcp/0', '--mdns-interval-ms', String(MDNS_INTERVAL_MS), '--status-interval-ms', String(STATUS_INTERVAL_MS)]
}

export function spawnHub (f: LanFixture, dataDir: string, extra: string[] = []): Proc {
  return spawnRole(f, ['hub', ...commonArgs(f, dataDir), ...extra], dataDir)
}

export function spawnDevice (f: LanFixture, dataDir: string, extra: string[] = []): Proc {
  return spawnRole(f, ['device', ...commonArgs(f, dataDir), '--device-class', DEVICE_CLASS, '--poll-interval-ms', '500', ...extra], dataDir)
}

export async function readStatus (dataDir: string): Promise<PeerStatus | undefined> {
  return await readStatusFile(dataDir).catch(() => undefined)
}

export function bundleOf (s: PeerStatus | undefined, id: string): BundleStatus | undefined {
  return s?.bundles.find(b => b.id === id)
}

/** Polls until `cond` holds, at most `maxMs`; throws naming what was awaited (with the processes' stderr). */
export async function waitUntil (what: string, cond: () => Promise<boolean>, maxMs: number, procs: Proc[] = []): Promise<void> {
  await waitFor(cond, maxMs, what, {
    stepMs: 200,
    failFast: () => {
      for (const p of procs) {
        if (p.child.exitCode !== null) throw new Error(`${what}: a process exited early (${p.child.exitCode}): ${p.stderr().slice(-2000)}`)
      }
    },
    detail: () => procs.map(p => `--- ${p.dataDir}\n${p.stderr().slice(-1500)}`).join('\n')
  })
}

/** SIGTERM, then SIGKILL if the process has not exited within `graceMs`. */
export async function stopProc (p: Proc, graceMs = 15_000): Promise<number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.child.exitCode
  p.child.kill('SIGTERM')
  const timer = setTimeout(() => { p.child.kill('SIGKILL') }, graceMs)
  try {
    return await p.exited
  } finally {
    clearTimeout(timer)
  }
}
