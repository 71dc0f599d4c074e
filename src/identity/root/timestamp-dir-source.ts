/**
 * `--timestamp-dir <dir>` and `--root-dir <dir>`: documents a signer drops into a folder
 * (protocols/root/SPEC.md section 6 "Feed", section 5 "Root feed"). Every `*.json` file in it is a candidate; names starting with `.`
 * are a copy in progress and are skipped (write `.ts.json.tmp`, then rename). Each file
 * is read when its stamp (mtime, size, inode) changed since the last poll, as a regular
 * file within the statement's size limit (a FIFO or a directory named `x.json` is
 * refused with its code, never blocks), so a file is judged once per change. fs.watch
 * wakes the feed; the feed's rescan catches what a watch misses.
 */
import { watch as fsWatch, type FSWatcher } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { toStoremeshError, type ErrorCode } from '../../interface/errors.js'
import { readRegularFile } from '../../interface/regular-file.js'
import { MAX_ROOT_CHAIN_BYTES, MAX_TIMESTAMP_BYTES } from './constants.js'
import type { TimestampCandidate, TimestampSource } from './timestamp-feed.js'

/** Files looked at per poll (by name, the last ones kept): a folder of old statements costs bounded work. @default 256 */
export const MAX_TIMESTAMP_DIR_FILES = 256

const CANDIDATE_RE = /^[^.].*\.json$/

/** The document a folder holds: its size limit, and the code of a file over it. */
export interface FeedDirLimits {
  maxBytes: number
  tooLargeCode: ErrorCode
}

/** Changed `*.json` files of a folder, each read once per change (the limits say what a file may be). */
export class FeedDirSource implements TimestampSource {
  readonly name = 'dir'
  readonly #dir: string
  readonly #limits: FeedDirLimits
  /** file name → stamp when last read */
  #seen = new Map<string, string>()

  constructor (dir: string, limits: FeedDirLimits) {
    this.#dir = dir
    this.#limits = limits
  }

  async poll (): Promise<TimestampCandidate[]> {
    const names = (await readdir(this.#dir)).filter(n => CANDIDATE_RE.test(n)).sort().slice(-MAX_TIMESTAMP_DIR_FILES)
    const seen = new Map<string, string>()
    const out: TimestampCandidate[] = []
    for (const name of names) {
      const path = join(this.#dir, name)
      const st = await stat(path).catch(() => undefined)
      if (st === undefined) continue
      const stamp = `${st.mtimeMs}:${st.size}:${st.ino}`
      seen.set(name, stamp)
      if (this.#seen.get(name) === stamp) continue
      try {
        out.push({ from: path, bytes: new Uint8Array(await readRegularFile(path, { maxBytes: this.#limits.maxBytes, what: path, codes: { tooLarge: this.#limits.tooLargeCode } })) })
      } catch (err) {
        out.push({ from: path, error: toStoremeshError(err) })
      }
    }
    this.#seen = seen
    return out
  }

  forget (): void {
    this.#seen.clear()
  }

  watch (wake: () => void): () => void {
    let w: FSWatcher | undefined
    try {
      w = fsWatch(this.#dir, { persistent: false }, () => { wake() })
      // a folder removed or unmounted: the rescan goes on (and logs it unreadable)
      w.on('error', () => { w?.close() })
    } catch {
      return () => {}
    }
    return () => { w?.close() }
  }
}

/** `--timestamp-dir`: statements, each at most MAX_TIMESTAMP_BYTES. */
export class TimestampDirSource extends FeedDirSource {
  constructor (dir: string) {
    super(dir, { maxBytes: MAX_TIMESTAMP_BYTES, tooLargeCode: 'E_TIMESTAMP_INVALID' })
  }
}

/** `--root-dir`: root files or chain files (`root install`'s inputs), each at most MAX_ROOT_CHAIN_BYTES. */
export class RootDirSource extends FeedDirSource {
  constructor (dir: string) {
    super(dir, { maxBytes: MAX_ROOT_CHAIN_BYTES, tooLargeCode: 'E_ROOT_INVALID' })
  }
}
