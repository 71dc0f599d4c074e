/**
 * `storemesh identity`: node certificates and revocation lists (protocols/identity/SPEC.md).
 *
 * - `issue`: the enrolment key signs a certificate for a peer id (or a node key file);
 * - `enrol`: the same, or a given certificate, written into a node's data dir next to
 *   its peer key (made there when absent), after checking it belongs to that key;
 * - `revoke`: adds serials and peer ids to a revocation list, bumps its version, signs;
 * - `show`: prints a certificate or a list, verified when `--trust` is given.
 */
import { stat } from 'node:fs/promises'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Command } from 'commander'
import { readSigningKeyFile, readTrustedKeyFiles, type PrivateSigningKey } from '../bundle/keys.js'
import {
  certificatePath, decodeCertificate, decodeRevocationList, DEFAULT_CERTIFICATE_LIFETIME_MS, extendRevocationList, issueCertificate,
  MAX_REVOCATION_LIST_BYTES, NODE_ROLES, readBoundedFile, readCertificateFile, readRevocationListFile,
  REVOCATION_LIST_TYPE, verifyCertificate, verifyRevocationList, writeCertificateFile, writeRevocationListFile,
  type NodeCertificate, type NodeRole, type RevocationList
} from '../identity/index.js'
import { StoremeshError } from '../interface/errors.js'
import { readRegularFile } from '../interface/regular-file.js'
import type { TrustedKey } from '../interface/types.js'
import { decodePeerKeyFile, loadOrCreatePeerKey, MAX_PEER_KEY_FILE_BYTES } from '../net/identity.js'
import { parseExpiry } from './bundle.js'
import type { Register } from './commands.js'
import { action } from './context.js'
import { printJson } from './output.js'

const DAY_MS = 86_400_000
export const DEFAULT_CERTIFICATE_EXPIRES = `${DEFAULT_CERTIFICATE_LIFETIME_MS / DAY_MS}d`

interface CertOpts {
  enrolmentKey: string
  deviceId: string
  storeId: string
  role: string
  class: string
  expires: string
  json?: boolean
}

interface IssueOpts extends CertOpts {
  peerId?: string
  nodeKey?: string
  out: string
}

interface EnrolOpts extends Partial<CertOpts> {
  data: string
  cert?: string
  trust?: string[]
  json?: boolean
}

interface RevokeOpts {
  enrolmentKey: string
  list: string
  serial?: string[]
  peerId?: string[]
  cert?: string[]
  json?: boolean
}

interface ShowOpts {
  trust?: string[]
  peerId?: string
  json?: boolean
}

/** `signed.type` of a signed identity file, if it reads as one; the decoders check the rest. */
function signedTypeOf (bytes: Uint8Array): unknown {
  try {
    return (JSON.parse(Buffer.from(bytes).toString('utf8')) as { signed?: { type?: unknown } } | null)?.signed?.type
  } catch {
    return undefined
  }
}

function roleOf (s: string): NodeRole {
  if (!(NODE_ROLES as readonly string[]).includes(s)) {
    throw new StoremeshError('E_USAGE', `--role must be ${NODE_ROLES.join(', ')}, got ${s}`)
  }
  return s as NodeRole
}

/** The enrolment key's public half: what verifies what it signs. */
function trustOf (key: PrivateSigningKey): TrustedKey[] {
  return [{ keyid: key.keyid, publicKey: key.publicKey }]
}

async function peerIdOfKeyFile (path: string): Promise<string> {
  return peerIdFromPrivateKey(decodePeerKeyFile(await readRegularFile(path, { what: `peer key file ${path}`, maxBytes: MAX_PEER_KEY_FILE_BYTES, codes: { tooLarge: 'E_KEY_INVALID' } }), path)).toString()
}

function issueFor (peerId: string, opts: CertOpts, key: PrivateSigningKey): NodeCertificate {
  const now = new Date()
  return issueCertificate({
    peerId,
    deviceId: opts.deviceId,
    storeId: opts.storeId,
    role: roleOf(opts.role),
    deviceClass: opts.class,
    issuedAt: now,
    expiresAt: parseExpiry(opts.expires, now.getTime())
  }, [key])
}

function printCertificate (cert: NodeCertificate, path: string, json: boolean, verified?: boolean): void {
  const c = cert.signed
  if (json) {
    printJson({ kind: 'certificate', path, ...c, signedBy: cert.signatures.map(s => s.keyid), ...(verified !== undefined ? { verified } : {}) })
    return
  }
  process.stdout.write([
    `certificate ${c.serial}${verified === true ? ' (verified)' : ''}`,
    `peer        ${c.peerId}`,
    `device      ${c.deviceId}`,
    `store       ${c.storeId}`,
    `role        ${c.role}`,
    `class       ${c.deviceClass}`,
    `issued      ${c.issuedAt}`,
    `expires     ${c.expiresAt}`,
    `signed by   ${cert.signatures.map(s => s.keyid).join(', ')}`,
    `file        ${path}`
  ].join('\n') + '\n')
}

function printList (list: RevocationList, path: string, json: boolean, verified?: boolean): void {
  const l = list.signed
  if (json) {
    printJson({ kind: 'revocation-list', path, ...l, signedBy: list.signatures.map(s => s.keyid), ...(verified !== undefined ? { verified } : {}) })
    return
  }
  process.stdout.write([
    `revocation list version ${l.version}${verified === true ? ' (verified)' : ''}`,
    `issued      ${l.issuedAt}`,
    `serials     ${l.serials.length === 0 ? '-' : l.serials.join(' ')}`,
    `peer ids    ${l.peerIds.length === 0 ? '-' : l.peerIds.join(' ')}`,
    `file        ${path}`
  ].join('\n') + '\n')
}

function addCertOptions (cmd: Command, required: boolean): Command {
  const opt = (flags: string, what: string): Command => required ? cmd.requiredOption(flags, what) : cmd.option(flags, what)
  opt('--enrolment-key <file>', 'the fleet\'s enrolment private key (`storemesh keygen`)')
  opt('--device-id <id>', 'the device id the certificate binds')
  opt('--store-id <id>', 'the store id the certificate binds')
  opt('--role <role>', `${NODE_ROLES.join(' | ')}`)
  opt('--class <class>', 'the device class (as in manifests, e.g. pos)')
  return cmd.option('--expires <duration|date>', 'expiry: a duration from now (365d, 12h) or a date', DEFAULT_CERTIFICATE_EXPIRES)
}

export const register: Register = (program: Command, ctx) => {
  const identity = program.command('identity').description('node certificates and revocation lists (protocols/identity/SPEC.md)')

  addCertOptions(identity.command('issue')
    .description('sign a certificate binding a peer id to a device, store, role and class')
    .option('--peer-id <id>', 'the node\'s libp2p peer id')
    .option('--node-key <file>', 'or: the node\'s peer key file (<data>/peer-key.json)'), true)
    .requiredOption('--out <file>', 'certificate file to write')
    .option('--json', 'print the certificate\'s members as JSON')
    .action(action(ctx, async (opts: IssueOpts) => {
      if ((opts.peerId === undefined) === (opts.nodeKey === undefined)) {
        throw new StoremeshError('E_USAGE', 'give exactly one of --peer-id and --node-key')
      }
      const peerId = opts.peerId ?? await peerIdOfKeyFile(opts.nodeKey as string)
      const cert = issueFor(peerId, opts, await readSigningKeyFile(opts.enrolmentKey))
      await writeCertificateFile(opts.out, cert)
      printCertificate(cert, opts.out, opts.json === true)
    }))

  addCertOptions(identity.command('enrol')
    .description('write a certificate into a node\'s data dir, next to its peer key (issued here with --enrolment-key, or --cert)')
    .requiredOption('--data <dir>', 'the node\'s data directory (its peer key is made there when absent)')
    .option('--cert <file>', 'a certificate issued elsewhere, instead of --enrolment-key and the binding flags')
    .option('--trust <key...>', 'enrolment public key file(s): verify --cert before writing it'), false)
    .option('--json', 'print the certificate\'s members as JSON')
    .action(action(ctx, async (opts: EnrolOpts) => {
      const peerId = peerIdFromPrivateKey(await loadOrCreatePeerKey(opts.data)).toString()
      let cert: NodeCertificate
      let trust: TrustedKey[] | undefined
      if (opts.cert !== undefined) {
        if (opts.enrolmentKey !== undefined) throw new StoremeshError('E_USAGE', 'give --cert or --enrolment-key, not both')
        cert = await readCertificateFile(opts.cert)
        trust = opts.trust !== undefined ? await readTrustedKeyFiles(opts.trust) : undefined
      } else {
        const missing = (['enrolmentKey', 'deviceId', 'storeId', 'role', 'class'] as const).filter(k => opts[k] === undefined)
        if (missing.length > 0) throw new StoremeshError('E_USAGE', `without --cert, enrol needs ${missing.map(k => '--' + k.replace(/[A-Z]/g, c => '-' + c.toLowerCase())).join(' ')}`)
        const key = await readSigningKeyFile(opts.enrolmentKey as string)
        cert = issueFor(peerId, opts as CertOpts, key)
        trust = trustOf(key)
      }
      // a certificate of another node would be refused by every peer: say so now
      if (cert.signed.peerId !== peerId) {
        throw new StoremeshError('E_CERT_MISMATCH', `certificate of peer ${cert.signed.peerId}, but ${opts.data} holds peer ${peerId}`, { serial: cert.signed.serial })
      }
      if (trust !== undefined) verifyCertificate(cert, { trust, peerId })
      const path = certificatePath(opts.data)
      await writeCertificateFile(path, cert)
      printCertificate(cert, path, opts.json === true, trust !== undefined ? true : undefined)
    }))

  identity.command('revoke')
    .description('add serials and peer ids to a revocation list, bump its version and sign it again')
    .requiredOption('--enrolment-key <file>', 'the fleet\'s enrolment private key')
    .requiredOption('--list <file>', 'the revocation list to update (made when absent)')
    .option('--serial <serial...>', 'certificate serials to revoke')
    .option('--peer-id <id...>', 'peer ids to revoke (under any certificate)')
    .option('--cert <file...>', 'certificates to revoke: their serial and peer id')
    .option('--json', 'print the new list\'s members as JSON')
    .action(action(ctx, async (opts: RevokeOpts) => {
      const key = await readSigningKeyFile(opts.enrolmentKey)
      const serials = [...(opts.serial ?? [])]
      const peerIds = [...(opts.peerId ?? [])]
      for (const path of opts.cert ?? []) {
        const c = await readCertificateFile(path)
        serials.push(c.signed.serial)
        peerIds.push(c.signed.peerId)
      }
      if (serials.length + peerIds.length === 0) throw new StoremeshError('E_USAGE', 'name something to revoke: --serial, --peer-id or --cert')
      const current = await readRevocationListFile(opts.list)
      // the list in force must be ours: re-signing a forged one would launder it
      if (current !== undefined) verifyRevocationList(current, trustOf(key))
      const next = extendRevocationList(current, { serials, peerIds }, [key])
      await writeRevocationListFile(opts.list, next)
      printList(next, opts.list, opts.json === true, true)
    }))

  identity.command('show')
    .description('print a certificate or a revocation list (a file, or a data dir\'s own); verified with --trust')
    .argument('<file|dir>', 'a certificate or revocation list file, or a node data directory')
    .option('--trust <key...>', 'enrolment public key file(s): verify the signature (and a certificate\'s lifetime)')
    .option('--peer-id <id>', 'with --trust: also check the certificate belongs to this peer')
    .option('--json', 'print the members as JSON')
    .action(action(ctx, async (target: string, opts: ShowOpts) => {
      const path = (await stat(target).catch(() => undefined))?.isDirectory() === true ? certificatePath(target) : target
      const bytes = await readBoundedFile(path, MAX_REVOCATION_LIST_BYTES)
      if (bytes === undefined) throw new StoremeshError('E_FILE_NOT_FOUND', `no such file: ${path}`, { path })
      const trust = opts.trust !== undefined ? await readTrustedKeyFiles(opts.trust) : undefined
      const verified = trust !== undefined ? true : undefined
      if (signedTypeOf(bytes) === REVOCATION_LIST_TYPE) {
        const list = trust !== undefined ? verifyRevocationList(bytes, trust) : decodeRevocationList(bytes)
        printList(list, path, opts.json === true, verified)
        return
      }
      const cert = decodeCertificate(bytes)
      if (trust !== undefined) verifyCertificate(cert, { trust, ...(opts.peerId !== undefined ? { peerId: opts.peerId } : {}) })
      printCertificate(cert, path, opts.json === true, verified)
    }))
}
