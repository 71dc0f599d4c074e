import t from 'tap'
import { lifetimeAbortController } from '../../../src/interface/startable.js'

/** Warnings Node emits while `fn` adds `n` abort listeners to `signal`. */
async function warningsWhile (signal: AbortSignal, n: number): Promise<string[]> {
  const seen: string[] = []
  const onWarning = (w: Error): void => { seen.push(w.name) }
  process.on('warning', onWarning)
  const listeners = Array.from({ length: n }, () => () => {})
  for (const l of listeners) signal.addEventListener('abort', l)
  await new Promise(resolve => setImmediate(resolve))
  for (const l of listeners) signal.removeEventListener('abort', l)
  process.off('warning', onWarning)
  return seen
}

t.test('a lifetime signal takes one listener per peer without a leak warning', async t => {
  t.same(await warningsWhile(new AbortController().signal, 16), ['MaxListenersExceededWarning'], 'a plain signal warns past 10 (the check can fail)')
  const life = lifetimeAbortController()
  t.same(await warningsWhile(life.signal, 300), [], 'a store of 300 peers: no warning')
  let fired = 0
  life.signal.addEventListener('abort', () => { fired++ })
  life.abort()
  t.equal(fired, 1, 'it still aborts')
})
