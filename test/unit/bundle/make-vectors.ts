/**
 * Writes protocols/bundle/vectors.json. Run only when the format changes on purpose
 * (and bump SPEC_VERSION then): `node --import tsx test/unit/bundle/make-vectors.ts`.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from '../../support/cli.js'
import { computeVectors } from './vectors-lib.js'

const path = join(REPO_ROOT, 'protocols', 'bundle', 'vectors.json')
writeFileSync(path, JSON.stringify(computeVectors(), null, 2) + '\n')
process.stdout.write(`wrote ${path}\n`)
