/**
 * A V8 CPU profile of this process over one part of a benchmark (node:inspector), for
 * `--cpu-prof` where node's own flag would profile the whole run, start-up included.
 */
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import type { CpuProfile } from './cpu-top.js'

/**
 * Starts profiling; the returned function stops it and answers the profile, written
 * to `saveAs` too when given (for Chrome DevTools or a closer look).
 */
export async function profileSelf (saveAs?: string): Promise<() => Promise<CpuProfile>> {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  return async () => {
    const { profile } = await session.post('Profiler.stop')
    session.disconnect()
    if (saveAs !== undefined) await writeFile(saveAs, JSON.stringify(profile))
    return profile as unknown as CpuProfile
  }
}
