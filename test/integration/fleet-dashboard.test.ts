/**
 * The fleet dashboard of a live fleet in headless Debian Chromium (playwright-core), as
 * test/integration/api-dashboard.test.ts does for the store hub's: a real super hub
 * (embedded PGlite, libp2p on 127.0.0.1, fleet API on a free port) fed by real report
 * streams from two stores, which pull the bundle over the real WAN protocol (one all
 * of it, one part way into a second bundle). While the page polls, the stores keep
 * reporting outcomes of two waves, one wave is paused by an operator order and the
 * other halts by itself on its rollback ratio. Checked at every render: every figure
 * on the page (waves, batches, stores with availability and outcome counts, halts)
 * equals the API answer that render came from (the test records the page's own
 * responses by `atMs`). A screenshot goes to test/integration/screenshots/.
 * Skips, with the reason, when chromium is missing (scripts/test.sh installs it).
 */
import t from 'tap'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from '../support/cli.js'
import { makeBundle, seededBytes } from '../support/store-fixture.js'
import { SqlWaveStore } from '../../src/control/index.js'
import { fleetStore, type Outcome } from './fleet-fixture.js'
import { superFixture } from './wan-fixture.js'

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']
const SHOT_DIR = join(REPO_ROOT, 'test', 'integration', 'screenshots')
const CHUNK = 64 * 1024
/** renders compared while the fleet changes */
const RENDERS = 6

type Any = any
/** one render read in one evaluate: the answers' atMs and every figure cell */
interface Snapshot {
  polls: number
  at: { waves: number, stores: number, halts: number }
  waves: Array<{ wave: string, figs: Record<string, string> }>
  batches: Array<{ wave: string, batch: string, figs: Record<string, string> }>
  stores: Array<{ store: string, wave: string | undefined, figs: Record<string, string>, avail: Array<{ bundle: string, held: number, pieces: number, text: string }> }>
  halts: Array<{ order: string, figs: Record<string, string> }>
}

const pct = (r: number | null | undefined): string => r == null ? '–' : (100 * r).toFixed(1) + '%'
const time = (ms: number | null | undefined): string => ms == null ? '–' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19)
const short = (id: string): string => id.length > 16 ? id.slice(0, 11) + '…' + id.slice(-4) : id
const countFigs = (c: Any): Record<string, string> => ({
  updated: String(c.updated), rolledBack: String(c.rolledBack), failed: String(c.failed), pending: String(c.pending), blocked: String(c.blocked), total: String(c.total)
})

/** Every difference between a render and the answers it came from. */
function mismatches (s: Snapshot, waves: Any, stores: Any, halts: Any): string[] {
  const out: string[] = []
  const same = (what: string, page: unknown, api: unknown): void => { if (JSON.stringify(page) !== JSON.stringify(api)) out.push(`${what}: page ${JSON.stringify(page)} != api ${JSON.stringify(api)}`) }
  same('wave rows', s.waves.map(w => w.wave), waves.waves.map((w: Any) => w.waveId))
  for (const w of waves.waves) {
    const row = s.waves.find(x => x.wave === w.waveId)
    same(`wave ${w.waveId as string}`, row?.figs, {
      waveId: w.waveId, state: w.state, currentBatch: w.currentBatch == null ? '–' : String(w.currentBatch), stores: String(w.stores), ...countFigs(w.counts),
      rollbackRatio: pct(w.rollbackRatio), haltOnRollbackRatio: pct(w.haltOnRollbackRatio), updatedRatio: pct(w.progress.updatedRatio)
    })
  }
  same('batch rows', s.batches.map(b => `${b.wave}/${b.batch}`), waves.waves.flatMap((w: Any) => w.batches.map((b: Any) => `${w.waveId as string}/${b.batchNo as number}`)))
  for (const w of waves.waves) {
    for (const b of w.batches) {
      same(`batch ${w.waveId as string}/${b.batchNo as number}`, s.batches.find(x => x.wave === w.waveId && x.batch === String(b.batchNo))?.figs,
        { batchNo: String(b.batchNo), state: b.state, stores: String(b.stores), notBeforeMs: time(b.notBeforeMs), healthyMs: time(b.healthyMs) })
    }
  }
  const storeRows = stores.stores.flatMap((st: Any) => (st.waves.length > 0 ? st.waves : [undefined]).map((w: Any) => ({ st, w })))
  same('store rows', s.stores.map(r => `${r.store}/${r.wave ?? ''}`), storeRows.map(({ st, w }: Any) => `${st.hubId as string}/${w?.waveId as string ?? ''}`))
  for (const { st, w } of storeRows) {
    const row = s.stores.find(r => r.store === st.hubId && r.wave === w?.waveId)
    same(`store ${st.hubId as string} ${w?.waveId as string ?? ''}`, row?.figs, {
      hubId: st.hubId, ...(w !== undefined ? { waveId: w.waveId, state: w.state, batchNo: w.batchNo == null ? '–' : String(w.batchNo), ...countFigs(w.counts) } : {}), lastReportMs: time(st.lastReportMs)
    })
    same(`store ${st.hubId as string} availability`, row?.avail, st.availability.map((a: Any) => ({ bundle: a.bundleId, held: a.heldChunks, pieces: a.pieceCount, text: `${short(a.bundleId)} ${a.heldChunks as number}/${a.pieceCount as number}` })))
  }
  same('halt rows', s.halts.map(h => h.order), halts.halts.map((h: Any) => h.orderId))
  for (const h of halts.halts) {
    same(`halt ${h.orderId as string}`, s.halts.find(x => x.order === h.orderId)?.figs, {
      waveId: h.waveId, source: h.source, issuedBy: h.issuedBy, issuedAtMs: time(h.issuedAtMs), reason: h.reason, cleared: h.cleared ? 'resumed since' : 'in force'
    })
  }
  return out
}

if (!existsSync(CHROMIUM)) {
  const reason = `${CHROMIUM} is missing (apt-get install chromium; scripts/test.sh does)`
  t.comment(`skipping the fleet dashboard test: ${reason}`)
  t.test('the fleet dashboard of a live fleet matches the fleet API', { skip: reason }, async () => {})
} else {
  t.test('the fleet dashboard of a live fleet matches the fleet API', async t => {
    const { chromium } = await import('playwright-core')
    const v1 = makeBundle({ artifacts: [{ name: 'image.bin', bytes: seededBytes(10 * CHUNK, 501) }], chunkBytes: CHUNK, version: '1.0.0' })
    const v2bytes = seededBytes(10 * CHUNK, 501)
    for (const i of [2, 7]) v2bytes.set(seededBytes(CHUNK, 600 + i), i * CHUNK)
    const v2 = makeBundle({ artifacts: [{ name: 'image.bin', bytes: v2bytes }], chunkBytes: CHUNK, version: '1.1.0' })
    // wave 51 halts by itself once 2 of 4 outcomes or more are rollbacks
    const sup = await superFixture(t, [v1, v2], { api: { port: 0 }, haltOnRollbackRatio: 0.4, minOutcomesForHalt: 4 })
    const hub = sup.hub!
    const base = hub.api!.url
    const token = (await readFile(join(sup.dataDir, 'api-token'), 'utf8')).trim()
    t.ok(await hub.ledger.ready(), 'the fleet database is open')
    // wave 50 planned in two batches through the seam the wave logic keeps its decisions in;
    // store-east is planned but never reports (no peer: nothing served)
    const plan = new SqlWaveStore(hub.ledger.db!)
    const nowMs = Date.now()
    await plan.createWave({ waveId: '50', bundleId: v1.info.id, state: 'installing', currentBatch: 1 })
    await plan.putBatches('50', [{ batchNo: 0, state: 'healthy', startedMs: nowMs - 600_000, healthyMs: nowMs - 60_000 }, { batchNo: 1, state: 'installing', notBeforeMs: nowMs, startedMs: nowMs }])
    await plan.putStores('50', [{ hubId: 'store-north', batchNo: 0, state: 'healthy', devicesSelected: 2 }, { hubId: 'store-south', batchNo: 1, state: 'installing', devicesSelected: 1 }, { hubId: 'store-east', batchNo: 1, state: 'planned', devicesSelected: 3 }])
    const ma = (): ReturnType<typeof hub.node.getMultiaddrs>[number] => hub.node.getMultiaddrs()[0]!
    const north = await fleetStore(t, sup.addr, ma, 'store-north')
    const south = await fleetStore(t, sup.addr, ma, 'store-south')
    await north.prefetch(v1.info.id)
    await north.prefetch(v2.info.id)
    await south.prefetch(v1.info.id)
    await north.report([['50', 'pos-1', 'pending'], ['50', 'pos-2', 'pending'], ['51', 'kiosk-1', 'updated']])
    await south.report([['50', 'pos-7', 'pending'], ['51', 'kiosk-7', 'pending']])

    const profile = await mkdtemp(join(tmpdir(), 'storemesh-chromium-'))
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, chromiumSandbox: false, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 1000 }, timeout: 60_000
    })
    t.teardown(async () => {
      await context.close()
      await rm(profile, { recursive: true, force: true })
    })
    const page = await context.newPage()
    const external: string[] = []
    page.on('request', r => { if (!r.url().startsWith(base)) external.push(r.url()) })
    // every answer the page got, by path and atMs: what each render showed
    const answers = new Map<string, Any>()
    page.on('response', r => {
      const path = new URL(r.url()).pathname
      if (!['/api/waves', '/api/stores', '/api/halts'].includes(path)) return
      r.json().then((v: Any) => { answers.set(`${path}@${v.atMs as number}`, v) }, () => {})
    })
    // tsx keeps function names with an __name helper the page does not have (the evaluated snapshot names one)
    await page.addInitScript('globalThis.__name = (f) => f')
    await page.goto(base + '/', { timeout: 30_000 })
    await page.waitForFunction(() => Number(document.body.dataset.polls) > 0, undefined, { timeout: 30_000 })

    const snapshot = async (): Promise<Snapshot> => await page.evaluate(() => {
      const figs = (tr: Element): Record<string, string> => Object.fromEntries(Array.from(tr.querySelectorAll('[data-fig]')).map(e => [(e as HTMLElement).dataset.fig!, e.textContent ?? '']))
      const d = document.body.dataset
      return {
        polls: Number(d.polls),
        at: { waves: Number(d.wavesAt), stores: Number(d.storesAt), halts: Number(d.haltsAt) },
        waves: Array.from(document.querySelectorAll('#waves tr[data-wave]')).map(tr => ({ wave: (tr as HTMLElement).dataset.wave!, figs: figs(tr) })),
        batches: Array.from(document.querySelectorAll('#batches tr[data-batch]')).map(tr => ({ wave: (tr as HTMLElement).dataset.wave!, batch: (tr as HTMLElement).dataset.batch!, figs: figs(tr) })),
        stores: Array.from(document.querySelectorAll('#stores tr[data-store]')).map(tr => ({
          store: (tr as HTMLElement).dataset.store!,
          wave: (tr as HTMLElement).dataset.wave,
          figs: figs(tr),
          avail: Array.from(tr.querySelectorAll('.avail [data-bundle]')).map(e => {
            const x = (e as HTMLElement).dataset
            return { bundle: x.bundle!, held: Number(x.held), pieces: Number(x.pieces), text: e.textContent ?? '' }
          })
        })),
        halts: Array.from(document.querySelectorAll('#halts tr[data-order]')).map(tr => ({ order: (tr as HTMLElement).dataset.order!, figs: figs(tr) }))
      }
    })
    const nextRender = async (after: number): Promise<Snapshot> => {
      await page.waitForFunction(n => Number(document.body.dataset.polls) > n, after, { timeout: 30_000 })
      return await snapshot()
    }
    const answerOf = async (path: string, atMs: number): Promise<Any> => {
      for (let i = 0; i < 100 && !answers.has(`${path}@${atMs}`); i++) await new Promise(resolve => setTimeout(resolve, 20))
      return answers.get(`${path}@${atMs}`)
    }
    const problems: string[] = []
    const check = async (s: Snapshot): Promise<void> => {
      const [w, st, h] = [await answerOf('/api/waves', s.at.waves), await answerOf('/api/stores', s.at.stores), await answerOf('/api/halts', s.at.halts)]
      if (w === undefined || st === undefined || h === undefined) {
        problems.push(`render ${s.polls}: an answer it rendered was not recorded`)
        return
      }
      for (const m of mismatches(s, w, st, h)) problems.push(`render ${s.polls}: ${m}`)
    }

    // the fleet changes while the page polls: outcomes arrive, an operator pauses wave 50
    const steps: Array<() => Promise<unknown>> = [
      async () => await north.report([['50', 'pos-1', 'updated']]),
      async () => await south.report([['50', 'pos-7', 'updated'], ['51', 'kiosk-7', 'rolled-back']]),
      async () => await fetch(base + '/api/orders', {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'wave', action: 'pause', waveId: '50', reason: 'store opening hours', by: 'ops' })
      }).then(r => { t.equal(r.status, 201, 'the pause is an order through the API') }),
      async () => await north.report([['51', 'kiosk-2', 'updated'], ['50', 'pos-2', 'failed']]),
      // the second rollback of four outcomes: wave 51 halts by itself
      async () => await south.report([['51', 'kiosk-8', 'rolled-back']]),
      async () => await north.report([['51', 'kiosk-3', 'pending']])
    ]
    let s = await snapshot()
    for (let i = 0; i < RENDERS; i++) {
      await steps[i]?.()
      s = await nextRender(s.polls)
      await check(s)
    }
    // the final state: the auto-halt and the pause are on the page
    s = await nextRender(s.polls)
    await check(s)
    t.same(problems, [], 'every figure of every render equals the API answer it came from')
    t.match(s.waves.find(w => w.wave === '51')?.figs, { state: 'halted', rolledBack: '2', total: '5' }, 'wave 51 halted on its rollback ratio')
    t.match(s.waves.find(w => w.wave === '50')?.figs, { state: 'paused', stores: '3', updated: '2', failed: '1' }, 'wave 50 paused by the operator')
    t.same(s.batches.map(b => [b.wave, b.batch, b.figs.state]), [['50', '0', 'healthy'], ['50', '1', 'installing']], 'its batches')
    t.match(s.stores.filter(r => r.wave === '50').map(r => [r.store, r.figs.state, r.figs.batchNo]), [['store-east', 'paused', '1'], ['store-north', 'healthy', '0'], ['store-south', 'paused', '1']], 'stores by state and batch in wave 50')
    t.same(s.stores.find(r => r.store === 'store-east')?.avail, [], 'a store that never pulled holds nothing served')
    t.equal(s.halts.length, 1, 'one halt')
    t.match(s.halts[0]?.figs, { waveId: '51', source: 'auto', cleared: 'in force' }, 'the auto-halt with its reason')
    t.match(s.halts[0]?.figs.reason, /rollback/, 'its reason names the rollback ratio')
    const n = s.stores.find(r => r.store === 'store-north')
    t.same(n?.avail.map(a => [a.bundle, a.held, a.pieces]), [[v1.info.id, v1.info.pieces.length, v1.info.pieces.length], [v2.info.id, v2.info.pieces.length, v2.info.pieces.length]], 'north holds both bundles')
    const so = s.stores.find(r => r.store === 'store-south')
    const shared = v2.info.pieces.filter(p => v1.info.pieces.some(q => q.hash === p.hash)).length
    t.same(so?.avail.map(a => [a.bundle, a.held]), [[v1.info.id, v1.info.pieces.length], [v2.info.id, shared]], 'south holds v1 and the chunks v2 shares with it')
    await mkdir(SHOT_DIR, { recursive: true })
    const shot = join(SHOT_DIR, 'fleet-dashboard.png')
    await page.screenshot({ path: shot, fullPage: true })
    t.ok(existsSync(shot), `screenshot in ${shot}`)
    t.same(external, [], 'the page loads nothing from outside the super hub')
  })
}
