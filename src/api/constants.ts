/** Defaults and limits of the hub's HTTP API (DESIGN.md section 9). */

/** Loopback unless the operator says otherwise: the API controls rollouts. */
export const DEFAULT_API_HOST = '127.0.0.1'
/** @default 7480 */
export const DEFAULT_API_PORT = 7480
/** The token file in a node's data directory (mode 0600), read by the CLI too. */
export const API_TOKEN_FILE = 'api-token'
/** Bytes of random token (hex-encoded: twice as many characters). */
export const API_TOKEN_BYTES = 32
/** Request bodies are small JSON objects; anything larger is refused with 413. */
export const MAX_BODY_BYTES = 64 * 1024
export const MAX_URL_CHARS = 2048
/**
 * A whole request (headers and body) must arrive within this; bodies are small JSON.
 * @default 30 s
 */
export const REQUEST_TIMEOUT_MS = 30_000
/**
 * The headers must arrive within this: a client that trickles them (slowloris) is cut
 * off instead of holding a socket. @default 10 s
 */
export const HEADERS_TIMEOUT_MS = 10_000
/**
 * An idle kept-alive connection is closed after this (Node's default, set explicitly so
 * a change of Node version does not change it). @default 5 s
 */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000
/**
 * How often Node looks for requests over the two timeouts above. Its default (30 s)
 * would let a slow-header connection live 40 s instead of 10. @default 1 s
 */
export const TIMEOUT_CHECK_INTERVAL_MS = 1_000
/**
 * Host header values the API always answers to (besides its bind address and the
 * names from `--api-host-name`), without the port: see host-check.ts.
 */
export const LOOPBACK_HOST_NAMES: readonly string[] = ['localhost', '127.0.0.1', '[::1]']

export const DEFAULT_CACHE_LIMIT = 20
export const MAX_CACHE_LIMIT = 1000
export const DEFAULT_LEDGER_DEVICES = 200
export const MAX_LEDGER_DEVICES = 1000

/** The heat map: chunks × peers per bundle, bounded so one answer stays small. */
export const DEFAULT_HEATMAP_CHUNKS = 512
export const MAX_HEATMAP_CHUNKS = 4096
export const MAX_HEATMAP_PEERS = 256
export const MAX_HEATMAP_BUNDLES = 16

/** Path ids: the ledger's wave and device id syntax (src/ledger/constants.ts). */
export { DEVICE_ID_RE, WAVE_ID_RE } from '../interface/ids.js'
export const MAX_REASON_CHARS = 256
export const MAX_COHORT_CHARS = 128
/** a prefetch carries a policy document (signed JSON or YAML) */
export const MAX_POLICY_CHARS = 60 * 1024

/** `<data>/api.json`: the URL of the running hub's API (`storemesh status --data` reads it). */
export const API_URL_FILE = 'api.json'
