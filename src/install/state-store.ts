/**
 * Persists the installer's record in `<data>/install/state.json`, atomically after
 * every step (temporary file, fsync, rename, fsync folder). A record that does not
 * parse is moved aside, never half-trusted.
 */
import { rename } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { StoremeshError } from '../interface/errors.js'
import { readFileLimited, writeFileAtomic, fsyncDir } from '../interface/atomic-file.js'
import { INSTALL_DIR_NAME, MAX_STATE_FILE_BYTES, STATE_FILE_NAME } from './constants.js'
import { installRecordSchema, type InstallRecord } from './state-machine.js'

export function installDirOf (dataDir: string): string {
  return join(dataDir, INSTALL_DIR_NAME)
}

export function stateFileOf (dataDir: string): string {
  return join(installDirOf(dataDir), STATE_FILE_NAME)
}

export class StateStore {
  readonly path: string

  constructor (dataDir: string) {
    this.path = stateFileOf(dataDir)
  }

  /** The record, or undefined when no install ever ran. Throws E_INSTALL_STATE_INVALID. */
  async load (): Promise<InstallRecord | undefined> {
    const buf = await readFileLimited(this.path, MAX_STATE_FILE_BYTES)
    if (buf === undefined) return undefined
    let json: unknown
    try {
      json = JSON.parse(buf.toString('utf8'))
    } catch (err) {
      throw new StoremeshError('E_INSTALL_STATE_INVALID', 'install state file is not JSON', { path: this.path }, { cause: err })
    }
    const parsed = installRecordSchema.safeParse(json)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      throw new StoremeshError('E_INSTALL_STATE_INVALID', `install state file does not match its schema: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(), { path: this.path })
    }
    return parsed.data
  }

  async save (record: InstallRecord): Promise<void> {
    // validate on the way out too: a bad record must never reach the disk
    const parsed = installRecordSchema.safeParse(record)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      throw new StoremeshError('E_INSTALL_STATE_INVALID', `refusing to save an invalid install record: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim())
    }
    const checked = parsed.data
    const text = JSON.stringify(checked, null, 2) + '\n'
    if (Buffer.byteLength(text) > MAX_STATE_FILE_BYTES) {
      throw new StoremeshError('E_INSTALL_STATE_INVALID', 'install state would exceed its size limit', { maxBytes: MAX_STATE_FILE_BYTES })
    }
    await writeFileAtomic(this.path, text)
  }

  /** Keeps a corrupt file for the operator and clears the way; returns its new name. */
  async moveAside (nowMs: number): Promise<string> {
    const aside = `${this.path}.corrupt-${nowMs}`
    await rename(this.path, aside)
    await fsyncDir(dirname(this.path))
    return aside
  }
}
