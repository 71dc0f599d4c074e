/**
 * The super hub's memory settings (docs/origin.md "Super hub memory") live in two
 * deploy files: the systemd unit's Environment= lines and the compose service's
 * `environment:`. bench:origin measures the unit's; this keeps docker from drifting
 * away from it (a setting dropped or changed in one of them fails here).
 */
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse } from 'yaml'
import { REPO_ROOT } from '../../support/cli.js'

/** The variables that shape the super hub's memory (V8 young generation, glibc arenas). */
const MEMORY_VARS = ['NODE_OPTIONS', 'MALLOC_ARENA_MAX'] as const

function unitEnvironment (text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const m = /^Environment=([A-Z_]+)=(.*)$/.exec(line.trim())
    if (m !== null) out[m[1]!] = m[2]!.replace(/^"|"$/g, '')
  }
  return out
}

t.test('compose runs the super hub with the memory settings of its systemd unit', async t => {
  const unit = unitEnvironment(await readFile(join(REPO_ROOT, 'systemd', 'storemesh-super-hub.service'), 'utf8'))
  const compose = parse(await readFile(join(REPO_ROOT, 'docker', 'compose.yaml'), 'utf8'), { merge: true }) as {
    services: Record<string, { environment?: Record<string, string | number> | string[] }>
  }
  const env = compose.services['super-hub']?.environment
  const composeEnv: Record<string, string> = Array.isArray(env)
    ? Object.fromEntries(env.map(e => [e.split('=')[0]!, e.slice(e.indexOf('=') + 1)]))
    : Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, String(v)]))
  for (const name of MEMORY_VARS) {
    t.ok(unit[name] !== undefined && unit[name] !== '', `the unit sets ${name}`)
    t.equal(composeEnv[name], unit[name], `compose's super-hub sets ${name} as the unit does`)
  }
  t.match(unit.NODE_OPTIONS, /--max-semi-space-size=\d+/, 'the young generation is bounded')
})
