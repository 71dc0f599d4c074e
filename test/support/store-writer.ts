/**
 * A child process for chunk-store crash and lock tests.
 *
 *   store-writer.ts <dataDir> write <seed> <chunkCount> <chunkBytes> [concurrency]
 *     opens the store, adds a deterministic bundle, puts every chunk it does not hold
 *     (several in parallel), printing one JSON line per event; exits 0 when complete.
 *   store-writer.ts <dataDir> probe
 *     tries to open the store and prints {"ok":true} or {"code":"E_..."}.
 *   store-writer.ts <dataDir> hold
 *     opens the store, prints {"event":"ready"} and keeps it open until stdin closes.
 */
import { openStore } from '../../src/store/index.js'
import { isStoremeshError } from '../../src/interface/errors.js'
import { simpleBundle } from './store-fixture.js'

const say = (x: unknown): void => { process.stdout.write(JSON.stringify(x) + '\n') }

async function write (dataDir: string, seed: number, chunkCount: number, chunkBytes: number, concurrency: number): Promise<void> {
  const fixture = simpleBundle(seed, chunkCount, chunkBytes)
  const store = await openStore({ dataDir })
  const rec = await store.addBundle(fixture.info)
  const missing = await store.missingPieces(rec.id)
  say({ event: 'start', id: rec.id, held: fixture.info.pieces.length - missing.length, recovery: store.recovery })
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < missing.length) {
      const p = missing[next++]!
      await store.put(p.hash, fixture.chunks.get(p.hash)!)
      say({ event: 'put', index: p.index })
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  say({ event: 'complete', id: rec.id, state: store.bundleState(rec.id) })
  await store.close()
}

async function main (): Promise<void> {
  const [dataDir, mode, ...rest] = process.argv.slice(2)
  if (dataDir === undefined) throw new Error('usage: store-writer.ts <dataDir> write|probe|hold ...')
  if (mode === 'write') {
    const [seed, count, bytes, conc] = rest.map(Number)
    await write(dataDir, seed ?? 1, count ?? 64, bytes ?? 65536, conc ?? 4)
  } else if (mode === 'probe') {
    try {
      const store = await openStore({ dataDir })
      await store.close()
      say({ ok: true })
    } catch (err) {
      say({ code: isStoremeshError(err) ? err.code : 'unknown', message: (err as Error).message })
    }
  } else if (mode === 'hold') {
    const store = await openStore({ dataDir })
    say({ event: 'ready' })
    process.stdin.resume()
    await new Promise<void>(resolve => process.stdin.on('end', resolve))
    await store.close()
  } else {
    throw new Error(`unknown mode ${String(mode)}`)
  }
}

main().catch(err => {
  process.stderr.write(`${isStoremeshError(err) ? err.toLine() : String((err as Error).stack ?? err)}\n`)
  process.exit(1)
})
