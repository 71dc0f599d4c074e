/**
 * The heat map data of GET /api/availability: per bundle a window of chunks by peers,
 * with the whole-bundle figures computed exactly as /metrics computes them
 * (bundleFigures), so the dashboard and Prometheus can never disagree.
 */
import { bundleFigures, chunkCopies, hasPiece, heldCount, type BundleAvailability } from '../metrics/index.js'
import { MAX_HEATMAP_BUNDLES, MAX_HEATMAP_PEERS } from './constants.js'
import type { AvailabilityBundleView, AvailabilityView } from './types.js'

export interface AvailabilityWindow {
  /** only this bundle */
  bundle?: string
  from: number
  count: number
}

function haveString (bits: Uint8Array, from: number, to: number): string {
  let s = ''
  for (let i = from; i < to; i++) s += hasPiece(bits, i) ? '1' : '0'
  return s
}

export function bundleView (b: BundleAvailability, from: number, count: number): AvailabilityBundleView {
  const f = bundleFigures(b)
  const start = Math.min(from, b.pieceCount)
  const end = Math.min(b.pieceCount, start + count)
  const peers = b.peers.slice(0, MAX_HEATMAP_PEERS)
  const holders = b.local !== undefined ? [b.local, ...b.peers.map(p => p.bitfield)] : b.peers.map(p => p.bitfield)
  const copies = [...chunkCopies(b.pieceCount, holders).subarray(start, end)]
  const rows: AvailabilityBundleView['rows'] = []
  const empty = new Uint8Array(0)
  rows.push({ peerId: 'self', self: true, heldChunks: f.held, have: haveString(b.local ?? empty, start, end) })
  for (const p of peers) {
    rows.push({
      peerId: p.peerId,
      ...(p.label !== undefined ? { label: p.label } : {}),
      heldChunks: heldCount(p.bitfield, b.pieceCount),
      have: haveString(p.bitfield, start, end)
    })
  }
  return {
    bundleId: b.bundleId,
    ...(b.name !== undefined ? { name: b.name } : {}),
    ...(b.version !== undefined ? { version: b.version } : {}),
    pieceCount: b.pieceCount,
    heldChunks: f.held,
    minCopies: f.minCopies,
    distributedCopies: f.distributedCopies,
    rarestCopies: f.rarestCopies,
    devicesComplete: f.devicesComplete,
    from: start,
    count: end - start,
    copies,
    rows,
    peersTruncated: b.peers.length > peers.length
  }
}

export function availabilityView (bundles: BundleAvailability[], w: AvailabilityWindow, nowMs: number): AvailabilityView {
  const chosen = w.bundle !== undefined ? bundles.filter(b => b.bundleId === w.bundle) : bundles
  const shown = chosen.slice(0, MAX_HEATMAP_BUNDLES)
  return {
    atMs: nowMs,
    bundles: shown.map(b => bundleView(b, w.from, w.count)),
    bundlesTruncated: chosen.length > shown.length
  }
}
