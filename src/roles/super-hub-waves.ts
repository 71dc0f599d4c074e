/**
 * The super hub's wave runner (src/control/wave-runner.ts), composed: it steps every
 * wave the control plane drives on a timer (`--wave-tick-ms`) and after each report or
 * order this super hub takes. With `--start-wave` each signed `--policy` becomes a
 * planned wave with a start order (src/control/wave-start.ts) once the fleet database
 * is open; its figures are the policy's, tightened by the super hub's flags.
 */
import type { FleetLedger } from '../control/fleet-ledger.js'
import { StoremeshError } from '../interface/errors.js'
import { WaveRunner, type StepResult } from '../control/wave-runner.js'
import { startWaveFromPolicy } from '../control/wave-start.js'
import { effectiveRollout } from '../control/waves/index.js'
import { toStoremeshError } from '../interface/errors.js'
import type { Log } from '../interface/log.js'
import type { VerifiedPolicy } from '../policy/index.js'

export interface SuperHubWavesInit {
  ledger: FleetLedger
  /** @default DEFAULT_WAVE_TICK_MS */
  tickMs?: number
  via: string
  /** plan and start a wave per policy */
  start?: readonly VerifiedPolicy[]
  flags: { haltOnRollbackRatio?: number | undefined, minOutcomesForHalt?: number | undefined }
  /** after a step that moved a wave (a batch started, a halt): what stores are told changed, so held report long-polls answer now */
  onMoved?: () => void
  log?: Log
}

export interface SuperHubWaves {
  readonly runner: WaveRunner
  /** resolves once the --start-wave waves are in the ledger (at once without any) */
  readonly started: Promise<void>
  stop(): Promise<void>
}

/** The signed policies of these waves; E_USAGE for a wave with no signed policy here. */
export function startPolicies (verified: readonly VerifiedPolicy[], waves: readonly string[]): VerifiedPolicy[] {
  return waves.map(w => {
    const v = verified.find(p => String(p.policy.metadata.wave) === w)
    if (v === undefined) throw new StoremeshError('E_USAGE', `--start-wave ${w}: no signed --policy for wave ${w}`, { wave: w })
    return v
  })
}

export function startSuperHubWaves (init: SuperHubWavesInit): SuperHubWaves {
  const { ledger, log } = init
  const runner = new WaveRunner({ db: () => ledger.db, via: init.via, ...(init.onMoved !== undefined ? { onStep: (r: StepResult) => { if (r.changed) init.onMoved?.() } } : {}), ...(init.tickMs !== undefined ? { tickMs: init.tickMs } : {}), ...(log !== undefined ? { log } : {}) })
  const off = ledger.onChange(() => { runner.kick() })
  runner.start()
  const policies = init.start ?? []
  // the same figures the halt rule uses, checked at start (a looser flag was refused there)
  const flags = {
    ...(init.flags.haltOnRollbackRatio !== undefined ? { haltOnRollbackRatio: init.flags.haltOnRollbackRatio } : {}),
    ...(init.flags.minOutcomesForHalt !== undefined ? { minOutcomesForHalt: init.flags.minOutcomesForHalt } : {})
  }
  const started = policies.length === 0
    ? Promise.resolve()
    : (async () => {
        if (!await ledger.ready()) return
        const db = ledger.db
        if (db === undefined) return
        for (const v of policies) {
          const rollout = effectiveRollout(v.policy, flags)
          const r = await startWaveFromPolicy(db, v.policy, rollout, init.via, Date.now())
          log?.info(`wave ${r.waveId} (${v.policy.metadata.name}): ${r.planned ? 'planned from the signed policy' : 'already planned'}${r.order !== undefined ? ', started' : ''}; ` +
            `hubBudget ${rollout.hubBudget.value ?? 'all'}, batchDelayMinutes ${rollout.batchDelayMinutes.value}, percentage ${rollout.percentage.value}`)
        }
        runner.kick()
      })().catch((err: unknown) => { log?.error(`starting waves: ${toStoremeshError(err).toLine()}`) })
  return {
    runner,
    started,
    async stop () {
      off()
      await started
      await runner.stop()
    }
  }
}
