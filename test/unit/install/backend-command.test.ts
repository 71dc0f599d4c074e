/**
 * The command backend with operator hooks written as a small POSIX shell script over
 * a key=value state file (U-Boot-like counting), streaming the image through the
 * write hook's stdin and the read hook's stdout.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CommandBackend } from '../../../src/install/backends/command.js'
import { execCommand } from '../../../src/install/exec.js'
import { backendCompliance, chunksOf, readAll } from './backend-compliance.js'

const HOOKS = `#!/bin/sh
set -eu
S="$HOOK_STATE"
[ -f "$S" ] || printf 'booted=a\\nslot=a\\nua=0\\ncount=0\\nlimit=3\\n' > "$S"
. "$S"
other() { if [ "$1" = a ]; then echo b; else echo a; fi; }
save() { printf 'booted=%s\\nslot=%s\\nua=%s\\ncount=%s\\nlimit=%s\\n' "$booted" "$slot" "$ua" "$count" "$limit" > "$S.tmp"; mv "$S.tmp" "$S"; }
case "$1" in
  status) printf 'booted=%s\\nprimary=%s\\nbootcount=%s\\nbootlimit=%s\\nupgrade_available=%s\\n' "$booted" "$slot" "$count" "$limit" "$ua" ;;
  set-next-boot) slot="$STOREMESH_SLOT"; count=0; if [ "$STOREMESH_TRY_BOOT" = 1 ]; then ua=1; else ua=0; fi; save ;;
  mark-good) slot="$STOREMESH_SLOT"; ua=0; count=0; save ;;
  mark-bad) if [ "$slot" = "$STOREMESH_SLOT" ]; then slot=$(other "$slot"); ua=0; count=0; fi; save ;;
  power-on) if [ "$ua" = 1 ]; then count=$((count+1)); if [ "$count" -gt "$limit" ]; then slot=$(other "$slot"); ua=0; fi; fi; booted="$slot"; save ;;
  write) cat > "$HOOK_DIR/slot-$STOREMESH_SLOT.img" ;;
  read) head -c "$STOREMESH_BYTES" "$HOOK_DIR/slot-$STOREMESH_SLOT.img" ;;
  *) echo "unknown verb $1" >&2; exit 2 ;;
esac
`

async function make (dir: string, withStreams: boolean): Promise<{ backend: CommandBackend, seedA: Uint8Array }> {
  const script = join(dir, 'hooks.sh')
  await writeFile(script, HOOKS, { mode: 0o755 })
  const seedA = randomBytes(32 * 1024)
  await writeFile(join(dir, 'slot-a.img'), seedA)
  const env = { HOOK_STATE: join(dir, 'state'), HOOK_DIR: dir }
  const verb = (v: string): string[] => ['/bin/sh', script, v]
  const backend = new CommandBackend({
    hooks: {
      status: verb('status'),
      setNextBoot: verb('set-next-boot'),
      markGood: verb('mark-good'),
      markBad: verb('mark-bad'),
      reboot: verb('power-on'),
      ...(withStreams ? { write: verb('write'), read: verb('read') } : {})
    },
    ...(withStreams ? {} : { devices: { a: join(dir, 'slot-a.img'), b: join(dir, 'slot-b.img') } }),
    env,
    timeoutMs: 10_000,
    reboot: async () => {
      const r = await execCommand({ command: verb('power-on'), env })
      if (r.code !== 0) throw new Error(`power-on failed: ${r.stderr}`)
      return 'simulated'
    }
  })
  return { backend, seedA }
}

backendCompliance(t, 'command (write/read hooks)', async (t) => ({ ...(await make(t.testdir(), true)), fallbackWithinBoots: 4 }))
backendCompliance(t, 'command (device paths)', async (t) => ({ ...(await make(t.testdir(), false)), fallbackWithinBoots: 4 }))

t.test('command: a failing hook is E_BACKEND naming the command; a slow one times out', async t => {
  const dir = t.testdir()
  const b = new CommandBackend({
    hooks: { status: 'echo booted=a', setNextBoot: 'echo broken >&2; exit 3', markGood: 'sleep 5', markBad: 'true', reboot: 'true' },
    timeoutMs: 300
  })
  await t.rejects(b.setNextBoot('b', { tryBoot: true }), { code: 'E_BACKEND', message: /exit 3: broken/ })
  await t.rejects(b.markGood('b'), { code: 'E_BACKEND', message: /timed out/ })
  t.equal(await b.activeSlot(), 'a')
  t.equal(await b.bootAttempts(), undefined, 'no counter printed: none reported')
  t.equal(await b.reboot(), 'pending', 'the reboot hook means the machine goes down')
  await t.rejects(b.writeSlot('b', chunksOf(new Uint8Array(1))), { code: 'E_INVALID_ARGUMENT' }, 'no write hook and no device')
  t.ok(dir)
})

t.test('command: a status hook without booted= fails closed', async t => {
  const b = new CommandBackend({ hooks: { status: 'echo hello', setNextBoot: 'true', markGood: 'true', markBad: 'true', reboot: 'true' } })
  await t.rejects(b.activeSlot(), { code: 'E_BACKEND' })
})

t.test('command: a read hook shorter than asked ends early, the caller sees the size', async t => {
  const { backend } = await make(t.testdir(), true)
  await backend.writeSlot('b', chunksOf(randomBytes(1000)))
  t.equal((await readAll(backend, 'b', 5000)).length, 1000)
})
