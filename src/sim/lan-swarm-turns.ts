/**
 * Which waiting request an uploading node of the simulated LAN (lan-swarm.ts) serves
 * next, as the product's uploader does it: each peer's requests are served by its own
 * loop (swarm/uploader.ts) that offers the node's turn queue one request at a time,
 * and the next only after the last one's bytes drained to that peer (`await
 * wire.writable()`); among those offered, the product's turn rule (upload-turns.ts
 * nextTurn) picks. So a peer that reads slowly (a download cap below the senders'
 * upload) holds one chunk of each sender at a time, and its other requests wait at
 * the senders, where a cancel still removes them. Before, the model served every
 * request at the sender's cap and queued the bytes at the reader, where no cancel
 * reaches: 50-device stores with 1 MiB/s-down scanners re-asked what sat there and
 * counted 21-46% of their LAN bytes as duplicates.
 */
import { nextTurn } from '../swarm/upload-turns.js'
import type { Node, Req } from './lan-swarm-types.js'

/** The next request `up` serves (taken off its queue), or undefined when none is offered now. */
export function takeTurn (up: Node, offered: Req[], seen: Uint8Array): Req | undefined {
  const q = up.queue
  for (let i = q.length - 1; i >= 0; i--) if (!(q[i] as Req).live) q.splice(i, 1)
  if (q.length === 0) return undefined
  offered.length = 0
  // the queue is in arrival order: a peer's first waiting request is its loop's
  for (const r of q) {
    if (seen[r.from] === 1 || up.unread[r.from] !== 0) continue
    seen[r.from] = 1
    offered.push(r)
  }
  for (const r of offered) seen[r.from] = 0
  if (offered.length === 0) return undefined
  const req = offered[nextTurn(offered)] as Req
  q.splice(q.indexOf(req), 1)
  for (const other of offered) if (other !== req) other.passed++
  return req
}

/** A request's holder count, read when the uploader picks its next turn (a returned arrow: tsx names a property's arrow, at a cost per request). */
export function holdersOf (up: Node, index: number): () => number {
  return () => up.picker.rarity.count(index)
}
