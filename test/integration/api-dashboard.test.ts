/**
 * The dashboard in headless Debian Chromium (playwright-core): its heat map cells
 * match the availability data and /metrics, the figures follow a change of the
 * sources (live polling), and a screenshot is saved. Skips when chromium is missing.
 */
import t from 'tap'
import { existsSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { ApiServer } from '../../src/api/index.js'
import { createMetrics } from '../../src/metrics/index.js'
import { fixtureApi, fixtureBundles, fixtureSources, groundTruth, parseProm } from '../unit/api/fixture.js'

const CHROMIUM = '/usr/bin/chromium'

if (!existsSync(CHROMIUM)) {
  t.comment(`skipping: ${CHROMIUM} is missing (apt-get install chromium)`)
  t.pass('skipped: no chromium')
} else {
  t.test('dashboard heat map equals the availability data and the metrics', async t => {
    const { chromium } = await import('playwright-core')
    const bundles = fixtureBundles()
    const api = fixtureApi(bundles)
    const server = new ApiServer({ token: 'dashboard-test-token-0123', port: 0, ...api, metrics: createMetrics(new Registry(), fixtureSources(bundles)) })
    await server.start()
    t.teardown(async () => await server.stop())
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      timeout: 60_000
    })
    t.teardown(async () => await browser.close())
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } })
    const external: string[] = []
    page.on('request', r => { if (!r.url().startsWith(server.url)) external.push(r.url()) })
    await page.goto(server.url + '/', { timeout: 30_000 })
    await page.waitForSelector('.cell[data-held]', { timeout: 30_000 })

    const metrics = parseProm(await (await fetch(server.url + '/metrics')).text())
    for (const b of bundles) {
      const cells = await page.$$eval(`.cell[data-bundle="${b.bundleId}"]`, els => els.map(e => ({
        peer: (e as HTMLElement).dataset.peer!, chunk: Number((e as HTMLElement).dataset.chunk), held: (e as HTMLElement).dataset.held === '1'
      })))
      const n = b.local.length
      const peers = Object.keys(b.peers)
      t.equal(cells.length, n * (peers.length + 1), `${b.name}: one cell per chunk and holder`)
      let mismatches = 0
      for (const c of cells) {
        const truth = c.peer === 'self' ? b.local[c.chunk] : b.peers[c.peer]?.[c.chunk]
        if (truth !== c.held) mismatches++
      }
      t.equal(mismatches, 0, `${b.name}: every cell matches the have-sets`)
      // copies per chunk from the page's cells equal min copies in /metrics
      const copies = Array.from({ length: n }, (_, i) => cells.filter(c => c.chunk === i && c.held).length)
      const g = groundTruth(b)
      t.same(copies, g.copies)
      t.equal(Math.min(...copies), metrics.get(`storemesh_chunk_min_copies{bundle="${b.bundleId}"}`), `${b.name}: min copies from the heat map = /metrics`)
      const fig = await page.$eval(`section[data-bundle="${b.bundleId}"] [data-fig="minCopies"]`, e => Number(e.textContent))
      t.equal(fig, g.minCopies)
      const completeOnPage = await page.$$eval(`.progress[data-bundle="${b.bundleId}"]`, els => els.filter(e => (e as HTMLElement).dataset.held === (e as HTMLElement).dataset.total).length)
      t.equal(completeOnPage, metrics.get(`storemesh_bundle_devices_complete{bundle="${b.bundleId}"}`), `${b.name}: complete devices`)
    }
    const waveRow = await page.$eval('#ledger tr[data-wave="142"]', e => ({
      pending: Number(e.querySelector('[data-state="pending"]')!.textContent), text: e.textContent ?? ''
    }))
    t.equal(waveRow.pending, metrics.get('storemesh_wave_devices{state="pending",wave="142"}'))
    t.match(waveRow.text, /paused/)

    // live: a peer gets the rarest chunk of bundle B; the page follows within a few polls
    const b = bundles[1]!
    const g0 = groundTruth(b)
    const rarest = g0.copies.indexOf(g0.minCopies)
    const peer = Object.keys(b.peers).find(p => b.peers[p]![rarest] !== true)!
    b.peers[peer]![rarest] = true
    const sel = `.cell[data-bundle="${b.bundleId}"][data-peer="${peer}"][data-chunk="${rarest}"][data-held="1"]`
    await page.waitForSelector(sel, { timeout: 15_000 })
    const after = parseProm(await (await fetch(server.url + '/metrics')).text())
    const minNow = await page.$eval(`section[data-bundle="${b.bundleId}"] [data-fig="minCopies"]`, e => Number(e.textContent))
    t.equal(minNow, after.get(`storemesh_chunk_min_copies{bundle="${b.bundleId}"}`), 'after the change, page and /metrics agree')
    t.equal(minNow, groundTruth(b).minCopies)

    const dir = await mkdtemp(join(tmpdir(), 'storemesh-dashboard-'))
    const shot = join(dir, 'dashboard.png')
    await page.screenshot({ path: shot, fullPage: true })
    t.ok(existsSync(shot))
    t.comment(`screenshot: ${shot}`)
    console.log(`dashboard screenshot: ${shot}`)
    t.same(external, [], 'the page loads nothing from outside the hub')
  })
}
