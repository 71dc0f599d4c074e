/**
 * The origin's roots (protocols/origin/SPEC.md "Layout", written by `root publish
 * --origin <dir>`) as a source of the super hub's root feed
 * (src/identity/root/root-feed.ts). As a TUF client does, it asks for the version after
 * the one held, then the one after that, until the origin has none: a super hub that
 * missed several rotations walks them in one poll, and a listing of the folder is never
 * needed (a CDN or bucket need not allow one). An origin without `roots/` is not an
 * error (a fleet still on its static keys); the same bytes as last time are not offered
 * again, so a bad object is refused once per change.
 */
import { MAX_ROOT_BYTES, MAX_ROOTS_PER_ANSWER, type RootCandidate, type RootSource } from '../identity/root/index.js'
import { isStoremeshError } from '../interface/errors.js'
import type { OriginFetcher } from './fetcher.js'
import { rootKey } from './layout.js'

export class OriginRootSource implements RootSource {
  readonly name = 'origin'
  readonly #fetcher: OriginFetcher
  /** key → the bytes last offered (base64); keys at or below the version held are forgotten */
  #last = new Map<string, string>()

  constructor (fetcher: OriginFetcher) {
    this.#fetcher = fetcher
  }

  async poll (options: { heldVersion: number, signal?: AbortSignal }): Promise<RootCandidate[]> {
    const out: RootCandidate[] = []
    const last = new Map<string, string>()
    // bounded work per poll: a super hub further behind takes the rest at the next poll
    for (let v = options.heldVersion + 1; v <= options.heldVersion + MAX_ROOTS_PER_ANSWER; v++) {
      const key = rootKey(v)
      let bytes: Uint8Array
      try {
        bytes = await this.#fetcher.fetch(key, { maxBytes: MAX_ROOT_BYTES, ...(options.signal !== undefined ? { signal: options.signal } : {}) })
      } catch (err) {
        if (isStoremeshError(err) && err.code === 'E_ORIGIN_NOT_FOUND') break
        throw err
      }
      const b64 = Buffer.from(bytes).toString('base64')
      last.set(key, b64)
      if (this.#last.get(key) !== b64) out.push({ from: new URL(key, this.#fetcher.base).toString(), bytes })
    }
    this.#last = last
    return out
  }
}
