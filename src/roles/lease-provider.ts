/**
 * The install lease as the device's install path sees it: one small interface, so the
 * one-shot install (`storemesh device install --once`) runs on a standalone device
 * with no hub, and the device agent hands in the real client of `/storemesh/lease/1.0.0`.
 *
 * Where the real client plugs in: `LeaseKeeper` of src/lease/lease-keeper.ts has this
 * same shape (`facts()`, `acquire(ref, {signal})`, `release()`), so the agent, which
 * owns a libp2p node, builds one over its node and the hub it found on the LAN and
 * passes it as `DeviceInstallOptions.lease`. Nothing here imports src/lease/, so the
 * two can move independently.
 */
import type { DeviceFacts } from '../interface/types.js'

/** What the `hub.lease` gate reads (DeviceFacts.lease). */
export type LeaseFacts = DeviceFacts['lease']

/** What a lease is for; the hub's ledger names it. */
export interface LeaseRef {
  bundleId: string
  waveId: string
}

export interface LeaseProvider {
  /** The lease as the gate should read it now, without asking the hub. */
  facts: () => LeaseFacts
  /** Asks the hub for an install slot; resolves to the new facts (held, denied, unreachable). */
  acquire: (ref: LeaseRef, options?: { signal?: AbortSignal }) => Promise<LeaseFacts>
  /** Gives the slot back after the install ended, whatever its outcome. */
  release: () => Promise<void>
}

/** The `lease` section of install.yaml: whether installs need the store hub's lease. */
export type LeaseKind = 'none' | 'hub'

const STANDALONE: LeaseFacts = { state: 'held', detail: 'standalone device: no store hub lease needed' }

/** A device with no store hub: the lease is always held, so `hub.lease` passes. */
export function noLease (): LeaseProvider {
  return {
    facts: () => ({ ...STANDALONE }),
    acquire: async () => ({ ...STANDALONE }),
    release: async () => {}
  }
}

/**
 * A device whose config asks for a hub lease while no client is at hand (the one-shot
 * command has no libp2p node): fail closed, so `hub.lease` defers and says why.
 */
export function unavailableLease (detail: string): LeaseProvider {
  const facts = (): LeaseFacts => ({ state: 'unreachable', detail })
  return { facts, acquire: async () => facts(), release: async () => {} }
}

/**
 * The one lease rule (issue 15, "One decision"): install.yaml's `lease.kind` decides
 * for `device install --once`, `policy explain --data <device dir>` and the agent alike.
 *   none  standalone: no lease is asked, whatever client the caller holds; `hub.lease`
 *         passes as "standalone device: no store hub lease needed"
 *   hub   the caller's hub client (the agent's LeaseKeeper against its store hub); a
 *         one-shot command has none, so the gate reads `unreachable`, which is what the
 *         agent's keeper reports while no hub answers
 */
export function leaseProviderFor (kind: LeaseKind, hubClient?: LeaseProvider): LeaseProvider {
  switch (kind) {
    case 'none':
      return noLease()
    case 'hub':
      return hubClient ?? unavailableLease('a one-shot command cannot ask the store hub for a lease; the device agent (`storemesh device run`) asks it once every other gate passes')
  }
}
