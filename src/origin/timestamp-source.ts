/**
 * The origin's `timestamp.json` (protocols/origin/SPEC.md "Layout", written by
 * `root timestamp --origin <dir>`) as a source of the super hub's timestamp feed
 * (src/identity/root/timestamp-feed.ts): a super hub started with `--origin` reads it
 * beside the class indexes, so every super hub on one origin hands down the same
 * statement without an operator visiting each. An origin without the object is not an
 * error (a fleet that does not use a timestamp role); the same bytes as last time are
 * not offered again, so a bad object is refused once per change.
 */
import { MAX_TIMESTAMP_BYTES, type TimestampCandidate, type TimestampSource } from '../identity/root/index.js'
import { isStoremeshError } from '../interface/errors.js'
import { ORIGIN_TIMESTAMP_KEY } from './constants.js'
import type { OriginFetcher } from './fetcher.js'

export class OriginTimestampSource implements TimestampSource {
  readonly name = 'origin'
  readonly #fetcher: OriginFetcher
  #last: string | undefined

  constructor (fetcher: OriginFetcher) {
    this.#fetcher = fetcher
  }

  async poll (options: { signal?: AbortSignal } = {}): Promise<TimestampCandidate[]> {
    let bytes: Uint8Array
    try {
      bytes = await this.#fetcher.fetch(ORIGIN_TIMESTAMP_KEY, { maxBytes: MAX_TIMESTAMP_BYTES, ...(options.signal !== undefined ? { signal: options.signal } : {}) })
    } catch (err) {
      if (isStoremeshError(err) && err.code === 'E_ORIGIN_NOT_FOUND') return []
      throw err
    }
    const key = Buffer.from(bytes).toString('base64')
    if (key === this.#last) return []
    this.#last = key
    return [{ from: new URL(ORIGIN_TIMESTAMP_KEY, this.#fetcher.base).toString(), bytes }]
  }

  forget (): void {
    this.#last = undefined
  }
}
