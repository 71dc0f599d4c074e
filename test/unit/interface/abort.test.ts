import t from 'tap'
import { abortError, sleep, throwIfAborted } from '../../../src/interface/abort.js'
import { StoremeshError } from '../../../src/interface/errors.js'

t.test('an aborted signal is E_ABORTED, a timed-out one E_TIMEOUT; the reason is the cause', async t => {
  const ctl = new AbortController()
  const reason = new StoremeshError('E_ABORTED', 'puller stopped')
  ctl.abort(reason)
  t.match(abortError(ctl.signal, 'pulling'), { code: 'E_ABORTED', message: 'aborted pulling', cause: reason })
  const timeout = AbortSignal.timeout(1)
  await new Promise(resolve => setTimeout(resolve, 20))
  t.match(abortError(timeout), { code: 'E_TIMEOUT', message: 'timed out' })
  t.throws(() => { throwIfAborted(ctl.signal, 'x') }, { code: 'E_ABORTED' })
  t.doesNotThrow(() => { throwIfAborted(new AbortController().signal) })
  t.doesNotThrow(() => { throwIfAborted(undefined) })
})

t.test('sleep waits, and an abort ends it early with the typed error', async t => {
  const start = Date.now()
  await sleep(30)
  t.ok(Date.now() - start >= 25, 'waited')
  const ctl = new AbortController()
  const waiting = sleep(60_000, { signal: ctl.signal })
  setTimeout(() => { ctl.abort() }, 10)
  await t.rejects(waiting, { code: 'E_ABORTED' })
  await t.rejects(sleep(10, { signal: AbortSignal.abort() }), { code: 'E_ABORTED' }, 'already aborted: rejects at once')
})
