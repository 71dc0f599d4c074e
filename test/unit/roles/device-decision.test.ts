/**
 * The one collector of a device's decision inputs (src/roles/device-decision.ts) on a
 * real data directory and a real chunk store: where each input comes from (store or lab
 * folder, live lease and order book or what the agent persisted), the manifest taken
 * from the store as it is (never parsed again), and the lease asked for only when it
 * alone holds the install back.
 */
import t, { type Test } from 'tap'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { generateSigningKey, writeKeyFiles } from '../../../src/bundle/keys.js'
import { encodeTimestamp, signTimestamp, TIMESTAMP_FILE } from '../../../src/identity/root/index.js'
import type { DeviceFacts } from '../../../src/interface/types.js'
import { createBackend } from '../../../src/install/index.js'
import { LeaseKeeper } from '../../../src/lease/lease-keeper.js'
import { LeaseTable } from '../../../src/lease/lease-table.js'
import type { LeaseClient, LeaseRequest, LeaseResponse } from '../../../src/lease/protocol/index.js'
import { decidingGates } from '../../../src/policy/evaluate.js'
import type { GateReport } from '../../../src/interface/types.js'
import { parsePolicy } from '../../../src/policy/schema.js'
import { encodeSignedPolicy, signPolicy } from '../../../src/policy/signed.js'
import { collectDecisionInputs, decideDevice, isDeviceDir, openDecisionParts, type DeviceParts } from '../../../src/roles/device-decision.js'
import { loadInstallConfig } from '../../../src/roles/device-install-config.js'
import type { LeaseProvider } from '../../../src/roles/lease-provider.js'
import { WAVE_ORDERS_FILE } from '../../../src/roles/wave-order-book.js'
import { openStore, type ChunkStore } from '../../../src/store/index.js'
import { basePolicyInput } from '../policy/fixtures.js'
import { FIXTURE_KEY, simpleBundle, tempDir, writeBundleDir, type FixtureBundle } from '../../support/store-fixture.js'

const AT = Date.parse('2026-01-05T12:00:00Z')
const BUNDLE = simpleBundle(11, 4, 4096, { version: '1.0.0' })

type LeaseFacts = DeviceFacts['lease']

/** A lease source that answers `answer` and counts what it was asked. */
function recordingLease (answer: LeaseFacts): LeaseProvider & { acquired: number, released: number } {
  const l = {
    acquired: 0,
    released: 0,
    facts: (): LeaseFacts => ({ state: 'none' }),
    acquire: async (): Promise<LeaseFacts> => { l.acquired++; return { ...answer } },
    release: async (): Promise<void> => { l.released++ }
  }
  return l
}

async function deviceDir (t: Test, facts: Record<string, unknown> = {}): Promise<string> {
  const data = await tempDir(t, 'storemesh-decision-')
  await writeKeyFiles(join(data, '..', `${data.split('/').pop() ?? 'd'}.key.json`), join(data, 'release.pub.json'), FIXTURE_KEY)
  await writeFile(join(data, 'device.yaml'), stringify({
    deviceId: 'pos-17', deviceClass: 'pos', labels: { region: 'us-midwest' }, factsFile: 'facts.yaml', trust: { keys: ['release.pub.json'] }
  }))
  await writeFile(join(data, 'facts.yaml'), stringify({
    installedVersion: '0.9.0', configVersion: '12.5.0', batteryPercent: 80, temperatureC: 40, freeDiskMiB: 4096, slotCount: 2, ...facts
  }))
  const input = basePolicyInput()
  input.spec.bundle = { id: BUNDLE.info.id, version: '1.0.0' }
  delete input.spec.schedule
  input.spec.verification.peripheralChecks = []
  await writeFile(join(data, 'policy.signed.json'), encodeSignedPolicy(signPolicy(parsePolicy(input), [FIXTURE_KEY])))
  return data
}

async function withStore (t: Test, data: string, bundle: FixtureBundle = BUNDLE): Promise<{ store: ChunkStore, device: DeviceParts }> {
  const src = join(data, '..', `${data.split('/').pop() ?? 'd'}-bundle`)
  await writeBundleDir(src, bundle)
  const store = await openStore({ dataDir: join(data, 'store') })
  t.teardown(async () => await store.stop())
  await store.importBundleDir(src, { keys: [{ keyid: FIXTURE_KEY.keyid, publicKey: FIXTURE_KEY.publicKey }] })
  const config = await loadInstallConfig(data)
  await mkdir(join(data, 'slots'), { recursive: true })
  return { store, device: { config, store, backend: createBackend(config.backend) } }
}

t.test('device layout: the store\'s manifest as it is, and the lease asked for only when it alone is missing', async t => {
  const data = await deviceDir(t)
  await writeFile(join(data, 'install.yaml'), stringify({ lease: { kind: 'hub' } }))
  const { store, device } = await withStore(t, data)
  t.equal(await isDeviceDir(data), true)
  const lease = recordingLease({ state: 'held', detail: 'granted' })
  const inputs = await collectDecisionInputs({ dataDir: data, device, lease }, { atMs: AT })
  t.equal(inputs.bundle?.info, await store.bundleInfo(BUNDLE.info.id), 'the very BundleInfo the store holds: not parsed or hashed again')
  t.same(inputs.bundle?.signature.ok, true)
  t.same(inputs.facts.bundle, { complete: true, verified: true, missingChunks: 0, totalChunks: 4 }, 'a complete bundle is verified first')
  t.equal(inputs.facts.lease.state, 'none', 'the lease as the source says before asking')
  const d = await decideDevice(inputs)
  t.equal(d.verdict, 'install')
  t.equal(lease.acquired, 1, 'asked once')
  t.equal(lease.released, 0, 'an install keeps its lease; the caller releases it')

  const denied = recordingLease({ state: 'denied', detail: 'all 5 slots in use' })
  const d2 = await decideDevice(await collectDecisionInputs({ dataDir: data, device, lease: denied }, { atMs: AT }))
  t.equal(d2.verdict, 'defer')
  t.same(decidingGates(d2).map(g => g.gate), ['hub.lease'])
  t.equal(denied.released, 1, 'a slot this decision will not use goes back')

  const notOnly = recordingLease({ state: 'held' })
  await writeFile(join(data, 'facts.yaml'), stringify({ installedVersion: '0.9.0', configVersion: '12.5.0', batteryPercent: 5, temperatureC: 40, freeDiskMiB: 4096 }))
  const d3 = await decideDevice(await collectDecisionInputs({ dataDir: data, device, lease: notOnly }, { atMs: AT }))
  t.same(decidingGates(d3).map(g => g.gate), ['device.battery', 'hub.lease'])
  t.equal(notOnly.acquired, 0, 'no lease is asked for while another gate holds the install back')
})

t.test('device layout defaults: install.yaml\'s lease, the order book the agent persisted, the live book over it', async t => {
  const data = await deviceDir(t)
  await writeFile(join(data, 'install.yaml'), stringify({ lease: { kind: 'hub' } }))
  const { device } = await withStore(t, data)
  const hub = await decideDevice(await collectDecisionInputs({ dataDir: data, device }, { atMs: AT }))
  t.same(decidingGates(hub).map(g => [g.gate, g.detail]), [['hub.lease', 'store hub unreachable: a one-shot command cannot ask the store hub for a lease; the device agent (`storemesh device run`) asks it once every other gate passes']])

  await writeFile(join(data, 'install.yaml'), stringify({ lease: { kind: 'none' } }))
  await writeFile(join(data, WAVE_ORDERS_FILE), JSON.stringify([{ waveId: '142', action: 'pause', reason: 'weekend', issuedAtMs: AT }]))
  const parts = { ...device, config: await loadInstallConfig(data) }
  const paused = await decideDevice(await collectDecisionInputs({ dataDir: data, device: parts }, { atMs: AT }))
  t.same(decidingGates(paused).map(g => [g.gate, g.detail]), [['wave.paused', 'wave 142 paused: weekend']])

  const live = await decideDevice(await collectDecisionInputs({ dataDir: data, device: parts, fleet: () => ({ paused: false, halted: false }) }, { atMs: AT }))
  t.equal(live.verdict, 'install', 'the agent\'s live order book wins over the file')
})

/** The store hub's lease table with the libp2p hop left out (as in lease-keeper.test.ts): counts what reached it. */
class TableHub implements LeaseClient {
  requests: LeaseRequest[] = []
  readonly table = new LeaseTable({ maxConcurrentPerHub: 5 })
  async request (_hub: unknown, req: LeaseRequest): Promise<LeaseResponse> {
    this.requests.push(req)
    return await this.table.respond(req, { peer: req.deviceId })
  }
}

/** The agent's LeaseKeeper (device-agent.ts builds it the same way): `hub` found on the LAN, or none yet. */
function agentKeeper (t: Test, client: TableHub, hubInReach: boolean): LeaseKeeper {
  const keeper = new LeaseKeeper({ deviceId: 'peer-of-pos-17', client, hub: () => hubInReach ? [] : undefined })
  t.teardown(async () => { await keeper.release() })
  return keeper
}

const leaseGate = (gates: GateReport[]): GateReport | undefined => gates.find(g => g.gate === 'hub.lease')
const otherGates = (gates: GateReport[]): GateReport[] => gates.filter(g => g.gate !== 'hub.lease')

t.test('install.yaml\'s lease.kind decides for the agent as for explain: none asks no hub, hub asks the agent\'s keeper', async t => {
  const data = await deviceDir(t)
  const { device } = await withStore(t, data)

  // no install.yaml: `none`. The agent's keeper, with a hub in reach, is not asked; explain shows the agent's very gates
  t.equal(device.config.lease.kind, 'none', 'an absent key is a standalone device')
  const explainNone = await decideDevice(await collectDecisionInputs({ dataDir: data, device }, { atMs: AT }))
  const hub = new TableHub()
  const agentNone = await decideDevice(await collectDecisionInputs({ dataDir: data, device, lease: agentKeeper(t, hub, true) }, { atMs: AT }))
  t.equal(agentNone.verdict, 'install')
  t.same(agentNone.gates, explainNone.gates, 'explain prints exactly the gates the agent applies')
  t.match(leaseGate(agentNone.gates), { gate: 'hub.lease', ok: true, detail: 'lease held: standalone device: no store hub lease needed' }, 'not required, as the one-shot none provider says')
  t.equal(hub.requests.length, 0, 'lease: none asks the hub nothing, though the agent has one in reach')

  // lease: hub. Explain (no client) defers on hub.lease as the agent does while no hub is in reach
  await writeFile(join(data, 'install.yaml'), stringify({ lease: { kind: 'hub' } }))
  const parts = { ...device, config: await loadInstallConfig(data) }
  const explainHub = await decideDevice(await collectDecisionInputs({ dataDir: data, device: parts }, { atMs: AT }))
  const noHubYet = await decideDevice(await collectDecisionInputs({ dataDir: data, device: parts, lease: agentKeeper(t, hub, false) }, { atMs: AT }))
  for (const [who, d] of [['explain', explainHub], ['the agent with no hub in reach', noHubYet]] as const) {
    t.equal(d.verdict, 'defer', `${who}: defer`)
    t.same(decidingGates(d).map(g => g.gate), ['hub.lease'], `${who}: hub.lease alone decides`)
    t.match(leaseGate(d.gates), { ok: false, effect: 'defer', detail: /^store hub unreachable: / }, `${who}: the hub is unreachable`)
  }
  t.same(otherGates(explainHub.gates), otherGates(noHubYet.gates), 'every other gate as the agent applies it')
  t.equal(hub.requests.length, 0, 'no hub in reach: nothing was sent')

  // lease: hub with the hub in reach: the agent asks it and holds the slot
  const keeper = agentKeeper(t, hub, true)
  const agentHub = await decideDevice(await collectDecisionInputs({ dataDir: data, device: parts, lease: keeper }, { atMs: AT }))
  t.equal(agentHub.verdict, 'install')
  t.same(hub.requests.map(r => [r.op, r.deviceId, r.waveId]), [['acquire', 'peer-of-pos-17', '142']], 'the agent asked its hub once')
  t.equal(hub.table.activeCount, 1, 'and holds the slot')
  t.match(leaseGate(agentHub.gates), { ok: true, detail: /^lease held until .*1\/5 slots in use/ })
  t.same(otherGates(agentHub.gates), otherGates(explainHub.gates), 'explain and the agent differ on hub.lease only')
})

t.test('lab layout: the bundle folder and the facts file\'s lease; nothing of a device opened', async t => {
  const data = await deviceDir(t, { lease: { state: 'denied', retryAt: AT + 60_000 } })
  await writeBundleDir(join(data, 'bundles', BUNDLE.info.id), BUNDLE)
  t.equal(await isDeviceDir(data), false)
  const inputs = await collectDecisionInputs({ dataDir: data }, { atMs: AT })
  t.equal(inputs.bundle?.info.id, BUNDLE.info.id)
  t.match(inputs.manifestPath, /bundle\.json$/)
  const d = await decideDevice(inputs)
  t.same(decidingGates(d).map(g => g.gate), ['hub.lease'])
  t.equal(d.nextCheckAt, AT + 60_000, 'the retry time the facts file gives')
})

t.test('freshness: a device past its statement\'s expiry + the policy\'s grace defers, and nothing it holds changes', async t => {
  const data = await deviceDir(t, { lease: { state: 'held' } })
  await writeBundleDir(join(data, 'bundles', BUNDLE.info.id), BUNDLE)
  const HOUR = 3_600_000
  const stamp = async (expiresAtMs: number, key = FIXTURE_KEY): Promise<Buffer> => {
    const bytes = Buffer.from(encodeTimestamp(signTimestamp({
      entries: [{ deviceClass: 'pos', bundleId: BUNDLE.info.id }], issuedAt: new Date(expiresAtMs - 24 * HOUR), expiresAt: new Date(expiresAtMs)
    }, [key])))
    await writeFile(join(data, TIMESTAMP_FILE), bytes)
    return bytes
  }
  const decideAt = async (): Promise<{ verdict: string, gate: GateReport | undefined, deciding: string[] }> => {
    const d = await decideDevice(await collectDecisionInputs({ dataDir: data }, { atMs: AT }))
    return { verdict: d.verdict, gate: d.gates.find(g => g.gate === 'trust.freshness'), deciding: decidingGates(d).map(g => g.gate) }
  }
  const none = await decideAt()
  t.equal(none.verdict, 'install', 'no statement held: not checked')
  t.match(none.gate?.detail, /not checked/)
  await stamp(AT - 71 * HOUR)
  const inGrace = await decideAt()
  t.equal(inGrace.verdict, 'install', 'expired 71 h ago: inside the default 72 h grace')
  t.match(inGrace.gate?.detail, /stale since .*grace 72 h/)
  const held = await stamp(AT - 73 * HOUR)
  const frozen = await decideAt()
  t.equal(frozen.verdict, 'defer', 'past expiry + grace: defer, never refuse')
  t.same(frozen.deciding, ['trust.freshness'])
  t.match(frozen.gate?.detail, /freeze/)
  t.same(await readFile(join(data, TIMESTAMP_FILE)), held, 'the statement held is left as it was')
  // a statement the root's timestamp role did not sign counts for nothing, and says why
  await stamp(AT + HOUR, generateSigningKey())
  const foreign = await decideAt()
  t.equal(foreign.verdict, 'defer')
  t.match(foreign.gate?.detail, /does not verify: E_SIGNATURE/)
  await stamp(AT + HOUR)
  t.equal((await decideAt()).verdict, 'install', 'a newer statement lifts the deferral')
})

t.test('openDecisionParts names an install a crash left unfinished', async t => {
  const data = await deviceDir(t)
  await mkdir(join(data, 'store'), { recursive: true })
  const parts = await openDecisionParts(data)
  t.teardown(parts.close)
  t.equal(parts.unfinished, undefined, 'no installer state: nothing to resume')
  t.equal(parts.device.config.lease.kind, 'none')
})
