/**
 * Group commit for hub reports (docs/fleet.md "Ingest in groups"). Reports that
 * arrive while the database is busy wait here, and the next free runner takes as many
 * as fit into one group: one transaction, one statement per table, one commit (one
 * flush to disk) and one halt check per wave for all of them. A report that arrives
 * at an idle ledger goes at once as a group of one: grouping never adds a wait; it
 * only shares the commits that would have queued anyway.
 *
 * A group holds each hub once and names each device in one report only
 * (groupConflicts); a report that would break that waits for the next group, in
 * arrival order per hub. When a group fails as a whole (a deadlock with another super
 * hub, a constraint) each of its reports is retried alone, so one bad report fails
 * only itself; a database that went away fails them all (the hubs resend).
 */
import { isStoremeshError, StoremeshError } from '../interface/errors.js'
import { deviceKey } from './fleet-ingest-devices.js'
import type { IngestInput, IngestOutcome, IngestResult } from './fleet-ingest.js'

export interface IngestQueueOptions {
  /** groups in flight at once (a server takes several side by side; PGlite runs one at a time). @default 4 */
  maxInFlight?: number
  /** reports per group. @default DEFAULT_GROUP_REPORTS */
  maxReports?: number
  /** outbox entries per group, all reports together. @default DEFAULT_GROUP_ENTRIES */
  maxEntries?: number
  /** reports without entries (polls: a held long-poll woken by an order) per group, beside the others. @default DEFAULT_GROUP_POLLS */
  maxPolls?: number
}

/** Reports in one group: a group's statements carry this many hubs' rows. @default 64 */
export const DEFAULT_GROUP_REPORTS = 64
/** Entries in one group: bounds a statement's arrays and a transaction's locks. @default 8,192 */
export const DEFAULT_GROUP_ENTRIES = 8_192
/**
 * Polls in one group. A poll applies nothing and locks nothing (fleet-ingest.ts reads its
 * hub row unlocked): it costs one element of each group statement's arrays. An order
 * wakes every held poll at once, so a thousand hubs' answers are built by a few group
 * statements instead of a thousand divided by DEFAULT_GROUP_REPORTS. @default 1,024
 */
export const DEFAULT_GROUP_POLLS = 1_024

interface Waiting {
  input: IngestInput
  /** performance.now() at submit: the time it waited for its group goes into stats */
  sinceMs: number
  resolve: (r: IngestResult) => void
  reject: (err: unknown) => void
}

/**
 * Where a report's time at the ledger goes (bench:fleet prints it): a report waits for
 * a runner, then for its group's statements and commit. Sums, so a reader takes means
 * over an interval by subtracting two readings.
 */
export interface IngestQueueStats {
  groups: number
  reports: number
  /** summed over reports: submit to its group's start */
  waitMs: number
  /** summed over groups: start to settled (transaction, commit, halt check) */
  runMs: number
  /** summed over groups: reports still waiting when the group started (queue depth) */
  waitingAtStart: number
}

/** Runs one group in one transaction; throws when the whole group failed. */
export type GroupRunner = (inputs: readonly IngestInput[]) => Promise<IngestOutcome[]>

export class IngestQueue {
  readonly #run: GroupRunner
  readonly #maxInFlight: number
  readonly #maxReports: number
  readonly #maxEntries: number
  readonly #maxPolls: number
  #waiting: Waiting[] = []
  #inFlight = 0
  /** hubs with a report in a running group: their next report waits (it must see the first one's ack) */
  readonly #busyHubs = new Set<string>()
  /** groups run, for the bench and tests */
  groups = 0
  readonly stats: IngestQueueStats = { groups: 0, reports: 0, waitMs: 0, runMs: 0, waitingAtStart: 0 }

  constructor (run: GroupRunner, options: IngestQueueOptions = {}) {
    this.#run = run
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? 4)
    this.#maxReports = Math.max(1, options.maxReports ?? DEFAULT_GROUP_REPORTS)
    this.#maxEntries = Math.max(1, options.maxEntries ?? DEFAULT_GROUP_ENTRIES)
    this.#maxPolls = Math.max(1, options.maxPolls ?? DEFAULT_GROUP_POLLS)
  }

  /** Resolves when the report's group committed; rejects with its own error (or the group's). */
  async submit (input: IngestInput): Promise<IngestResult> {
    return await new Promise<IngestResult>((resolve, reject) => {
      this.#waiting.push({ input, resolve, reject, sinceMs: performance.now() })
      this.#pump()
    })
  }

  get waiting (): number {
    return this.#waiting.length
  }

  #pump (): void {
    while (this.#inFlight < this.#maxInFlight) {
      const group = this.#take()
      if (group.length === 0) return
      this.#inFlight++
      this.groups++
      const hubs = group.map(w => w.input.batch.hubId)
      for (const h of hubs) this.#busyHubs.add(h)
      void this.#runGroup(group).finally(() => {
        for (const h of hubs) this.#busyHubs.delete(h)
        this.#inFlight--
        this.#pump()
      })
    }
  }

  /** The next group: waiting reports in arrival order that fit; the rest keep their places. */
  #take (): Waiting[] {
    const group: Waiting[] = []
    const rest: Waiting[] = []
    const hubs = new Set<string>()
    const devices = new Map<string, string>()
    let entries = 0
    let reports = 0
    let polls = 0
    for (const w of this.#waiting) {
      const b = w.input.batch
      const poll = b.entries.length === 0
      const full = poll ? polls >= this.#maxPolls : reports >= this.#maxReports || (reports > 0 && entries + b.entries.length > this.#maxEntries)
      // a hub already in this group or in a running one keeps its order: its later reports wait
      if (full || hubs.has(b.hubId) || this.#busyHubs.has(b.hubId) || b.entries.some(d => { const o = devices.get(deviceKey(d.waveId, d.deviceId)); return o !== undefined && o !== b.hubId })) {
        hubs.add(b.hubId)
        rest.push(w)
        continue
      }
      hubs.add(b.hubId)
      for (const d of b.entries) devices.set(deviceKey(d.waveId, d.deviceId), b.hubId)
      entries += b.entries.length
      if (poll) polls++
      else reports++
      group.push(w)
    }
    this.#waiting = rest
    return group
  }

  async #runGroup (group: Waiting[]): Promise<void> {
    const startMs = performance.now()
    const st = this.stats
    st.groups++
    st.reports += group.length
    st.waitingAtStart += this.#waiting.length
    for (const w of group) st.waitMs += startMs - w.sinceMs
    try {
      await this.#settleGroup(group)
    } finally {
      st.runMs += performance.now() - startMs
    }
  }

  async #settleGroup (group: Waiting[]): Promise<void> {
    let outcomes: IngestOutcome[]
    try {
      outcomes = await this.#run(group.map(w => w.input))
    } catch (err) {
      // the database is away: every report of the group waits for its hub's resend
      if (group.length === 1 || isStoremeshError(err, 'E_DB_UNAVAILABLE')) {
        for (const w of group) w.reject(err)
        return
      }
      // one report (or a deadlock with another super hub) failed the group: each alone
      await Promise.all(group.map(async w => {
        try {
          const [one] = await this.#run([w.input])
          settle(w, one!)
        } catch (e) {
          w.reject(e)
        }
      }))
      return
    }
    group.forEach((w, i) => { settle(w, outcomes[i] ?? { ok: false, error: new StoremeshError('E_LEDGER', 'no outcome for a report of the group') }) })
  }
}

function settle (w: Waiting, o: IngestOutcome): void {
  if (o.ok) w.resolve(o.result)
  else w.reject(o.error)
}
