/**
 * Crash-test harness: for an installer state, a device process (crash-child.ts)
 * killed with SIGKILL there and restarted must end committed or rolled back; the
 * previously active slot's bytes are unchanged until the commit (and after it: the
 * installer never writes it), and the active slot is never opened for write.
 */
import type { Test } from 'tap'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { blake3 } from '@napi-rs/blake-hash'
import { FileBackend } from '../../../src/install/backends/file.js'
import { Journal } from '../../../src/install/journal.js'
import { StateStore } from '../../../src/install/state-store.js'
import { REPO_ROOT, scriptArgs } from '../../support/cli.js'

const CHILD = 'test/unit/install/crash-child.ts'
const CHILD_TIMEOUT_MS = 60_000
const hex = (b: Uint8Array): string => blake3(b).toString('hex')

interface ChildResult { code: number | null, signal: string | null, stdout: string, stderr: string, reached?: string }

/** Runs the child; with stopAt, SIGKILLs it as soon as it reports reaching that state. */
async function runChild (args: string[], stopAt?: string): Promise<ChildResult> {
  const child = spawn(process.execPath, [...scriptArgs(CHILD), ...args, ...(stopAt !== undefined ? ['--stop-at', stopAt] : [])], {
    cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  let reached: string | undefined
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString()
    const m = /^REACHED (\S+)$/m.exec(stdout)
    if (m !== null && reached === undefined) {
      reached = m[1]
      child.kill('SIGKILL')
    }
  })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS)
  return await new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, ...(reached !== undefined ? { reached } : {}) })
    })
  })
}

export interface Case {
  stopAt: string
  health: 'ok' | 'fail'
  /** the first run gets a wrong expected hash (the restart gets the right one) */
  corrupt?: boolean
  expectEnd: 'committed' | 'rolled-back'
}

export const CASES: Case[] = [
  ...['idle', 'staged', 'writing', 'writing-mid', 'written', 'verified', 'try-boot', 'booted-trial', 'committed']
    .map((stopAt): Case => ({ stopAt, health: 'ok', expectEnd: 'committed' })),
  { stopAt: 'booted-trial', health: 'fail', expectEnd: 'rolled-back' },
  { stopAt: 'rolled-back', health: 'fail', expectEnd: 'rolled-back' },
  { stopAt: 'failed', health: 'ok', corrupt: true, expectEnd: 'committed' }
]

export async function crashCase (t: Test, c: Case): Promise<void> {
  const dir = t.testdir()
  const slots = join(dir, 'slots')
  await mkdir(slots, { recursive: true })
  const seedA = randomBytes(96 * 1024)
  await writeFile(join(slots, 'slot-a.img'), seedA)
  const image = randomBytes(512 * 1024 + 7)
  const imagePath = join(dir, 'image.bin')
  await writeFile(imagePath, image)
  const base = ['--dir', dir, '--image', imagePath, '--health', c.health]
  const slotAHash = async (): Promise<string> => hex(await readFile(join(slots, 'slot-a.img')))

  const first = await runChild([...base, ...(c.corrupt === true ? ['--expected', 'e'.repeat(64)] : [])], c.stopAt)
  t.equal(first.reached, c.stopAt, `first run reached ${c.stopAt}; stderr: ${first.stderr.slice(-500)}`)
  t.equal(first.signal, 'SIGKILL', 'killed with SIGKILL')
  t.equal(await slotAHash(), hex(seedA), 'slot a unchanged after the kill')
  if (c.stopAt !== 'idle') {
    const onDisk = c.stopAt === 'writing-mid' ? 'writing' : c.stopAt
    t.equal((await new StateStore(join(dir, 'data')).load())?.state, onDisk, 'the state on disk is the one killed in')
  }

  const second = await runChild([...base, '--mode', 'restart'])
  t.equal(second.code, 0, `restart exits 0; stderr: ${second.stderr.slice(-500)}`)
  const rec = await new StateStore(join(dir, 'data')).load()
  t.equal(rec?.state, c.expectEnd, `ends ${c.expectEnd}; stdout: ${second.stdout.slice(-800)}`)
  t.equal(rec?.settled, true, 'settled')
  const backend = new FileBackend({ dir: slots })
  t.equal(await slotAHash(), hex(seedA), 'slot a bytes unchanged')
  if (c.expectEnd === 'committed') {
    t.equal(await backend.activeSlot(), 'b')
    t.equal(hex(await readFile(join(slots, 'slot-b.img'))), hex(image), 'slot b holds the image')
  } else {
    t.equal(await backend.activeSlot(), 'a')
  }
  t.match(await backend.status(), { attempts: { pending: false } }, 'no trial left armed')
  const opens = (await readFile(join(dir, 'opens.log'), 'utf8').catch(() => '')).split('\n').filter(s => s !== '')
  t.ok(opens.length > 0 && opens.every(s => s === 'b'), `only slot b opened for write: ${opens.join(',')}`)

  const journal = await Journal.open(join(dir, 'data'))
  const entries = await journal.readFrom(1)
  await journal.close()
  const steps = new Map<string, number[]>()
  for (const e of entries.filter(e => e.kind === 'transition' && e.installId !== undefined)) {
    steps.set(e.installId as string, [...(steps.get(e.installId as string) ?? []), e.step as number])
  }
  for (const [id, s] of steps) {
    t.same(s, [...new Set(s)].sort((a, b) => a - b), `install ${id}: journaled steps unique and increasing`)
  }
  t.ok(entries.every(e => e.kind === 'decision' || e.waveId === 'wave-crash'))
}

