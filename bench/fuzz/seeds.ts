/**
 * Valid inputs for each fuzz target, made with the project's own encoders and signers
 * (fixed keys, fixed times) so that mutations start from what a real peer or operator
 * sends. Deterministic: the same seeds every run.
 */
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { signEnvelope } from '../../src/bundle/envelope.js'
import { signingKeyFromSeed, type PrivateSigningKey } from '../../src/bundle/keys.js'
import { encodeManifest } from '../../src/bundle/manifest.js'
import { encodeCertificate, issueCertificate } from '../../src/identity/certificate.js'
import { encodeIdentityRequest, encodeIdentityResponse } from '../../src/identity/protocol/messages.js'
import { encodeRevocationList, signRevocationList } from '../../src/identity/revocation.js'
import { buildRootBody, encodeRoot, encodeRootChain, encodeTimestamp, signRoot, signTimestamp, type RootDocument } from '../../src/identity/root/index.js'
import type { ManifestBody, TrustedKey } from '../../src/interface/types.js'
import { encodeLeaseRequest, encodeLeaseResponse } from '../../src/lease/protocol/messages.js'
import { encodeReportRequest, encodeReportResponse } from '../../src/ledger/report/messages.js'
import { encodeReportRequestV12, encodeReportResponseV12 } from '../../src/ledger/report/messages-v12.js'
import { encodeManifestRequest, encodeManifestResponse } from '../../src/net/manifest/messages.js'
import { signIndex } from '../../src/origin/origin-index.js'
import { STATUS } from '../../src/net/manifest/constants.js'
import { parsePolicy } from '../../src/policy/schema.js'
import { encodeSignedPolicy, signPolicy } from '../../src/policy/signed.js'
import { PSTR } from '../../src/swarm/constants.js'
import { encodePullAnswer, encodePullRequest } from '../../src/wan/pull/messages.js'

const enc = new TextEncoder()
const json = (x: unknown): Uint8Array => enc.encode(JSON.stringify(x))

/** The fuzz key: a fixed seed, trusted by every target that verifies signatures. */
export const FUZZ_KEY: PrivateSigningKey = signingKeyFromSeed(new Uint8Array(32).fill(0x5a))
export const FUZZ_TRUST: TrustedKey[] = [{ keyid: FUZZ_KEY.keyid, publicKey: FUZZ_KEY.publicKey }]
/** The clock of every target: inside the seeds' lifetimes. */
export const FUZZ_NOW_MS = Date.parse('2026-06-01T00:00:00.000Z')
/** What the chunk-wire target's frame guard accepts. */
export const WIRE_LIMITS = { numPieces: 40, maxChunkBytes: 4096, maxExtendedBytes: 1024 }
export const HASH = 'c'.repeat(64)
const BUNDLE_ID = 'b3:' + 'ab'.repeat(32)

export function manifestBody (artifacts = 1): ManifestBody {
  return {
    type: 'storemesh/bundle',
    specVersion: 1,
    name: 'pos-os',
    version: '1.2.3',
    deviceClass: 'pos',
    requiresConfig: '>=1.0.0',
    created: '2026-01-01T00:00:00.000Z',
    expires: '2099-01-01T00:00:00.000Z',
    chunking: { algorithm: 'fastcdc', minBytes: 1024, avgBytes: 4096, maxBytes: 16384 },
    artifacts: Array.from({ length: artifacts }, (_, i) => ({
      name: `dir/a${i}.img`,
      size: 3000,
      blake3: 'a'.repeat(64),
      chunks: [{ hash: 'b'.repeat(64), size: 1000 }, { hash: HASH, size: 2000 }]
    }))
  }
}

export function manifestSeeds (): Uint8Array[] {
  return [encodeManifest(signEnvelope(manifestBody(), [FUZZ_KEY])), encodeManifest(signEnvelope(manifestBody(3), [FUZZ_KEY]))]
}

export function policySeeds (): Uint8Array[] {
  const policy = parsePolicy({
    apiVersion: 'storemesh/v1',
    kind: 'RolloutPolicy',
    metadata: { name: 'pos-q4', wave: 142 },
    spec: {
      bundle: { id: BUNDLE_ID, version: '3.8.2' },
      targets: { deviceClass: 'pos', labels: { region: 'us-midwest' }, percentage: 5, hubBudget: 2 },
      schedule: { maintenanceWindow: 'Tue 02:00-04:00', timezone: 'America/Chicago', prestageHours: 48 },
      guardrails: { minBattery: 40, requireConfig: '>=12.4.1', signedWithinDays: 14 },
      verification: { peripheralChecks: [{ name: 'scanner', run: 'true', timeoutSeconds: 5 }] }
    }
  })
  return [encodeSignedPolicy(signPolicy(policy, [FUZZ_KEY]))]
}

export async function fuzzPeerId (): Promise<string> {
  const key = await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(0x33))
  return peerIdFromPrivateKey(key).toString()
}

export async function certificateSeeds (): Promise<Uint8Array[]> {
  const cert = issueCertificate({
    peerId: await fuzzPeerId(),
    deviceId: 'pos-17',
    storeId: 'store-042',
    role: 'device',
    deviceClass: 'pos',
    issuedAt: new Date('2026-01-01T00:00:00.000Z'),
    expiresAt: new Date('2026-12-01T00:00:00.000Z'),
    serial: '0123456789abcdef0123456789abcdef'
  }, [FUZZ_KEY])
  return [encodeCertificate(cert)]
}

export async function revocationSeeds (): Promise<Uint8Array[]> {
  const list = signRevocationList({
    version: 3,
    serials: ['0123456789abcdef0123456789abcdef'],
    peerIds: [await fuzzPeerId()],
    issuedAt: new Date('2026-01-01T00:00:00.000Z')
  }, [FUZZ_KEY])
  return [encodeRevocationList(list)]
}

export function manifestRequestSeeds (): Uint8Array[] {
  return [encodeManifestRequest({ bundleId: BUNDLE_ID }), encodeManifestRequest({ deviceClass: 'pos' })]
}

export function manifestResponseSeeds (): Uint8Array[] {
  return [encodeManifestResponse(STATUS.OK, manifestSeeds()[0] as Uint8Array), encodeManifestResponse(STATUS.NOT_FOUND, enc.encode('no such bundle'))]
}

export function leaseSeeds (): { requests: Uint8Array[], responses: Uint8Array[] } {
  return {
    requests: [encodeLeaseRequest({ op: 'acquire', deviceId: 'pos-17', bundleId: BUNDLE_ID, waveId: '142', ttlMs: 60_000 })],
    responses: [
      encodeLeaseResponse({ granted: true, leaseId: 'f'.repeat(32), expiresAtMs: 1, ttlMs: 1000, active: 1, limit: 4, reason: 'granted' }),
      encodeLeaseResponse({ granted: false, retryAfterMs: 500, active: 4, limit: 4, reason: 'cap-reached' })
    ]
  }
}

export function reportSeeds (): { requests: Uint8Array[], responses: Uint8Array[] } {
  const at = '2026-01-01T00:00:00.000Z'
  return {
    requests: [encodeReportRequest({
      type: 'device-events',
      deviceId: 'pos-17',
      entries: [
        { seq: 1, at, kind: 'transition', waveId: '142', installId: 'x', step: 1, from: 'idle', to: 'staged', event: 'stage' },
        { seq: 3, at, kind: 'decision', waveId: '142', reason: 'schedule.window', detail: 'closed', data: { verdict: 'defer', n: 1, b: true, z: null } }
      ]
    })],
    responses: [
      encodeReportResponse({ status: 'ok', ackedSeq: 3, orders: [{ waveId: '142', action: 'pause', reason: 'ops', issuedAtMs: 1 }] }),
      json({ status: 'error', reason: 'bad-request', detail: 'x' })
    ]
  }
}

/** 1.2.0: a held poll with what the hub holds, and an answer with every new member (protocols/report/SPEC.md "1.2.0"). */
export async function reportV12Seeds (): Promise<{ requests: Uint8Array[], responses: Uint8Array[] }> {
  const one = { keys: FUZZ_TRUST, threshold: 1 }
  const root = signRoot(buildRootBody({
    version: 1, issuedAt: new Date('2026-01-01T00:00:00.000Z'), expiresAt: new Date('2027-01-01T00:00:00.000Z'),
    roles: { root: one, release: one, policy: one, enrolment: one, timestamp: one }
  }), [FUZZ_KEY])
  const revocations = JSON.parse(new TextDecoder().decode((await revocationSeeds())[0])) as never
  const timestamp = signTimestamp({ entries: [{ deviceClass: 'pos', bundleId: `b3:${HASH}` }], issuedAt: new Date('2026-05-31T00:00:00.000Z'), expiresAt: new Date('2026-06-02T00:00:00.000Z') }, [FUZZ_KEY])
  return {
    requests: [encodeReportRequestV12({
      type: 'hub-ledger', hubId: 'store-1', epoch: 'a'.repeat(32), entries: [], waitMs: 25000,
      have: { orderCursor: '0'.repeat(32), rootVersion: 1, revocationVersion: 2, timestampIssuedMs: 1 }, ackOrders: ['o-1']
    })],
    responses: [encodeReportResponseV12({
      status: 'ok', ackedSeq: 0, orders: [],
      fleetOrders: [{ orderId: 'o-1', action: 'hold', bundleId: `b3:${HASH}`, reason: 'x', issuedAtMs: 1 },
        { orderId: 'o-2', action: 'rollback', storeId: 'store-1', deviceId: 'pos-1', reason: 'x', issuedAtMs: 2 }],
      trust: { roots: [root], revocations, timestamp }
    })]
  }
}

export async function identityMessageSeeds (): Promise<{ requests: Uint8Array[], responses: Uint8Array[] }> {
  const cert = JSON.parse(new TextDecoder().decode((await certificateSeeds())[0])) as Record<string, unknown>
  return {
    requests: [encodeIdentityRequest({ want: 'certificate', revocationsVersion: 3 })],
    responses: [encodeIdentityResponse({ certificate: cert }), encodeIdentityResponse({ certificate: null })]
  }
}

export function pullSeeds (): { requests: Uint8Array[], frames: Uint8Array[] } {
  const concat = (parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap(p => [...p]))
  return {
    requests: [encodePullRequest([HASH, 'd'.repeat(64)])],
    frames: [concat(encodePullAnswer(new Uint8Array(64).fill(7))), concat(encodePullAnswer(undefined))]
  }
}

/** A handshake, a bitfield, have, interested, request and a piece, as one byte stream. */
export function wireSeeds (): Uint8Array[] {
  const msg = (id: number, payload: number[] = []): number[] => {
    const len = 1 + payload.length
    return [len >>> 24, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff, id, ...payload]
  }
  const u32 = (n: number): number[] => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]
  const handshake = [PSTR.length, ...enc.encode(PSTR), 0, 0, 0, 0, 0, 0x10, 0, 0, ...new Array<number>(20).fill(1), ...new Array<number>(20).fill(2)]
  const bitfield = msg(5, new Array<number>(Math.ceil(WIRE_LIMITS.numPieces / 8)).fill(0).map((_, i) => i === 4 ? 0xff : 0xf0))
  const stream = [
    ...handshake, ...bitfield, ...msg(4, u32(3)), ...msg(2), ...msg(1),
    ...msg(6, [...u32(1), ...u32(0), ...u32(16)]), ...msg(7, [...u32(1), ...u32(0), ...new Array<number>(16).fill(9)]),
    ...msg(8, [...u32(1), ...u32(0), ...u32(16)]), 0, 0, 0, 0, ...msg(20, [0, ...enc.encode('d1:v3:abce')])
  ]
  return [Uint8Array.from(stream), Uint8Array.from(handshake)]
}

export function statusSeeds (): Uint8Array[] {
  return [enc.encode(JSON.stringify({
    schema: 1,
    role: 'hub',
    peerId: '12D3KooWfuzz',
    pid: 42,
    running: true,
    startedAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:01.000Z',
    addrs: ['/ip4/127.0.0.1/tcp/4001'],
    connections: 2,
    bans: [],
    bundles: [{
      id: BUNDLE_ID, name: 'pos-os', version: '1.2.3', deviceClass: 'pos', state: 'partial',
      heldChunks: 3, totalChunks: 10, heldBytes: 300, totalBytes: 1000,
      bytes: { lan: { up: 1, down: 2 }, wan: { up: 0, down: 5 } },
      wastedBytes: 0, badChunks: 0, peers: 2, joined: true, superseed: false
    }]
  }, null, 2) + '\n')]
}

export function factsSeeds (): Uint8Array[] {
  return [
    enc.encode('installedVersion: 3.8.1\nconfigVersion: 12.5.0\nbatteryPercent: 80\nonMains: true\ntemperatureC: 40\n' +
      'freeDiskMiB: 2048\nslotCount: 2\nlabels:\n  region: us-midwest\n'),
    json({ installedVersion: '1.0.0', batteryPercent: 55, labels: { a: 'b' } })
  ]
}

export function deviceConfigSeeds (): Uint8Array[] {
  return [enc.encode('deviceId: pos-17\ndeviceClass: pos\nlabels:\n  region: us-midwest\nfactsFile: facts.yaml\n' +
    'trust:\n  keys: [keys/release.pub]\n  threshold: 1\n')]
}

/** A second fixed key, so roots that change keys and thresholds are among the seeds. */
const FUZZ_KEY_2: PrivateSigningKey = signingKeyFromSeed(new Uint8Array(32).fill(0x6b))

/** Root `version`, every role the fuzz key (root 2 adds the second key to release at threshold 2), signed by `signers`. */
export function fuzzRoot (version: number, signers: PrivateSigningKey[] = [FUZZ_KEY]): RootDocument {
  const one = { keys: FUZZ_TRUST, threshold: 1 }
  const two = { keys: [...FUZZ_TRUST, { keyid: FUZZ_KEY_2.keyid, publicKey: FUZZ_KEY_2.publicKey }], threshold: 2 }
  return signRoot(buildRootBody({
    version,
    issuedAt: new Date('2026-01-01T00:00:00.000Z'),
    expiresAt: new Date('2026-12-01T00:00:00.000Z'),
    roles: { root: one, release: version === 2 ? two : one, policy: one, enrolment: one, timestamp: one }
  }), signers)
}

export function rootSeeds (): Uint8Array[] {
  return [encodeRoot(fuzzRoot(1)), encodeRoot(fuzzRoot(2, [FUZZ_KEY, FUZZ_KEY_2]))]
}

/** What a peer answers to `{rootsAfter: 1}`: roots 2 and 3. */
export function rootChainSeeds (): Uint8Array[] {
  return [encodeRootChain([fuzzRoot(2)]), encodeRootChain([fuzzRoot(2), fuzzRoot(3)])]
}

export function timestampSeeds (): Uint8Array[] {
  const at = { issuedAt: new Date('2026-05-31T00:00:00.000Z'), expiresAt: new Date('2026-06-02T00:00:00.000Z') }
  return [
    encodeTimestamp(signTimestamp({ ...at, entries: [{ deviceClass: 'pos', bundleId: BUNDLE_ID, policyId: 'p3:' + 'cd'.repeat(32) }, { deviceClass: 'kiosk', bundleId: BUNDLE_ID }] }, [FUZZ_KEY])),
    encodeTimestamp(signTimestamp({ ...at, entries: [] }, [FUZZ_KEY]))
  ]
}

/** An origin's class index (protocols/origin/SPEC.md "Index"), as `bundle publish` signs it: empty, and two bundles newest first. */
export function originIndexSeeds (): Uint8Array[] {
  const entry = (version: string, id: string): { id: string, name: string, version: string, created: string, expires: string, totalBytes: number } =>
    ({ id, name: 'pos-os', version, created: '2026-01-01T00:00:00.000Z', expires: '2099-01-01T00:00:00.000Z', totalBytes: 3000 })
  const body = (version: number, bundles: ReturnType<typeof entry>[]): Parameters<typeof signIndex>[0] =>
    ({ type: 'storemesh/origin-index', specVersion: 1, deviceClass: 'pos', version, bundles })
  return [
    signIndex(body(1, []), [FUZZ_KEY]),
    signIndex(body(2, [entry('1.1.0', BUNDLE_ID), entry('1.0.0', 'b3:' + 'cd'.repeat(32))]), [FUZZ_KEY])
  ]
}
