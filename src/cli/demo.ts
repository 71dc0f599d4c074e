/** `storemesh demo`: the store in a box on its embedded defaults (README's main command). */
import type { Register } from './commands.js'
import { action } from './context.js'
import { withShutdownSignal } from './lifecycle.js'
import { formatTable, humanBytes, printJson } from './output.js'
import { runDemo, type DemoSummary, type RoundSummary } from '../demo/run.js'

const sec = (ms: number): string => `${(ms / 1000).toFixed(1)} s`
const rate = (bytesPerSec: number): string => `${humanBytes(bytesPerSec)}/s`

function roundLines (r: RoundSummary, s: DemoSummary): string[] {
  const what = r.version === s.bundles[0]?.version ? 'the whole bundle' : `the delta: ${r.bundle.newChunks} new chunks`
  const out = ['', `wave ${r.waveId}: pos-os ${r.version} (${what}, ${humanBytes(r.neededBytes)} per device)`]
  out.push(formatTable(['device', 'expected', 'outcome', 'deciding gate', 'installer', 'runs', 'LAN down (dup)'],
    r.devices.map(d => [d.id, d.expect, d.result === d.expectResult ? d.result : `${d.result} (UNEXPECTED)`, d.gate, d.installer, d.runs,
      `${humanBytes(d.lanDownBytes)} (${humanBytes(d.wastedBytes)})`])))
  for (const d of r.devices) if (d.result !== 'installed') out.push(`  ${d.id}: ${d.line}`)
  const fromPeers = Math.max(0, r.devicesLanDownBytes - r.hubLanUpBytes)
  out.push(`  origin: the super hub read ${humanBytes(r.originChunkBytes)} of chunks from the origin = ${(r.originChunkBytes / r.neededBytes).toFixed(2)} copies of ` +
    `the ${humanBytes(r.neededBytes)} this bundle needed (${humanBytes(r.originBytes)} with manifests and index); WAN to the store hub ${humanBytes(r.wanDownBytes)}`)
  out.push(`  WAN: the hub pulled ${humanBytes(r.wanDownBytes)} (${r.wanChunks} chunks) in ${sec(r.wanStageMs)}; at ${rate(s.rates.wanBytesPerSec)} that takes at least ${sec(r.wanBoundMs)}`)
  out.push(`  LAN: devices received ${humanBytes(r.devicesLanDownBytes)} (${humanBytes(r.devicesWastedBytes)} of it duplicates): ` +
    `${humanBytes(r.hubLanUpBytes)} from the hub = ${r.hubCopies.toFixed(2)} copies, ${humanBytes(fromPeers)} from each other`)
  out.push(`  makespan ${sec(r.makespanMs)} (queued at the hub -> last device holds it) against the P2P lower bound ${sec(r.p2pBoundMs)} ` +
    `(${(r.makespanMs / r.p2pBoundMs).toFixed(1)}x); every device decided ${sec(r.roundMs)} after queueing`)
  return out
}

function ledgerLines (s: DemoSummary): string[] {
  if (s.ledger === null) {
    return ['', 'ledger: not reported (no wave totals reached the super hub; its super-ledger.json has no waves)']
  }
  const out = ['', `ledger at the super hub (from hubs: ${s.ledger.hubs.join(', ')}; halts a wave past a rollback ratio of ${s.ledger.haltOnRollbackRatio}; ` +
    `written ${s.ledger.updatedAt}${s.ledger.settled ? '' : ', some reports were still on their way'}):`]
  for (const w of s.ledger.waves) {
    const c = w.counts
    const gates = Object.entries(c.blockedByGate).map(([g, k]) => `${g} ${k}`).join(', ')
    out.push(`  wave ${w.waveId}: ${c.total} devices: ${c.updated} updated, ${c.rolledBack} rolled back, ${c.failed} failed, ${c.pending} pending, ` +
      `${c.blocked} blocked${gates !== '' ? ` (${gates})` : ''}; rollback ratio ${w.rollbackRatio?.toFixed(2) ?? '-'}` +
      `${w.halted ? `; HALTED: ${w.order?.reason ?? ''}` : ''}${w.paused ? '; paused' : ''}`)
  }
  return out
}

function fleetLines (s: DemoSummary): string[] {
  const out = ['', `fleet: ${s.fleet.stores.length} stores (${s.fleet.stores.join(', ')}) under one super hub; its wave runner runs each wave by its signed policy (hubBudget 1: one store per batch); ` +
    `the super hub read ${humanBytes(s.fleet.originChunkBytes)} of chunks from the origin for them`]
  for (const w of s.fleet.waves) {
    out.push(`  wave ${w.waveId} (pos-os ${w.version}): ${w.state}${w.stateReason !== '' ? ` - ${w.stateReason}` : ''}`)
    for (const b of w.batches) {
      out.push(`    batch ${b.batchNo + 1} ${b.storeIds.join(', ')}: ${b.state}${b.startedMs !== undefined ? `, started ${new Date(b.startedMs).toISOString()}` : ', never started'}` +
        `${b.healthyMs !== undefined ? `, healthy ${new Date(b.healthyMs).toISOString()}` : ''}`)
    }
    for (const st of w.stores) {
      out.push(`    ${st.hubId}: ${st.installed.length} installed${st.rolledBack.length > 0 ? `, ${st.rolledBack.length} rolled back` : ''}` +
        `${st.firstInstallMs !== undefined ? `, first install ${new Date(st.firstInstallMs).toISOString()}` : ''}`)
    }
    for (const h of w.halts) out.push(`    halted fleet-wide (${h.source}): ${h.reason}`)
  }
  return out
}

function printSummary (s: DemoSummary): void {
  const out: string[] = ['', '== storemesh demo summary ==']
  for (const b of s.bundles) out.push(`bundle pos-os ${b.version}  ${b.id}  ${b.chunks} chunks  ${humanBytes(b.bytes)}`)
  const pct = (100 * s.delta.newBytes / s.delta.v2Bytes).toFixed(1)
  out.push(`v2 delta: ${s.delta.newChunks} new chunks, ${humanBytes(s.delta.newBytes)} of ${humanBytes(s.delta.v2Bytes)} (${pct}%); ${s.delta.sharedChunks} chunks reused from v1`)
  out.push(`origin: ${s.origin.url} (bundle publish); the super hub pulls through from it, ${humanBytes(s.origin.bytes)} read in all` +
    `${s.origin.corruptRefused > 0 ? `, ${s.origin.corruptRefused} corrupt chunks refused` : ''}`)
  out.push(`store: origin -> super hub -> store hub (WAN limit ${rate(s.rates.wanBytesPerSec)}) -> ${s.rates.devices} devices; every LAN node uploads at most ${rate(s.rates.uploadBytesPerSec)}; ` +
    `${s.rates.maxConcurrentInstalls} install leases at once`)
  for (const r of s.rounds) out.push(...roundLines(r, s))
  const wan = s.rounds.reduce((a, r) => a + r.wanDownBytes, 0)
  const lan = s.rounds.reduce((a, r) => a + r.devicesLanDownBytes, 0)
  const dup = s.rounds.reduce((a, r) => a + r.devicesWastedBytes, 0)
  out.push('', `total: WAN ${humanBytes(wan)} against LAN ${humanBytes(lan)} (${humanBytes(dup)} of it duplicates): ` +
    `${(lan / Math.max(1, wan)).toFixed(1)}x as many bytes moved inside the store as over its WAN`)
  out.push(...ledgerLines(s))
  out.push(...fleetLines(s))
  if (s.cpu.processSeconds !== null) {
    out.push('', `CPU: the store's ${s.cpu.processes} processes used ${s.cpu.processSeconds.toFixed(0)} s of CPU; ` +
      `this machine has ${s.cpu.cores} cores and a load average of ${s.cpu.loadAverage1m.toFixed(1)}`)
  }
  out.push('', `dashboard ${s.urls.dashboard}  metrics ${s.urls.metrics}`)
  if (s.kept !== undefined) {
    out.push(`--keep: the store runs on (pids ${s.kept.pids.join(' ')}); work dir ${s.workDir}`)
    out.push(`stop it with: ${s.kept.stop}`)
  }
  out.push('', `elapsed ${sec(s.elapsedMs)}`)
  process.stdout.write(out.join('\n') + '\n')
}

export const register: Register = (program, ctx) => {
  program.command('demo')
    .description('run the store in a box: a super hub, a store hub and 8 devices as processes; WAN pre-staging, LAN swarm, policy gates, A/B installs, v1 then the v2 delta')
    .option('--dir <path>', 'work dir (default: a new temp dir)')
    .option('--keep', 'leave the store running and the work dir in place to explore (prints how to stop it)')
    .option('--image-mib <n>', 'sample image size in MiB', '24')
    .option('--json', 'print the summary as JSON')
    .action(action(ctx, async (opts: { dir?: string, keep?: boolean, imageMib: string, json?: boolean }) => {
      const startedMs = Date.now()
      const mib = Number(opts.imageMib)
      const summary = await withShutdownSignal(async signal => await runDemo({
        ...(opts.dir !== undefined ? { workDir: opts.dir } : {}),
        keep: opts.keep === true,
        imageBytes: Math.max(1, Number.isFinite(mib) ? mib : 24) * 1024 * 1024,
        signal,
        log: opts.json === true ? () => {} : line => { process.stdout.write(`[${sec(Date.now() - startedMs).padStart(7)}] ${line}\n`) }
      }))
      if (opts.json === true) printJson(summary)
      else printSummary(summary)
      const unexpected = summary.rounds.flatMap(r => r.devices).filter(d => d.result !== d.expectResult)
      return unexpected.length > 0 ? 1 : 0
    }))
}
