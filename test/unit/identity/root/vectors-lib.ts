/**
 * Computes the root format's test vectors (protocols/root/vectors.json) from the
 * recipe in protocols/root/SPEC.md "Test vectors": seed keys, a chain of three roots
 * (root 2 rotates the release key, root 3 the root key), and cases that offer a chain
 * to a node holding root 1, with the answer expected. make-vectors.ts writes them;
 * vectors.test.ts recomputes, compares, and runs every case.
 */
import { canonicalString } from '../../../../src/bundle/canonical.js'
import { signingKeyFromSeed, type PrivateSigningKey } from '../../../../src/bundle/keys.js'
import { buildRootBody, signRoot, type RootDocument, type RootFields } from '../../../../src/identity/root/index.js'
import type { TrustedKey } from '../../../../src/interface/types.js'

const seed = (first: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => first + i)
/** root key A, root key B (root 3's), release 1, release 2 (root 2's), the rest (policy, enrolment, timestamp) */
export const SEEDS = { rootA: seed(0x80), rootB: seed(0xa0), release1: seed(0x00), release2: seed(0x20), other: seed(0x40) } as const
export const VECTOR_ISSUED = '2025-01-01T00:00:00.000Z'
export const VECTOR_EXPIRES = '2026-01-01T00:00:00.000Z'
export const VECTOR_NOW = '2025-06-01T00:00:00.000Z'

export interface ChainCase {
  name: string
  /** roots offered, as canonical JSON text, in the order sent */
  offered: string[]
  now: string
  /** the version the node ends on, or the stable error code */
  expect: number | string
}

const pub = (k: PrivateSigningKey): TrustedKey => ({ keyid: k.keyid, publicKey: k.publicKey })

export function vectorKeys (): Record<keyof typeof SEEDS, PrivateSigningKey> {
  return Object.fromEntries(Object.entries(SEEDS).map(([n, s]) => [n, signingKeyFromSeed(s)])) as Record<keyof typeof SEEDS, PrivateSigningKey>
}

function fields (version: number, root: PrivateSigningKey, release: PrivateSigningKey, other: PrivateSigningKey): RootFields {
  const one = (k: PrivateSigningKey): { keys: TrustedKey[], threshold: number } => ({ keys: [pub(k)], threshold: 1 })
  return {
    version,
    issuedAt: new Date(VECTOR_ISSUED),
    expiresAt: new Date(VECTOR_EXPIRES),
    roles: { root: one(root), release: one(release), policy: one(other), enrolment: one(other), timestamp: one(other) }
  }
}

export function vectorChain (): RootDocument[] {
  const k = vectorKeys()
  const r1 = signRoot(buildRootBody(fields(1, k.rootA, k.release1, k.other)), [k.rootA])
  const r2 = signRoot(buildRootBody(fields(2, k.rootA, k.release2, k.other)), [k.rootA])
  // the root key itself rotates: the old one and the new one both sign
  const r3 = signRoot(buildRootBody(fields(3, k.rootB, k.release2, k.other)), [k.rootA, k.rootB])
  return [r1, r2, r3]
}

export function computeVectors (): Record<string, unknown> {
  const k = vectorKeys()
  const [r1, r2, r3] = vectorChain() as [RootDocument, RootDocument, RootDocument]
  const text = canonicalString
  const r3OnlyNew = signRoot(r3.signed, [k.rootB])
  const r3OnlyOld = signRoot(r3.signed, [k.rootA])
  const r2Edited = { ...r2, signed: { ...r2.signed, expiresAt: '2027-01-01T00:00:00.000Z' } }
  const r2Extra = { ...r2, signed: { ...r2.signed, admin: true } }
  const r2Bom = '\ufeff' + text(r2)
  // the same 64 bytes with unused low bits set: base64 decoders take it, the spec does not
  const r2LenientSig = text(r2).replace(/"sig":"([^"]+)=="/, (_m, s: string) => `"sig":"${s.slice(0, -1)}B=="`)
  const cases: ChainCase[] = [
    { name: 'next root signed by the old and its own root keys', offered: [text(r2)], now: VECTOR_NOW, expect: 2 },
    { name: 'walks two versions offered out of order', offered: [text(r3), text(r2)], now: VECTOR_NOW, expect: 3 },
    { name: 'the whole chain, the held root included', offered: [text(r1), text(r2), text(r3)], now: VECTOR_NOW, expect: 3 },
    { name: 'nothing newer', offered: [text(r1)], now: VECTOR_NOW, expect: 1 },
    { name: 'a version skipped', offered: [text(r3)], now: VECTOR_NOW, expect: 'E_ROOT_VERSION' },
    { name: 'signed only by the new root key', offered: [text(r2), text(r3OnlyNew)], now: VECTOR_NOW, expect: 'E_ROOT_SIGNATURE' },
    { name: 'signed only by the old root key', offered: [text(r2), text(r3OnlyOld)], now: VECTOR_NOW, expect: 'E_ROOT_SIGNATURE' },
    { name: 'edited after signing', offered: [text(r2Edited)], now: VECTOR_NOW, expect: 'E_ROOT_SIGNATURE' },
    { name: 'newest root expired', offered: [text(r2)], now: VECTOR_EXPIRES.replace('00.000Z', '01.000Z'), expect: 'E_ROOT_EXPIRED' },
    { name: 'unknown member in the body', offered: [text(r2Extra)], now: VECTOR_NOW, expect: 'E_ROOT_INVALID' },
    { name: 'byte order mark', offered: [r2Bom], now: VECTOR_NOW, expect: 'E_ROOT_INVALID' },
    { name: 'trailing data', offered: [text(r2) + ' {}'], now: VECTOR_NOW, expect: 'E_ROOT_INVALID' },
    { name: 'non-canonical base64 in a signature', offered: [r2LenientSig], now: VECTOR_NOW, expect: 'E_ROOT_INVALID' }
  ]
  return {
    description: 'Test vectors of protocols/root/SPEC.md; regenerate with `node --import tsx test/unit/identity/root/make-vectors.ts`.',
    keys: Object.fromEntries(Object.entries(k).map(([n, key]) => [n, { seedHex: Buffer.from(SEEDS[n as keyof typeof SEEDS]).toString('hex'), keyid: key.keyid }])),
    roots: [r1, r2, r3].map(r => ({ canonicalSignedBody: text(r.signed), document: text(r) })),
    held: 1,
    cases
  }
}
