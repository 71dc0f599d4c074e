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

/**
 * Reads what the other side sends, as a minimal hostile peer does: skips its
 * `handshakeBytes` handshake, then hands each whole frame (id first, no length
 * prefix; empty for a keep-alive) to onFrame, and calls afterData once per read.
 */
export function readBtFrames (source: { on: (event: 'data', fn: (chunk: Uint8Array) => void) => unknown }, handshakeBytes: number,
  onFrame: (frame: Buffer) => void, afterData: () => void = () => {}): void {
  let inbound = Buffer.alloc(0)
  let seenHandshake = false
  source.on('data', (chunk: Uint8Array) => {
    inbound = Buffer.concat([inbound, chunk])
    if (!seenHandshake) {
      if (inbound.length < handshakeBytes) return
      inbound = inbound.subarray(handshakeBytes)
      seenHandshake = true
    }
    while (inbound.length >= 4) {
      const len = inbound.readUInt32BE(0)
      if (inbound.length < 4 + len) break
      onFrame(inbound.subarray(4, 4 + len))
      inbound = inbound.subarray(4 + len)
    }
    afterData()
  })
}
