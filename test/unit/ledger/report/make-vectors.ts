/**
 * Writes protocols/report/vectors.json. Run only when the 1.2.0 format changes on
 * purpose: `node --import tsx test/unit/ledger/report/make-vectors.ts`.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from '../../../support/cli.js'
import { computeVectors } from './vectors-lib.js'

const path = join(REPO_ROOT, 'protocols', 'report', 'vectors.json')
writeFileSync(path, JSON.stringify(computeVectors(), null, 2) + '\n')
process.stdout.write(`wrote ${path}\n`)
