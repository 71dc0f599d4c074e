/**
 * One round of "which bundle should this device fetch?": every asked peer's answer is
 * collected for a short window after the first one, and the newest valid bundle of the
 * device's class wins. Before issue #20 the first answer settled it, so a peer posing as
 * a hub that answered first made the device join an older (validly signed) bundle and
 * spend the store's bandwidth on it before the install gate refused it.
 *
 * Validity is the manifest client's: the signature checks against the trusted keys
 * (ManifestProtocol.fetch); here the class must be ours and the version not older than
 * what the device already targets.
 */
import type { PeerId } from '@libp2p/interface'
import semver from 'semver'
import type { BundleInfo } from '../interface/types.js'

/** Whether `a` should replace `b` as the device's target: a higher version, or the same one signed later. */
export function isNewer (a: BundleInfo, b: BundleInfo | undefined): boolean {
  if (b === undefined) return true
  if (a.id === b.id) return false
  const c = semver.compare(a.manifest.signed.version, b.manifest.signed.version)
  return c > 0 || (c === 0 && a.manifest.signed.created > b.manifest.signed.created)
}

export interface ManifestAnswer {
  peer: PeerId
  info: BundleInfo
}

export interface CollectOptions {
  /** answers are taken until this long after the first one (or until every peer answered) */
  windowMs: number
  signal?: AbortSignal
}

/**
 * Asks every peer at once and returns the answers in the order they came. Peers that
 * fail or have nothing are skipped; questions still open when the window closes are
 * aborted.
 */
export async function collectManifestAnswers (
  peers: readonly PeerId[], ask: (peer: PeerId, signal: AbortSignal) => Promise<BundleInfo>, options: CollectOptions
): Promise<ManifestAnswer[]> {
  const answers: ManifestAnswer[] = []
  if (peers.length === 0) return answers
  const ctl = new AbortController()
  const signal = options.signal !== undefined ? AbortSignal.any([options.signal, ctl.signal]) : ctl.signal
  let windowTimer: NodeJS.Timeout | undefined
  let closeWindow!: () => void
  const windowClosed = new Promise<void>(resolve => { closeWindow = resolve })
  const onAbort = (): void => { closeWindow() }
  options.signal?.addEventListener('abort', onAbort, { once: true })
  const all = Promise.allSettled(peers.map(async peer => {
    const info = await ask(peer, signal)
    if (signal.aborted) return
    answers.push({ peer, info })
    // the first answer opens the window
    if (windowTimer === undefined) windowTimer = setTimeout(closeWindow, options.windowMs)
  }))
  try {
    await Promise.race([all, windowClosed])
  } finally {
    clearTimeout(windowTimer)
    options.signal?.removeEventListener('abort', onAbort)
    ctl.abort()
  }
  return answers
}

/**
 * The answer to join: of the device's class, newer than `current` (isNewer: a higher
 * version, or the same version signed later), the newest of all; undefined when none
 * is newer than what the device has.
 */
export function newestAnswer (answers: readonly ManifestAnswer[], deviceClass: string, current: BundleInfo | undefined): ManifestAnswer | undefined {
  let best: ManifestAnswer | undefined
  for (const a of answers) {
    if (a.info.manifest.signed.deviceClass !== deviceClass) continue
    if (!isNewer(a.info, current)) continue
    if (best === undefined || isNewer(a.info, best.info)) best = a
  }
  return best
}
