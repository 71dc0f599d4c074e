/** Writes protocols/origin/vectors.json from vectors-lib.ts (run when the spec changes on purpose). */
import { writeFile } from 'node:fs/promises'
import { computeOriginVectors } from './vectors-lib.js'

await writeFile(new URL('../../../protocols/origin/vectors.json', import.meta.url), JSON.stringify(await computeOriginVectors(), null, 2) + '\n')
