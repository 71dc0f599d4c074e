/**
 * The root's enrolment role as the trust for node certificates and peer revocation
 * lists (protocols/root/SPEC.md "Enrolment"). A fleet that enrolled its nodes with
 * `--enrolment-trust` keys keeps them as the implicit version 0 of that role; from the
 * first signed root on, the root's enrolment keys and threshold decide, and a key a
 * newer root dropped signs nothing any more (E_CERT_SIGNATURE, E_REVOCATION_INVALID).
 */
import { enrolmentTrustOptions, type EnrolmentTrust } from '../signed.js'
import type { ImplicitRoles } from './chain.js'
import type { RootTrust } from './root-trust.js'

/** `RootTrust.open`'s implicit roles: `--enrolment-trust` as root 0's enrolment role. */
export function implicitEnrolment (identity: { trust: EnrolmentTrust } | undefined): ImplicitRoles {
  return identity === undefined ? {} : { enrolment: enrolmentTrustOptions(identity.trust) }
}

/** The identity options with their trust replaced by the root's live enrolment role. */
export function enrolmentFromRoot<T extends { trust: EnrolmentTrust }> (identity: T, root: RootTrust): T {
  return { ...identity, trust: root.trust('enrolment') }
}
