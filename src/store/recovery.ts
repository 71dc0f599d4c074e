/**
 * Startup recovery: reconcile chunk files with the index after a crash or power loss.
 *
 * - temp files (a write cut short) are deleted; they were never indexed;
 * - an indexed chunk whose file is gone is dropped from the index;
 * - a chunk file that is not indexed (its index write was lost, the index batch is not
 *   synced) is re-hashed and adopted when it verifies, deleted when it does not;
 * - with `verifyAll`, every indexed chunk is re-hashed and dropped when it fails.
 *
 * Reads verify every chunk anyway, so the store never serves an unverified byte even
 * without `verifyAll`.
 */
import { blake3Hex } from '../bundle/hash.js'
import { FANOUT_PREFIXES } from './constants.js'
import type { ChunkFiles } from './chunk-files.js'
import type { IndexDb } from './index-db.js'

export interface RecoveryReport {
  tempFilesRemoved: number
  orphansAdopted: number
  orphansRemoved: number
  /** Hashes dropped from the index (file missing or failed verification). */
  droppedHashes: string[]
  chunkCount: number
  usedBytes: number
  /** Bundles whose stored manifest could not be read back (kept, reported; filled by the store). */
  unreadableBundles: string[]
}

export async function recoverChunks (
  files: ChunkFiles,
  index: IndexDb,
  options: { verifyAll: boolean, nowMs: number, signal?: AbortSignal }
): Promise<RecoveryReport> {
  const report: RecoveryReport = { tempFilesRemoved: 0, orphansAdopted: 0, orphansRemoved: 0, droppedHashes: [], chunkCount: 0, usedBytes: 0, unreadableBundles: [] }
  for (const prefix of FANOUT_PREFIXES) {
    options.signal?.throwIfAborted()
    const { chunks, temps } = await files.list(prefix)
    for (const name of temps) {
      await files.removeTemp(prefix, name)
      report.tempFilesRemoved++
    }
    const indexed = await index.chunksWithPrefix(prefix)
    const onDisk = new Set(chunks)
    const batch = index.batch()
    for (const [hash, rec] of indexed) {
      let keep = onDisk.has(hash)
      if (keep && options.verifyAll) {
        const bytes = await files.read(hash)
        keep = bytes !== undefined && bytes.length === rec.size && blake3Hex(bytes) === hash
        if (!keep) await files.remove(hash)
      }
      if (keep) {
        report.chunkCount++
        report.usedBytes += rec.size
      } else {
        batch.delChunk(hash, rec)
        report.droppedHashes.push(hash)
      }
    }
    for (const hash of chunks) {
      if (indexed.has(hash)) continue
      const bytes = await files.read(hash)
      if (bytes !== undefined && blake3Hex(bytes) === hash) {
        batch.putChunk(hash, { size: bytes.length, lastUsedMs: options.nowMs })
        report.orphansAdopted++
        report.chunkCount++
        report.usedBytes += bytes.length
      } else {
        await files.remove(hash)
        report.orphansRemoved++
      }
    }
    await batch.write({ sync: true })
  }
  return report
}
