/**
 * Child process for lifecycle.test.ts: runs src/cli/lifecycle.ts for real and prints
 * one JSON line per step on stdout. argv[2]:
 *   abort  withShutdownSignal: prints the abort reason and the signal listeners it left
 *   stop   runUntilSignal with a stop that finishes
 *   hang   runUntilSignal with a stop that never finishes (a second signal must exit)
 *   stray-peer  runUntilSignal, then a rejection no one handles of libp2p's
 *               EncryptionFailedError kind: the daemon must keep running
 *   stray-bug   the same with a TypeError: the daemon must stop in order, exit 70
 */
import { runUntilSignal, withShutdownSignal } from '../../../src/cli/lifecycle.js'

const say = (o: Record<string, unknown>): void => { process.stdout.write(JSON.stringify(o) + '\n') }
// counted against those already there (a loader such as tsx, or the test runner's hooks, may add its own)
const base = { SIGINT: process.listenerCount('SIGINT'), SIGTERM: process.listenerCount('SIGTERM') }
const listeners = (): Record<string, number> => ({ SIGINT: process.listenerCount('SIGINT') - base.SIGINT, SIGTERM: process.listenerCount('SIGTERM') - base.SIGTERM })
// signal listeners do not keep the event loop alive; this does, until the end
const alive = setInterval(() => {}, 1000)

const mode = process.argv[2]
if (mode === 'abort') {
  const reason = await withShutdownSignal(async signal => {
    say({ step: 'ready', listeners: listeners() })
    await new Promise(resolve => { signal.addEventListener('abort', resolve, { once: true }) })
    return signal.reason as { code?: string, message?: string }
  })
  say({ step: 'aborted', code: reason.code, message: reason.message, listeners: listeners() })
} else if (mode === 'stray-peer' || mode === 'stray-bug') {
  setImmediate(() => {
    const err = mode === 'stray-peer' ? Object.assign(new Error('handshake timed out'), { name: 'EncryptionFailedError' }) : new TypeError('x is undefined')
    void Promise.reject(err)
    setTimeout(() => { say({ step: 'after' }) }, 200)
  })
  await runUntilSignal(async () => { say({ step: 'stopping' }) })
  say({ step: 'stopped', exitCode: process.exitCode ?? 0 })
} else if (mode === 'stop' || mode === 'hang') {
  const ready = setImmediate(() => { say({ step: 'ready' }) })
  await runUntilSignal(async () => {
    say({ step: 'stopping' })
    if (mode === 'hang') await new Promise(() => {})
  })
  clearImmediate(ready)
  say({ step: 'stopped', listeners: listeners() })
}
clearInterval(alive)
