/**
 * Defaults of the LAN roles (store hub, device agent, the peer they share), in one
 * place; the CLI flags read the same constants so a flag and its default agree.
 */
import { DEVICE_STORE_DIR } from './device-install-config.js'

const SECOND_MS = 1000

/** Every role keeps its chunk store where the installer looks for it: `<data>/store`. */
export const PEER_STORE_DIR = DEVICE_STORE_DIR
/** `<data>/status.json`: the peer's last progress snapshot, read by `storemesh status`. */
export const STATUS_FILE = 'status.json'
/** A status file is a few KiB per bundle; anything far larger is not ours. */
export const MAX_STATUS_FILE_BYTES = 4 * 1024 * 1024
export const STATUS_SCHEMA = 1

/** Serve the store LAN on every interface; tests pass `/ip4/127.0.0.1/tcp/0`. */
export const DEFAULT_PEER_LISTEN_ADDRS: readonly string[] = ['/ip4/0.0.0.0/tcp/0']
/**
 * status.json is compared this often and rewritten only when it changed, so at most
 * this often (issue #19: an idle agent writes nothing, a busy one wears the flash at
 * one small write per tick). @default 3 s: an operator watching `storemesh status`
 * sees progress a few seconds old; a finished bundle is written at once.
 */
export const DEFAULT_STATUS_INTERVAL_MS = 3 * SECOND_MS
/** The device asks its peers for a newer manifest this often. @default 10 s */
export const DEFAULT_MANIFEST_POLL_MS = 10 * SECOND_MS
/** One manifest question to one peer. @default 5 s */
export const DEFAULT_MANIFEST_ASK_TIMEOUT_MS = 5 * SECOND_MS
/** Peers asked per manifest round (hubs first). @default 8 */
export const DEFAULT_MANIFEST_ASK_PEERS = 8
/**
 * A device whose target is verified (or that has none) and whose manifest rounds find
 * nothing newer asks less often: after two such rounds each doubles the wait, up to
 * this many poll intervals and at most DEFAULT_MANIFEST_IDLE_POLL_MAX_MS. A round asks
 * up to DEFAULT_MANIFEST_ASK_PEERS peers over fresh streams, so a steady 10 s poll was
 * a large part of an idle agent's CPU (issue #19). A peer that starts serving
 * manifests, or a change in the hub's orders, wakes the poll at once.
 */
export const MANIFEST_IDLE_POLL_FACTOR = 6
/** @default 60 s */
export const DEFAULT_MANIFEST_IDLE_POLL_MAX_MS = 60 * SECOND_MS
/**
 * A manifest round takes answers for this long after the first one, then joins the
 * newest: long enough for the store hub on a loaded LAN, short enough that a device
 * starts fetching at once (issue #20: the first answer settled it, and a peer posing
 * as a hub that answered first made the device fetch an older bundle). @default 1.5 s
 */
export const MANIFEST_ANSWER_WINDOW_MS = 1500
/**
 * A bundle that no hub or certified peer could name is not asked for again before
 * this, unless a new one connected (resolve-bundle.ts). Short: a hub that has just
 * learned a bundle names it on its next re-open (1, 2, 4... s). @default 3 s
 */
export const RESOLVE_NEGATIVE_CACHE_MS = 3 * SECOND_MS
/**
 * Misses remembered at most: a few hundred KiB, however many random info-hashes
 * peers send (issue #20: the cache was never pruned). @default 1024
 */
export const RESOLVE_MAX_MISSES = 1024
/** The device agent runs its install decision at most this often. @default 60 s */
export const DEFAULT_INSTALL_INTERVAL_MS = 60 * SECOND_MS
