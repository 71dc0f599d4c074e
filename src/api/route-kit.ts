/**
 * The route table pattern of the API server (server.ts): a route is a method, a path
 * pattern and a handler; reads are open, writes need the token (checked by the server
 * before the body is read); bodies and queries are validated here with zod and the
 * ids' own syntax. The hub's routes (routes.ts) and the super hub's fleet routes
 * (src/control/api/) are both built from these pieces.
 */
import type { z } from 'zod'
import { StoremeshError } from '../interface/errors.js'

export interface RouteContext {
  params: string[]
  query: URLSearchParams
  /** the parsed JSON body (writes only) */
  body: unknown
}

export type RouteResult =
  | { kind: 'json', status?: number, body: unknown }
  | { kind: 'text', contentType: string, body: string }

export interface Route {
  method: 'GET' | 'POST'
  pattern: RegExp
  write: boolean
  run(ctx: RouteContext): Promise<RouteResult>
}

/** Parses with a schema; E_INVALID_ARGUMENT naming the first bad field. */
export function parseBody<T> (schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value)
  if (r.success) return r.data
  const issue = r.error.issues[0]
  const field = issue !== undefined && issue.path.length > 0 ? issue.path.join('.') : what
  throw new StoremeshError('E_INVALID_ARGUMENT', `bad ${what}: ${field}: ${issue?.message ?? 'invalid'}`, { field })
}

/** An integer query parameter in [min, max]; def when absent. */
export function intParam (query: URLSearchParams, name: string, def: number, min: number, max: number): number {
  const raw = query.get(name)
  if (raw === null || raw === '') return def
  if (!/^\d{1,9}$/.test(raw)) throw new StoremeshError('E_INVALID_ARGUMENT', `${name} must be an integer in [${min}, ${max}]`, { [name]: raw.slice(0, 20) })
  const n = Number(raw)
  if (n < min || n > max) throw new StoremeshError('E_INVALID_ARGUMENT', `${name} must be an integer in [${min}, ${max}]`, { [name]: n })
  return n
}

/** A path or query id checked against its syntax. */
export function idParam (value: string | undefined, re: RegExp, what: string): string {
  if (value === undefined || !re.test(value)) throw new StoremeshError('E_INVALID_ARGUMENT', `bad ${what} id`, { [what]: String(value).slice(0, 80) })
  return value
}

export const jsonResult = (body: unknown, status?: number): RouteResult => ({ kind: 'json', body, ...(status !== undefined ? { status } : {}) })
export const htmlResult = (body: string): RouteResult => ({ kind: 'text', contentType: 'text/html; charset=utf-8', body })

export const getRoute = (pattern: RegExp, run: Route['run']): Route => ({ method: 'GET', pattern, write: false, run })
export const postRoute = (pattern: RegExp, run: Route['run']): Route => ({ method: 'POST', pattern, write: true, run })
