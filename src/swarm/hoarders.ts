/**
 * Hoarders on the device side (issue #20, item 1): LAN peers that claimed chunks and
 * delivered none while our requests waited at them for `hoarderAfterMs` in all
 * (Picker.takeHoarders) lose their wire with a `hoarding` violation; the swarm's
 * violation path then scores them and closes their connection, and a repeat within the
 * score's memory bans them (violations.ts). The store's hub is spared (`spare`: a capped
 * hub serving many devices may keep a first request waiting), and so are WAN links.
 *
 * A hoarder that dials back is a suspect from its first request (Picker.distrust): it
 * does not get to hold chunks for another suspectAfterMs, and its next hoarding bans it.
 */
import { StoremeshError } from '../interface/errors.js'
import type { Link } from '../interface/types.js'
import type { Picker } from './picker.js'
import { EarliestTimer } from './earliest-timer.js'

/** Hoarders one swarm remembers (a peer id each): far more than a store's peers. */
export const MAX_REMEMBERED_HOARDERS = 1024

export interface HoarderPeer {
  link: Link
  wire: { close: (err?: StoremeshError) => void }
}

export interface HoarderWatchInit {
  picker: Picker
  bundleId: string
  hoarderAfterMs: number
  /** a peer never dropped as a hoarder (the store's hub) @default none */
  spare?: (peerId: string) => boolean | Promise<boolean>
  /** the peer's current entry in the swarm, if it is still connected */
  peer: (peerId: string) => HoarderPeer | undefined
  now?: () => number
}

export class HoarderWatch {
  readonly #init: HoarderWatchInit
  readonly #known = new Set<string>()
  /** the next waiting peer's time up: check, then arm for the one after */
  readonly #timer = new EarliestTimer(() => { this.check(); this.arm() })

  constructor (init: HoarderWatchInit) {
    this.#init = init
  }

  /** Peers dropped as hoarders and still remembered. */
  get dropped (): number { return this.#known.size }

  /** A peer's wire is ready (after addPeer in the picker): distrust a returning hoarder. */
  peerReady (peerId: string): void {
    if (this.#known.has(peerId)) this.#init.picker.distrust(peerId)
  }

  /**
   * Arms one timer for the moment the next waiting peer's time is up (the swarm calls
   * it after each round of requests). The fill tick alone added up to its period, and
   * more on a loaded machine, to every hoarder's 8 s (issue #20: the target is 10 s).
   */
  arm (): void {
    const due = this.#init.picker.hoarderDueInMs()
    if (due === undefined) return
    this.#timer.arm((this.#init.now ?? Date.now)() + due, due + 1)
  }

  stop (): void {
    this.#timer.clear()
  }

  /** Drops the hoarders the picker names now (the swarm calls it on its fill tick and from arm()'s timer). */
  check (): void {
    for (const id of this.#init.picker.takeHoarders()) {
      const peer = this.#init.peer(id)
      if (peer === undefined || peer.link !== 'lan') continue
      void Promise.resolve(this.#init.spare?.(id) ?? false).catch(() => true).then(spared => {
        if (spared || this.#init.peer(id) !== peer) return
        this.#remember(id)
        peer.wire.close(new StoremeshError('E_PEER_HOARDING',
          `peer ${id} claimed chunks of ${this.#init.bundleId} and delivered none in ${this.#init.hoarderAfterMs} ms of requests`,
          { peer: id, bundle: this.#init.bundleId, violation: 'hoarding' }))
      })
    }
  }

  #remember (id: string): void {
    this.#known.delete(id)
    this.#known.add(id)
    if (this.#known.size > MAX_REMEMBERED_HOARDERS) this.#known.delete(this.#known.values().next().value as string)
  }
}
