/**
 * `npm run bench:hostile [-- --attacks keepalive,have,...] [--bundle-mib 6] [--rate 256KiB/s] [--victim device|hub] [--logs <dir>] [--skip-baseline] [--attacker-addr 127.0.0.2]`
 *
 * `--skip-baseline` (while iterating on one attack): no no-attack run, so no ratios.
 * `hoarders[:N]`: N peers claiming every chunk; `hoarders-partial[:N]`: every chunk but
 * the last (a partial bitfield claim, judged like a whole one since session 14).
 * `--cpu-prof <dir>`: the device runs with `--cpu-prof` and writes one .cpuprofile per
 * run into <dir> when it stops (open it in Chrome's DevTools, or read its top frames).
 *
 * Issue #20, item 8: what each attack on the chunk wire costs an honest device. One
 * store hub with its upload capped at --rate, one honest device, each its own process
 * through the real CLI on 127.0.0.1 (as bench/lan.ts spawns them), and for each attack
 * an attacker process (test/support/hostile-chunk-peer-main.ts) dialling the victim
 * (the device by default: it is the one that requests, so the piece attacks land) once
 * the device has joined the bundle. First a run without attacker, then one per attack.
 *
 * Printed per attack, against the no-attack run of the same invocation: the device's
 * completion time (hub spawned -> "complete and verified" in its log), its CPU seconds
 * over that time and its peak RSS (VmHWM), as ratios with the issue's targets (1.5x
 * time, 1.3x RSS); how long after the first abusive byte the victim's status.json
 * listed the attacker among its bans, and when the attacker's first dial or stream
 * was refused; for the hoarders, how many the hub's super-seeding flagged; for the
 * slow peer and the hoarders, how many peers the device's requester demoted; and the
 * device's store re-hashed against the manifest after it stopped.
 *
 * Above the chunk wire (test/support/hostile-fleet-peer.ts), every node certified by one
 * enrolment key (`--enrolment-trust` on hub and device in every run, the no-attack run
 * too): `lease-theft` and `report-forgery`, a stolen tablet with its own valid
 * certificate taking leases / sending rollback reports in made-up device ids at the hub
 * (printed: acts refused, acts taken, which must be 0); `older-bundle`, a peer posing
 * as a hub that answers the device's manifest rounds first with an older signed bundle
 * and serves its chunks (printed: whether the device ever joined it, and how many of
 * its chunks the device's store holds, which must be 0).
 *
 * Bounded: every wait has a deadline; every child is killed at the end, on failure and
 * on SIGINT/SIGTERM; the temp directory is removed.
 */
import '../src/polyfill.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateSigningKey, writeKeyFiles } from '../src/bundle/keys.js'
import { FLEET_ATTACKS } from '../test/support/hostile-fleet-peer.js'
import { writeSwarmKeyFile } from '../src/net/swarm-key.js'
import { readStatusFile, type PeerStatus } from '../src/roles/peer-status.js'
import { openStore } from '../src/store/index.js'
import { parseRate } from '../src/wan/rate.js'
import { cliCommand, REPO_ROOT, scriptArgs } from '../test/support/cli.js'
import { DEVICE_CLASS, makeBundleDir } from '../test/support/lan-fixture.js'
import { FIXTURE_KEY } from '../test/support/store-fixture.js'
import { cpuSecOf, peakRssOf, stopChild, withDeadline } from './support/proc.js'
import { mark, mib, sec, spread } from './support/format.js'
import { hoarderTimesOf, storeLine, type Run } from './support/hostile-run.js'
import { enrol, type Env } from './support/hostile-env.js'
import { live, track, until, type Proc } from './support/hostile-procs.js'

const MiB = 1024 * 1024
const args = process.argv.slice(2)
const opt = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? (args[i + 1] ?? def) : def
}
const ALL_ATTACKS = ['keepalive', 'have', 'extended', 'unsolicited', 'wrong-length', 'truncated', 'huge-length', 'hoarders', 'hoarders-partial', 'random-infohash', 'slow', ...FLEET_ATTACKS]
const isFleetAttack = (a: string | undefined): boolean => (FLEET_ATTACKS as readonly string[]).includes(a ?? '')
/** older-bundle: how long after the attack starts the device's manifest rounds are watched (several rounds at DEVICE_POLL_MS) */
const OLDER_BUNDLE_WATCH_MS = 10_000
const ATTACKS = opt('attacks', ALL_ATTACKS.join(',')).split(',').filter(a => a !== '')
const BUNDLE_MIB = Number(opt('bundle-mib', '6'))
const RATE = opt('rate', '256KiB/s')
const RATE_BPS = parseRate(RATE)
const VICTIM = opt('victim', 'device')
const LOGS_DIR = args.includes('--logs') ? opt('logs', '') : ''
const SKIP_BASELINE = args.includes('--skip-baseline')
const CPU_PROF_DIR = args.includes('--cpu-prof') ? opt('cpu-prof', '') : ''
/**
 * where the chunk-wire attacker dials from: 127.0.0.2 (default) is a host of its own,
 * as a stolen tablet on the store LAN is, so the device's address bans refuse its
 * redials before Noise; 127.0.0.1 shares the host's address, which is never banned
 * (net/address-bans.ts): every redial costs a Noise handshake (the figure before them)
 */
const ATTACKER_ADDR = opt('attacker-addr', '127.0.0.2')
const STATUS_INTERVAL_MS = 300
/** the device asks for its class's newest bundle this often: short, so its first ask does not add up to 10 s (the default) of noise to the completion time */
const DEVICE_POLL_MS = 1000
const STARTUP_DEADLINE_MS = 120_000
const STOP_GRACE_MS = 10_000
/** after the attack starts: how long to wait for a ban once the device completed */
const BAN_WAIT_MS = 15_000

const TARGET_TIME_RATIO = 1.5
const TARGET_RSS_RATIO = 1.3
const TARGET_BAN_MS = 10_000

for (const a of ATTACKS) if (!ALL_ATTACKS.includes(a) && !/^hoarders(-partial)?:\d+$/.test(a)) throw new Error(`unknown attack ${a}; one of ${ALL_ATTACKS.join(', ')}`)
if (VICTIM !== 'device' && VICTIM !== 'hub') throw new Error('--victim is device or hub')

let root: string | undefined

async function cleanup (): Promise<void> {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  if (root !== undefined) await rm(root, { recursive: true, force: true }).catch(() => {})
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    process.stderr.write(`\nbench:hostile: ${sig}, killing ${live.size} children\n`)
    void cleanup().finally(() => process.exit(130))
  })
}

const status = async (dataDir: string): Promise<PeerStatus | undefined> => await readStatusFile(dataDir).catch(() => undefined)

async function stop (p: Proc): Promise<void> {
  await stopChild(p.child, p.exited, STOP_GRACE_MS)
}

async function runOnce (attack: string | undefined, env: Env): Promise<Run> {
  const label = attack ?? 'no-attack'
  const runDir = await mkdtemp(join(env.dir, `${label}-`))
  const tag = `storemesh-hostile-${process.pid}-${randomBytes(4).toString('hex')}`
  const common = (dataDir: string): string[] => ['--data', dataDir, '--swarm-key', env.swarmKeyPath, '--trust', env.trustPath, '--service-tag', tag,
    '--listen', '/ip4/127.0.0.1/tcp/0', '--mdns-interval-ms', '1000', '--status-interval-ms', String(STATUS_INTERVAL_MS), '--enrolment-trust', env.enrolPubPath]
  const cli = (argv: string[], profile = false): ChildProcess => {
    const [cmd, full] = cliCommand(argv)
    // node refuses --cpu-prof in NODE_OPTIONS: on the command line, before the script
    const prof = profile && CPU_PROF_DIR !== '' ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`, `--cpu-prof-name=${label}-dev.cpuprofile`] : []
    return spawn(cmd, [...prof, ...full], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  }
  const devDir = join(runDir, 'dev')
  const hubDir = join(runDir, 'hub')
  const procs: Proc[] = []
  const attackerDir = join(runDir, 'attacker')
  await enrol(env, hubDir, 'hub-1', 'hub')
  await enrol(env, devDir, 'pos-1', 'device')
  // a stolen tablet: its own valid certificate
  if (isFleetAttack(attack)) await enrol(env, attackerDir, 'pos-stolen', 'device')
  // the chunk-wire attacks and the hoarders go at the device; the lease and report attacks at the hub
  const onHub = VICTIM === 'hub' || attack === 'lease-theft' || attack === 'report-forgery'
  try {
    // the hoarders' runs: the device's debug lines time each claim on the device's own clock
    const debug = attack?.startsWith('hoarders') === true ? ['--log-level', 'debug', '--log-format', 'pretty'] : []
    const device = track(cli(['device', ...common(devDir), '--device-class', DEVICE_CLASS, '--poll-interval-ms', String(DEVICE_POLL_MS), ...debug], true), `${label}-dev`, / ready: /, LOGS_DIR)
    procs.push(device)
    await withDeadline('device ready', device.ready, STARTUP_DEADLINE_MS)
    let attacker: Proc | undefined
    let attackerIds: string[] = []
    const victimAddr = async (): Promise<string> => {
      const dir = onHub ? hubDir : devDir
      let addr: string | undefined
      await until(`${onHub ? 'hub' : 'device'} address`, async () => {
        const s = await status(dir)
        const a = s?.addrs.find(x => x.startsWith('/ip4/127.0.0.1/tcp/'))
        if (s !== undefined && a !== undefined) addr = a.includes('/p2p/') ? a : `${a}/p2p/${s.peerId}`
        return addr !== undefined
      }, STARTUP_DEADLINE_MS, procs)
      return addr as string
    }
    const spawnAttacker = async (): Promise<void> => {
      if (attack === undefined) return
      // the hoarders find the device over mDNS; its address names it, so they report their own connection to it
      const target = await victimAddr()
      const child = spawn(process.execPath, [...scriptArgs('test/support/hostile-chunk-peer-main.ts', { polyfill: true }),
        attack, attackerDir, attack === 'older-bundle' ? env.olderBundleDir : env.bundleDir, env.swarmKeyPath, env.trustPath, target, tag, env.enrolPubPath],
      { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, HOSTILE_DIAL_FROM: ATTACKER_ADDR } })
      attacker = track(child, `${label}-attacker`, /"event":"ready"/, LOGS_DIR)
      procs.push(attacker)
      // 20 hoarders start 20 libp2p nodes one after another: niced at load 17-48 that took over 120 s
      await withDeadline('attacker ready', attacker.ready, attack.startsWith('hoarders') ? 3 * STARTUP_DEADLINE_MS : STARTUP_DEADLINE_MS)
      attackerIds = (JSON.parse(attacker.lines.find(l => l.includes('"ready"')) ?? '{}') as { peerIds?: string[] }).peerIds ?? []
    }
    // the device (and the hoarders) are up before the hub, so the download starts with the hub's ready;
    // a victim hub needs its address first, so its attacker comes after it
    // the fleet attackers come once the hub is there (the poser must not be the only one the device asks)
    if (!onHub && !isFleetAttack(attack)) await spawnAttacker()
    // spawned only now: 20 hoarders take a while to start, and a hub spawned before
    // them served the device meanwhile (the hoarders run measured negative times)
    const hubSpawnAt = Date.now()
    const hub = track(cli(['hub', ...common(hubDir), '--bundle', env.bundleDir, '--upload-limit', `${RATE_BPS}B/s`]), `${label}-hub`, / ready: /, LOGS_DIR)
    procs.push(hub)
    await withDeadline('hub ready', hub.ready, STARTUP_DEADLINE_MS)
    const seedAt = Date.now()
    const cpuAtSeed = await cpuSecOf(device.child.pid)
    if (onHub || isFleetAttack(attack)) await spawnAttacker()

    // the attack starts once the device has joined the bundle (it names the bundle's info-hash)
    await until('device joined the bundle', async () => (await status(devDir))?.bundles.some(b => b.id === env.id) === true, STARTUP_DEADLINE_MS, procs)
    let goAt = Date.now()
    if (attacker !== undefined && !attack?.startsWith('hoarders')) {
      attacker.child.stdin?.write('go\n')
    } else if (attack?.startsWith('hoarders') === true) {
      goAt = seedAt // they claim the bundle from the moment the hub is there
    }

    let doneAt: number | undefined
    let cpuSec = 0
    let bannedAt: number | undefined
    let banReason: string | undefined
    let hoarders = 0
    let hoardersAt: number | undefined
    let suspects = 0
    let suspectsAt: number | undefined
    let dropped = 0
    let droppedAt: number | undefined
    const victimDir = onHub ? hubDir : devDir
    let olderJoined = false
    let banRefusals: Run['banRefusals']
    await until('device complete (and the attacker banned)', async () => {
      if (doneAt === undefined) {
        doneAt = device.verifiedAt.get(env.id)
        if (doneAt !== undefined) cpuSec = await cpuSecOf(device.child.pid) - cpuAtSeed
      }
      if (attack !== undefined) banRefusals = (await status(victimDir))?.banRefusals ?? banRefusals
      if (attack !== undefined && bannedAt === undefined) {
        const ban = (await status(victimDir))?.bans.find(b => attackerIds.includes(b.peerId))
        if (ban !== undefined) { bannedAt = Date.now(); banReason = /last: ([a-z-]+)/.exec(ban.reason)?.[1] ?? ban.reason.slice(0, 60) }
      }
      if (attack === 'older-bundle' && (await status(devDir))?.bundles.some(b => b.id === env.olderId) === true) olderJoined = true
      if (attack !== undefined) {
        const b = (await status(devDir))?.bundles.find(b => b.id === env.id)
        const n = b?.suspectPeers ?? 0
        if (n > 0 && suspectsAt === undefined) suspectsAt = Date.now()
        suspects = Math.max(suspects, n)
        const d = b?.droppedHoarders ?? 0
        if (d > 0 && droppedAt === undefined) droppedAt = Date.now()
        dropped = Math.max(dropped, d)
      }
      if (attack?.startsWith('hoarders') === true) {
        const h = (await status(hubDir))?.bundles.find(b => b.id === env.id)?.hoarders ?? 0
        if (h > 0 && hoardersAt === undefined) hoardersAt = Date.now()
        hoarders = Math.max(hoarders, h)
      }
      if (doneAt === undefined) return false
      if (attack === undefined || attack.startsWith('hoarders')) return true
      // a slow peer is demoted, not banned (it commits no violation)
      if (attack === 'slow' && suspectsAt !== undefined) return true
      if (attack === 'older-bundle') return Date.now() - goAt > OLDER_BUNDLE_WATCH_MS
      if (isFleetAttack(attack)) return attacker?.lines.some(l => l.includes('"event":"refused"')) === true || Date.now() - goAt > BAN_WAIT_MS
      return bannedAt !== undefined || Date.now() - goAt > BAN_WAIT_MS
    }, STARTUP_DEADLINE_MS + 20 * 1000 * BUNDLE_MIB * MiB / RATE_BPS, procs)
    const peakRssBytes = await peakRssOf(device.child.pid)

    let attackerStats: Record<string, unknown> | undefined
    let refusedMs: number | undefined
    let hoarderTimes: Run['hoarderTimes']
    if (attacker !== undefined) {
      await stop(attacker)
      const events = attacker.lines.filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>)
      const startedAt = events.find(e => e.event === 'attacking')?.atMs as number | undefined
      const refusedAt = events.find(e => e.event === 'refused')?.atMs as number | undefined
      if (startedAt !== undefined && refusedAt !== undefined) refusedMs = refusedAt - startedAt
      attackerStats = events.find(e => e.event === 'stats')
      if (startedAt !== undefined) goAt = startedAt
      if (attack?.startsWith('hoarders') === true) {
        hoarderTimes = hoarderTimesOf(events)
        for (const [id, at] of device.hoardingAt) {
          const c = device.claimedAt.get(id)
          if (c !== undefined) hoarderTimes.afterClaimOnDeviceMs.push(at - c)
        }
      }
    }
    for (const p of [hub, device]) await stop(p)

    // re-hash every chunk the device holds; one that fails is counted (and dropped) by verifyChunks
    const store = await openStore({ dataDir: join(devDir, 'store') })
    let storeCheck: Run['store']
    let olderChunks = 0
    try {
      const { checked, dropped } = await store.verifyChunks()
      storeCheck = { checked, corrupt: dropped, held: (await store.heldPieces(env.id)).filter(Boolean).length }
      for (const hash of env.olderPieces) if (await store.has(hash)) olderChunks++
    } finally {
      await store.stop()
    }
    return {
      timeMs: (doneAt as number) - hubSpawnAt,
      cpuSec,
      peakRssBytes,
      ...(bannedAt !== undefined ? { bannedMs: bannedAt - goAt, banReason } : {}),
      ...(refusedMs !== undefined ? { refusedMs } : {}),
      ...(attackerStats !== undefined ? { attackerStats } : {}),
      ...(banRefusals !== undefined ? { banRefusals } : {}),
      ...(attack?.startsWith('hoarders') === true ? { hoarders, ...(hoardersAt !== undefined ? { hoardersMs: hoardersAt - seedAt } : {}) } : {}),
      ...(attack !== undefined ? { suspects, ...(suspectsAt !== undefined ? { suspectsMs: suspectsAt - goAt } : {}) } : {}),
      ...(attack !== undefined ? { dropped, ...(droppedAt !== undefined ? { droppedMs: droppedAt - goAt } : {}) } : {}),
      ...(hoarderTimes !== undefined ? { hoarderTimes } : {}),
      ...(isFleetAttack(attack) && attackerStats !== undefined
        ? { acts: { attempts: Number(attackerStats.attempts ?? 0), refused: Number(attackerStats.refused ?? 0), granted: Number(attackerStats.granted ?? 0) } }
        : {}),
      ...(attack === 'older-bundle' ? { olderJoined, olderChunks } : {}),
      store: storeCheck
    }
  } finally {
    for (const p of procs) await stop(p)
  }
}

async function main (): Promise<void> {
  root = await mkdtemp(join(tmpdir(), 'storemesh-bench-hostile-'))
  if (LOGS_DIR !== '') await mkdir(LOGS_DIR, { recursive: true })
  const swarmKeyPath = join(root, 'swarm.key')
  const trustPath = join(root, 'trust.pub.json')
  await writeSwarmKeyFile(swarmKeyPath)
  await writeKeyFiles(join(root, 'sign.key.json'), trustPath, FIXTURE_KEY)
  const { outDir, info } = await makeBundleDir(root, 'bench-os', BUNDLE_MIB * MiB, 29, '1.0.0')
  const older = await makeBundleDir(join(root, 'older'), 'bench-os', BUNDLE_MIB * MiB, 31, '0.9.0')
  const enrolKey = generateSigningKey()
  const enrolPubPath = join(root, 'enrol.pub.json')
  await writeKeyFiles(join(root, 'enrol.key.json'), enrolPubPath, enrolKey)
  const env: Env = {
    dir: root, swarmKeyPath, trustPath, bundleDir: outDir, id: info.id, pieces: info.pieces.length, enrolKey, enrolPubPath,
    olderBundleDir: older.outDir, olderId: older.info.id, olderPieces: older.info.pieces.map(p => p.hash).filter(h => !info.pieces.some(p => p.hash === h))
  }
  console.log(`bench:hostile  bundle ${(info.totalBytes / MiB).toFixed(1)} MiB in ${info.pieces.length} chunks, hub upload capped at ${RATE}, ` +
    `one honest device, attacker on the ${VICTIM}; ${cpus().length} cores, load ${loadavg().map(x => x.toFixed(1)).join(' ')}`)
  console.log(`targets: time <= ${TARGET_TIME_RATIO}x and peak RSS <= ${TARGET_RSS_RATIO}x the no-attack run, attacker banned or refused within ${sec(TARGET_BAN_MS)}, no corrupt chunk\n`)

  const base: Run = SKIP_BASELINE ? { timeMs: NaN, cpuSec: NaN, peakRssBytes: NaN, store: { checked: 0, corrupt: 0, held: 0 } } : await runOnce(undefined, env)
  if (!SKIP_BASELINE) console.log(`no-attack        time ${sec(base.timeMs)} (F/u ${sec(1000 * info.totalBytes / RATE_BPS)})  CPU ${base.cpuSec.toFixed(1)} s  peak RSS ${mib(base.peakRssBytes)}  ${storeLine(base, env.pieces)}`)
  for (const attack of ATTACKS) {
    const r = await runOnce(attack, env).catch((err: Error) => err)
    if (r instanceof Error) { console.log(`${attack.padEnd(16)} FAILED: ${r.message.slice(0, 600)}`); continue }
    const tr = r.timeMs / base.timeMs
    const rr = r.peakRssBytes / base.peakRssBytes
    let ban: string
    const demoted = `device demoted ${r.suspects ?? 0}${r.suspectsMs !== undefined ? ` (first ${sec(r.suspectsMs)} after the attack started)` : ''}`
    if (attack.startsWith('hoarders')) {
      const h = r.hoarderTimes
      const worst = h === undefined || h.afterRequestMs.length === 0 ? Infinity : Math.max(...h.afterRequestMs)
      const out = Math.min(worst, r.bannedMs ?? Infinity)
      ban = `device disconnected ${r.dropped ?? 0}${r.droppedMs !== undefined ? ` (first ${sec(r.droppedMs)} after hub ready)` : ''}` +
        (h !== undefined ? ` of ${h.connected} connected, ${h.requested} asked; disconnection after the hoarder's first held request min/median/max ${spread(h.afterRequestMs)},` +
          ` after its claim (wire up, bitfield sent) ${spread(h.afterClaimMs)}, after the device received its claim (device's clock) ${spread(h.afterClaimOnDeviceMs)}, after its connection ${spread(h.afterConnectMs)}` : '') +
        (r.bannedMs !== undefined ? `, first banned after ${sec(r.bannedMs)} (${r.banReason ?? '?'})` : ', none banned') +
        ` (target ${sec(TARGET_BAN_MS)}: ${mark(out <= TARGET_BAN_MS)}); hub flagged ${r.hoarders ?? 0}${r.hoardersMs !== undefined ? ` (first ${sec(r.hoardersMs)})` : ''}; ${demoted}`
    } else if (attack === 'older-bundle') {
      ban = `older bundle joined by the device: ${r.olderJoined === true ? 'YES' : 'no'}, its chunks in the device's store: ${r.olderChunks ?? '?'}` +
        ` (${mark(r.olderJoined === false && r.olderChunks === 0)})`
    } else if (isFleetAttack(attack)) {
      const a = r.acts
      ban = `${a?.attempts ?? 0} acts in made-up device ids, ${a?.refused ?? 0} refused, ${a?.granted ?? 0} taken` +
        (r.refusedMs !== undefined ? `, first refused after ${sec(r.refusedMs)}` : '') +
        ` (target: all refused within ${sec(TARGET_BAN_MS)}: ${mark(a !== undefined && a.granted === 0 && a.refused > 0 && (r.refusedMs ?? Infinity) <= TARGET_BAN_MS)})`
    } else if (attack === 'slow') {
      ban = `${demoted} (target ${sec(TARGET_BAN_MS)}: ${mark((r.suspectsMs ?? Infinity) <= TARGET_BAN_MS)})`
    } else {
      const firstOut = Math.min(r.bannedMs ?? Infinity, r.refusedMs ?? Infinity)
      ban = (r.bannedMs !== undefined ? `banned after ${sec(r.bannedMs)} (${r.banReason ?? '?'})` : 'not banned') +
        (r.refusedMs !== undefined ? `, first refused after ${sec(r.refusedMs)}` : '') +
        ` (target ${sec(TARGET_BAN_MS)}: ${mark(firstOut <= TARGET_BAN_MS)})`
      const st = r.attackerStats
      if (st !== undefined) {
        const closed = typeof st.closedAtMs === 'number' && typeof st.startedAtMs === 'number' ? `, first stream closed by the victim after ${sec(st.closedAtMs - st.startedAtMs)}` : ''
        ban += `; ${String(st.streams)} streams${closed}, ${(Number(st.bytesSent) / MiB).toFixed(1)} MiB sent`
      }
      const rf = r.banRefusals
      if (rf !== undefined) ban += `; its redials refused before Noise ${rf.address ?? 0}, after Noise ${rf.encrypted ?? 0} (from ${ATTACKER_ADDR})`
    }
    console.log(`${attack.padEnd(16)} time ${sec(r.timeMs)} ${tr.toFixed(2)}x (${mark(tr <= TARGET_TIME_RATIO)})  CPU ${r.cpuSec.toFixed(1)} s ${(r.cpuSec / base.cpuSec).toFixed(2)}x  ` +
      `peak RSS ${mib(r.peakRssBytes)} ${rr.toFixed(2)}x (${mark(rr <= TARGET_RSS_RATIO)})  ${storeLine(r, env.pieces)}`)
    console.log(`${''.padEnd(16)} ${ban}; load ${loadavg()[0]?.toFixed(1)}`)
  }
}

try {
  await main()
} catch (err) {
  process.stderr.write(`bench:hostile failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exitCode = 1
} finally {
  await cleanup()
}
