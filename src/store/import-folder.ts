/**
 * Imports every built bundle folder under one directory (the super hub's `--bundles`):
 * each folder holding a bundle.json is verified and imported unless the store already
 * holds that bundle verified, so a restart does not re-read what it has.
 */
import type { Log } from '../interface/log.js'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { TrustOptions } from '../interface/types.js'
import { bundleJsonPath } from '../bundle/layout.js'
import { readBundleDirManifest } from './import.js'
import type { ChunkStore } from './store.js'

/** Returns the ids of every bundle found, imported now or held already, in folder-name order. */
export async function importBundlesUnder (store: ChunkStore, dir: string, trust: TrustOptions, log?: Log): Promise<string[]> {
  const out: string[] = []
  for (const name of (await readdir(dir)).sort()) {
    const folder = join(dir, name)
    const isBundle = await stat(bundleJsonPath(folder)).then(s => s.isFile(), () => false)
    if (!isBundle) continue
    const info = await readBundleDirManifest(folder, trust)
    if (store.getBundle(info.id)?.state !== 'verified') {
      const r = await store.importBundleDir(folder, trust)
      log?.info({ bundle: info.id }, `imported ${info.id} (${info.manifest.signed.name} ${info.manifest.signed.version}) from ${folder}: ${r.chunksWritten} new chunks`)
    }
    out.push(info.id)
  }
  return out
}
