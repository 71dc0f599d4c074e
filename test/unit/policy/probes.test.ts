/**
 * Peripheral probes as real child processes: exit codes, output in the detail, a real
 * `sleep 5` killed at 0.5 s with its whole process group, abort, and an injected exec.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runProbe, runProbes, shellExec, type ExecFn } from '../../../src/install/probes.js'

/** Running, not a zombie waiting for init to reap it (which may take a while in a container). */
function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

t.test('exit 0 passes, anything else fails with the reason', async t => {
  const ok = await runProbe({ name: 'ok', run: 'echo scanner found', timeoutSeconds: 5 })
  t.same({ ok: ok.ok, detail: ok.detail, exitCode: ok.exitCode }, { ok: true, detail: 'exit 0: scanner found', exitCode: 0 })
  const bad = await runProbe({ name: 'bad', run: 'echo "no scanner on usb" >&2; exit 3', timeoutSeconds: 5 })
  t.same({ ok: bad.ok, detail: bad.detail, exitCode: bad.exitCode }, { ok: false, detail: 'exit 3: no scanner on usb', exitCode: 3 })
  const pipe = await runProbe({ name: 'pipe', run: 'printf "a\\nscanner\\n" | grep -q scanner', timeoutSeconds: 5 })
  t.equal(pipe.ok, true, 'pipelines run through sh -c')
  const missing = await runProbe({ name: 'missing', run: 'definitely-not-a-command-xyz', timeoutSeconds: 5 })
  t.equal(missing.ok, false)
  t.match(missing.detail, /exit 127/)
})

t.test('timeoutSeconds 0.5 kills the whole process group, a background sleep 30 too', async t => {
  const dir = t.testdir()
  const pidFile = join(dir, 'sleep.pid')
  // The grandchild sleeps far longer than the bounded wait below, so a kill that misses it shows.
  const r = await runProbe({ name: 'slow', run: `sleep 30 & echo $! > ${pidFile}; wait`, timeoutSeconds: 0.5 })
  t.equal(r.ok, false)
  t.equal(r.detail, 'timed out after 0.5 s (killed)')
  t.equal(r.exitCode, null)
  const sleepPid = Number((await readFile(pidFile, 'utf8')).trim())
  t.ok(sleepPid > 0)
  t.teardown(() => { try { process.kill(sleepPid, 'SIGKILL') } catch {} })
  // SIGKILL is delivered at once, but the state may take a moment to show: bounded wait.
  for (let i = 0; i < 50 && alive(sleepPid); i++) await new Promise(resolve => setTimeout(resolve, 50))
  t.equal(alive(sleepPid), false, 'the grandchild sleep is gone too')
})

t.test('the plain form from the brief: sleep 5, timeout 0.5 s', async t => {
  const r = await shellExec({ command: 'sleep 5', timeoutMs: 500 })
  t.equal(r.timedOut, true)
  t.equal(r.exitCode, null)
  t.equal(r.signal, 'SIGKILL')
})

t.test('abort kills the command and rejects', async t => {
  const ac = new AbortController()
  const p = shellExec({ command: 'sleep 5', timeoutMs: 10_000, signal: ac.signal })
  setTimeout(() => ac.abort(), 100)
  await t.rejects(p, { code: 'E_ABORTED' })
  await t.rejects(shellExec({ command: 'true', timeoutMs: 1000, signal: AbortSignal.abort() }), { code: 'E_ABORTED' })
})

t.test('output is capped', async t => {
  const r = await shellExec({ command: 'head -c 100000 /dev/zero | tr "\\0" x', timeoutMs: 5000, maxOutputBytes: 1000 })
  t.equal(r.exitCode, 0)
  t.equal(r.stdout.length, 1000)
})

t.test('runProbes runs all and keys them by name; exec is injectable', async t => {
  const seen: string[] = []
  const fake: ExecFn = async req => {
    seen.push(`${req.command}@${req.timeoutMs}`)
    const code = req.command === 'scan' ? 0 : 1
    return { exitCode: code, signal: null, stdout: '', stderr: code === 0 ? '' : 'printer offline', timedOut: false, durationMs: 1 }
  }
  const r = await runProbes([{ name: 'scanner', run: 'scan', timeoutSeconds: 2 }, { name: 'printer', run: 'print', timeoutSeconds: 0.25 }], { exec: fake })
  t.same(Object.keys(r).sort(), ['printer', 'scanner'])
  t.equal(r.scanner?.ok, true)
  t.same({ ok: r.printer?.ok, detail: r.printer?.detail }, { ok: false, detail: 'exit 1: printer offline' })
  t.same(seen.sort(), ['print@250', 'scan@2000'])
  const timedOut = await runProbe({ name: 'x', run: 'x', timeoutSeconds: 3 }, {
    exec: async () => ({ exitCode: null, signal: 'SIGKILL', stdout: '', stderr: '', timedOut: true, durationMs: 3000 })
  })
  t.equal(timedOut.detail, 'timed out after 3 s (killed)')
})
