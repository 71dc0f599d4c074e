/**
 * One process per embedded fleet database: PGlite takes no lock on its folder, and two
 * processes writing one PGlite folder corrupt it. A lock file holds the owner's pid;
 * a file left by a process that is gone is taken over.
 */
import { open, readFile, rm } from 'node:fs/promises'
import { StoremeshError } from '../../interface/errors.js'

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export interface DirLock {
  release(): Promise<void>
}

/** Takes `path`; E_DATA_DIR_IN_USE when a live process holds it. */
export async function takeDirLock (path: string, what: string): Promise<DirLock> {
  // two tries: the second after removing a stale file
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx')
      await fh.writeFile(String(process.pid))
      await fh.close()
      return { release: async () => { await rm(path, { force: true }) } }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim())
      if (Number.isSafeInteger(pid) && pid > 0 && (pid === process.pid || alive(pid))) {
        throw new StoremeshError('E_DATA_DIR_IN_USE', `${what} is open in process ${pid}${pid === process.pid ? " (this one)" : ""}: stop it, or put the fleet ledger on a server (--db postgres://…) that several processes share`, { path, pid })
      }
      await rm(path, { force: true })
    }
  }
  throw new StoremeshError('E_DATA_DIR_IN_USE', `cannot take the lock ${path}`, { path })
}
