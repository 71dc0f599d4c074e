/**
 * One bench:hostile run's figures (Run) and how they are read from what the processes
 * left: the hoarders' own event timeline, the victim's store check. Apart from
 * hostile.ts, which starts the processes and prints the table.
 */

export interface Run {
  timeMs: number, cpuSec: number, peakRssBytes: number
  /** attack start -> the victim's status.json lists an attacker among its bans */
  bannedMs?: number, banReason?: string
  /** attack start -> the attacker's first dial or stream refused */
  refusedMs?: number
  attackerStats?: Record<string, unknown>
  /** the victim's refusals of banned peers' connections by stage (status.json banRefusals: address = before Noise) */
  banRefusals?: Partial<Record<string, number>>
  /** hoarders flagged by the hub's super-seeding, and when the first was */
  hoarders?: number, hoardersMs?: number
  /** fleet attacks: acts tried, refused, taken (the attacker's count); older-bundle: joined by the device, its chunks in the device's store */
  acts?: { attempts: number, refused: number, granted: number }
  olderJoined?: boolean, olderChunks?: number
  /** peers the device's requester demoted (never delivered, let a request wait: swarm/picker.ts), and when the first was, after the attack start */
  suspects?: number, suspectsMs?: number
  /** hoarders the device disconnected, and when the first was, after the attack start */
  dropped?: number, droppedMs?: number
  /** hoarders (from their own events): per hoarder the device dropped, its disconnection after its first held request and after its connection */
  hoarderTimes?: { afterRequestMs: number[], afterClaimMs: number[], afterConnectMs: number[], requested: number, connected: number, afterClaimOnDeviceMs: number[] }
  store: { checked: number, corrupt: number, held: number }
}

/**
 * The hoarders' own clock: for each hoarder whose connection to the device closed while
 * the attack ran (before its stats line: the stop closes the rest), how long after its
 * first held request and after its connection. The target's 10 s counts from the first
 * request: a hoarder nobody asked has held nothing yet.
 */
export function hoarderTimesOf (events: Array<Record<string, unknown>>): NonNullable<Run['hoarderTimes']> {
  const end = events.findIndex(e => e.event === 'stats')
  const during = end >= 0 ? events.slice(0, end) : events
  const first = (what: string): Map<string, number> => {
    const m = new Map<string, number>()
    for (const e of during) if (e.event === 'hoarder' && e.what === what && !m.has(String(e.peerId))) m.set(String(e.peerId), Number(e.atMs))
    return m
  }
  const connected = first('connect')
  const requested = first('request')
  const claimed = first('claim')
  const out: NonNullable<Run['hoarderTimes']> = { afterRequestMs: [], afterClaimMs: [], afterConnectMs: [], requested: requested.size, connected: connected.size, afterClaimOnDeviceMs: [] }
  for (const [id, at] of first('disconnect')) {
    const r = requested.get(id)
    const c = connected.get(id)
    if (r !== undefined) out.afterRequestMs.push(at - r)
    const cl = claimed.get(id)
    if (cl !== undefined) out.afterClaimMs.push(at - cl)
    if (c !== undefined) out.afterConnectMs.push(at - c)
  }
  return out
}

/** The victim's store after the run: every chunk held, none corrupt, or MISSED. */
export function storeLine (r: Run, pieces: number): string {
  const s = r.store
  return `store ${s.held}/${pieces} chunks held, ${s.checked} re-hashed, ${s.corrupt} corrupt${s.corrupt === 0 && s.held === pieces ? '' : ' MISSED'}`
}
