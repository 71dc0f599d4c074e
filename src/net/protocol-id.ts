/**
 * Protocol ids are `/storemesh/<name>/<semver>` (DESIGN.md section 4). A breaking
 * change gets a new id and the old handler stays registered until it is retired, so
 * ids are built and read only here.
 */
import semver from 'semver'
import { StoremeshError } from '../interface/errors.js'

export const PROTOCOL_PREFIX = 'storemesh'

const NAME_RE = /^[a-z][a-z0-9-]{0,31}$/
/** Ids longer than this are not ours (multistream-select allows far more). */
export const MAX_PROTOCOL_ID_LENGTH = 128

export interface ProtocolId {
  name: string
  /** semver, e.g. `1.0.0` */
  version: string
}

export function formatProtocolId (name: string, version: string): string {
  if (!NAME_RE.test(name)) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `protocol name must match ${NAME_RE.source}: ${JSON.stringify(name)}`)
  }
  if (semver.valid(version) !== version) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `protocol version must be a plain semver: ${JSON.stringify(version)}`)
  }
  return `/${PROTOCOL_PREFIX}/${name}/${version}`
}

/** Parses an id; throws E_INVALID_ARGUMENT for anything that is not a storemesh id. */
export function parseProtocolId (id: string): ProtocolId {
  const fail = (): never => {
    throw new StoremeshError('E_INVALID_ARGUMENT', `not a storemesh protocol id: ${JSON.stringify(id.slice(0, MAX_PROTOCOL_ID_LENGTH))}`)
  }
  if (id.length > MAX_PROTOCOL_ID_LENGTH) fail()
  const parts = id.split('/')
  // ['', 'storemesh', name, version]
  if (parts.length !== 4 || parts[0] !== '' || parts[1] !== PROTOCOL_PREFIX) fail()
  const name = parts[2] ?? ''
  const version = parts[3] ?? ''
  if (!NAME_RE.test(name) || semver.valid(version) !== version) fail()
  return { name, version }
}

/** Same name and same major version: a peer speaking `b` understands `a`. */
export function isCompatibleProtocol (a: string, b: string): boolean {
  const pa = parseProtocolId(a)
  const pb = parseProtocolId(b)
  return pa.name === pb.name && semver.major(pa.version) === semver.major(pb.version)
}
