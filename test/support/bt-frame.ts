/**
 * One BitTorrent peer-wire message as bytes (BEP 3): a 4-byte big-endian length, the
 * message id, the payload; `id` undefined is a keep-alive. For tests and hostile peers
 * that must write what bittorrent-protocol would not.
 */
export function btFrame (id: number | undefined, payload: Uint8Array | readonly number[] | number = new Uint8Array(0)): Uint8Array {
  if (id === undefined) return new Uint8Array(4)
  const body = typeof payload === 'number' ? new Uint8Array(payload) : Uint8Array.from(payload)
  const f = new Uint8Array(5 + body.length)
  new DataView(f.buffer).setUint32(0, 1 + body.length)
  f[4] = id
  f.set(body, 5)
  return f
}
