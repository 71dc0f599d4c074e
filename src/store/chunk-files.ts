/**
 * Chunk files on disk: `<root>/<2 hex>/<hash>`, one file per chunk. A write goes to a
 * temporary name in the same directory, is fsynced, renamed over the final name and
 * the directory is fsynced, so after a crash a chunk file is either absent or whole.
 * Nothing here trusts file contents: callers verify the hash of what they read.
 */
import { mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { fsyncDir } from '../interface/atomic-file.js'
import { StoremeshError } from '../interface/errors.js'
import { HASH_HEX_RE } from '../bundle/hash.js'
import { FANOUT_PREFIXES, MAX_CHUNK_FILE_BYTES, TEMP_PREFIX } from './constants.js'

let tempSeq = 0

export function isTempName (name: string): boolean {
  return name.startsWith(TEMP_PREFIX)
}

/** ENOSPC and EDQUOT become E_DISK_FULL; everything else passes through. */
export function mapDiskError (err: unknown, path?: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  const msg = String((err as Error | undefined)?.message ?? '')
  if (code === 'ENOSPC' || code === 'EDQUOT' || /no space left/i.test(msg)) {
    return new StoremeshError('E_DISK_FULL', `disk full while writing ${path ?? 'the store'}`, { path }, { cause: err })
  }
  return err
}

/**
 * Writes `data` to `path` durably: temp file in the same directory, fsync, rename,
 * fsync of the directory. On any failure the temp file is removed and the error is
 * rethrown (ENOSPC as E_DISK_FULL); `path` is then untouched.
 */
export async function writeFileDurable (path: string, dir: string, data: Uint8Array | AsyncIterable<Uint8Array>, tempName: string): Promise<void> {
  const tmp = join(dir, tempName)
  try {
    const fh = await open(tmp, 'wx', 0o644)
    try {
      if (data instanceof Uint8Array) {
        await fh.writeFile(data)
      } else {
        for await (const piece of data) await fh.write(piece)
      }
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, path)
    await fsyncDir(dir)
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {})
    throw mapDiskError(err, path)
  }
}

export function tempNameFor (base: string): string {
  return `${TEMP_PREFIX}${base}-${process.pid}-${++tempSeq}`
}

export class ChunkFiles {
  constructor (readonly root: string) {}

  dirOf (hash: string): string {
    return join(this.root, hash.slice(0, 2))
  }

  pathOf (hash: string): string {
    return join(this.root, hash.slice(0, 2), hash)
  }

  /** Creates `root` and its 256 fan-out directories once, then fsyncs them into place. */
  async init (): Promise<void> {
    await mkdir(this.root, { recursive: true })
    const existing = new Set(await readdir(this.root))
    let created = false
    for (const p of FANOUT_PREFIXES) {
      if (existing.has(p)) continue
      await mkdir(join(this.root, p), { recursive: true })
      created = true
    }
    if (created) await fsyncDir(this.root)
  }

  async write (hash: string, data: Uint8Array): Promise<void> {
    await writeFileDurable(this.pathOf(hash), this.dirOf(hash), data, tempNameFor(hash))
  }

  /**
   * The file's bytes, or undefined when it does not exist. Refuses absurd sizes.
   * With `scratch` large enough, the bytes are read into it (a view of it is returned).
   */
  async read (hash: string, scratch?: Uint8Array): Promise<Uint8Array | undefined> {
    let fh
    try {
      fh = await open(this.pathOf(hash), 'r')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
    try {
      const { size } = await fh.stat()
      if (size > MAX_CHUNK_FILE_BYTES) return new Uint8Array(0) // fails verification: dropped as corrupt
      return await readUpTo(fh, size, scratch !== undefined && scratch.length >= size ? scratch : undefined)
    } finally {
      await fh.close()
    }
  }

  async remove (hash: string): Promise<void> {
    await rm(this.pathOf(hash), { force: true })
  }

  /** One fan-out directory: chunk-like names, temp names, and anything else. */
  async list (prefix: string): Promise<{ chunks: string[], temps: string[] }> {
    let names: string[]
    try {
      names = await readdir(join(this.root, prefix))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { chunks: [], temps: [] }
      throw err
    }
    const chunks: string[] = []
    const temps: string[] = []
    for (const n of names) {
      if (isTempName(n)) temps.push(n)
      else if (HASH_HEX_RE.test(n) && n.startsWith(prefix)) chunks.push(n)
    }
    return { chunks, temps }
  }

  async removeTemp (prefix: string, name: string): Promise<void> {
    await rm(join(this.root, prefix, name), { force: true })
  }
}

/** Reads up to `size` bytes from the start of an open file; fewer if it is shorter. */
export async function readUpTo (fh: FileHandle, size: number, into?: Uint8Array): Promise<Uint8Array> {
  const buf = into ?? Buffer.allocUnsafe(size)
  let off = 0
  while (off < size) {
    const { bytesRead } = await fh.read(buf, off, size - off, off)
    if (bytesRead === 0) break
    off += bytesRead
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, off)
}
