/**
 * Hang detection for `npm run fuzz` (issue 21: "each input is bounded in time"): each
 * target runs in a worker thread (worker.ts) that publishes which input it is on and
 * its counts. An input still running after `stuckMs` is a hang the worker cannot
 * report itself: the supervisor terminates the thread, recomputes the input from its
 * position (inputs are a pure function of seed and position, runner.ts inputAt),
 * records it as a hang finding, and starts a new worker on the next input. Inputs
 * that return but take over `hangMs` are hangs too, counted by the worker.
 */
import { Worker } from 'node:worker_threads'
import { BATCH, inputAt, MAX_FINDINGS_KEPT, type Finding, type InputPosition, type TargetStats } from './runner.js'
import type { FuzzTarget } from './targets.js'
import { PROGRESS_SLOTS, SLOT, type WorkerInput, type WorkerMessage } from './progress.js'

/** An input running this long is killed. @default 5 s (five times the 1 s hang limit: a loaded machine is not a hang) */
export const DEFAULT_STUCK_MS = 5000
/** How often the supervisor looks at the worker's position. */
const POLL_MS = 100

export interface SuperviseOptions {
  seed: number
  maxInputs?: number | undefined
  /** fuzzing time for the target, not counting worker starts */
  budgetMs?: number | undefined
  hangMs: number
  /** @default DEFAULT_STUCK_MS */
  stuckMs?: number | undefined
  /** a module exporting TARGETS; @default this directory's targets.ts */
  targetsModule?: string | undefined
}

/** run from TypeScript by tsx, or compiled beside the .js files */
function sibling (name: string): URL {
  return new URL(import.meta.url.endsWith('.ts') ? `./${name}.ts` : `./${name}.js`, import.meta.url)
}

/**
 * Node 20 does not carry tsx's hooks into a worker given `--import tsx`
 * (ERR_UNKNOWN_FILE_EXTENSION): run from TypeScript, the worker registers tsx itself
 * before importing worker.ts; compiled, it is worker.js. It imports the polyfill itself.
 */
function startWorker (data: WorkerInput): Worker {
  const url = sibling('worker').href
  if (!url.endsWith('.ts')) return new Worker(new URL(url), { workerData: data, execArgv: [] })
  const code = `import('tsx/esm/api').then(m => { m.register(); return import(${JSON.stringify(url)}) })`
  return new Worker(code, { eval: true, workerData: data, execArgv: [] })
}

interface Run {
  /** set when the worker was killed on this input */
  stuck?: InputPosition
  counts: Int32Array
  codes: Record<string, number>
  findings: Finding[]
  elapsedMs: number
  cpuMs: number
}

function runWorker (target: FuzzTarget, options: SuperviseOptions, start: InputPosition | undefined, maxInputs: number | undefined,
  budgetMs: number | undefined): Promise<Run> {
  const progress = new SharedArrayBuffer(PROGRESS_SLOTS * Int32Array.BYTES_PER_ELEMENT)
  const counts = new Int32Array(progress)
  counts[SLOT.batch] = -1
  const data: WorkerInput = {
    targetsModule: options.targetsModule ?? sibling('targets').href,
    targetName: target.name,
    seed: options.seed,
    maxInputs,
    budgetMs,
    hangMs: options.hangMs,
    start,
    progress
  }
  const stuckMs = options.stuckMs ?? DEFAULT_STUCK_MS
  const t0 = performance.now()
  const run: Run = { counts, codes: {}, findings: [], elapsedMs: 0, cpuMs: 0 }
  return new Promise((resolve, reject) => {
    const worker = startWorker(data)
    let last = ''
    let since = performance.now()
    const end = (): void => { clearInterval(timer); run.elapsedMs = performance.now() - t0 }
    const timer = setInterval(() => {
      const at = { batch: Atomics.load(counts, SLOT.batch), index: Atomics.load(counts, SLOT.index) }
      // the position and the count together: the same input run twice in a row is not one stuck input
      const key = `${at.batch}:${at.index}:${Atomics.load(counts, SLOT.tried)}`
      const now = performance.now()
      if (key !== last) { last = key; since = now; return }
      if (at.batch >= 0 && now - since > stuckMs) {
        end()
        worker.removeAllListeners()
        worker.on('error', () => {})
        void worker.terminate()
        resolve({ ...run, stuck: at })
      }
    }, POLL_MS)
    worker.on('message', (m: WorkerMessage) => {
      if ('finding' in m) { run.findings.push(m.finding); return }
      run.codes = m.codes
      end()
      // the rate and the budget count fuzzing, not the worker's start (seconds under load)
      run.elapsedMs = m.elapsedMs
      run.cpuMs = m.cpuMs
      resolve(run)
    })
    worker.once('error', err => { end(); reject(err) })
    worker.once('exit', code => { end(); if (code !== 0) reject(new Error(`fuzz worker for ${target.name} exited ${code}`)) })
  })
}

/** The input after `at` (a batch is always BATCH inputs: runner.ts samples it whole). */
function nextOf (at: InputPosition): InputPosition {
  return at.index + 1 < BATCH ? { batch: at.batch, index: at.index + 1 } : { batch: at.batch + 1, index: 0 }
}

/** fuzzTarget in worker threads, with stuck inputs killed and reported (see the file comment). */
export async function fuzzTargetSupervised (target: FuzzTarget, options: SuperviseOptions): Promise<TargetStats> {
  const seeds = await target.seeds()
  const total: TargetStats = { name: target.name, tried: 0, accepted: 0, refused: 0, crashes: 0, hangs: 0, maxMs: 0, maxCpuMs: 0, elapsedMs: 0, cpuMs: 0, findings: [], codes: {} }
  let start: InputPosition | undefined
  for (;;) {
    const left = options.maxInputs === undefined ? undefined : options.maxInputs - total.tried
    if (left !== undefined && left <= 0) break
    const budgetMs = options.budgetMs === undefined ? undefined : options.budgetMs - total.elapsedMs
    if (budgetMs !== undefined && budgetMs <= 0) break
    const run = await runWorker(target, options, start, left, budgetMs)
    const c = run.counts
    total.tried += c[SLOT.tried] as number
    total.accepted += c[SLOT.accepted] as number
    total.refused += c[SLOT.refused] as number
    total.crashes += c[SLOT.crashes] as number
    total.hangs += c[SLOT.hangs] as number
    total.maxMs = Math.max(total.maxMs, (c[SLOT.maxMicros] as number) / 1000)
    total.maxCpuMs = Math.max(total.maxCpuMs, (c[SLOT.maxCpuMicros] as number) / 1000)
    total.elapsedMs += run.elapsedMs
    total.cpuMs += run.cpuMs
    for (const [code, n] of Object.entries(run.codes)) total.codes[code] = (total.codes[code] ?? 0) + n
    total.findings.push(...run.findings)
    if (run.stuck === undefined) break
    const stuckMs = options.stuckMs ?? DEFAULT_STUCK_MS
    total.tried++
    total.hangs++
    total.maxMs = Math.max(total.maxMs, stuckMs)
    total.findings.push({ kind: 'hang', input: inputAt(seeds, options.seed, run.stuck), detail: `still running after ${stuckMs} ms: worker killed`, ms: stuckMs })
    start = nextOf(run.stuck)
  }
  total.findings = total.findings.slice(0, MAX_FINDINGS_KEPT)
  return total
}
