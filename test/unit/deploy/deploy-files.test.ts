/**
 * The deploy files (docker/, systemd/) cannot be run here (no Docker engine, no root
 * systemd), so this checks what can be checked without them: every storemesh command
 * they run uses subcommands and flags the real CLI accepts (its --help, through
 * test/support/cli.ts), the compose topology keeps devices off the WAN, the image runs
 * as a non-root user, the entrypoint is valid sh, and `systemd-analyze verify` accepts
 * the units when it exists.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { chmod, copyFile, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { REPO_ROOT, runCli } from '../../support/cli.js'

const run = promisify(execFile)
const DOCKER = join(REPO_ROOT, 'docker')
const SYSTEMD = join(REPO_ROOT, 'systemd')
const UNITS = ['storemesh-hub.service', 'storemesh-device.service']
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
    for (const line of ['Type=simple', 'User=storemesh', 'StateDirectory=storemesh', 'Restart=on-failure', 'KillSignal=SIGTERM',
      'StandardOutput=journal', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/storemesh']) {
      t.match(text, new RegExp(`^${line}$`, 'm'), `${unit}: ${line}`)
    }
    t.match(text, /^ExecStart=\/usr\/bin\/storemesh .*--swarm-key \/etc\/storemesh\/swarm\.key/m, `${unit}: keys from /etc/storemesh`)
  }
})

t.test('systemd-analyze verify accepts the units', async t => {
  const found = await run('systemd-analyze', ['--version']).then(() => true, () => false)
  if (!found) {
    t.comment('skip: systemd-analyze is not installed on this machine')
    t.pass('skipped: systemd-analyze not found')
    return
  }
  // verify checks that ExecStart's binary exists: point it at a stub in a temp dir
  const dir = t.testdir({})
  const stub = join(dir, 'storemesh')
  await writeFile(stub, '#!/bin/sh\n')
  await chmod(stub, 0o755)
  for (const unit of UNITS) {
    await copyFile(join(SYSTEMD, unit), join(dir, unit))
    await writeFile(join(dir, unit), (unitTexts[unit] as string).replaceAll('/usr/bin/storemesh', stub))
  }
  const r = await run('systemd-analyze', ['verify', ...UNITS.map(u => join(dir, u))]).then(
    ok => ({ code: 0, out: ok.stdout + ok.stderr }),
    (err: { code?: number, stdout?: string, stderr?: string }) => ({ code: err.code ?? 1, out: (err.stdout ?? '') + (err.stderr ?? '') }))
  // verify exits 0 on unknown keys and bad values ("..., ignoring"): any line about our units is a failure
  const ours = r.out.split('\n').filter(l => UNITS.some(u => l.includes(u)))
  t.same(ours, [], 'no warnings about the units')
  t.equal(r.code, 0, 'systemd-analyze verify exits 0')
})
