/**
 * startBufferReclaim frees dead ArrayBuffers once the process holds more than its limit
 * (src/roles/buffer-reclaim.ts), and leaves a process under it alone. Counted from
 * process.memoryUsage() and its own counter; no timing is asserted.
 */
import t from 'tap'
import { startBufferReclaim } from '../../../src/roles/buffer-reclaim.js'
import { waitFor } from '../../support/poll.js'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

const MiB = 1024 * 1024
const DEAD_BUFFERS = 48
const INTERVAL_MS = 20

/**
 * Allocates buffers, moves them to the old generation (two full collections while they
 * are held: objects that survive them are promoted) and drops them. A scavenge can no
 * longer free them then, only a full collection, which V8 starts on its own only after
 * ~64 MiB of external growth: what the reclaim is for. (Dropped while young, a scavenge
 * under load could free them before the reclaim's first look, and it would never run.)
 */
async function makeDeadBuffers (): Promise<void> {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  let held: Uint8Array[] | undefined = Array.from({ length: DEAD_BUFFERS }, (_, i) => new Uint8Array(MiB).fill(i))
  gc()
  gc()
  await new Promise(resolve => setTimeout(resolve, 5))
  if (held.length !== DEAD_BUFFERS) throw new Error('buffers lost')
  held = undefined
}

t.test('a process past the limit has its dead buffers collected', async t => {
  const baseline = process.memoryUsage().arrayBuffers
  const limitBytes = baseline + 16 * MiB
  await makeDeadBuffers()
  const reclaim = startBufferReclaim({ limitBytes, intervalMs: INTERVAL_MS })
  t.teardown(() => { reclaim.stop() })
  t.ok(process.memoryUsage().arrayBuffers > limitBytes, 'the dead buffers are still counted before the reclaim starts')
  await waitFor(() => reclaim.collections >= 1 && process.memoryUsage().arrayBuffers <= limitBytes, 30_000, 'dead buffers collected', {
    detail: () => `${reclaim.collections} collections, ${(process.memoryUsage().arrayBuffers / MiB).toFixed(1)} MiB of ArrayBuffers, limit ${(limitBytes / MiB).toFixed(1)}`
  })
  t.ok(reclaim.collections >= 1, `${reclaim.collections} full collections`)
  t.ok(process.memoryUsage().arrayBuffers <= limitBytes, `${(process.memoryUsage().arrayBuffers / MiB).toFixed(1)} MiB of ArrayBuffers left, limit ${(limitBytes / MiB).toFixed(1)}`)
})

t.test('a process under the limit is left alone', async t => {
  const reclaim = startBufferReclaim({ limitBytes: process.memoryUsage().arrayBuffers + 1024 * MiB, intervalMs: INTERVAL_MS })
  t.teardown(() => { reclaim.stop() })
  // several intervals pass
  for (let i = 0; i < 10; i++) await new Promise(resolve => setTimeout(resolve, INTERVAL_MS))
  t.equal(reclaim.collections, 0)
})

t.test('dead buffers gathered since the last collection are collected under the limit too', async t => {
  // the limit alone let ~30 MiB of dead buffers gather above the few MiB a collection leaves (issue 17)
  const baselineBytes = process.memoryUsage().arrayBuffers
  const limitBytes = baselineBytes + 1024 * MiB
  const growthBytes = 16 * MiB
  await makeDeadBuffers()
  const reclaim = startBufferReclaim({ limitBytes, growthBytes, baselineBytes, intervalMs: INTERVAL_MS })
  t.teardown(() => { reclaim.stop() })
  t.ok(process.memoryUsage().arrayBuffers > baselineBytes + growthBytes, 'the dead buffers are still counted before the reclaim starts')
  await waitFor(() => reclaim.collections >= 1 && process.memoryUsage().arrayBuffers <= baselineBytes + growthBytes, 30_000, 'dead buffers collected', {
    detail: () => `${reclaim.collections} collections, ${(process.memoryUsage().arrayBuffers / MiB).toFixed(1)} MiB of ArrayBuffers`
  })
  t.ok(reclaim.collections >= 1, `${reclaim.collections} full collections, the limit ${(limitBytes / MiB).toFixed(0)} MiB never reached`)
})
