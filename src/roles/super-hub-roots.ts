/**
 * The super hub's root feed, wired (protocols/root/SPEC.md section 5 "Root feed"): roots
 * from `--root-dir` and, with `--origin`, the origin's `roots/<version>.json`, adopted
 * into `<data>/root-chain.json` only when they chain from the root held. The root in
 * force then verifies the super hub's own bundles and is handed down in the report
 * answers: an adoption wakes the hubs' held report polls, so it reaches them at once.
 */
import { RootDirSource, RootFeed, type RootSource, type RootTrust } from '../identity/root/index.js'
import type { Log } from '../interface/log.js'
import { OriginRootSource, type OriginFetcher } from '../origin/index.js'

export interface SuperHubRootsInit {
  root: RootTrust
  /** `--root-dir` */
  dir?: string | undefined
  /** the origin's reader, when pulling through */
  origin?: OriginFetcher | undefined
  rescanMs?: number | undefined
  onAdopted: () => void
  log?: Log | undefined
}

/** The started feed; undefined when there is no source. */
export async function startSuperHubRoots (init: SuperHubRootsInit): Promise<RootFeed | undefined> {
  const sources: RootSource[] = []
  if (init.dir !== undefined) sources.push(new RootDirSource(init.dir))
  if (init.origin !== undefined) sources.push(new OriginRootSource(init.origin))
  if (sources.length === 0) return undefined
  const feed = new RootFeed({
    root: init.root,
    sources,
    onAdopted: init.onAdopted,
    ...(init.rescanMs !== undefined ? { rescanMs: init.rescanMs } : {}),
    ...(init.log !== undefined ? { log: init.log } : {})
  })
  await feed.start()
  return feed
}
