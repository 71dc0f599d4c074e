// `npm run build`, last step: the compiled CLI (dist/cli/entry.js and the ~900
// modules it reaches, libp2p's included) as one ES module, dist/storemesh.mjs, which
// bin/storemesh.js runs. Node 20 resolves, reads and links every module of an
// unbundled tree one by one: `storemesh device install-status` took 1.2-1.6 s and
// 1.7-1.9 CPU-s to start, bundled 0.6 s and 0.7 CPU-s (a device runs the CLI from
// timers and hooks; the test suites spawn it hundreds of times).
// Native addons stay outside (loaded from node_modules as before). Each command group
// is its own chunk (dist/chunks/, code splitting at the `await import()` in
// cli/commands.ts): one file made every process parse all 4.5 MB of the CLI, and a
// device agent that loads only what `device` reaches is 11 MiB smaller (issue #19).
import { build } from 'esbuild'
import { rm } from 'node:fs/promises'
import { asciiBundle } from './ascii-chunks.mjs'

// zod's namespace re-exports its ~60 error-message locales (`z.locales`); we use none but
// its default English one, which zod installs itself from locales/en.js. Bundled, the
// rest cost every process that validates anything 360 KB of source and ~1 MiB of RSS.
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup (b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, args => /[/\\]zod[/\\]/.test(args.importer)
      ? { path: 'zod-locales-en', namespace: 'zod-locales', pluginData: args.resolveDir }
      : undefined)
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, args => ({
      contents: `export { default as en } from ${JSON.stringify(`${args.pluginData}/../locales/en.js`)}`,
      resolveDir: args.pluginData
    }))
  }
}

await rm('dist/chunks', { recursive: true, force: true })
await build({
  entryPoints: { storemesh: 'dist/cli/entry.js' },
  outdir: 'dist',
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // PGlite finds its WASM and data files next to its own module; pg has an optional native part
  external: ['@napi-rs/blake-hash', 'classic-level', '@electric-sql/pglite', 'pg'],
  // CommonJS dependencies inside an ES module bundle still call require()
  banner: { js: "import { createRequire as __storemeshRequire } from 'node:module'; const require = __storemeshRequire(import.meta.url);" },
  plugins: [zodEnglishOnly],
  logLevel: 'warning'
})
// one-byte source strings in V8's heap (scripts/ascii-chunks.mjs)
await asciiBundle('dist')
