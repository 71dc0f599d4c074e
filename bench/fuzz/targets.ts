/**
 * One fuzz target per decoder that takes untrusted bytes: the bytes go through the
 * same function a node runs on what it reads from disk or a peer. A target passes
 * an input when the decoder returns or throws a StoremeshError with a stable code
 * other than E_INTERNAL; anything else (a TypeError, a RangeError, a ZodError, a
 * hang) is a bug (runner.ts).
 */
import { decodeManifest } from '../../src/bundle/manifest.js'
import { statusTable } from '../../src/cli/status.js'
import { decodeIdentityRequest, decodeIdentityResponse } from '../../src/identity/protocol/messages.js'
import { verifyRevocationList } from '../../src/identity/revocation.js'
import { decodeRoot, decodeRootChain, decodeTimestamp, stateOfRoot, verifySelfSigned, verifyTimestamp, walkChain } from '../../src/identity/root/index.js'
import { verifyCertificate } from '../../src/identity/verify.js'
import { parseDeviceConfig, parseFactsFile } from '../../src/install/facts.js'
import { decodeLeaseRequest, decodeLeaseResponse } from '../../src/lease/protocol/messages.js'
import { decodeReportRequest, decodeReportResponse } from '../../src/ledger/report/messages.js'
import { decodeReportRequestV12, decodeReportResponseV12 } from '../../src/ledger/report/messages-v12.js'
import { STATUS } from '../../src/net/manifest/constants.js'
import { decodeManifestRequest, decodeManifestResponse } from '../../src/net/manifest/messages.js'
import { decodeIndex } from '../../src/origin/origin-index.js'
import { decodeSignedPolicy, verifyPolicy } from '../../src/policy/signed.js'
import { parseStatusFile } from '../../src/roles/peer-status.js'
import { FrameGuard } from '../../src/swarm/frame-guard.js'
import { MAX_PULL_ANSWER_BYTES, MAX_PULL_REQUEST_BYTES } from '../../src/wan/pull/constants.js'
import { decodeFrames, decodePullAnswer, decodePullRequest } from '../../src/wan/pull/messages.js'
import * as seeds from './seeds.js'

export interface FuzzTarget {
  name: string
  /** what the decoder is, for the report */
  decoder: string
  seeds: () => Promise<Uint8Array[]> | Uint8Array[]
  /** feeds one input to the decoder; a refusal throws a StoremeshError */
  run: (input: Uint8Array) => unknown
}

const trust = { keys: seeds.FUZZ_TRUST, nowMs: seeds.FUZZ_NOW_MS }
const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8')
/** The root a node holds when a peer's chain arrives (root-chain target). */
const ROOT_1 = stateOfRoot(seeds.fuzzRoot(1))

async function allFrames (input: Uint8Array, maxDataLength: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  // two reads, so a frame that spans reads is exercised too
  const cut = input.byteLength >>> 1
  for await (const f of decodeFrames([input.subarray(0, cut), input.subarray(cut)], { maxDataLength })) out.push(f)
  return out
}

export const TARGETS: readonly FuzzTarget[] = [
  {
    name: 'manifest',
    decoder: 'bundle.json / manifest envelope: decodeManifest (bundle/manifest.ts)',
    seeds: seeds.manifestSeeds,
    run: b => decodeManifest(b, trust)
  },
  {
    name: 'policy',
    decoder: 'signed policy: decodeSignedPolicy + verifyPolicy (policy/signed.ts)',
    seeds: seeds.policySeeds,
    run: b => verifyPolicy(decodeSignedPolicy(b), trust)
  },
  {
    name: 'certificate',
    decoder: 'node certificate: verifyCertificate (identity/verify.ts)',
    seeds: seeds.certificateSeeds,
    run: b => verifyCertificate(b, { trust: seeds.FUZZ_TRUST, nowMs: seeds.FUZZ_NOW_MS })
  },
  {
    name: 'revocation-list',
    decoder: 'revocation list: verifyRevocationList (identity/revocation.ts)',
    seeds: seeds.revocationSeeds,
    run: b => verifyRevocationList(b, seeds.FUZZ_TRUST)
  },
  {
    name: 'root',
    decoder: 'root document: decodeRoot + verifySelfSigned (identity/root/; `root install`, enrolment with a root)',
    seeds: seeds.rootSeeds,
    run: b => verifySelfSigned(decodeRoot(b))
  },
  {
    name: 'root-chain',
    decoder: 'roots from a peer ({rootsAfter} answer, root-chain.json): decodeRootChain + walkChain from root 1',
    seeds: seeds.rootChainSeeds,
    run: b => walkChain(ROOT_1, decodeRootChain(b), seeds.FUZZ_NOW_MS)
  },
  {
    name: 'timestamp',
    decoder: 'timestamp statement: decodeTimestamp + verifyTimestamp (identity/root/timestamp.ts)',
    seeds: seeds.timestampSeeds,
    run: b => verifyTimestamp(decodeTimestamp(b), { ...trust, threshold: 1 })
  },
  {
    name: 'manifest-request',
    decoder: '/storemesh/manifest request: decodeManifestRequest',
    seeds: seeds.manifestRequestSeeds,
    run: decodeManifestRequest
  },
  {
    name: 'manifest-response',
    decoder: '/storemesh/manifest response: decodeManifestResponse, then the manifest it carries',
    seeds: seeds.manifestResponseSeeds,
    run: b => {
      const r = decodeManifestResponse(b)
      return r.status === STATUS.OK ? decodeManifest(r.body, trust) : r
    }
  },
  {
    name: 'chunk-wire',
    decoder: '/storemesh/chunks frames: FrameGuard.push (swarm/frame-guard.ts, swarm/messages.ts)',
    seeds: seeds.wireSeeds,
    run: b => {
      const guard = new FrameGuard(seeds.WIRE_LIMITS, () => {})
      const cut = b.byteLength >>> 1
      guard.push(b.subarray(0, cut))
      guard.push(b.subarray(cut))
    }
  },
  {
    name: 'lease-request',
    decoder: '/storemesh/lease request: decodeLeaseRequest',
    seeds: () => seeds.leaseSeeds().requests,
    run: decodeLeaseRequest
  },
  {
    name: 'lease-response',
    decoder: '/storemesh/lease response: decodeLeaseResponse',
    seeds: () => seeds.leaseSeeds().responses,
    run: decodeLeaseResponse
  },
  {
    name: 'report-request',
    decoder: '/storemesh/report request: decodeReportRequest',
    seeds: () => seeds.reportSeeds().requests,
    run: decodeReportRequest
  },
  {
    name: 'report-response',
    decoder: '/storemesh/report response (1.0.0 and 1.1.0): decodeReportResponse',
    seeds: () => seeds.reportSeeds().responses,
    run: b => [decodeReportResponse(b), decodeReportResponse(b, { deviceOrders: true })]
  },
  {
    name: 'report-v12-request',
    decoder: '/storemesh/report/1.2.0 request: decodeReportRequestV12',
    seeds: async () => (await seeds.reportV12Seeds()).requests,
    run: decodeReportRequestV12
  },
  {
    name: 'report-v12-response',
    decoder: '/storemesh/report/1.2.0 response (fleet orders, roots, revocation list, timestamp): decodeReportResponseV12',
    seeds: async () => (await seeds.reportV12Seeds()).responses,
    run: decodeReportResponseV12
  },
  {
    name: 'identity-request',
    decoder: '/storemesh/identity request: decodeIdentityRequest',
    seeds: async () => (await seeds.identityMessageSeeds()).requests,
    run: decodeIdentityRequest
  },
  {
    name: 'identity-response',
    decoder: '/storemesh/identity response: decodeIdentityResponse, then the certificate it carries',
    seeds: async () => (await seeds.identityMessageSeeds()).responses,
    run: b => {
      const r = decodeIdentityResponse(b)
      return r.certificate === null ? r : verifyCertificate(r.certificate, { trust: seeds.FUZZ_TRUST, nowMs: seeds.FUZZ_NOW_MS })
    }
  },
  {
    name: 'wan-pull-request',
    decoder: '/storemesh/wan-pull request frames: decodeFrames + decodePullRequest',
    seeds: () => seeds.pullSeeds().requests,
    run: async b => (await allFrames(b, MAX_PULL_REQUEST_BYTES)).map(decodePullRequest)
  },
  {
    name: 'wan-pull-answer',
    decoder: '/storemesh/wan-pull answer frames: decodeFrames + decodePullAnswer',
    seeds: () => seeds.pullSeeds().frames,
    run: async b => (await allFrames(b, MAX_PULL_ANSWER_BYTES)).map(f => decodePullAnswer(f, { hash: seeds.HASH, size: 64 }))
  },
  {
    name: 'origin-index',
    decoder: 'origin index/<class>.json (a CDN or bucket serves it): decodeIndex (origin/origin-index.ts)',
    seeds: seeds.originIndexSeeds,
    run: b => decodeIndex(b, { keys: seeds.FUZZ_TRUST }, 'pos')
  },
  {
    name: 'status',
    decoder: 'status.json: parseStatusFile (roles/peer-status.ts), then `storemesh status` rendering it',
    seeds: seeds.statusSeeds,
    run: b => statusTable(parseStatusFile(b))
  },
  {
    name: 'facts',
    decoder: 'facts file (YAML or JSON): parseFactsFile (install/facts.ts)',
    seeds: seeds.factsSeeds,
    run: b => parseFactsFile(text(b), 'facts.yaml')
  },
  {
    name: 'device-config',
    decoder: 'device.yaml: parseDeviceConfig (install/facts.ts)',
    seeds: seeds.deviceConfigSeeds,
    run: b => parseDeviceConfig(text(b), 'device.yaml')
  }
]

export function targetNamed (name: string): FuzzTarget {
  const t = TARGETS.find(x => x.name === name)
  if (t === undefined) throw new Error(`no fuzz target ${name}; targets: ${TARGETS.map(x => x.name).join(', ')}`)
  return t
}
