/**
 * The super hub's timestamp feed, wired (protocols/root/SPEC.md section 6 "Feed"):
 * statements from `--timestamp-dir` and, with `--origin`, the origin's `timestamp.json`,
 * verified against the root's timestamp role in force and stored in `<data>/timestamp.json`,
 * where the report handler hands them down. A newer statement wakes the hubs' held
 * report polls, so it reaches them at once rather than when their wait ends.
 */
import { TimestampDirSource, TimestampFeed, type RootTrust, type TimestampSource } from '../identity/root/index.js'
import type { Log } from '../interface/log.js'
import { OriginTimestampSource, type OriginFetcher } from '../origin/index.js'

export interface SuperHubTimestampsInit {
  dataDir: string
  root: RootTrust
  /** `--timestamp-dir` */
  dir?: string | undefined
  /** the origin's reader, when pulling through */
  origin?: OriginFetcher | undefined
  rescanMs?: number | undefined
  onAdopted: () => void
  log?: Log | undefined
}

/** The started feed; undefined when there is no source. */
export async function startSuperHubTimestamps (init: SuperHubTimestampsInit): Promise<TimestampFeed | undefined> {
  const sources: TimestampSource[] = []
  if (init.dir !== undefined) sources.push(new TimestampDirSource(init.dir))
  if (init.origin !== undefined) sources.push(new OriginTimestampSource(init.origin))
  if (sources.length === 0) return undefined
  const root = init.root
  const feed = new TimestampFeed({
    dataDir: init.dataDir,
    // the root in force at each read: a rotated timestamp key counts from the next statement on
    trust: () => root.trust('timestamp'),
    sources,
    onAdopted: init.onAdopted,
    ...(init.rescanMs !== undefined ? { rescanMs: init.rescanMs } : {}),
    ...(init.log !== undefined ? { log: init.log } : {})
  })
  await feed.start()
  return feed
}
