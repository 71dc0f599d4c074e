/**
 * The regression corpus: inputs that once crashed or hung a decoder, kept as files
 * under test/fixtures/fuzz-corpus/<target>/ (`npm run fuzz -- --save DIR` writes new
 * ones). Each must now be refused with a stable code (or accepted), never crash, and
 * within the hang limit.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { DEFAULT_HANG_MS, runInput } from '../../bench/fuzz/runner.js'
import { targetNamed } from '../../bench/fuzz/targets.js'
import { REPO_ROOT } from '../support/cli.js'

// from the repository root: the suites also run compiled from .test-build/, where no corpus is copied
const CORPUS = join(REPO_ROOT, 'test', 'fixtures', 'fuzz-corpus')

t.test('every corpus input is refused with a stable code, in time', async t => {
  const dirs = await readdir(CORPUS)
  t.ok(dirs.length > 0, 'the corpus is not empty')
  for (const name of dirs) {
    const target = targetNamed(name)
    for (const file of await readdir(join(CORPUS, name))) {
      const input = await readFile(join(CORPUS, name, file))
      const o = await runInput(target, new Uint8Array(input))
      t.not(o.kind, 'crash', `${name}/${file}${o.kind === 'crash' ? ': ' + o.detail : ''}`)
      t.ok(o.ms < DEFAULT_HANG_MS, `${name}/${file} took ${o.ms.toFixed(0)} ms`)
    }
  }
})
