import t from 'tap'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { openStore } from '../../../src/store/index.js'
import { REPO_ROOT, scriptArgs } from '../../support/cli.js'
import { tempDir } from '../../support/store-fixture.js'

const WRITER = 'test/support/store-writer.ts'
const CHILD_TIMEOUT_MS = 60_000

/** Runs the helper to completion (bounded) and returns its JSON lines. */
async function runHelper (args: string[]): Promise<Array<Record<string, unknown>>> {
  const child = spawn(process.execPath, [...scriptArgs(WRITER), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise(resolve => child.once('exit', resolve))
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS)
  const lines: Array<Record<string, unknown>> = []
  for await (const line of createInterface({ input: child.stdout })) lines.push(JSON.parse(line) as Record<string, unknown>)
  await exited
  clearTimeout(timer)
  return lines
}

t.test('another process opening a data dir in use gets E_DATA_DIR_IN_USE', async t => {
  const dataDir = await tempDir(t)
  const store = await openStore({ dataDir })
  const lines = await runHelper([dataDir, 'probe'])
  t.match(lines, [{ code: 'E_DATA_DIR_IN_USE', message: `data dir ${dataDir} is in use by another storemesh process` }])
  await store.close()
  t.same(await runHelper([dataDir, 'probe']), [{ ok: true }], 'free again once closed')
})

t.test('this process gets E_DATA_DIR_IN_USE while a child holds the dir; free after it dies', async t => {
  const dataDir = await tempDir(t)
  const child = spawn(process.execPath, [...scriptArgs(WRITER), dataDir, 'hold'], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] })
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS)
  t.teardown(() => { clearTimeout(timer); child.kill('SIGKILL') })
  const rl = createInterface({ input: child.stdout! })
  for await (const line of rl) {
    if ((JSON.parse(line) as { event?: string }).event === 'ready') break
  }
  await t.rejects(openStore({ dataDir }), { code: 'E_DATA_DIR_IN_USE' })
  // SIGKILL: the lock dies with the process, no stale lock file blocks the next opener.
  const exited = new Promise(resolve => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited
  const store = await openStore({ dataDir })
  await store.close()
  t.pass('opened after the holder was killed')
})
