/**
 * The suite every bootloader backend must pass (in the manner of libp2p's
 * interface-compliance-tests). A factory hands over a fresh backend that runs slot
 * `a`, holds `seedA` in slot a, and whose reboot() plays its bootloader and returns
 * 'simulated'.
 */
import type { Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { blake3 } from '@napi-rs/blake-hash'
import type { BootBackend, SlotName } from '../../../src/install/backend.js'

export interface BackendUnderTest {
  backend: BootBackend
  /** the bytes slot a holds at the start */
  seedA: Uint8Array
  /** reboots without mark-good after which the bootloader must have fallen back */
  fallbackWithinBoots: number
  close?: () => Promise<void>
}

export type BackendFactory = (t: Test) => Promise<BackendUnderTest>

export async function * chunksOf (data: Uint8Array, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, Math.min(data.length, i + size))
}

export async function readAll (backend: BootBackend, slot: SlotName, bytes: number): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const c of backend.readSlot(slot, { bytes })) parts.push(c)
  return Buffer.concat(parts)
}

const hex = (b: Uint8Array): string => blake3(b).toString('hex')

export function backendCompliance (t: Test, name: string, factory: BackendFactory): void {
  const withBackend = (title: string, fn: (t: Test, u: BackendUnderTest) => Promise<void>): void => {
    t.test(`${name}: ${title}`, async t => {
      const u = await factory(t)
      try {
        await fn(t, u)
      } finally {
        await u.close?.()
      }
    })
  }

  withBackend('starts on slot a with b inactive; status agrees', async (t, { backend }) => {
    t.equal(await backend.activeSlot(), 'a')
    t.equal(await backend.inactiveSlot(), 'b')
    const st = await backend.status()
    t.equal(st.booted, 'a')
    t.equal(st.primary, 'a')
  })

  withBackend('writes the inactive slot from byte zero and reads it back', async (t, { backend }) => {
    const first = randomBytes(300 * 1024 + 17)
    t.same(await backend.writeSlot('b', chunksOf(first)), { bytes: first.length })
    const second = randomBytes(200 * 1024 + 3) // shorter: a rewrite replaces, never appends
    await backend.writeSlot('b', chunksOf(second))
    t.equal(hex(await readAll(backend, 'b', second.length)), hex(second))
    t.same(await readAll(backend, 'b', 1000), second.subarray(0, 1000), 'a prefix reads back')
  })

  withBackend('refuses to write the active slot, pulls no byte, leaves it unchanged', async (t, { backend, seedA }) => {
    let pulled = false
    const source = (async function * () { pulled = true; yield new Uint8Array(10) })()
    await t.rejects(backend.writeSlot('a', source), { code: 'E_ACTIVE_SLOT_WRITE' })
    t.equal(pulled, false)
    t.equal(hex(await readAll(backend, 'a', seedA.length)), hex(seedA))
  })

  withBackend('a trial boot of the new slot, then mark-good, keeps it', async (t, { backend }) => {
    await backend.writeSlot('b', chunksOf(randomBytes(4096)))
    await backend.setNextBoot('b', { tryBoot: true })
    t.equal((await backend.status()).primary, 'b', 'armed')
    t.equal(await backend.activeSlot(), 'a', 'nothing changes before the reboot')
    t.equal(await backend.reboot(), 'simulated')
    t.equal(await backend.activeSlot(), 'b', 'the trial slot boots')
    await backend.markGood('b')
    await backend.reboot()
    t.equal(await backend.activeSlot(), 'b', 'committed slot boots again')
    const attempts = await backend.bootAttempts()
    if (attempts !== undefined) t.equal(attempts.pending, false, 'no trial pending after mark-good')
  })

  withBackend('a failed trial: mark-bad and mark-active return to the old slot', async (t, { backend, seedA }) => {
    await backend.writeSlot('b', chunksOf(randomBytes(4096)))
    await backend.setNextBoot('b', { tryBoot: true })
    await backend.reboot()
    t.equal(await backend.activeSlot(), 'b')
    await backend.markBad('b')
    await backend.markActive('a')
    t.equal((await backend.status()).primary, 'a')
    await backend.reboot()
    t.equal(await backend.activeSlot(), 'a')
    t.equal(hex(await readAll(backend, 'a', seedA.length)), hex(seedA), 'old slot bytes untouched')
  })

  withBackend('too many boots without mark-good fall back to the old slot', async (t, { backend, fallbackWithinBoots }) => {
    await backend.writeSlot('b', chunksOf(randomBytes(4096)))
    await backend.setNextBoot('b', { tryBoot: true })
    const seen: SlotName[] = []
    for (let i = 0; i < fallbackWithinBoots + 1; i++) {
      await backend.reboot()
      seen.push(await backend.activeSlot())
    }
    t.equal(seen[0], 'b', 'first boot tries the new slot')
    t.equal(seen[seen.length - 1], 'a', `back on slot a within ${fallbackWithinBoots + 1} boots: ${seen.join(',')}`)
    t.equal((await backend.status()).primary, 'a', 'the old slot is primary again')
    const attempts = await backend.bootAttempts()
    if (attempts !== undefined) t.equal(attempts.pending, false, 'trial no longer pending')
  })

  withBackend('mark-active switches without a trial', async (t, { backend }) => {
    await backend.writeSlot('b', chunksOf(randomBytes(4096)))
    await backend.markActive('b')
    await backend.reboot()
    t.equal(await backend.activeSlot(), 'b')
    await backend.markGood('b')
    await backend.reboot()
    t.equal(await backend.activeSlot(), 'b')
  })

  withBackend('an aborted write rejects', async (t, { backend }) => {
    const ac = new AbortController()
    ac.abort()
    await t.rejects(backend.writeSlot('b', chunksOf(randomBytes(4096)), { signal: ac.signal }))
  })
}
