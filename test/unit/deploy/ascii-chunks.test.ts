/**
 * scripts/ascii-chunks.mjs (a step of `npm run build`): non-ASCII characters in a
 * bundle file's comments become ASCII escapes, so V8 keeps the file's source as a
 * one-byte string; a non-ASCII character anywhere an escape would change the code (a
 * regexp, a raw template) fails the build instead of being rewritten.
 */
import t, { type Test } from 'tap'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** scripts/ is not compiled: from test/unit/deploy/ (or .test-build/test/unit/deploy/ in CI), the first parent that holds it */
function scriptPath (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 8; i++, dir = dirname(dir)) {
    const p = join(dir, 'scripts', 'ascii-chunks.mjs')
    if (existsSync(p)) return p
  }
  throw new Error('scripts/ascii-chunks.mjs not found above ' + fileURLToPath(import.meta.url))
}
const { asciiOnly } = await import(pathToFileURL(scriptPath()).href) as { asciiOnly: (path: string) => Promise<number> }
const rewrite = asciiOnly

async function withFile (t: Test, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'storemesh-ascii-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const path = join(dir, 'chunk.mjs')
  await writeFile(path, text)
  return path
}

t.test('comments are escaped; the code and its strings are unchanged', async t => {
  const src = 'export class A {\n  /** id \u2192 deadline \u2014 see below */\n  #m = new Map();\n  s = "caf\\u00e9"; // caf\u00e9 \u{1F600}\n}\n'
  const path = await withFile(t, src)
  const saved = await rewrite(path)
  const out = await readFile(path, 'utf8')
  t.notMatch(out, /[^\x00-\x7f]/, 'ASCII only')
  t.ok(saved > 0, 'a two-byte source reports what it saves')
  t.match(out, 'id \\u{2192} deadline \\u{2014} see below')
  const mod = await import(`${path}?${Date.now()}`) as { A: new () => { s: string } }
  t.equal(new mod.A().s, 'caf\u00e9')
})

t.test('a file that is ASCII already is left alone', async t => {
  const path = await withFile(t, 'export const x = 1 // plain\n')
  t.equal(await rewrite(path), 0)
  t.equal(await readFile(path, 'utf8'), 'export const x = 1 // plain\n')
})

t.test('a non-ASCII character in code fails instead of changing the code', async t => {
  for (const code of ['export const r = /\u2192/\n', 'export const s = String.raw`\u2192`\n']) {
    const path = await withFile(t, code)
    await t.rejects(rewrite(path), /outside a comment/, code)
    t.equal(await readFile(path, 'utf8'), code, 'the file is not touched')
  }
})
