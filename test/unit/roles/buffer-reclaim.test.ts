/**
 * startBufferReclaim frees dead ArrayBuffers once the process holds more than its limit
 * (src/roles/buffer-reclaim.ts), and leaves a process under it alone. Counted from
 * process.memoryUsage() and its own counter; no timing is asserted.
 */
import t from 'tap'
import { startBufferReclaim } from '../../../src/roles/buffer-reclaim.js'
import { waitFor } from '../../support/poll.js'

const MiB = 1024 * 1024
const DEAD_BUFFERS = 48
const INTERVAL_MS = 20

/** Allocates and drops buffers in an old-generation-like way: kept across a few ticks first, so they are not simply scavenged young. */
async function makeDeadBuffers (): Promise<void> {
  let held: Uint8Array[] | undefined = Array.from({ length: DEAD_BUFFERS }, (_, i) => new Uint8Array(MiB).fill(i))
  for (let i = 0; i < 3; i++) await new Promise(resolve => setTimeout(resolve, 5))
  if (held.length !== DEAD_BUFFERS) throw new Error('buffers lost')
  held = undefined
}

t.test('a process past the limit has its dead buffers collected', async t => {
  const baseline = process.memoryUsage().arrayBuffers
  const limitBytes = baseline + 16 * MiB
  await makeDeadBuffers()
  const reclaim = startBufferReclaim({ limitBytes, intervalMs: INTERVAL_MS })
  t.teardown(() => { reclaim.stop() })
  await waitFor(() => reclaim.collections >= 1 && process.memoryUsage().arrayBuffers <= limitBytes, 30_000, 'dead buffers collected')
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
