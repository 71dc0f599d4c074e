/**
 * `bundle inspect`: what a bundle folder claims, checked for shape and limits but not
 * for signatures or chunk contents (that is `bundle verify`).
 */
import type { BundleInfo } from '../interface/types.js'
import { assertEnvelopeShape } from './envelope.js'
import { bundleInfo, parseManifestBody, parseManifestJson } from './manifest.js'
import { readBundleJson } from './verify.js'

export interface BundleSummary {
  id: string
  /** hex of the 20-byte BitTorrent info-hash */
  infoHash: string
  name: string
  version: string
  deviceClass: string
  cycle?: string
  requiresConfig?: string
  created: string
  expires: string
  /** key ids that signed it (not checked here) */
  signedBy: string[]
  uniqueChunks: number
  uniqueBytes: number
  artifacts: Array<{ name: string, size: number, blake3: string, chunks: Array<{ hash: string, size: number }> }>
}

/** Reads and parses a bundle folder's manifest without trusting it. */
export async function inspectBundleDir (dir: string): Promise<BundleInfo> {
  const env = parseManifestJson(await readBundleJson(dir))
  assertEnvelopeShape(env, 'manifest')
  const signed = parseManifestBody(env.signed)
  return bundleInfo({ signed, signatures: env.signatures })
}

export function bundleSummary (info: BundleInfo): BundleSummary {
  const b = info.manifest.signed
  return {
    id: info.id,
    infoHash: Buffer.from(info.infoHash).toString('hex'),
    name: b.name,
    version: b.version,
    deviceClass: b.deviceClass,
    ...(b.cycle !== undefined ? { cycle: b.cycle } : {}),
    ...(b.requiresConfig !== undefined ? { requiresConfig: b.requiresConfig } : {}),
    created: b.created,
    expires: b.expires,
    signedBy: info.manifest.signatures.map(s => s.keyid),
    uniqueChunks: info.pieces.length,
    uniqueBytes: info.totalBytes,
    artifacts: b.artifacts.map(a => ({
      name: a.name,
      size: a.size,
      blake3: a.blake3,
      chunks: a.chunks.map(c => ({ hash: c.hash, size: c.size }))
    }))
  }
}
