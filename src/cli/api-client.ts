/**
 * The CLI's client of a hub's HTTP API (src/api/): where the API is (`--api`,
 * STOREMESH_API, default http://127.0.0.1:7480), the bearer token (`--token`,
 * STOREMESH_TOKEN, or `<data>/api-token`), and one request with a timeout whose
 * failures are StoremeshErrors that print as one line.
 */
import type { Command } from 'commander'
import { join } from 'node:path'
import { API_URL_FILE, DEFAULT_API_HOST, DEFAULT_API_PORT } from '../api/constants.js'
import { readApiToken } from '../api/token.js'
import { ERROR_CODES, StoremeshError, type ErrorCode } from '../interface/errors.js'
import { readRegularFileIfExists } from '../interface/regular-file.js'
import { parseStrictJson } from '../interface/strict-json.js'

export const DEFAULT_API_URL = `http://${DEFAULT_API_HOST}:${DEFAULT_API_PORT}`
export const DEFAULT_API_TIMEOUT_MS = 15_000
/** answers are small; a bigger one is not our API */
export const MAX_API_RESPONSE_BYTES = 8 * 1024 * 1024

export interface ApiClientOptions {
  api?: string
  token?: string
  data?: string
  json: boolean
}

/** Adds `--api`, `--token`, `--data` and `--json` to a command that talks to the hub API. */
export function apiOptions (cmd: Command): Command {
  return cmd
    .option('--api <url>', `the hub API (env STOREMESH_API; default ${DEFAULT_API_URL})`)
    .option('--token <token>', 'API bearer token (env STOREMESH_TOKEN; default: <data>/api-token)')
    .option('--data <dir>', 'the hub data directory, to read its api-token')
    .option('--json', 'machine-readable output', false)
}

export class ApiClient {
  readonly baseUrl: string
  readonly #token: string | undefined
  readonly #timeoutMs: number

  constructor (baseUrl: string, token: string | undefined, timeoutMs = DEFAULT_API_TIMEOUT_MS) {
    let u: URL
    try {
      u = new URL(baseUrl)
    } catch {
      throw new StoremeshError('E_USAGE', `--api must be an http:// URL, got ${baseUrl}`)
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new StoremeshError('E_USAGE', `--api must be an http:// URL, got ${baseUrl}`)
    this.baseUrl = u.origin
    this.#token = token
    this.#timeoutMs = timeoutMs
  }

  /** From flags, then the environment, then the data dir's token file. */
  static async fromOptions (opts: ApiClientOptions, env: NodeJS.ProcessEnv = process.env): Promise<ApiClient> {
    const url = opts.api ?? env.STOREMESH_API ?? DEFAULT_API_URL
    let token = opts.token ?? env.STOREMESH_TOKEN
    if (token === undefined && opts.data !== undefined) token = await readApiToken(opts.data)
    return new ApiClient(url, token)
  }

  get hasToken (): boolean { return this.#token !== undefined }

  async get<T> (path: string, options: { signal?: AbortSignal } = {}): Promise<T> {
    return await this.request<T>('GET', path, undefined, options)
  }

  async post<T> (path: string, body: unknown, options: { signal?: AbortSignal } = {}): Promise<T> {
    if (this.#token === undefined) {
      throw new StoremeshError('E_UNAUTHORIZED', 'this command needs the hub API token: give --token, set STOREMESH_TOKEN, or --data <hub data dir>')
    }
    return await this.request<T>('POST', path, body, options)
  }

  async request<T> (method: string, path: string, body: unknown, options: { signal?: AbortSignal } = {}): Promise<T> {
    const signals = [AbortSignal.timeout(this.#timeoutMs), ...(options.signal !== undefined ? [options.signal] : [])]
    const headers: Record<string, string> = { accept: 'application/json' }
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`
    const init: RequestInit = { method, headers, signal: AbortSignal.any(signals) }
    if (body !== undefined) {
      headers['content-type'] = 'application/json'
      init.body = JSON.stringify(body)
    }
    let res: Response
    try {
      res = await fetch(this.baseUrl + path, init)
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } }
      if (e.name === 'TimeoutError') throw new StoremeshError('E_TIMEOUT', `the hub API at ${this.baseUrl} did not answer in ${this.#timeoutMs} ms`)
      if (e.name === 'AbortError') throw new StoremeshError('E_ABORTED', 'aborted')
      throw new StoremeshError('E_NOT_CONNECTED', `cannot reach the hub API at ${this.baseUrl}: ${e.cause?.code ?? e.message}`, {}, { cause: err })
    }
    const text = await res.text()
    if (text.length > MAX_API_RESPONSE_BYTES) throw new StoremeshError('E_WIRE_MALFORMED', `the hub API answered more than ${MAX_API_RESPONSE_BYTES} bytes`)
    let parsed: unknown
    try {
      parsed = text === '' ? undefined : JSON.parse(text)
    } catch {
      throw new StoremeshError('E_WIRE_MALFORMED', `the hub API answered HTTP ${res.status} with something that is not JSON`)
    }
    if (!res.ok) throw errorOf(res.status, parsed)
    return parsed as T
  }
}

/** The API's `{error:{code,message,meta}}` as the same StoremeshError the hub threw. */
function errorOf (status: number, body: unknown): StoremeshError {
  const e = (body as { error?: { code?: unknown, message?: unknown, meta?: unknown } } | undefined)?.error
  const code = typeof e?.code === 'string' && e.code in ERROR_CODES ? e.code as ErrorCode : status === 401 ? 'E_UNAUTHORIZED' : 'E_PEER_ERROR'
  const message = typeof e?.message === 'string' ? e.message : `the hub API answered HTTP ${status}`
  const meta: Record<string, string | number | boolean> = {}
  if (e?.meta !== null && typeof e?.meta === 'object') {
    for (const [k, v] of Object.entries(e.meta as object)) if (['string', 'number', 'boolean'].includes(typeof v)) meta[k] = v as string
  }
  return new StoremeshError(code, message, { ...meta, http: status })
}

/** `<data>/api.json` is one small line; anything larger is not ours */
const MAX_API_URL_FILE_BYTES = 4096

/**
 * The URL in `<data>/api.json` of a node (store hub, super hub) running its API on that
 * data dir; undefined when there is none or it cannot be read (a stopped node removed it).
 */
export async function runningApiUrl (dataDir: string): Promise<string | undefined> {
  const bytes = await readRegularFileIfExists(join(dataDir, API_URL_FILE), { what: 'API URL file', maxBytes: MAX_API_URL_FILE_BYTES }).catch(() => undefined)
  if (bytes === undefined) return undefined
  try {
    const url = (parseStrictJson(bytes, API_URL_FILE) as { url?: unknown } | null)?.url
    return typeof url === 'string' ? url : undefined
  } catch {
    return undefined
  }
}
