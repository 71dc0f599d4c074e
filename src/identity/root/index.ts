/**
 * The root of trust (DESIGN.md section 9b, protocols/root/SPEC.md): a TUF-style signed
 * root listing the keys and threshold per role (root, release, policy, enrolment,
 * timestamp), chained version by version; a node's persisted chain and the live trust
 * it gives each role.
 *
 * ```ts
 * const root = await RootTrust.open(dataDir, staticTrust)   // static keys = implicit root 0
 * await root.accept(decodeRootChain(bytesFromHub))          // walks 3 → 4 → 5, or throws E_ROOT_*
 * verifyManifest(env, root.trust('release'))                // a key root 5 removed: E_KEY_REVOKED
 * ```
 */
export * from './constants.js'
export {
  addRootSignatures, buildRootBody, decodeRoot, encodeRoot, parseRoot, roleKeysOf, rootBodySchema, rootDocumentSchema, signRoot,
  type RoleKeys, type RootBody, type RootDocument, type RootFields, type RootKey
} from './document.js'
export {
  assertUnexpired, implicitRoot, revokedKeyIds, stateOfRoot, trustOptionsOf, verifyNextRoot, verifySelfSigned, walkChain,
  type ImplicitRoles, type RoleTrust, type TrustState, type WalkResult
} from './chain.js'
export { decodeRootChain, decodeRootOrChain, encodeRootChain, RootTrust, rootChainPath, rootChainSchema, type AcceptResult } from './root-trust.js'
export {
  decodeTimestamp, encodeTimestamp, freshnessOf, FreshnessWatch, installTimestamp, newerTimestamp, readTimestampFile, signTimestamp,
  timestampBodySchema, timestampPath, verifyTimestamp, type Freshness, type FreshnessState, type Timestamp, type TimestampBody,
  type TimestampEntry, type TimestampFields
} from './timestamp.js'
export { enrolmentFromRoot, implicitEnrolment } from './enrolment.js'
export {
  DEFAULT_TIMESTAMP_RESCAN_MS, TimestampFeed, type OfferOutcome, type TimestampCandidate, type TimestampFeedCounters, type TimestampFeedInit, type TimestampSource
} from './timestamp-feed.js'
export { FeedDirSource, MAX_TIMESTAMP_DIR_FILES, RootDirSource, TimestampDirSource, type FeedDirLimits } from './timestamp-dir-source.js'
export {
  DEFAULT_ROOT_RESCAN_MS, MAX_PENDING_ROOTS, RootFeed, type RootCandidate, type RootFeedCounters, type RootFeedInit, type RootSource
} from './root-feed.js'
