/**
 * The fleet's pre-shared key for the libp2p private network (@libp2p/pnet). The file is
 * the standard go-ipfs/js-libp2p swarm key format, so other libp2p tools can read it:
 *
 * ```
 * /key/swarm/psk/1.0.0/
 * /base16/
 * <64 hex characters>
 * ```
 *
 * A node without the key, or with another key, cannot complete a connection at all.
 */
import { createHash, randomBytes } from 'node:crypto'
import { link, open, rename, unlink } from 'node:fs/promises'
import { StoremeshError } from '../interface/errors.js'
import { readRegularFile } from '../interface/regular-file.js'

export const SWARM_KEY_HEADER = '/key/swarm/psk/1.0.0/'
export const SWARM_KEY_CODEC = '/base16/'
export const SWARM_KEY_BYTES = 32
/** A swarm key file is ~95 bytes; anything much larger is some other file. */
export const MAX_SWARM_KEY_FILE_BYTES = 1024

export interface SwarmKey {
  /** the 32 secret bytes */
  psk: Uint8Array
  /** the canonical file bytes, as @libp2p/pnet's `preSharedKey({ psk })` wants them */
  file: Uint8Array
}

function encode (psk: Uint8Array): Uint8Array {
  const text = `${SWARM_KEY_HEADER}\n${SWARM_KEY_CODEC}\n${Buffer.from(psk).toString('hex')}\n`
  return new TextEncoder().encode(text)
}

/**
 * A short public name for a key (`psk:` + 16 hex of SHA-256 of the secret), so operators
 * can check two machines hold the same fleet key without showing it.
 */
export function swarmKeyFingerprint (key: SwarmKey): string {
  return 'psk:' + createHash('sha256').update(key.psk).digest('hex').slice(0, 16)
}

export function generateSwarmKey (): SwarmKey {
  const psk = new Uint8Array(randomBytes(SWARM_KEY_BYTES))
  return { psk, file: encode(psk) }
}

/**
 * Parses swarm key file bytes. Anything else (a signing key, a manifest, a key with a
 * base64 or bin codec we do not write) fails with E_KEY_INVALID.
 */
export function parseSwarmKey (bytes: Uint8Array, source = 'swarm key'): SwarmKey {
  const invalid = (why: string): never => {
    throw new StoremeshError('E_KEY_INVALID', `${source} is not a swarm key file: ${why}`, { expected: SWARM_KEY_HEADER })
  }
  if (bytes.length > MAX_SWARM_KEY_FILE_BYTES) invalid(`${bytes.length} bytes, limit ${MAX_SWARM_KEY_FILE_BYTES}`)
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return invalid('not UTF-8 text')
  }
  const lines = text.split(/\r\n|\r|\n/).map(l => l.trim()).filter(l => l.length > 0)
  if (lines[0] !== SWARM_KEY_HEADER) invalid(`first line must be ${SWARM_KEY_HEADER}`)
  if (lines[1] !== SWARM_KEY_CODEC) invalid(`second line must be ${SWARM_KEY_CODEC} (the only codec supported)`)
  const hex = lines[2] ?? ''
  if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== SWARM_KEY_BYTES * 2) invalid(`key must be ${SWARM_KEY_BYTES * 2} hex characters`)
  if (lines.length > 3) invalid('unexpected text after the key')
  const psk = new Uint8Array(Buffer.from(hex, 'hex'))
  return { psk, file: encode(psk) }
}

export async function readSwarmKeyFile (path: string): Promise<SwarmKey> {
  const bytes = await readRegularFile(path, { what: `swarm key file ${path}`, maxBytes: MAX_SWARM_KEY_FILE_BYTES, codes: { tooLarge: 'E_KEY_INVALID' } })
  return parseSwarmKey(bytes, path)
}

export interface WriteSwarmKeyOptions {
  /** replace an existing file (`storemesh keygen --swarm --force`) */
  overwrite?: boolean
}

/**
 * Writes `key` (or a new key) to `path` with mode 0600, atomically, and by default
 * refuses to overwrite an existing file: replacing a fleet's key by accident splits the fleet.
 */
export async function writeSwarmKeyFile (path: string, key: SwarmKey = generateSwarmKey(), options: WriteSwarmKeyOptions = {}): Promise<SwarmKey> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`
  const fh = await open(tmp, 'wx', 0o600)
  try {
    await fh.writeFile(key.file)
    await fh.sync()
  } finally {
    await fh.close()
  }
  try {
    // link() fails with EEXIST instead of replacing: an atomic no-clobber rename
    if (options.overwrite === true) await rename(tmp, path)
    else await link(tmp, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new StoremeshError('E_INVALID_ARGUMENT', `refusing to overwrite existing file ${path}`, { path })
    }
    throw err
  } finally {
    await unlink(tmp).catch(() => {})
  }
  return key
}
