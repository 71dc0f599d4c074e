import { once, type EventEmitter } from 'node:events'

/**
 * Everything a stream emits as 'data' until 'end'. 'data' events, not for-await: a
 * finished for-await destroys a whole Duplex, which (like net.Socket) aborts a stream
 * whose writable side is still open.
 */
export async function collectData (d: EventEmitter): Promise<Buffer> {
  const parts: Buffer[] = []
  d.on('data', (c: Uint8Array) => parts.push(Buffer.from(c)))
  await once(d, 'end')
  return Buffer.concat(parts)
}

/** n bytes that differ by position and seed, so a reordered or shifted byte shows. */
export function pattern (n: number, seed = 7): Uint8Array {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff
  return b
}
