/**
 * Bounded waits for tests, written once. A test waits for a state, never for a fixed
 * time; every wait has a deadline so a broken build fails instead of hanging.
 *
 * - until(): whether `cond` came to hold in time, for `t.ok(await until(...), 'why')`.
 * - waitFor(): throws naming what it waited for, for set-up steps a test cannot go on without.
 */

/** Long enough for a loaded 2-core CI box; a wait that holds returns as soon as it holds. */
export const DEFAULT_WAIT_MS = 30_000
export const DEFAULT_STEP_MS = 20

export type Condition = () => boolean | Promise<boolean>

/** Polls `cond` every `stepMs` until it holds or `timeoutMs` pass (then one last look). */
export async function until (cond: Condition, timeoutMs = DEFAULT_WAIT_MS, stepMs = DEFAULT_STEP_MS): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await cond()) return true
    await new Promise(resolve => setTimeout(resolve, stepMs))
  }
  return await cond()
}

export interface WaitForOptions {
  /** @default DEFAULT_STEP_MS */
  stepMs?: number
  /** called on every poll; throws to give up early (a child process died) */
  failFast?: () => void
  /** appended to the timeout message (a child's stderr) */
  detail?: () => string
}

/** Polls like until(); throws `timed out after <ms> ms waiting for <what>` when `cond` never held. */
export async function waitFor (cond: Condition, timeoutMs = DEFAULT_WAIT_MS, what = 'condition', options: WaitForOptions = {}): Promise<void> {
  const held = await until(async () => {
    options.failFast?.()
    return await cond()
  }, timeoutMs, options.stepMs ?? DEFAULT_STEP_MS)
  if (held) return
  const detail = options.detail?.() ?? ''
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail !== '' ? `\n${detail}` : ''}`)
}
