/**
 * Simulated bootloaders for the backends that shell out: each plays, at "power-on",
 * what the real bootloader script would do with the same environment, through the
 * same real tool (grub-editenv, fw_printenv/fw_setenv, RAUC's custom backend), and
 * writes the booted slot where the kernel command line carries it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { writeFile, chmod } from 'node:fs/promises'
import { join } from 'node:path'
import { bootOnce, envToVars, varsToEnv } from '../../../src/install/bootcount-env.js'
import type { GrubEditenvBackend } from '../../../src/install/backends/grub-editenv.js'
import type { UbootBackend } from '../../../src/install/backends/uboot.js'
import { DEFAULT_BOOT_LIMIT } from '../../../src/install/constants.js'

/** undefined when the tool runs; else the reason to skip. */
export function toolMissing (cmd: string, args: string[] = ['--version']): string | undefined {
  const r = spawnSync(cmd, args, { stdio: 'ignore' })
  if (r.error !== undefined) return `${cmd} not installed (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}); apt-get install ${cmd === 'grub-editenv' ? 'grub-common' : cmd.startsWith('fw_') ? 'libubootenv-tool' : cmd}`
  return undefined
}

/**
 * RAUC's documented grub.cfg: walk ORDER, mark every visited slot tried (X_TRY=1),
 * boot the first with X_OK=1 and X_TRY=0; none: entry 0 (slot A).
 */
export async function grubPowerOn (backend: GrubEditenvBackend, cmdlineFile: string): Promise<void> {
  const vars = await backend.list()
  const order = (vars.ORDER ?? 'A B').split(/\s+/).filter(w => w !== '')
  const updates: Record<string, string> = {}
  let chosen: string | undefined
  for (const slot of order) {
    const ok = vars[`${slot}_OK`] === '1'
    const tried = vars[`${slot}_TRY`] === '1'
    updates[`${slot}_TRY`] = '1'
    if (ok && !tried) { chosen = slot; break }
  }
  await backend.set(updates)
  await writeFile(cmdlineFile, `root=/dev/sim rauc.slot=${chosen ?? 'A'}\n`)
}

/** U-Boot with CONFIG_BOOTCOUNT_ENV and an altbootcmd that switches slots. */
export async function ubootPowerOn (backend: UbootBackend, cmdlineFile: string): Promise<void> {
  const r = bootOnce(varsToEnv(await backend.readVars(), DEFAULT_BOOT_LIMIT))
  await backend.writeVars(envToVars(r.env))
  await writeFile(cmdlineFile, `root=/dev/sim storemesh.slot=${r.booted}\n`)
}

/**
 * A RAUC custom bootloader backend script (system.conf `bootloader=custom`) over a
 * key=value state file, with U-Boot-like counting so a trial can run out of boots.
 */
export async function writeRaucCustomBackend (dir: string, limit: number): Promise<{ script: string, state: string }> {
  const state = join(dir, 'bootchooser.state')
  const script = join(dir, 'bootchooser.sh')
  await writeFile(state, `primary=A\nA=good\nB=good\npending=0\ncount=0\nlimit=${limit}\n`)
  await writeFile(script, `#!/bin/sh
set -eu
S='${state}'
. "$S"
save() { printf 'primary=%s\\nA=%s\\nB=%s\\npending=%s\\ncount=%s\\nlimit=%s\\n' "$primary" "$A" "$B" "$pending" "$count" "$limit" > "$S.tmp"; mv "$S.tmp" "$S"; }
other() { if [ "$1" = A ]; then echo B; else echo A; fi; }
case "$1" in
  get-primary) echo "$primary" ;;
  set-primary) primary="$2"; pending=1; count=0; save ;;
  get-state) eval "echo \\$$2" ;;
  set-state)
    eval "$2=$3"
    if [ "$2" = "$primary" ]; then
      if [ "$3" = bad ]; then primary=$(other "$2"); fi
      pending=0; count=0
    fi
    save ;;
  get-current) echo "$primary" ;;
  *) exit 1 ;;
esac
`)
  await chmod(script, 0o755)
  return { script, state }
}

/** The RAUC custom bootloader at power-on, as a shell one-liner over the same state. */
export function raucPowerOn (stateFile: string): string {
  const r = spawnSync('/bin/sh', ['-c', `set -eu; S='${stateFile}'; . "$S"
if [ "$pending" = 1 ]; then count=$((count+1)); if [ "$count" -gt "$limit" ]; then if [ "$primary" = A ]; then primary=B; else primary=A; fi; pending=0; fi; fi
printf 'primary=%s\\nA=%s\\nB=%s\\npending=%s\\ncount=%s\\nlimit=%s\\n' "$primary" "$A" "$B" "$pending" "$count" "$limit" > "$S.tmp"; mv "$S.tmp" "$S"; echo "$primary"`], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`rauc power-on failed: ${r.stderr}`)
  return r.stdout.trim()
}

/** A private D-Bus session bus and a RAUC service on it, restartable with another booted slot. */
export class RaucHarness {
  private bus?: ChildProcess
  private service?: ChildProcess
  env: Record<string, string> = {}

  constructor (private readonly confFile: string) {}

  async start (bootname: string): Promise<void> {
    if (this.bus === undefined) {
      const bus = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1'], { stdio: ['ignore', 'pipe', 'ignore'] })
      this.bus = bus
      const address = await new Promise<string>((resolve, reject) => {
        let out = ''
        const timer = setTimeout(() => reject(new Error('dbus-daemon printed no address')), 10_000)
        bus.stdout?.on('data', (d: Buffer) => {
          out += d.toString()
          const line = out.split('\n')[0]
          if (out.includes('\n') && line !== undefined) { clearTimeout(timer); resolve(line.trim()) }
        })
        bus.on('exit', () => reject(new Error('dbus-daemon exited')))
      })
      this.env = { DBUS_SESSION_BUS_ADDRESS: address, DBUS_STARTER_BUS_TYPE: 'session' }
    }
    this.service = spawn('rauc', ['service', `--conf=${this.confFile}`, `--override-boot-slot=${bootname}`], {
      env: { ...process.env, ...this.env }, stdio: 'ignore'
    })
    // ready when `rauc status` answers; bounded
    for (let i = 0; i < 100; i++) {
      const r = spawnSync('rauc', [`--conf=${this.confFile}`, 'status', '--output-format=json'], { env: { ...process.env, ...this.env }, stdio: 'ignore' })
      if (r.status === 0) return
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    throw new Error('rauc service did not come up')
  }

  async stopService (): Promise<void> {
    const s = this.service
    if (s === undefined || s.exitCode !== null) return
    const exited = new Promise(resolve => s.once('exit', resolve))
    s.kill('SIGTERM')
    const timer = setTimeout(() => s.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }

  async restart (bootname: string): Promise<void> {
    await this.stopService()
    await this.start(bootname)
  }

  async close (): Promise<void> {
    await this.stopService()
    this.bus?.kill('SIGTERM')
  }
}
