/**
 * src/cli/lifecycle.ts in a real child process, with real signals: the first SIGINT
 * or SIGTERM aborts the command's signal with E_ABORTED and the listeners are gone
 * afterwards; a daemon's stop runs once; a second signal during a hung stop exits
 * with 128 + the signal's number.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import t, { type Test } from 'tap'
import { signalExitCode } from '../../../src/cli/lifecycle.js'
import { REPO_ROOT, scriptArgs } from '../../support/cli.js'

interface Child {
  child: ChildProcess
  next: (step: string) => Promise<Record<string, unknown>>
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

function start (t: Test, mode: string): Child {
  const child = spawn(process.execPath, [...scriptArgs('test/unit/cli/lifecycle-child.ts'), mode], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const seen: Array<Record<string, unknown>> = []
  const waiting: Array<() => void> = []
  createInterface({ input: child.stdout! }).on('line', line => {
    seen.push(JSON.parse(line) as Record<string, unknown>)
    for (const w of waiting.splice(0)) w()
  })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => {
    child.once('exit', (code, signal) => { for (const w of waiting.splice(0)) w(); resolve({ code, signal }) })
  })
  const next = async (step: string): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + 30_000
    for (;;) {
      const hit = seen.find(s => s.step === step)
      if (hit !== undefined) return hit
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) throw new Error(`no ${step} line from the child (${mode})`)
      await new Promise<void>(resolve => { waiting.push(resolve); setTimeout(resolve, 500) })
    }
  }
  return { child, next, exited }
}

t.test('the first SIGINT aborts with E_ABORTED; the listeners are gone afterwards', async t => {
  const c = start(t, 'abort')
  t.same((await c.next('ready')).listeners, { SIGINT: 1, SIGTERM: 1 }, 'one listener per signal while the work runs')
  c.child.kill('SIGINT')
  const aborted = await c.next('aborted')
  t.equal(aborted.code, 'E_ABORTED')
  t.equal(aborted.message, 'interrupted by SIGINT')
  t.same(aborted.listeners, { SIGINT: 0, SIGTERM: 0 }, 'no listener left: Node\'s default handling is back')
  t.same(await c.exited, { code: 0, signal: null }, 'the process ends on its own')
})

t.test('a daemon stops once on SIGTERM and exits 0', async t => {
  const c = start(t, 'stop')
  await c.next('ready')
  c.child.kill('SIGTERM')
  await c.next('stopping')
  t.same((await c.next('stopped')).listeners, { SIGINT: 0, SIGTERM: 0 })
  t.same(await c.exited, { code: 0, signal: null })
})

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`a second ${sig} while the stop hangs exits at once with ${signalExitCode(sig)}`, async t => {
    const c = start(t, 'hang')
    await c.next('ready')
    c.child.kill(sig)
    await c.next('stopping')
    c.child.kill(sig)
    t.same(await c.exited, { code: signalExitCode(sig), signal: null })
  })
}

t.test('an unhandled rejection a peer could cause is survived; a bug of ours stops the daemon in order with 70', async t => {
  const peer = start(t, 'stray-peer')
  await peer.next('after')
  t.equal(peer.child.exitCode, null, 'still running after an unhandled EncryptionFailedError')
  peer.child.kill('SIGTERM')
  t.equal((await peer.next('stopped')).exitCode, 0)
  t.same(await peer.exited, { code: 0, signal: null })
  const bug = start(t, 'stray-bug')
  await bug.next('stopping')
  t.equal((await bug.next('stopped')).exitCode, 70, 'stopped by itself, no signal')
  t.same(await bug.exited, { code: 70, signal: null })
})

t.equal(signalExitCode('SIGINT'), 130)
t.equal(signalExitCode('SIGTERM'), 143)
