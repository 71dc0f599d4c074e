/**
 * Reads objects from an origin by key (layout.ts) over `http(s)://` (Node's fetch) or
 * from a folder (`file://`), each read bounded: a deadline for the answer's head, a
 * stall timeout between body bytes, a byte limit, and an expected size when the caller
 * knows one. Every failure is a StoremeshError with a stable code (SPEC "Reading"):
 *
 * | origin does                        | code                   | retried |
 * | ---------------------------------- | ---------------------- | ------- |
 * | 404 / no such file                 | E_ORIGIN_NOT_FOUND     | no      |
 * | another error status               | E_ORIGIN_HTTP          | yes     |
 * | body shorter than announced        | E_ORIGIN_TRUNCATED     | yes     |
 * | size other than expected / limit   | E_SIZE_MISMATCH        | yes     |
 * | `check` refuses the bytes (hash)   | the check's code       | yes     |
 * | no head in time, or a quiet body   | E_ORIGIN_STALLED       | yes     |
 * | refused, reset, DNS                | E_ORIGIN_UNREACHABLE   | yes     |
 *
 * Retries wait a jittered exponential back-off (interface/backoff.ts), at most
 * `attempts` tries in all. Nothing here stores anything: the caller keeps only what
 * passed its check.
 */
import { constants as fsConstants } from 'node:fs'
import { open } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { backoffDelayMs } from '../interface/backoff.js'
import { StoremeshError, isStoremeshError, type ErrorCode } from '../interface/errors.js'
import {
  DEFAULT_ORIGIN_ATTEMPTS, DEFAULT_ORIGIN_REQUEST_TIMEOUT_MS, DEFAULT_ORIGIN_RETRY_BASE_MS, DEFAULT_ORIGIN_RETRY_JITTER,
  DEFAULT_ORIGIN_RETRY_MAX_MS, DEFAULT_ORIGIN_STALL_TIMEOUT_MS
} from './constants.js'

export interface OriginFetcherInit {
  /** `http://host/path/`, `https://…` or `file:///dir/`; a missing trailing slash is added */
  base: string
  /** @default DEFAULT_ORIGIN_REQUEST_TIMEOUT_MS */
  requestTimeoutMs?: number
  /** @default DEFAULT_ORIGIN_STALL_TIMEOUT_MS */
  stallTimeoutMs?: number
  /** tries per object, the first included. @default DEFAULT_ORIGIN_ATTEMPTS */
  attempts?: number
  retryBaseMs?: number
  retryMaxMs?: number
  /** every body byte read from the origin, good or not (origin traffic accounting) */
  onBytes?: (bytes: number) => void
  /** each failed try, before its back-off (metrics, logs); `retried`: another try follows */
  onFailure?: (key: string, err: StoremeshError, attempt: number, retried: boolean) => void
}

export interface FetchObjectOptions {
  /** a body over this is refused */
  maxBytes: number
  /** a body of any other length is refused (E_SIZE_MISMATCH) */
  expectedBytes?: number
  /** throws to refuse the bytes (e.g. a BLAKE3 mismatch); the read is retried */
  check?: (bytes: Uint8Array) => void
  signal?: AbortSignal
}

const NOT_RETRIED: ReadonlySet<ErrorCode> = new Set(['E_ORIGIN_NOT_FOUND', 'E_ABORTED', 'E_INVALID_ARGUMENT'])

/** Parses `--origin`: only http, https and file URLs. */
export function parseOriginUrl (base: string): URL {
  let url: URL
  try {
    url = new URL(base.endsWith('/') ? base : `${base}/`)
  } catch {
    throw new StoremeshError('E_USAGE', `--origin wants an http(s):// or file:// URL: ${base}`)
  }
  if (!['http:', 'https:', 'file:'].includes(url.protocol)) throw new StoremeshError('E_USAGE', `--origin wants an http(s):// or file:// URL, not ${url.protocol}`)
  return url
}

export class OriginFetcher {
  readonly base: URL
  readonly #init: OriginFetcherInit

  constructor (init: OriginFetcherInit) {
    this.base = parseOriginUrl(init.base)
    this.#init = init
  }

  /** The object's bytes after `check` passed, or the last try's error. */
  async fetch (key: string, options: FetchObjectOptions): Promise<Uint8Array> {
    const attempts = Math.max(1, this.#init.attempts ?? DEFAULT_ORIGIN_ATTEMPTS)
    for (let attempt = 1; ; attempt++) {
      options.signal?.throwIfAborted()
      try {
        const bytes = this.base.protocol === 'file:' ? await this.#readFile(key, options) : await this.#readHttp(key, options)
        options.check?.(bytes)
        return bytes
      } catch (err) {
        const e = isStoremeshError(err) ? err : new StoremeshError('E_ORIGIN_UNREACHABLE', `origin read of ${key} failed: ${(err as Error).message}`, { key }, { cause: err })
        if (options.signal?.aborted === true) throw new StoremeshError('E_ABORTED', `origin read of ${key} aborted`, { key })
        const retried = !NOT_RETRIED.has(e.code) && attempt < attempts
        this.#init.onFailure?.(key, e, attempt, retried)
        if (!retried) throw e
        const waitMs = backoffDelayMs(attempt, {
          baseMs: this.#init.retryBaseMs ?? DEFAULT_ORIGIN_RETRY_BASE_MS,
          maxMs: this.#init.retryMaxMs ?? DEFAULT_ORIGIN_RETRY_MAX_MS,
          jitterFraction: DEFAULT_ORIGIN_RETRY_JITTER
        })
        await sleep(waitMs, undefined, options.signal !== undefined ? { signal: options.signal } : {}).catch(() => {})
      }
    }
  }

  #sizeError (key: string, got: number, options: FetchObjectOptions): StoremeshError | undefined {
    if (got > options.maxBytes) return new StoremeshError('E_SIZE_MISMATCH', `origin object ${key} is ${got} bytes, over the ${options.maxBytes}-byte limit`, { key, bytes: got })
    if (options.expectedBytes !== undefined && got !== options.expectedBytes) {
      return new StoremeshError('E_SIZE_MISMATCH', `origin object ${key} is ${got} bytes, expected ${options.expectedBytes}`, { key, bytes: got, expected: options.expectedBytes })
    }
    return undefined
  }

  /** A regular file only (a FIFO would block a read forever: STACK-NOTES), read within the limit. */
  async #readFile (key: string, options: FetchObjectOptions): Promise<Uint8Array> {
    const path = fileURLToPath(new URL(key, this.base))
    const fh = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new StoremeshError('E_ORIGIN_NOT_FOUND', `origin has no ${key}`, { key })
      throw new StoremeshError('E_ORIGIN_UNREACHABLE', `cannot open ${path}: ${err.message}`, { key })
    })
    try {
      const st = await fh.stat()
      if (!st.isFile()) throw new StoremeshError('E_ORIGIN_HTTP', `origin object ${key} is not a regular file`, { key })
      const sizeErr = this.#sizeError(key, st.size, options)
      if (sizeErr !== undefined) throw sizeErr
      const buf = Buffer.alloc(st.size)
      const { bytesRead } = await fh.read(buf, 0, st.size, 0)
      this.#init.onBytes?.(bytesRead)
      if (bytesRead !== st.size) throw new StoremeshError('E_ORIGIN_TRUNCATED', `origin object ${key} ended after ${bytesRead} of ${st.size} bytes`, { key })
      return buf
    } finally {
      await fh.close()
    }
  }

  async #readHttp (key: string, options: FetchObjectOptions): Promise<Uint8Array> {
    const url = new URL(key, this.base)
    const controller = new AbortController()
    const onOuterAbort = (): void => { controller.abort() }
    options.signal?.addEventListener('abort', onOuterAbort, { once: true })
    let stalled = false
    let timer: NodeJS.Timeout | undefined
    const arm = (ms: number): void => {
      clearTimeout(timer)
      timer = setTimeout(() => { stalled = true; controller.abort() }, ms)
    }
    const stalledError = (phase: string): StoremeshError =>
      new StoremeshError('E_ORIGIN_STALLED', `origin ${phase} for ${key} stalled`, { key, url: url.toString() })
    try {
      arm(this.#init.requestTimeoutMs ?? DEFAULT_ORIGIN_REQUEST_TIMEOUT_MS)
      let res: Response
      try {
        res = await fetch(url, { signal: controller.signal, redirect: 'follow' })
      } catch (err) {
        if (stalled) throw stalledError('answer')
        throw new StoremeshError('E_ORIGIN_UNREACHABLE', `origin ${url.origin} unreachable: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}`, { key }, { cause: err })
      }
      if (res.status === 404 || res.status === 410) {
        await res.body?.cancel().catch(() => {})
        throw new StoremeshError('E_ORIGIN_NOT_FOUND', `origin has no ${key} (HTTP ${res.status})`, { key, status: res.status })
      }
      if (!res.ok) {
        await res.body?.cancel().catch(() => {})
        throw new StoremeshError('E_ORIGIN_HTTP', `origin answered HTTP ${res.status} for ${key}`, { key, status: res.status })
      }
      const declaredText = res.headers.get('content-length')
      const declared = declaredText !== null && /^\d+$/.test(declaredText) ? Number(declaredText) : undefined
      if (declared !== undefined) {
        const sizeErr = this.#sizeError(key, declared, options)
        if (sizeErr !== undefined) { await res.body?.cancel().catch(() => {}); throw sizeErr }
      }
      const limit = Math.min(options.maxBytes, options.expectedBytes ?? Infinity)
      const parts: Uint8Array[] = []
      let got = 0
      const reader = res.body?.getReader()
      try {
        for (;;) {
          arm(this.#init.stallTimeoutMs ?? DEFAULT_ORIGIN_STALL_TIMEOUT_MS)
          let r: ReadableStreamReadResult<Uint8Array>
          try {
            if (reader === undefined) break
            r = await reader.read()
          } catch (err) {
            if (stalled) throw stalledError('body')
            if (options.signal?.aborted === true) throw err
            throw new StoremeshError('E_ORIGIN_TRUNCATED', `origin body of ${key} broke off after ${got} bytes${declared !== undefined ? ` of ${declared}` : ''}`, { key, bytes: got }, { cause: err })
          }
          if (r.done) break
          got += r.value.byteLength
          this.#init.onBytes?.(r.value.byteLength)
          if (got > limit) {
            throw this.#sizeError(key, got, options) ?? new StoremeshError('E_SIZE_MISMATCH', `origin object ${key} is over ${limit} bytes`, { key })
          }
          parts.push(r.value)
        }
      } finally {
        await reader?.cancel().catch(() => {})
      }
      if (declared !== undefined && got < declared) {
        throw new StoremeshError('E_ORIGIN_TRUNCATED', `origin body of ${key} ended after ${got} of ${declared} bytes`, { key, bytes: got })
      }
      if (options.expectedBytes !== undefined && got < options.expectedBytes) {
        throw new StoremeshError('E_ORIGIN_TRUNCATED', `origin body of ${key} ended after ${got} of ${options.expectedBytes} expected bytes`, { key, bytes: got })
      }
      return parts.length === 1 ? parts[0]! : Buffer.concat(parts, got)
    } finally {
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onOuterAbort)
    }
  }
}
