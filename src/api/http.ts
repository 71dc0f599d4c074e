/** Small HTTP helpers of the API server: JSON answers, error mapping, bounded bodies. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { StoremeshError, toStoremeshError, type ErrorCode } from '../interface/errors.js'

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  E_USAGE: 400,
  E_INVALID_ARGUMENT: 400,
  E_POLICY_INVALID: 400,
  E_UNAUTHORIZED: 401,
  E_NOT_FOUND: 404,
  E_WAVE_UNKNOWN: 404,
  E_STORE_UNKNOWN: 404,
  E_DEVICE_UNKNOWN: 404,
  E_BUNDLE_NOT_FOUND: 404,
  E_CONFLICT: 409,
  E_POLICY_CONFLICT: 409,
  E_NOT_IMPLEMENTED: 501,
  E_REQUEST_TOO_LARGE: 413,
  E_MISDIRECTED_REQUEST: 421,
  E_TIMEOUT: 504,
  E_NOT_CONNECTED: 503,
  E_DB_UNAVAILABLE: 503
}

export function httpStatusOf (code: ErrorCode): number {
  return STATUS_OF[code] ?? 500
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store'
}

export function sendJson (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...SECURITY_HEADERS, ...headers })
  res.end(text)
}

export function sendText (res: ServerResponse, status: number, contentType: string, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), ...SECURITY_HEADERS, ...headers })
  res.end(text)
}

/**
 * `{error: {code, message, meta}}` with the status of its code. Errors that are not
 * StoremeshErrors are internal: their text is not sent (it may name paths or secrets).
 */
export function sendError (res: ServerResponse, err: unknown, headers: Record<string, string> = {}): void {
  const e = err instanceof StoremeshError ? err : toStoremeshError(err)
  const known = err instanceof StoremeshError || e.code !== 'E_INTERNAL'
  const body = known ? e.toJSON() : { code: 'E_INTERNAL', message: 'internal error', meta: {} }
  if (res.headersSent) {
    res.destroy()
    return
  }
  sendJson(res, httpStatusOf(e.code), { error: body }, headers)
}

/** Reads a request body of at most maxBytes; E_REQUEST_TOO_LARGE past it (Content-Length or streamed). */
export async function readBody (req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new StoremeshError('E_REQUEST_TOO_LARGE', `request body of ${declared} bytes is over the limit of ${maxBytes}`, { limit: maxBytes })
  }
  const parts: Buffer[] = []
  let total = 0
  for await (const chunk of req) {
    total += (chunk as Buffer).length
    if (total > maxBytes) {
      throw new StoremeshError('E_REQUEST_TOO_LARGE', `request body is over the limit of ${maxBytes} bytes`, { limit: maxBytes })
    }
    parts.push(chunk as Buffer)
  }
  return Buffer.concat(parts)
}
