/**
 * The deploy files (docker/, systemd/) cannot be run here (no Docker engine, no root
 * systemd), so this checks what can be checked without them: every storemesh command
 * they run uses subcommands and flags the real CLI accepts (its --help, through
 * test/support/cli.ts), the compose topology keeps devices off the WAN, the image runs
 * as a non-root user, the entrypoint is valid sh, `systemd-analyze verify` accepts
 * the units and `systemd-analyze security --offline` reads the privileges the units
 * claim (scripts/test.sh installs systemd; elsewhere those two skip with the reason),
 * and the device's privileges outside the unit do what systemd/README.md says: the
 * polkit rule allows the storemesh user a reboot and nothing else, and the udev rule
 * grants the group the unit names.
 */
import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { DEFAULT_REBOOT_COMMAND } from '../../../src/install/backends/tool.js'
import { REPO_ROOT, runCli } from '../../support/cli.js'

const run = promisify(execFile)
const DOCKER = join(REPO_ROOT, 'docker')
const SYSTEMD = join(REPO_ROOT, 'systemd')
const UNITS = ['storemesh-hub.service', 'storemesh-device.service', 'storemesh-super-hub.service']
const DEVICE_UNIT = 'storemesh-device.service'
const POLKIT_RULE = '50-storemesh-reboot.rules'
const UDEV_RULE = '60-storemesh-boot.rules'
const IMAGE = 'storemesh:local'
const HELP_TIMEOUT_MS = 60_000
const HELP_CONCURRENCY = 3

interface Service {
  image?: string
  entrypoint?: string[]
  command?: string[]
  networks?: string[] | Record<string, unknown>
  network_mode?: string
  volumes?: string[]
  environment?: Record<string, string>
}

/** One storemesh invocation found in a deploy file: its subcommand path and the flags it passes. */
interface Use { where: string, sub: string[], flags: string[] }

/** Splits argv into the leading subcommand words and the `--flags` anywhere after them. */
function useOf (where: string, argv: string[]): Use {
  const sub: string[] = []
  for (const a of argv) {
    if (!/^[a-z][a-z-]*$/.test(a)) break
    sub.push(a)
  }
  const flags = argv.filter(a => a.startsWith('--')).map(a => a.split('=')[0] as string)
  return { where, sub, flags }
}

function networksOf (s: Service): string[] {
  if (s.networks === undefined) return []
  return Array.isArray(s.networks) ? s.networks : Object.keys(s.networks)
}

const composeText = await readFile(join(DOCKER, 'compose.yaml'), 'utf8')
const compose = parse(composeText, { merge: true }) as { services: Record<string, Service> }
const entrypointText = await readFile(join(DOCKER, 'entrypoint.sh'), 'utf8')
const dockerfileText = await readFile(join(DOCKER, 'Dockerfile'), 'utf8')
const unitTexts = Object.fromEntries(await Promise.all(UNITS.map(async u => [u, await readFile(join(SYSTEMD, u), 'utf8')] as const)))

/** entrypoint.sh modes that wrap a storemesh subcommand (the wrapper adds the rest). */
const ENTRYPOINT_MODES: Record<string, string[] | null> = { init: null, 'super-hub': ['super-hub'], hub: ['hub', 'run'] }

function collectUses (): Use[] {
  const uses: Use[] = []
  for (const [name, s] of Object.entries(compose.services)) {
    if (s.image !== IMAGE) continue
    const argv = s.command ?? []
    if (s.entrypoint?.[0] === '/app/docker/entrypoint.sh') {
      const mode = argv[0] as string
      if (!(mode in ENTRYPOINT_MODES)) throw new Error(`compose ${name}: unknown entrypoint.sh mode ${mode}`)
      const sub = ENTRYPOINT_MODES[mode]
      if (sub != null) uses.push({ ...useOf(`compose ${name}`, argv.slice(1)), sub })
    } else {
      uses.push(useOf(`compose ${name}`, argv))
    }
  }
  // every storemesh line of the entrypoint: `storemesh ...` or `exec storemesh ...`
  for (const line of entrypointText.split('\n')) {
    const m = /^\s*(?:exec\s+)?storemesh\s+(.*)$/.exec(line)
    if (m !== null) uses.push(useOf('entrypoint.sh', (m[1] as string).split(/\s+/)))
  }
  for (const [unit, text] of Object.entries(unitTexts)) {
    const m = /^ExecStart=\S*storemesh\s+(.*)$/m.exec(text)
    if (m === null) throw new Error(`${unit}: no ExecStart running storemesh`)
    uses.push(useOf(unit, (m[1] as string).split(/\s+/)))
  }
  return uses
}

t.test('every storemesh command in compose, entrypoint.sh and the units uses real subcommands and flags', async t => {
  const uses = collectUses()
  const subs = [...new Set(uses.map(u => u.sub.join(' ')))]
  // the roles the topology needs are all there
  for (const need of ['super-hub', 'hub run', 'device run', 'keygen', 'bundle build', 'policy sign', 'hub prefetch']) {
    t.ok(subs.includes(need), `some deploy file runs storemesh ${need}`)
  }
  t.same(uses.filter(u => u.where.endsWith('.service')).map(u => `${u.where}: ${u.sub.join(' ')}`).sort(), [
    'storemesh-device.service: device run', 'storemesh-hub.service: hub run', 'storemesh-super-hub.service: super-hub'
  ], 'one unit per role')
  const help = new Map<string, string>()
  for (let i = 0; i < subs.length; i += HELP_CONCURRENCY) {
    await Promise.all(subs.slice(i, i + HELP_CONCURRENCY).map(async sub => {
      const r = await runCli([...sub.split(' ').filter(Boolean), '--help'], { timeoutMs: HELP_TIMEOUT_MS })
      t.equal(r.code, 0, `storemesh ${sub} --help exits 0`)
      // commander prints `Usage: storemesh <sub> [options]` only for a real subcommand
      t.match(r.stdout, new RegExp(`Usage: storemesh ${sub}( |$)`, 'm'), `storemesh ${sub} is a real subcommand`)
      help.set(sub, r.stdout)
    }))
  }
  for (const u of uses) {
    const text = help.get(u.sub.join(' ')) ?? ''
    t.ok(u.sub.length > 0, `${u.where}: names a subcommand`)
    for (const flag of u.flags) {
      const known = new RegExp(`(^|[\\s,])${flag.replace(/[-]/g, '\\-')}([\\s,=]|$)`, 'm').test(text)
      t.ok(known, `${u.where}: storemesh ${u.sub.join(' ')} accepts ${flag}`)
    }
  }
})

t.test('compose topology: devices on the LAN only, the store hub between WAN and LAN', async t => {
  const svc = compose.services
  const devices = Object.entries(svc).filter(([, s]) => s.command?.[0] === 'device')
  t.equal(devices.length, 3, 'three device services')
  for (const [name, s] of devices) {
    t.same(networksOf(s), ['lan'], `${name} is on lan only`)
    t.equal(s.network_mode, undefined, `${name} has no network_mode (host would bypass the networks)`)
  }
  t.same(networksOf(svc['super-hub'] as Service), ['wan'], 'super hub on wan only')
  t.same(networksOf(svc['store-hub'] as Service).sort(), ['lan', 'wan'], 'store hub on wan and lan')
  // prometheus shares the hub's network namespace, so prometheus.yml's 127.0.0.1:7480 is the hub API
  t.equal(svc.prometheus?.network_mode, 'service:store-hub')
  t.match(svc['store-hub']?.command?.join(' '), /--api-host 0\.0\.0\.0/, 'hub API reachable from other containers')
  t.ok(svc.grafana !== undefined, 'grafana service')
  // the files compose mounts from docker/ exist
  for (const s of Object.values(svc)) {
    for (const v of s.volumes ?? []) {
      const src = v.split(':')[0] as string
      if (src.startsWith('./')) t.ok(await stat(join(DOCKER, src)).then(() => true, () => false), `${src} exists`)
    }
  }
})

t.test('Dockerfile: multi-stage, npm install (not ci), non-root runtime user, CLI entrypoint', async t => {
  const lines = dockerfileText.split('\n').map(l => l.trim()).filter(l => l !== '' && !l.startsWith('#'))
  const froms = lines.map((l, i) => [l, i] as const).filter(([l]) => /^FROM\s/i.test(l))
  t.ok(froms.length >= 2, 'at least two stages')
  const runtime = lines.slice((froms.at(-1) as readonly [string, number])[1])
  const users = runtime.filter(l => /^USER\s/i.test(l)).map(l => l.split(/\s+/)[1] as string)
  t.ok(users.length > 0, 'runtime stage sets USER')
  const last = (users.at(-1) ?? '').split(':')[0]
  t.notOk(last === 'root' || last === '0' || last === '', `runtime USER ${last} is not root`)
  t.ok(runtime.some(l => l === 'ENTRYPOINT ["node", "/app/bin/storemesh.js"]'), 'entrypoint runs the CLI')
  t.ok(runtime.some(l => /^VOLUME\s+\/var\/lib\/storemesh$/.test(l)), 'data volume')
  t.ok(runtime.some(l => /^EXPOSE\s.*\b7480\b/.test(l)), 'exposes the API port')
  t.notOk(/npm ci\b/.test(lines.join('\n')), 'npm ci is not used (README: blake-hash platform packages)')
  // the runtime copies what the build stage produced, including the dashboard
  const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  t.match(pkg.scripts.build, /dist\/api\/dashboard\.html/, 'npm run build copies the dashboard into dist/')
  // ...and bundles the CLI with scripts/bundle.mjs, which the build stage must have
  t.match(pkg.scripts.build, /scripts\/bundle\.mjs/, 'npm run build bundles the CLI')
  const build = lines.slice(0, (froms.at(-1) as readonly [string, number])[1])
  t.ok(build.some(l => /^COPY\s+scripts\/bundle\.mjs\s/.test(l)), 'the build stage copies scripts/bundle.mjs')
  for (const path of ['/src/dist', '/src/bin', '/src/node_modules', '/src/package.json']) {
    t.ok(runtime.some(l => l.startsWith('COPY --from=build ' + path + ' ')), `runtime copies ${path}`)
  }
})

t.test('.dockerignore keeps the host\'s node_modules and build output out of the build context', async t => {
  const ignored = (await readFile(join(REPO_ROOT, '.dockerignore'), 'utf8')).split('\n').map(l => l.trim())
  for (const path of ['node_modules', 'dist', '.test-build', '.git']) t.ok(ignored.includes(path), `${path} is ignored`)
})

t.test('entrypoint.sh is valid sh', async t => {
  await t.resolves(run('sh', ['-n', join(DOCKER, 'entrypoint.sh')]))
})

t.test('systemd units: journald, graceful SIGTERM, hardening', async t => {
  for (const [unit, text] of Object.entries(unitTexts)) {
    t.ok(unitValues(text, 'StateDirectory').includes('storemesh'), `${unit}: StateDirectory=storemesh`)
    for (const line of ['Type=simple', 'User=storemesh', 'Restart=on-failure', 'KillSignal=SIGTERM',
      'StandardOutput=journal', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/storemesh']) {
      t.match(text, new RegExp(`^${line}$`, 'm'), `${unit}: ${line}`)
    }
    t.match(text, /^ExecStart=\/usr\/bin\/storemesh .*--swarm-key \/etc\/storemesh\/swarm\.key/m, `${unit}: keys from /etc/storemesh`)
  }
})

/** The values of every `key=` line of a unit, in order (a repeated key adds values; empty resets). */
function unitValues (text: string, key: string): string[] {
  let out: string[] = []
  for (const m of text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))) {
    const v = (m[1] as string).trim()
    out = v === '' ? [] : [...out, ...v.split(/\s+/)]
  }
  return out
}

t.test('device unit: no capability, no disk group; slots, boot environment and D-Bus as systemd/README.md says', async t => {
  const text = unitTexts[DEVICE_UNIT] as string
  t.same(unitValues(text, 'CapabilityBoundingSet'), [], 'empty capability bounding set')
  t.same(unitValues(text, 'AmbientCapabilities'), [], 'no ambient capabilities')
  t.match(text, /^NoNewPrivileges=yes$/m)
  t.same(unitValues(text, 'User'), ['storemesh'], 'the unprivileged user')
  t.same(unitValues(text, 'SupplementaryGroups'), ['storemesh-boot'], 'the slots group, not disk')
  t.ok(unitValues(text, 'ReadWritePaths').includes('-/boot/grub/grubenv'), 'the GRUB environment block is writable (when present)')
  const allowed: string[] = text.match(/^DeviceAllow=.*$/gm) ?? []
  for (const dev of ['block-sd', 'block-mmc', 'block-virtblk', 'char-mtd']) t.ok(allowed.includes(`DeviceAllow=${dev} rw`), `DeviceAllow=${dev} rw`)
  t.match(text, /^DevicePolicy=closed$/m, 'no other device')
  t.ok(unitValues(text, 'RestrictAddressFamilies').includes('AF_UNIX'), 'AF_UNIX: the system D-Bus (logind, RAUC)')
  t.notMatch(text, /^(PrivateDevices|PrivateNetwork|ProtectClock)=yes$/m, 'nothing that hides the slot devices or the network')
})

t.test('super hub unit: a network service with no device and no capability', async t => {
  const text = unitTexts['storemesh-super-hub.service'] as string
  t.match(text, /^PrivateDevices=yes$/m)
  t.same(unitValues(text, 'CapabilityBoundingSet'), [])
  t.same(unitValues(text, 'StateDirectory'), ['storemesh', 'storemesh-bundles'], 'data dir and the bundles folder it imports, both created by systemd')
  t.match(text, /--bundles \/var\/lib\/storemesh-bundles /, 'imports the StateDirectory bundles folder')
  t.match(text, /--listen \/ip4\/0\.0\.0\.0\/tcp\/4310 /, 'listens where the store hubs dial (an unprivileged port)')
})

t.test('the polkit rule allows the storemesh user a reboot and nothing else', async t => {
  // the reboot the backends run: a request to logind, which polkit answers
  t.same(DEFAULT_REBOOT_COMMAND, ['systemctl', 'reboot'], 'the default reboot command asks logind')
  const source = await readFile(join(SYSTEMD, POLKIT_RULE), 'utf8')
  const Result = { YES: 'yes', NO: 'no', NOT_HANDLED: null } as const
  type Rule = (action: { id: string }, subject: { user: string }) => unknown
  const rules: Rule[] = []
  // the rule file is JavaScript that polkitd runs: run it here against a stand-in of its API
  new Function('polkit', source)({ Result, addRule: (r: Rule) => rules.push(r) })
  t.equal(rules.length, 1, 'one rule')
  const answer = (id: string, user: string): unknown => rules[0]?.({ id }, { user })
  t.equal(answer('org.freedesktop.login1.reboot', 'storemesh'), 'yes')
  t.equal(answer('org.freedesktop.login1.reboot-multiple-sessions', 'storemesh'), 'yes', 'also while someone is logged in')
  for (const id of ['org.freedesktop.login1.reboot-ignore-inhibit', 'org.freedesktop.login1.power-off', 'org.freedesktop.login1.halt',
    'org.freedesktop.systemd1.manage-units', 'org.freedesktop.login1.set-reboot-to-firmware-setup']) {
    t.equal(answer(id, 'storemesh'), null, `not ${id}`)
  }
  t.equal(answer('org.freedesktop.login1.reboot', 'nobody'), null, 'no other user')
})

t.test('the udev rule grants the group the device unit names, read-write for the group only', async t => {
  const lines = (await readFile(join(SYSTEMD, UDEV_RULE), 'utf8')).split('\n').map(l => l.trim()).filter(l => l !== '' && !l.startsWith('#'))
  const group = unitValues(unitTexts[DEVICE_UNIT] as string, 'SupplementaryGroups')[0]
  t.ok(lines.length >= 2, 'slot partitions and the U-Boot environment')
  for (const line of lines) {
    // udev syntax: comma-separated KEY=="match" and KEY="assign" pairs
    const pairs = line.split(/,\s*/)
    t.ok(pairs.every(p => /^[A-Z_]+(\{[A-Za-z_]+\})?(==|!=|=|\+=|:=)"[^"]*"$/.test(p)), `well-formed: ${line}`)
    t.ok(pairs.some(p => /^SUBSYSTEM=="(block|mtd)"$/.test(p)), 'matches block or mtd devices only')
    t.ok(pairs.includes(`GROUP="${group ?? ''}"`), `grants group ${group ?? '?'}`)
    t.ok(pairs.includes('MODE="0660"'), 'read-write for owner and group, nothing for others')
  }
  t.ok(lines.some(l => l.includes('ENV{DEVTYPE}=="partition"')), 'slots are partitions, never the whole disk')
})

const systemdAnalyzeMissing = await run('systemd-analyze', ['--version']).then(() => undefined, () => 'systemd-analyze is not installed (apt-get install systemd)')
if (systemdAnalyzeMissing !== undefined) t.comment(`skipping the systemd-analyze checks: ${systemdAnalyzeMissing}`)

/** The units in a temp dir, ExecStart pointing at a stub (verify checks that the binary exists). */
async function unitsWithStub (t: Test): Promise<string[]> {
  const dir = t.testdir({})
  const stub = join(dir, 'storemesh')
  await writeFile(stub, '#!/bin/sh\n')
  await chmod(stub, 0o755)
  return await Promise.all(UNITS.map(async unit => {
    const path = join(dir, unit)
    await writeFile(path, (unitTexts[unit] as string).replaceAll('/usr/bin/storemesh', stub))
    return path
  }))
}

t.test('systemd-analyze verify accepts the units', { skip: systemdAnalyzeMissing ?? false }, async t => {
  const paths = await unitsWithStub(t)
  const r = await run('systemd-analyze', ['verify', ...paths]).then(
    ok => ({ code: 0, out: ok.stdout + ok.stderr }),
    (err: { code?: number, stdout?: string, stderr?: string }) => ({ code: err.code ?? 1, out: (err.stdout ?? '') + (err.stderr ?? '') }))
  // verify exits 0 on unknown keys and bad values ("..., ignoring"): any line about our units is a failure
  const ours = r.out.split('\n').filter(l => UNITS.some(u => l.includes(u)))
  t.same(ours, [], 'no warnings about the units')
  t.equal(r.code, 0, 'systemd-analyze verify exits 0')
})

t.test('systemd-analyze security reads the privileges the units claim', { skip: systemdAnalyzeMissing ?? false }, async t => {
  const paths = await unitsWithStub(t)
  // what systemd itself makes of the settings, not our reading of the text
  const common = ['UserOrDynamicUser', 'NoNewPrivileges', 'AmbientCapabilities', 'ProtectSystem', 'ProtectHome', 'PrivateTmp',
    'CapabilityBoundingSet_CAP_SYS_BOOT', 'CapabilityBoundingSet_CAP_SYS_ADMIN', 'CapabilityBoundingSet_CAP_SYS_RAWIO',
    'CapabilityBoundingSet_CAP_DAC_FOWNER_IPC_OWNER', 'CapabilityBoundingSet_CAP_SET_UID_GID_PCAP', 'CapabilityBoundingSet_CAP_MKNOD']
  const want: Record<string, string[]> = {
    'storemesh-hub.service': [...common, 'PrivateDevices'],
    'storemesh-super-hub.service': [...common, 'PrivateDevices'],
    [DEVICE_UNIT]: common
  }
  for (const [i, unit] of UNITS.entries()) {
    const { stdout } = await run('systemd-analyze', ['security', '--offline=yes', '--json=short', paths[i] as string])
    const checks = new Map((JSON.parse(stdout) as Array<{ json_field: string, set: boolean }>).map(c => [c.json_field, c.set]))
    for (const field of want[unit] ?? []) t.equal(checks.get(field), true, `${unit}: ${field}`)
  }
})

t.test('compose runs each daemon with its unit\'s memory settings (NODE_OPTIONS, MALLOC_*)', async t => {
  const memoryEnv = (text: string): Record<string, string> => {
    const out: Record<string, string> = {}
    for (const m of text.matchAll(/^Environment="?(NODE_OPTIONS|MALLOC_[A-Z_]+)=(.*?)"?$/gm)) out[m[1] as string] = m[2] as string
    return out
  }
  const pairs: Array<[string, string]> = [['super-hub', 'storemesh-super-hub.service'], ['store-hub', 'storemesh-hub.service'],
    ['device-1', DEVICE_UNIT], ['device-2', DEVICE_UNIT], ['device-3', DEVICE_UNIT]]
  for (const [service, unit] of pairs) {
    const want = memoryEnv(unitTexts[unit] as string)
    t.ok(want.NODE_OPTIONS?.includes('--max-semi-space-size='), `${unit} sets a semi-space size`)
    t.equal(want.MALLOC_ARENA_MAX, '2', `${unit}: two malloc arenas`)
    const env = compose.services[service]?.environment ?? {}
    const got = Object.fromEntries(Object.entries(env).filter(([k]) => k === 'NODE_OPTIONS' || k.startsWith('MALLOC_')))
    t.same(got, want, `compose ${service} = ${unit}`)
  }
  // docs/origin.md "Super hub memory": buffers of 64 KiB and more mapped and unmapped whole, not left in the brk heap
  t.ok(Number(memoryEnv(unitTexts['storemesh-super-hub.service'] as string).MALLOC_MMAP_THRESHOLD_) > 0, 'the super hub unit sets a fixed malloc mmap threshold')
})
