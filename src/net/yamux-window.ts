/**
 * A wider, quieter yamux receive window for one bulk stream (the chunk wire).
 *
 * js-yamux 8 (@chainsafe/libp2p-yamux) answers every data frame it receives with a
 * window update, however small the frame: a 9-byte `have` costs the remote a
 * 30-byte update back, each its own Noise message, pnet write and socket write on
 * one side and read, decrypt and dispatch on the other. And with the 256 KiB
 * window a chunk does not fit: it went out as a frame, a wait for the update, and
 * the rest, and as updates of every size came back the frames fragmented further.
 * strace of one device in `bench:lan --n 4 --bundle-mib 16 --rate 2MiB/s`: 814
 * window updates written for 56 chunks received (14.5 per chunk), the most
 * frequent write of all.
 *
 * `widenYamuxWindow` does what go-yamux does: the receive window grows to
 * `windowBytes` at once (one update tells the remote), and an update is sent only
 * once half the window is used. Both are plain yamux: any peer, old or new, reads
 * them as window updates; the remote never sends past what we granted.
 *
 * Memory: the remote may have one window in flight to us. The chunk wire reads
 * every message at once (net/byte-stream.ts); a paused reader holds at most one
 * window, below yamux's read buffer limit (DEFAULT_MAX_READ_BUFFER_BYTES).
 *
 * It reaches into YamuxStream's public fields (yamux 8.0.1, stream.js). A stream
 * that does not have them (another muxer, a moved field) is left as it is and
 * `false` is returned: a slower stream, never a broken one. The unit test fails if
 * the fields move.
 */
import { StoremeshError } from '../interface/errors.js'

/** js-yamux's StreamState.Established: SYN/ACK done, updates carry no flags. */
const ESTABLISHED = 3

/** The fields of js-yamux 8's YamuxStream used here (all public in its stream.js). */
interface YamuxStreamFields {
  state: number
  recvWindow: number
  recvWindowCapacity: number
  maxStreamWindowSize: number
  sendWindowUpdate: () => void
}

function yamuxFields (stream: unknown): YamuxStreamFields | undefined {
  const s = stream as Partial<YamuxStreamFields> | null
  if (s === null || typeof s !== 'object') return undefined
  if (typeof s.sendWindowUpdate !== 'function' || typeof s.state !== 'number' || typeof s.recvWindow !== 'number' ||
    typeof s.recvWindowCapacity !== 'number' || typeof s.maxStreamWindowSize !== 'number') return undefined
  return s as YamuxStreamFields
}

/**
 * Grows `stream`'s receive window to `windowBytes` and batches its window updates
 * (see the file comment). True when applied; false when the stream is not an
 * established js-yamux stream (left unchanged).
 */
export function widenYamuxWindow (stream: unknown, windowBytes: number): boolean {
  if (!Number.isSafeInteger(windowBytes) || windowBytes <= 0 || windowBytes > 2 ** 32 - 1) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `yamux window of ${windowBytes} bytes`, { bytes: windowBytes })
  }
  const s = yamuxFields(stream)
  if (s === undefined || s.state !== ESTABLISHED) return false
  const send = s.sendWindowUpdate.bind(s)
  // yamux's own growth rule doubles up to this: keep it from shrinking the window back
  s.maxStreamWindowSize = Math.max(s.maxStreamWindowSize, windowBytes)
  s.recvWindow = Math.max(s.recvWindow, windowBytes)
  s.sendWindowUpdate = () => {
    // more than half the window still open: the remote can go on sending; batch the update
    if (s.state === ESTABLISHED && s.recvWindowCapacity > s.recvWindow / 2) return
    send()
  }
  // tell the remote at once (capacity < window now): one update of the difference
  send()
  return true
}
