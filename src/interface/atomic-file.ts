/**
 * Crash-safe small files: a reader sees the old content or the new, never a torn
 * one. Write a temporary file, fsync it, rename it over the target, fsync the folder
 * (the rename itself lives in the folder's metadata). Every layer writes such files
 * (keys, leases, install state, status snapshots), so the one writer lives here.
 */
import { open, rename, rm, mkdir, stat } from 'node:fs/promises'
import { dirname, basename, join } from 'node:path'
import { StoremeshError } from '../interface/errors.js'

export async function fsyncDir (dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

export interface AtomicWriteOptions {
  /** file mode of the new file (default 0644; keys use 0600) */
  mode?: number
  /**
   * fsync the data and the folder before resolving (default true). A status snapshot
   * rewritten every second passes false: after a power loss an older snapshot is fine.
   */
  durable?: boolean
}

export async function writeFileAtomic (path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const durable = options.durable ?? true
  const dir = dirname(path)
  await mkdir(dir, { recursive: true })
  // pid and a random part: two writers never share a temporary name
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`)
  const fh = await open(tmp, 'w', options.mode ?? 0o644)
  try {
    await fh.writeFile(data)
    if (durable) await fh.sync()
  } catch (err) {
    await fh.close().catch(() => {})
    await rm(tmp, { force: true })
    throw err
  }
  await fh.close()
  try {
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
  if (durable) await fsyncDir(dir)
}

/**
 * Reads a small file whole, refusing one over maxBytes (a decoder's size limit).
 * Returns undefined when the file does not exist.
 */
export async function readFileLimited (path: string, maxBytes: number): Promise<Buffer | undefined> {
  let size: number
  try {
    size = (await stat(path)).size
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  if (size > maxBytes) {
    throw new StoremeshError('E_INSTALL_STATE_INVALID', `file is larger than its limit: ${path}`, { path, sizeBytes: size, maxBytes })
  }
  const fh = await open(path, 'r')
  try {
    const buf = Buffer.alloc(Math.min(size, maxBytes) + 1)
    let off = 0
    for (;;) {
      const { bytesRead } = await fh.read(buf, off, buf.length - off, off)
      if (bytesRead === 0) break
      off += bytesRead
      if (off > maxBytes) {
        throw new StoremeshError('E_INSTALL_STATE_INVALID', `file grew over its limit while read: ${path}`, { path, maxBytes })
      }
    }
    return buf.subarray(0, off)
  } finally {
    await fh.close()
  }
}
