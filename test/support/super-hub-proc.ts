/** Where a `storemesh super-hub` process spawned by a test listens, read from its own output and files. */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { waitUntil, type Proc } from './lan-fixture.js'

/** The super hub's dialable address (with its /p2p/ id) once its `--json` line says it listens on loopback. */
export async function superHubAddr (proc: Proc, what = 'super hub listening'): Promise<string> {
  let addr = ''
  await waitUntil(what, async () => {
    const m = /super hub (\S+) seeding .* on (\/ip4\/127\.0\.0\.1\/tcp\/\d+[^\s"]*)/.exec(proc.stdout())
    if (m === null) return false
    addr = m[2]!.includes('/p2p/') ? m[2]! : `${m[2]!}/p2p/${m[1]!}`
    return true
  }, 60_000, [proc])
  return addr
}

/** The base URL of the super hub's fleet API (`<data>/api.json`) once it answers `/api/orders`. */
export async function superHubApi (proc: Proc, dataDir: string): Promise<string> {
  let url = ''
  await waitUntil('super hub API up', async () => {
    const text = await readFile(join(dataDir, 'api.json'), 'utf8').catch(() => '')
    url = text !== '' ? (JSON.parse(text) as { url: string }).url : ''
    return url !== '' && await fetch(`${url}/api/orders`).then(r => r.ok, () => false)
  }, 60_000, [proc])
  return url
}
