/**
 * A device process for the crash tests: drives the installer with the file backend
 * and, when it reaches the state named by --stop-at, says so on stdout and waits
 * there to be killed with SIGKILL. Run again with --mode restart to resume.
 *
 *   node --import tsx crash-child.ts --dir D --image F [--expected HEX] [--stop-at S]
 *        [--mode run|restart] [--health ok|fail]
 *
 * Prints `REACHED <state>` at the stop point and `OUTCOME <json>` at the end.
 * Every slot opened for write is appended to `<dir>/opens.log`.
 */
import { appendFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { blake3 } from '@napi-rs/blake-hash'
import { FileBackend } from '../../../src/install/backends/file.js'
import { defaultHealthConfig } from '../../../src/install/health.js'
import { Installer, type InstallRequest } from '../../../src/install/installer.js'
import { Journal } from '../../../src/install/journal.js'

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    image: { type: 'string' },
    expected: { type: 'string' },
    'stop-at': { type: 'string', default: 'none' },
    mode: { type: 'string', default: 'run' },
    health: { type: 'string', default: 'ok' }
  }
})

const dir = values.dir as string
const stopAt = values['stop-at'] as string

/** Say where we are and wait for the parent's SIGKILL (bounded: exit after a minute). */
async function reached (state: string): Promise<never> {
  process.stdout.write(`REACHED ${state}\n`)
  await new Promise(resolve => setTimeout(resolve, 60_000))
  process.stderr.write(`not killed at ${state}\n`)
  process.exit(70)
}

const image = await readFile(values.image as string)
const chunkBytes = 16 * 1024
async function * source (): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < image.length; i += chunkBytes) {
    if (stopAt === 'writing-mid' && i >= image.length / 2) await reached('writing-mid')
    yield image.subarray(i, Math.min(image.length, i + chunkBytes))
  }
}

const backend = new FileBackend({
  dir: join(dir, 'slots'),
  bootLimit: 3,
  onOpenForWrite: (slot) => { appendFileSync(join(dir, 'opens.log'), `${slot}\n`) }
})
const journal = await Journal.open(join(dir, 'data'))
const installer = new Installer({
  dataDir: join(dir, 'data'),
  backend,
  journal,
  onStep: async (rec) => { if (rec.state === stopAt) await reached(rec.state) }
})

const request: InstallRequest = {
  bundleId: 'b3:' + blake3(image).toString('hex'),
  version: '2.0.0',
  waveId: 'wave-crash',
  image: source,
  expected: { blake3: values.expected ?? blake3(image).toString('hex'), sizeBytes: image.length },
  health: {
    ...defaultHealthConfig,
    command: values.health === 'ok' ? 'true' : 'exit 1',
    budgetMs: 300,
    intervalMs: 100
  }
}

if (stopAt === 'idle') await reached('idle')
if (values.mode === 'restart') {
  // what the device role does at start-up: finish what a crash left, then ask again
  const resumed = await installer.resume({ image: source })
  process.stdout.write(`RESUMED ${JSON.stringify(resumed)}\n`)
}
const outcome = await installer.runOnce(request)
process.stdout.write(`OUTCOME ${JSON.stringify(outcome)}\n`)
await journal.close()
