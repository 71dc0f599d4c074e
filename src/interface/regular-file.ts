/**
 * The one way to open a file whose bytes come from outside the process (bundle.json,
 * chunk files of a bundle folder, policies, facts, keys, certificates, status files,
 * device.yaml). `readFile` blocks forever on a FIFO and reads `/dev/zero` until V8
 * gives up (STACK-NOTES.md "Hostile input"), so here: open with O_NONBLOCK (a FIFO
 * opens at once), fstat the open handle (no race with a rename), refuse anything but
 * a regular file, and read at most `maxBytes + 1` bytes so a file that grows while
 * read is refused too. Each way a file can be wrong has its stable code:
 *
 * | failure | default code |
 * | --- | --- |
 * | does not exist | E_FILE_NOT_FOUND |
 * | a directory, FIFO, socket or device | E_FILE_NOT_REGULAR |
 * | over `maxBytes` | E_FILE_TOO_LARGE |
 * | cannot be opened or read (permissions, I/O) | E_FILE_UNREADABLE |
 *
 * A caller with codes of its own (`bundle.json` too large is E_MANIFEST_TOO_LARGE)
 * passes them in `codes`.
 */
import { constants } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { StoremeshError, type ErrorCode } from './errors.js'

export type FileFailure = 'missing' | 'notRegular' | 'tooLarge' | 'unreadable'

const DEFAULT_CODES: Readonly<Record<FileFailure, ErrorCode>> = {
  missing: 'E_FILE_NOT_FOUND',
  notRegular: 'E_FILE_NOT_REGULAR',
  tooLarge: 'E_FILE_TOO_LARGE',
  unreadable: 'E_FILE_UNREADABLE'
}

export interface RegularFileOptions {
  /** names the file in errors, e.g. `bundle.json`, `facts file` @default the path */
  what?: string
  codes?: Partial<Record<FileFailure, ErrorCode>>
}

export interface ReadRegularFileOptions extends RegularFileOptions {
  /** the decoder's size limit */
  maxBytes: number
}

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY

function kindOf (st: { isDirectory: () => boolean, isFIFO: () => boolean, isSocket: () => boolean, isCharacterDevice: () => boolean, isBlockDevice: () => boolean }): string {
  if (st.isDirectory()) return 'directory'
  if (st.isFIFO()) return 'FIFO'
  if (st.isSocket()) return 'socket'
  if (st.isCharacterDevice()) return 'character device'
  if (st.isBlockDevice()) return 'block device'
  return 'special file'
}

function failure (kind: FileFailure, options: RegularFileOptions, path: string, message: string,
  meta: Record<string, string | number> = {}, cause?: unknown): StoremeshError {
  const code = options.codes?.[kind] ?? DEFAULT_CODES[kind]
  return new StoremeshError(code, `${options.what ?? path}: ${message}`, { path, failure: kind, ...meta }, cause === undefined ? undefined : { cause })
}

export interface OpenedRegularFile {
  fh: FileHandle
  sizeBytes: number
}

/**
 * Opens a regular file for reading; the caller closes `fh`. Refuses (see the file
 * comment) a missing or special file; `maxBytes`, when given, bounds its size.
 */
export async function openRegularFile (path: string, options: RegularFileOptions & { maxBytes?: number } = {}): Promise<OpenedRegularFile> {
  let fh: FileHandle
  try {
    fh = await open(path, OPEN_FLAGS)
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code
    if (errno === 'ENOENT' || errno === 'ENOTDIR') throw failure('missing', options, path, 'no such file', {}, err)
    // ENXIO: a unix socket, or a FIFO opened for writing with no reader
    if (errno === 'ENXIO' || errno === 'EISDIR') throw failure('notRegular', options, path, 'not a regular file', {}, err)
    throw failure('unreadable', options, path, `cannot open (${errno ?? 'error'})`, {}, err)
  }
  try {
    const st = await fh.stat()
    if (!st.isFile()) {
      const kind = kindOf(st)
      throw failure('notRegular', options, path, `is a ${kind}, not a regular file`, { kind })
    }
    if (options.maxBytes !== undefined && st.size > options.maxBytes) {
      throw failure('tooLarge', options, path, `${st.size} bytes, larger than the limit of ${options.maxBytes}`, { sizeBytes: st.size, maxBytes: options.maxBytes })
    }
    return { fh, sizeBytes: st.size }
  } catch (err) {
    await fh.close().catch(() => {})
    throw err
  }
}

/** A whole regular file of at most `maxBytes` bytes (see the file comment). */
export async function readRegularFile (path: string, options: ReadRegularFileOptions): Promise<Buffer> {
  const { fh, sizeBytes } = await openRegularFile(path, options)
  try {
    // one byte past the limit tells a file that grew while read from one that fits;
    // the buffer grows for files whose stat size is not their length (/proc, /sys)
    let buf = Buffer.alloc(Math.min(sizeBytes, options.maxBytes) + 1)
    let off = 0
    for (;;) {
      if (off === buf.length) {
        const grown = Buffer.alloc(Math.min(buf.length * 2, options.maxBytes + 1))
        buf.copy(grown, 0, 0, off)
        buf = grown
      }
      let bytesRead: number
      try {
        ({ bytesRead } = await fh.read(buf, off, buf.length - off, off))
      } catch (err) {
        throw failure('unreadable', options, path, `cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, {}, err)
      }
      if (bytesRead === 0) break
      off += bytesRead
      if (off > options.maxBytes) {
        throw failure('tooLarge', options, path, `grew over its limit of ${options.maxBytes} bytes while read`, { maxBytes: options.maxBytes })
      }
    }
    return buf.subarray(0, off)
  } finally {
    await fh.close()
  }
}

/** As readRegularFile, but undefined when the file does not exist. */
export async function readRegularFileIfExists (path: string, options: ReadRegularFileOptions): Promise<Buffer | undefined> {
  try {
    return await readRegularFile(path, options)
  } catch (err) {
    if (err instanceof StoremeshError && err.meta.failure === 'missing') return undefined
    throw err
  }
}
