/**
 * Fewer yamux window updates on one bulk stream (the chunk wire), same window.
 *
 * js-yamux 8 (@chainsafe/libp2p-yamux) answers every data frame it receives with a
 * window update, however small the frame: a 9-byte `have` or a 17-byte `request` costs
 * the remote a 12-byte update back, each its own Noise message, pnet write and socket
 * write on one side and read, decrypt and dispatch on the other. strace of one device
 * in bench:lan (N = 4, 16 MiB, 2 MiB/s) counted 814 updates written for 56 chunks
 * received, its most frequent write (docs/footprint.md, session 13).
 *
 * `quietWindowUpdates` keeps the window as it is (DEFAULT_MAX_STREAM_WINDOW_BYTES) and
 * sends an update only once at most half of it is left, as go-yamux does. That is plain
 * yamux: the remote reads an update as it always did, and never sends past what we
 * granted. A reader never stalls the remote: the remote waits only when its send
 * window is empty, and then ours is below half, so the frame that emptied it draws the
 * update. A paused stream sends none (yamux's own rule) and resume sends the one due.
 *
 * Session 13 tried this together with a 1 MiB window (9d59253, reverted in d9ecb8c:
 * no CPU gain shown, and slow runs whose stall was not found). This keeps yamux's
 * 256 KiB window, so a remote still has a whole chunk's room after each update.
 *
 * It reaches into YamuxStream's public fields (yamux 8, stream.js). A stream without
 * them (another muxer, a moved field) is left as it is and `false` is returned: a
 * noisier stream, never a broken one. The unit test fails if the fields move.
 */

/** js-yamux's StreamState.Established: SYN/ACK done, updates carry no flags. */
const ESTABLISHED = 3

/** The fields of js-yamux 8's YamuxStream used here (all public in its stream.js). */
interface YamuxStreamFields {
  state: number
  recvWindow: number
  recvWindowCapacity: number
  sendWindowUpdate: () => void
}

function yamuxFields (stream: unknown): YamuxStreamFields | undefined {
  const s = stream as Partial<YamuxStreamFields> | null
  if (s === null || typeof s !== 'object') return undefined
  if (typeof s.sendWindowUpdate !== 'function' || typeof s.state !== 'number' || typeof s.recvWindow !== 'number' ||
    typeof s.recvWindowCapacity !== 'number') return undefined
  return s as YamuxStreamFields
}

/**
 * Makes `stream` send a window update only once at most half its receive window is
 * left (see the file comment). True when applied; false when it is not a js-yamux
 * stream (left unchanged).
 */
export function quietWindowUpdates (stream: unknown): boolean {
  const s = yamuxFields(stream)
  if (s === undefined) return false
  const send = s.sendWindowUpdate.bind(s)
  s.sendWindowUpdate = () => {
    // before SYN/ACK an update carries flags: always yamux's own
    if (s.state === ESTABLISHED && s.recvWindowCapacity > s.recvWindow / 2) return
    send()
  }
  return true
}
