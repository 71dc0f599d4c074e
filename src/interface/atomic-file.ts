/**
 * Crash-safe small files: a reader sees the old content or the new, never a torn
 * one. Write a temporary file, fsync it, rename it over the target, fsync the folder
 * (the rename itself lives in the folder's metadata). Every layer writes such files
 * (keys, leases, install state, status snapshots), so the one writer lives here.
 */
import { open, rename, rm, mkdir } from 'node:fs/promises'
import { dirname, basename, join } from 'node:path'
import { readRegularFileIfExists } from './regular-file.js'

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
 * Reads a small file whole, refusing one over maxBytes (a decoder's size limit; the
 * code stays E_INSTALL_STATE_INVALID, what callers of this helper have always seen)
 * and anything but a regular file (src/interface/regular-file.ts).
 * Returns undefined when the file does not exist.
 */
export async function readFileLimited (path: string, maxBytes: number): Promise<Buffer | undefined> {
  return await readRegularFileIfExists(path, { maxBytes, codes: { tooLarge: 'E_INSTALL_STATE_INVALID' } })
}
