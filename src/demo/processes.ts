/**
 * The demo store's long-running processes (super hub, store hub, devices): each the
 * real CLI in a process of its own, its stdout and stderr going to files in the work
 * dir rather than to pipes, so that with `--keep` the store runs on after the demo
 * exits. The demo reads those files as they grow: JSON events (`ready`, `api`) and log
 * lines (`install: ...`).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { open, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { sleep } from '../interface/abort.js'
import { StoremeshError } from '../interface/errors.js'
import { cliArgv } from './spawn.js'

/** Lines kept per process: enough for every install decision of a demo run. */
const MAX_LINES = 20_000
const READ_CHUNK_BYTES = 256 * 1024

export interface LogLine {
  /** when the demo read it (ms since the epoch) */
  readMs: number
  /** the text: a log line's `line` field when the process prints JSON logs */
  text: string
  /** the parsed JSON object, when the line was one */
  json?: Record<string, unknown>
}

class GrowingFile {
  #offset = 0
  #partial = ''
  readonly path: string
  constructor (path: string) { this.path = path }

  /** The complete lines written since the last read. */
  async readNew (): Promise<string[]> {
    let fh: FileHandle
    try {
      fh = await open(this.path, 'r')
    } catch {
      return []
    }
    try {
      let text = ''
      const buf = Buffer.alloc(READ_CHUNK_BYTES)
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, this.#offset)
        if (bytesRead === 0) break
        this.#offset += bytesRead
        text += buf.subarray(0, bytesRead).toString('utf8')
      }
      const lines = (this.#partial + text).split('\n')
      this.#partial = lines.pop() ?? ''
      return lines
    } finally {
      await fh.close()
    }
  }
}

function parseLine (raw: string, readMs: number): LogLine {
  if (raw.startsWith('{')) {
    try {
      const json = JSON.parse(raw) as Record<string, unknown>
      return { readMs, text: typeof json.line === 'string' ? json.line : raw, json }
    } catch {}
  }
  return { readMs, text: raw }
}

export class RoleProcess {
  readonly name: string
  readonly dataDir: string
  readonly child: ChildProcess
  readonly outPath: string
  readonly errPath: string
  readonly out: LogLine[] = []
  readonly err: LogLine[] = []
  readonly exited: Promise<void>
  readonly #outFile: GrowingFile
  readonly #errFile: GrowingFile

  private constructor (name: string, dataDir: string, child: ChildProcess, outPath: string, errPath: string) {
    this.name = name
    this.dataDir = dataDir
    this.child = child
    this.outPath = outPath
    this.errPath = errPath
    this.#outFile = new GrowingFile(outPath)
    this.#errFile = new GrowingFile(errPath)
    this.exited = new Promise(resolve => {
      if (child.exitCode !== null || child.signalCode !== null) resolve()
      else child.once('exit', () => { resolve() })
    })
  }

  /**
   * Spawns `storemesh <args>` with cwd `cwd` (a device's health command runs there),
   * in a process group of its own so a Ctrl-C at the demo's terminal reaches only the
   * demo, which then stops its children itself.
   */
  static async start (name: string, args: string[], opts: { cwd: string, dataDir: string, logDir: string }): Promise<RoleProcess> {
    const outPath = join(opts.logDir, `${name}.out.log`)
    const errPath = join(opts.logDir, `${name}.err.log`)
    const out = await open(outPath, 'a')
    const err = await open(errPath, 'a')
    try {
      const child = spawn(process.execPath, cliArgv(args), { cwd: opts.cwd, stdio: ['ignore', out.fd, err.fd], detached: true })
      child.unref()
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve)
        child.once('error', e => { reject(new StoremeshError('E_INTERNAL', `cannot start ${name}: ${e.message}`)) })
      })
      return new RoleProcess(name, opts.dataDir, child, outPath, errPath)
    } finally {
      // the child holds its own copies of the descriptors
      await out.close()
      await err.close()
    }
  }

  get pid (): number { return this.child.pid ?? -1 }
  get running (): boolean { return this.child.exitCode === null && this.child.signalCode === null }

  /** Reads what the process wrote since the last poll. */
  async poll (): Promise<void> {
    const now = Date.now()
    for (const [file, into] of [[this.#outFile, this.out], [this.#errFile, this.err]] as const) {
      for (const raw of await file.readNew()) {
        if (raw.trim() === '') continue
        into.push(parseLine(raw, now))
        if (into.length > MAX_LINES) into.splice(0, into.length - MAX_LINES)
      }
    }
  }

  /** The first stdout JSON event named `event`, if printed yet. */
  event (event: string): Record<string, unknown> | undefined {
    return this.out.find(l => l.json?.event === event)?.json
  }

  /** The last lines of stderr, for an error message. */
  tail (lines = 8): string {
    return this.err.slice(-lines).map(l => l.text).join(' | ').slice(-2000)
  }

  /** SIGTERM, then SIGKILL after graceMs. */
  async stop (graceMs: number): Promise<void> {
    if (!this.running) return
    this.child.kill('SIGTERM')
    let timer: NodeJS.Timeout | undefined
    const killed = new Promise<void>(resolve => {
      timer = setTimeout(() => { if (this.running) this.child.kill('SIGKILL'); resolve() }, graceMs)
    })
    await Promise.race([this.exited, killed])
    clearTimeout(timer)
    await this.exited
  }
}

/** Polls `check` every intervalMs until it returns a value; E_TIMEOUT naming `what` (and `detail()`) after timeoutMs. */
export async function waitFor<T> (what: string, timeoutMs: number, intervalMs: number, check: () => Promise<T | undefined>,
  opts: { signal?: AbortSignal, detail?: () => string } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (opts.signal?.aborted === true) throw new StoremeshError('E_ABORTED', `interrupted while waiting for ${what}`)
    const v = await check()
    if (v !== undefined) return v
    if (Date.now() > deadline) {
      const more = opts.detail?.() ?? ''
      throw new StoremeshError('E_TIMEOUT', `timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${more !== '' ? `: ${more}` : ''}`)
    }
    await sleep(intervalMs)
  }
}
