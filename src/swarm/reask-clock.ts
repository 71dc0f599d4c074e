/**
 * How long a request may wait because of the reader's own download queue (issues #18,
 * #19). The picker re-asks a chunk, and suspects a peer that never delivered, when a
 * request waits past a fixed time. When the reader's download link is the bottleneck
 * (a device capped at 3 MiB/s while its peers together send more, or a CPU-starved
 * device that reads slowly), every request waits behind the bytes asked before it, at
 * every peer: requests aged past the re-ask time though their senders were honest, the
 * senders were marked suspect and chunks were asked twice (simulator, 50 devices at
 * 4,096 chunks: 40% of the LAN bytes were duplicates; bench:lan N = 16 at 2 MiB/s: 9-11%).
 *
 * So each request records the bytes the reader had outstanding across all peers when it
 * was asked, and its lateness is judged from when the reader, at the rate it has been
 * receiving, would have drained those: `queueMs(aheadBytes)` is added to the fixed
 * time. The rate is bytes received over the time the reader had something in flight
 * (an idle reader is not slow), with an exponential memory of READER_RATE_WINDOW_MS,
 * and busy time counts only once a chunk ends it: while nothing arrives the rate
 * stays what the link did when it delivered, so a stall (peers that hold requests and
 * send nothing) does not lower the rate and grow the excuse. A peer that sends nothing
 * gains only that queue's drain time, bounded by
 * READER_QUEUE_ALLOWANCE_MAX_MS; its hoarder clock (picker-trust.ts) is not touched.
 * Until a first byte arrives there is no rate and no allowance: a reader whose peers
 * all hold it waits for no queue.
 */

/** Memory of the reader's download rate: a rate several chunk times old no longer describes its link. */
export const READER_RATE_WINDOW_MS = 4000

/**
 * The most a deep queue excuses. A reader's outstanding bytes are bounded by its peers'
 * pipelines (50 peers at one 256 KiB chunk each drain in 4.3 s at 3 MiB/s); beyond this
 * the rate measured is too low to explain a wait, and a request is judged by time alone
 * plus this. Below the hoarder time (DEFAULT_HOARDER_AFTER_MS, 8 s) plus the suspect
 * time, so a suspect is still found before a hoarder's disconnect is due.
 */
export const READER_QUEUE_ALLOWANCE_MAX_MS = 8000

export class ReaskClock {
  /** bytes asked across all peers and not yet received, failed or cancelled */
  #outstandingBytes = 0
  /** bytes received, decayed with READER_RATE_WINDOW_MS */
  #receivedBytes = 0
  /** time with something outstanding (ms), decayed the same way */
  #busyMs = 0
  /** busy time since the last arrival: counted once a chunk arrives (see the header) */
  #pendingBusyMs = 0
  #lastMs: number | undefined

  get outstandingBytes (): number { return this.#outstandingBytes }

  /** A request of `bytes` goes out; returns the bytes outstanding ahead of it. */
  asked (bytes: number, nowMs: number): number {
    this.#advance(nowMs)
    const ahead = this.#outstandingBytes
    this.#outstandingBytes += bytes
    return ahead
  }

  /** A request of `bytes` ended (arrived, failed, cancelled or its peer left). */
  ended (bytes: number, nowMs: number): void {
    this.#advance(nowMs)
    this.#outstandingBytes = Math.max(0, this.#outstandingBytes - bytes)
  }

  /** A chunk of `bytes` came in over the wire. */
  received (bytes: number, nowMs: number): void {
    this.#advance(nowMs)
    this.#receivedBytes += bytes
    this.#busyMs += this.#pendingBusyMs
    this.#pendingBusyMs = 0
  }

  /** The reader's observed download rate while busy (bytes per ms), or undefined before a first arrival. */
  rateBytesPerMs (nowMs: number): number | undefined {
    this.#advance(nowMs)
    return this.#receivedBytes > 0 && this.#busyMs > 0 ? this.#receivedBytes / this.#busyMs : undefined
  }

  /** Time the reader needs to receive `aheadBytes` at its observed rate: the wait a queue that deep explains. */
  queueMs (aheadBytes: number, nowMs: number): number {
    if (aheadBytes <= 0) return 0
    const rate = this.rateBytesPerMs(nowMs)
    if (rate === undefined) return 0
    return Math.min(READER_QUEUE_ALLOWANCE_MAX_MS, aheadBytes / rate)
  }

  /** A request asked at `atMs` behind `aheadBytes` has waited `floorMs` beyond what that queue explains. */
  late (atMs: number | undefined, aheadBytes: number, floorMs: number, nowMs: number): boolean {
    // the time test first: it is the common answer, and no rate is needed for it
    if (atMs === undefined || atMs + floorMs > nowMs) return false
    return atMs + floorMs + this.queueMs(aheadBytes, nowMs) <= nowMs
  }

  #advance (nowMs: number): void {
    const last = this.#lastMs
    this.#lastMs = nowMs
    if (last === undefined || nowMs <= last) return
    const dt = nowMs - last
    const keep = Math.exp(-dt / READER_RATE_WINDOW_MS)
    // both decay alike, so the rate holds between arrivals
    this.#receivedBytes *= keep
    this.#busyMs *= keep
    if (this.#outstandingBytes > 0) this.#pendingBusyMs += dt
  }
}
