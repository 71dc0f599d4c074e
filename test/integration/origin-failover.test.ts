/**
 * Store hub failover between two super hubs that pull through from one origin (a real
 * nginx): the bundle is published with the CLI, two `storemesh super-hub --origin`
 * processes serve it, and the store hub pre-stages it from both. The first super hub
 * is SIGKILLed mid-bundle; the store hub finishes from the second, keeping the chunks it
 * holds, and the WAN carried under 1.05 copies of the bundle.
 */
import t from 'tap'
import { join } from 'node:path'
import { openStore } from '../../src/store/index.js'
import { createStoremeshNode } from '../../src/net/node.js'
import { readSwarmKeyFile } from '../../src/net/swarm-key.js'
import { createWanPuller } from '../../src/wan/puller.js'
import { addPrefetch } from '../../src/wan/prefetch-queue.js'
import { spawnCli, runCli } from '../support/cli.js'
import { adopt, FIXTURE_TRUST, lanFixture, makeBundleDir, type Proc } from '../support/lan-fixture.js'
import { nginxBinary, startNginx } from '../support/nginx.js'
import { until } from '../support/poll.js'
import { superHubAddr } from '../support/super-hub-proc.js'
import { nextEvent } from './wan-fixture.js'

const BUNDLE_BYTES = 12 * 1024 * 1024
/** small chunks: a chunk cut by the kill wastes little */
const CHUNKING = { minBytes: 16 * 1024, avgBytes: 64 * 1024, maxBytes: 256 * 1024 }
const PER_HUB_RATE = '2MiB/s'

const noNginx = await nginxBinary() === undefined ? 'nginx is not installed (scripts/test.sh installs it)' : false

async function superHub (f: Awaited<ReturnType<typeof lanFixture>>, dataDir: string, originUrl: string): Promise<{ proc: Proc, addr: string }> {
  const proc = adopt(f, spawnCli(['super-hub', '--data', dataDir, '--origin', originUrl, '--cache-quota', '64MiB', '--swarm-key', f.swarmKeyPath,
    '--trust', f.trustPath, '--listen', '/ip4/127.0.0.1/tcp/0', '--per-hub-rate', PER_HUB_RATE, '--json']), dataDir)
  const addr = await superHubAddr(proc)
  return { proc, addr }
}

t.test('a store hub finishes from the second super hub when the first is SIGKILLed mid-bundle', { skip: noNginx }, async t => {
  const f = await lanFixture(t)
  const { outDir, info } = await makeBundleDir(join(f.dir, 'bundles'), 'fail-os', BUNDLE_BYTES, 41, '1.0.0', CHUNKING)
  const origin = join(f.dir, 'origin')
  const pub = await runCli(['bundle', 'publish', outDir, '--origin', origin, '--key', join(f.dir, 'sign.key.json'), '--trust', f.trustPath])
  t.equal(pub.code, 0, `published: ${pub.stdout}${pub.stderr}`)
  const again = await runCli(['bundle', 'publish', outDir, '--origin', origin, '--key', join(f.dir, 'sign.key.json'), '--json'])
  t.match(JSON.parse(again.stdout), { chunksWritten: 0, manifestWritten: false, indexWritten: false }, 'publishing again writes nothing')
  const small = await runCli(['super-hub', '--data', join(f.dir, 'super-small'), '--origin', 'file:///nowhere', '--cache-quota', '1MiB',
    '--swarm-key', f.swarmKeyPath, '--trust', f.trustPath])
  t.match(small.stderr, /E_INVALID_ARGUMENT .*1048576 bytes .*\(16777216 bytes\)/, 'a cache quota below one largest chunk is refused at start, with both sizes')
  t.not(small.code, 0)
  const nginx = await startNginx(t, origin)
  const a = await superHub(f, join(f.dir, 'super-a'), nginx.url)
  const b = await superHub(f, join(f.dir, 'super-b'), nginx.url)

  const dataDir = join(f.dir, 'hub')
  const store = await openStore({ dataDir })
  const node = await createStoremeshNode({ swarmKey: await readSwarmKeyFile(f.swarmKeyPath), dataDir, listen: ['/ip4/127.0.0.1/tcp/0'] })
  const puller = createWanPuller({ node, store, dataDir, supers: [a.addr, b.addr], trust: FIXTURE_TRUST, pollMs: 200, retryBaseMs: 100, retryMaxMs: 400, batchBytes: 512 * 1024, idleTimeoutMs: 3000 })
  t.teardown(async () => { await puller.stop(); await node.stop(); await store.stop() })
  const fromA = { chunks: 0 }
  puller.on('chunk', (e: { superIndex: number }) => { if (e.superIndex === 0) fromA.chunks++ })
  await puller.start()
  const staged = nextEvent(puller, 'prestaged', 120_000)
  await addPrefetch(dataDir, { bundleId: info.id })
  puller.poke()

  t.ok(await until(async () => (await store.missingPieces(info.id).catch(() => info.pieces)).length <= info.pieces.length * 0.7, 60_000),
    'the store hub holds some 30% of the bundle')
  t.ok(fromA.chunks > 0, `super hub A sent ${fromA.chunks} chunks before it dies`)
  a.proc.child.kill('SIGKILL')
  await a.proc.exited
  const heldAtKill = info.pieces.length - (await store.missingPieces(info.id)).length
  await staged
  t.equal(store.getBundle(info.id)?.state, 'verified', 'finished and verified from super hub B')
  const wanIn = puller.stats.wireBytesIn
  t.ok(wanIn < 1.05 * info.totalBytes, `WAN bytes in ${wanIn} < 1.05 × ${info.totalBytes} (${(wanIn / info.totalBytes).toFixed(3)} copies)`)
  t.ok(heldAtKill > 0 && puller.stats.chunksFetched === info.pieces.length, `resumed: ${heldAtKill} chunks held at the kill were not fetched again (${puller.stats.chunksFetched} fetched in all)`)
  t.equal(b.proc.child.exitCode, null, 'super hub B still running')
})
