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
export const REQUEST_TIMEOUT_MS = 30_000
export const HEADERS_TIMEOUT_MS = 10_000

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
