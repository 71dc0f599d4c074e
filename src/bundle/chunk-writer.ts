/**
 * Writes chunks into a bundle folder (layout.ts): each to a temporary name in its
 * fan-out folder, then renamed, so a reader never sees half a chunk under a real
 * name. A chunk already present with the right size is skipped: the id is the hash
 * of the content, and `bundle verify` re-hashes every chunk anyway.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { StoremeshError } from '../interface/errors.js'
import { isHashHex } from './hash.js'
import { chunkPathIn, CHUNKS_DIR } from './layout.js'

export class ChunkDirWriter {
  private readonly known = new Set<string>()
  private readonly dirs = new Set<string>()
  private readonly tmpTag = `${process.pid}-${randomBytes(4).toString('hex')}`
  private tmpSeq = 0
  /** chunks written by this writer, and bytes */
  written = 0
  writtenBytes = 0

  constructor (readonly bundleDir: string) {}

  async init (): Promise<void> {
    await mkdir(join(this.bundleDir, CHUNKS_DIR), { recursive: true })
  }

  /** Stores `data` as chunk `hash` unless present; `data` must not change until this resolves. */
  async write (hash: string, data: Uint8Array): Promise<void> {
    if (!isHashHex(hash)) throw new StoremeshError('E_INVALID_ARGUMENT', `not a chunk hash: ${hash}`)
    if (this.known.has(hash)) return
    this.known.add(hash)
    const path = chunkPathIn(this.bundleDir, hash)
    const dir = dirname(path)
    if (!this.dirs.has(dir)) {
      await mkdir(dir, { recursive: true })
      this.dirs.add(dir)
    }
    try {
      if ((await stat(path)).size === data.length) return
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    const tmp = `${path}.tmp-${this.tmpTag}-${this.tmpSeq++}`
    try {
      await writeFile(tmp, data)
      await rename(tmp, path)
    } catch (err) {
      this.known.delete(hash)
      await unlink(tmp).catch(() => {})
      throw err
    }
    this.written++
    this.writtenBytes += data.length
  }
}
