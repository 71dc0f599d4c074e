/**
 * Writes protocols/identity/vectors.json. Run only when the format changes on purpose
 * (and bump IDENTITY_SPEC_VERSION then): `node --import tsx test/unit/identity/make-vectors.ts`.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from '../../support/cli.js'
import { computeVectors } from './vectors-lib.js'

const path = join(REPO_ROOT, 'protocols', 'identity', 'vectors.json')
writeFileSync(path, JSON.stringify(await computeVectors(), null, 2) + '\n')
process.stdout.write(`wrote ${path}\n`)
