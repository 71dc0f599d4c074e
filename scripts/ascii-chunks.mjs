// `npm run build`, after the bundle (scripts/bundle.mjs): every non-ASCII character left
// in the bundle's files is rewritten as an ASCII escape (issue #19, device RSS).
//
// Why: V8 keeps each module's source text on the heap for as long as the process runs
// (lazy compilation and Function.prototype.toString read it). One character outside
// Latin-1 makes the whole file a two-byte string: chunk-*.mjs of 1 MiB then costs 2 MiB.
// esbuild escapes non-ASCII in strings, templates and regexps (its default charset is
// ASCII) but leaves comments it keeps (doc comments on class fields, comments inside
// expressions) as they are, and ours and our dependencies' hold arrows and dashes. In
// an idle device agent four such files held 4.6 MiB of source where 2.3 would do.
//
// Safety: only comments may change. Each rewritten file is minified before and after
// (minifying drops comments); the build fails unless both minify to the same text.
import { transform } from 'esbuild'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** `\u{...}` reads the same in a comment and is not a JS escape anywhere it could matter (checked below). */
const escapeNonAscii = text => text.replace(/[^\x00-\x7f]/gu, ch => `\\u{${ch.codePointAt(0).toString(16)}}`)

async function minified (code, path) {
  return (await transform(code, { minify: true, format: 'esm', platform: 'node', target: 'node20', loader: 'js', sourcefile: path })).code
}

/** Rewrites one file; resolves to the bytes saved in V8's heap (half the file's length when it was two-byte). */
export async function asciiOnly (path) {
  const before = await readFile(path, 'utf8')
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7f]/.test(before)) return 0
  const after = escapeNonAscii(before)
  if (await minified(before, path) !== await minified(after, path)) {
    throw new Error(`${path}: a non-ASCII character outside a comment; the build cannot rewrite it safely`)
  }
  await writeFile(path, after)
  return /[^\x00-\xff]/u.test(before) ? after.length : 0
}

/** Every .mjs file of the bundle: dist/storemesh.mjs and dist/chunks/. */
export async function asciiBundle (distDir) {
  const files = [join(distDir, 'storemesh.mjs'), ...(await readdir(join(distDir, 'chunks'))).filter(f => f.endsWith('.mjs')).map(f => join(distDir, 'chunks', f))]
  let saved = 0
  for (const f of files) saved += await asciiOnly(f)
  return saved
}
