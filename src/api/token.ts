/**
 * The API's bearer token: random, kept in `<data>/api-token` (mode 0600) so that the
 * CLI on the same machine can read it, compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { StoremeshError } from '../interface/errors.js'
import { readRegularFileIfExists } from '../interface/regular-file.js'
import { API_TOKEN_BYTES, API_TOKEN_FILE } from './constants.js'

const TOKEN_RE = /^[A-Za-z0-9._~+/=-]{16,512}$/

export function apiTokenPath (dataDir: string): string {
  return join(dataDir, API_TOKEN_FILE)
}

/** A token file holds one hex token and a newline; anything longer is not one. */
const MAX_API_TOKEN_FILE_BYTES = 4096

export function newApiToken (): string {
  return randomBytes(API_TOKEN_BYTES).toString('hex')
}

/** Reads `<data>/api-token`; undefined when absent. E_CONFIG_INVALID when it holds no token. */
export async function readApiToken (dataDir: string): Promise<string | undefined> {
  const bytes = await readRegularFileIfExists(apiTokenPath(dataDir), { what: 'API token file', maxBytes: MAX_API_TOKEN_FILE_BYTES, codes: { tooLarge: 'E_CONFIG_INVALID' } })
  if (bytes === undefined) return undefined
  const token = bytes.toString('utf8').trim()
  if (!TOKEN_RE.test(token)) throw new StoremeshError('E_CONFIG_INVALID', `${apiTokenPath(dataDir)} does not hold an API token`)
  return token
}

/** The hub's token: the one in the data dir, or a new one written there (0600). */
export async function loadOrCreateApiToken (dataDir: string): Promise<string> {
  const existing = await readApiToken(dataDir)
  if (existing !== undefined) return existing
  const token = newApiToken()
  const path = apiTokenPath(dataDir)
  // 'wx': two hubs starting at once must not overwrite each other's token
  try {
    await writeFile(path, token + '\n', { mode: 0o600, flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return (await readApiToken(dataDir)) ?? token
    throw err
  }
  await chmod(path, 0o600)
  return token
}

/**
 * Constant-time comparison of a presented token with the expected one. Both are hashed
 * first so that their lengths leak nothing either.
 */
export function tokenMatches (presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false
  const a = createHash('sha256').update(presented).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerOf (header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return m?.[1]
}
