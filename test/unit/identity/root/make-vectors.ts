/**
 * Writes protocols/root/vectors.json. Run only when the format changes on purpose (and
 * bump ROOT_SPEC_VERSION then): `node --import tsx test/unit/identity/root/make-vectors.ts`.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from '../../../support/cli.js'
import { computeVectors } from './vectors-lib.js'

const path = join(REPO_ROOT, 'protocols', 'root', 'vectors.json')
writeFileSync(path, JSON.stringify(computeVectors(), null, 2) + '\n')
process.stdout.write(`wrote ${path}\n`)
