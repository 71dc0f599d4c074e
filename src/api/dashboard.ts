/**
 * The dashboard page (dashboard.html: no build step, no external CDN), read once and
 * served as a string. From dist/ it is found beside the module or in the source tree.
 */
import { readFileSync } from 'node:fs'
import { StoremeshError } from '../interface/errors.js'

// beside this module in dist/api/, from the bundle (dist/storemesh.mjs, dist/chunks/), or the sources
const CANDIDATES = ['./dashboard.html', './api/dashboard.html', '../api/dashboard.html', '../../src/api/dashboard.html']
let cached: string | undefined

export function dashboardHtml (): string {
  if (cached !== undefined) return cached
  for (const rel of CANDIDATES) {
    try {
      cached = readFileSync(new URL(rel, import.meta.url), 'utf8')
      return cached
    } catch {}
  }
  throw new StoremeshError('E_FILE_NOT_FOUND', 'dashboard.html is missing from the installation')
}
