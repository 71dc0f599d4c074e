import t, { type Test } from 'tap'
import { request } from 'node:http'
import { networkInterfaces } from 'node:os'
import { Registry } from 'prom-client'
import { ApiServer, loadOrCreateApiToken, readApiToken, tokenMatches, MAX_BODY_BYTES } from '../../../src/api/index.js'
import { createMetrics } from '../../../src/metrics/index.js'
import { fixtureApi, fixtureBundles, fixtureSources, groundTruth, parseProm } from './fixture.js'
import { stat } from 'node:fs/promises'

const TOKEN = 'test-token-0123456789abcdef'

async function startServer (t: Test, extra: Partial<ConstructorParameters<typeof ApiServer>[0]> = {}) {
  const api = fixtureApi()
  const server = new ApiServer({ token: TOKEN, port: 0, ...api, metrics: createMetrics(new Registry(), fixtureSources()), ...extra })
  await server.start()
  t.teardown(async () => await server.stop())
  return { server, api }
}

async function call (url: string, method: string, path: string, opts: { token?: string, body?: unknown, raw?: string } = {}): Promise<{ status: number, json: any, text: string, headers: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`
  const body = opts.raw ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined)
  const init: RequestInit = { method, headers, signal: AbortSignal.timeout(10_000) }
  if (body !== undefined) init.body = body
  const res = await fetch(url + path, init)
  const text = await res.text()
  let json: any
  try { json = JSON.parse(text) } catch {}
  const h: Record<string, string> = {}
  res.headers.forEach((v, k) => { h[k] = v })
  return { status: res.status, json, text, headers: h }
}

t.test('binds 127.0.0.1 by default, another host only when told', async t => {
  const { server } = await startServer(t)
  t.equal(server.address().address, '127.0.0.1')
  t.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  // told: bind the wildcard (v4), i.e. beyond loopback
  const { server: wide } = await startServer(t, { host: '0.0.0.0' })
  t.equal(wide.address().address, '0.0.0.0')
  const lan = Object.values(networkInterfaces()).flat().find(i => i !== undefined && i.family === 'IPv4' && !i.internal)
  if (lan !== undefined) {
    const r = await call(`http://${lan.address}:${wide.address().port}`, 'GET', '/api/status')
    t.equal(r.status, 200, `reachable on ${lan.address} when told`)
    const refused = await fetch(`http://${lan.address}:${server.address().port}/api/status`, { signal: AbortSignal.timeout(5000) }).then(() => 'answered', () => 'refused')
    t.equal(refused, 'refused', 'the default server does not answer on the LAN address')
  } else t.comment('no non-loopback IPv4 interface: LAN reachability not checked')
})

t.test('writes need the token: missing and wrong refused with 401, right accepted', async t => {
  const { server, api } = await startServer(t)
  const writes: Array<[string, string, unknown]> = [
    ['POST', '/api/waves/142/start', { cohort: 'retail-us-midwest' }],
    ['POST', '/api/waves/142/pause', { reason: 'scanner issue' }],
    ['POST', '/api/devices/pos-17/rollback', { reason: 'screen flicker' }],
    ['POST', '/api/prefetch', { policy: 'apiVersion: storemesh/v1' }],
    ['PUT', '/api/waves/142/start', {}],
    ['DELETE', '/api/waves/142', undefined],
    ['POST', '/api/nowhere', {}]
  ]
  for (const [method, path, body] of writes) {
    for (const token of [undefined, 'wrong-token-0123456789abcdef', TOKEN.slice(0, -1), TOKEN + 'x']) {
      const r = await call(server.url, method, path, { ...(token !== undefined ? { token } : {}), body })
      t.equal(r.status, 401, `${method} ${path} token=${token ?? 'none'}`)
      t.equal(r.json?.error?.code, 'E_UNAUTHORIZED')
    }
  }
  t.equal(api.calls.length, 0, 'no handler ran without the token')
  const ok = await call(server.url, 'POST', '/api/waves/142/start', { token: TOKEN, body: { cohort: 'retail-us-midwest' } })
  t.equal(ok.status, 200)
  t.same(ok.json, { changed: true, wave: '142' })
  t.same(api.calls[0], { what: 'start', id: '142', body: { cohort: 'retail-us-midwest' } })
  const again = await call(server.url, 'POST', '/api/waves/142/start', { token: TOKEN, body: { cohort: 'retail-us-midwest' } })
  t.equal(again.json.changed, false, 'idempotent: the second start changes nothing')
  const rb = await call(server.url, 'POST', '/api/devices/pos-17/rollback', { token: TOKEN, body: { reason: 'flicker' } })
  t.same(rb.json, { changed: true, device: 'pos-17' })
  // reads are open
  t.equal((await call(server.url, 'GET', '/api/status')).status, 200)
})

t.test('bodies: oversize 413, bad JSON and bad fields 400', async t => {
  const { server, api } = await startServer(t)
  const big = JSON.stringify({ reason: 'x'.repeat(MAX_BODY_BYTES + 10) })
  const r = await call(server.url, 'POST', '/api/waves/142/pause', { token: TOKEN, raw: big })
  t.equal(r.status, 413)
  t.equal(r.json.error.code, 'E_REQUEST_TOO_LARGE')
  // streamed without Content-Length: cut off at the limit
  const streamed = await new Promise<number>((resolve, reject) => {
    const u = new URL(server.url)
    const req = request({ host: u.hostname, port: u.port, path: '/api/waves/142/pause', method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'transfer-encoding': 'chunked' } }, res => { res.resume(); resolve(res.statusCode ?? 0) })
    req.on('error', reject)
    const piece = Buffer.alloc(16 * 1024, 0x61)
    for (let i = 0; i < 5; i++) req.write(piece)
    req.end()
  })
  t.equal(streamed, 413)
  t.equal((await call(server.url, 'POST', '/api/waves/142/pause', { token: TOKEN, raw: '{not json' })).status, 400)
  const missing = await call(server.url, 'POST', '/api/waves/142/pause', { token: TOKEN, body: {} })
  t.equal(missing.status, 400)
  t.equal(missing.json.error.code, 'E_INVALID_ARGUMENT')
  t.equal((await call(server.url, 'POST', '/api/waves/142/pause', { token: TOKEN, body: { reason: 'x', extra: 1 } })).status, 400, 'unknown fields refused')
  t.equal((await call(server.url, 'POST', '/api/waves/..%2F..%2Fetc/pause', { token: TOKEN, body: { reason: 'x' } })).status, 400, 'bad wave id')
  t.equal((await call(server.url, 'POST', '/api/devices/pos%20with%20space/rollback', { token: TOKEN, body: { reason: 'x' } })).status, 400)
  t.equal(api.calls.length, 0)
  t.equal((await call(server.url, 'GET', '/api/cache?limit=0')).status, 400)
  t.equal((await call(server.url, 'GET', '/api/cache?limit=abc')).status, 400)
  t.equal((await call(server.url, 'GET', '/api/nothing')).status, 404)
  const wrongMethod = await call(server.url, 'GET', '/api/waves/142/start')
  t.equal(wrongMethod.status, 405)
})

t.test('reads: status, bundles, cache limit, peers, ledger, availability, metrics, dashboard', async t => {
  const { server } = await startServer(t)
  t.equal((await call(server.url, 'GET', '/api/status')).json.role, 'hub')
  t.equal((await call(server.url, 'GET', '/api/bundles')).json.bundles.length, 2)
  const cache = await call(server.url, 'GET', '/api/cache?limit=1')
  t.equal(cache.json.entries.length, 1)
  t.equal(cache.json.total, 2)
  t.equal((await call(server.url, 'GET', '/api/peers')).json.peers.length, 4)
  t.equal((await call(server.url, 'GET', '/api/ledger')).json.waves[1].waveId, '142')
  const av = (await call(server.url, 'GET', '/api/availability')).json
  const bundles = fixtureBundles()
  const metrics = parseProm((await call(server.url, 'GET', '/metrics')).text)
  for (const [i, b] of bundles.entries()) {
    const v = av.bundles[i]
    const g = groundTruth(b)
    t.equal(v.bundleId, b.bundleId)
    t.equal(v.minCopies, g.minCopies)
    t.equal(v.minCopies, metrics.get(`storemesh_chunk_min_copies{bundle="${b.bundleId}"}`))
    t.same(v.copies, g.copies)
    t.equal(v.rows[0].peerId, 'self')
    t.equal(v.rows[0].have, b.local.map(h => h ? '1' : '0').join(''))
    for (const row of v.rows.slice(1)) t.equal(row.have, b.peers[row.peerId]!.map(h => h ? '1' : '0').join(''), `row of ${row.peerId}`)
  }
  const win = (await call(server.url, 'GET', `/api/availability?bundle=${bundles[0]!.bundleId}&from=5&count=3`)).json
  t.equal(win.bundles.length, 1)
  t.same(win.bundles[0].copies, groundTruth(bundles[0]!).copies.slice(5, 8))
  t.equal(win.bundles[0].rows[1].have.length, 3)
  const page = await call(server.url, 'GET', '/')
  t.match(page.headers['content-type'], /text\/html/)
  t.match(page.text, /data-chunk/)
  t.notMatch(page.text, /https?:\/\/(?!127)/, 'no external resources')
})

t.test('a failing source answers 500 without its message, a typed error keeps its code', async t => {
  const api = fixtureApi()
  const errors: unknown[] = []
  const server = new ApiServer({
    token: TOKEN, port: 0, ...api,
    sources: { ...api.sources, peers: () => { throw new Error('secret path /var/lib/x') } },
    handlers: { ...api.handlers, startWave: async () => { const { StoremeshError } = await import('../../../src/interface/errors.js'); throw new StoremeshError('E_CONFLICT', 'wave 142 is halted') } },
    onError: err => { errors.push(err) }
  })
  await server.start()
  t.teardown(async () => await server.stop())
  const r = await call(server.url, 'GET', '/api/peers')
  t.equal(r.status, 500)
  t.equal(r.json.error.code, 'E_INTERNAL')
  t.notMatch(r.text, /secret/)
  t.equal(errors.length, 1)
  const c = await call(server.url, 'POST', '/api/waves/142/start', { token: TOKEN, body: { cohort: 'a' } })
  t.equal(c.status, 409)
  t.equal(c.json.error.code, 'E_CONFLICT')
})

t.test('token file and comparison', async t => {
  const dir = t.testdir({})
  t.equal(await readApiToken(dir), undefined)
  const tok = await loadOrCreateApiToken(dir)
  t.match(tok, /^[0-9a-f]{64}$/)
  t.equal(await loadOrCreateApiToken(dir), tok, 'kept across restarts')
  t.equal((await stat(`${dir}/api-token`)).mode & 0o777, 0o600)
  t.ok(tokenMatches(tok, tok))
  t.notOk(tokenMatches(undefined, tok))
  t.notOk(tokenMatches(tok.slice(1), tok))
  t.throws(() => new ApiServer({ token: '', port: 0, ...fixtureApi() }), { code: 'E_INVALID_ARGUMENT' })
})

/** One raw request with a Host header of our choosing (fetch will not let us set it). */
async function withHost (url: string, path: string, host: string | undefined): Promise<{ status: number, json: any }> {
  return await new Promise((resolve, reject) => {
    const u = new URL(url)
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET', setHost: false, headers: host !== undefined ? { host } : {} }, res => {
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.on('end', () => {
        let json: any
        try { json = JSON.parse(Buffer.concat(parts).toString('utf8')) } catch {}
        resolve({ status: res.statusCode ?? 0, json })
      })
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('a Host header naming another server is refused with 421 (DNS rebinding)', async t => {
  const { server, api } = await startServer(t, { hostNames: ['hub-17.store.lan'] })
  const port = server.address().port
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`, `hub-17.store.lan:${port}`]) {
    t.equal((await withHost(server.url, '/api/status', host)).status, 200, `answers to ${host}`)
  }
  for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1:${port + 1}`, '127.0.0.1', `localhost.evil.example:${port}`, `hub-17.store.lan.evil:${port}`]) {
    const r = await withHost(server.url, '/api/status', host)
    t.equal(r.status, 421, `refuses ${host}`)
    t.equal(r.json?.error?.code, 'E_MISDIRECTED_REQUEST')
  }
  // HTTP/1.1 without Host: Node itself refuses it (requireHostHeader) before we see it
  t.equal((await withHost(server.url, '/api/status', undefined)).status, 400, 'no Host: refused')
  // a write with the right token but a foreign Host runs nothing
  const w = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/waves/1/start', method: 'POST', setHost: false, headers: { host: `evil.example:${port}`, authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } }, res => { res.resume(); resolve(res.statusCode ?? 0) })
    req.on('error', reject)
    req.end('{"cohort":"x"}')
  })
  t.equal(w, 421)
  t.equal(api.calls.length, 0, 'no handler ran')
})

t.test('a connection that trickles its headers is closed; an idle kept-alive one too', async t => {
  const { createConnection } = await import('node:net')
  const { server } = await startServer(t, { timeouts: { headersTimeoutMs: 500, keepAliveTimeoutMs: 500, checkIntervalMs: 100 } })
  const port = server.address().port
  const open = async (): Promise<{ closedAfterMs: Promise<number>, sock: import('node:net').Socket, data: Buffer[] }> => {
    const sock = createConnection({ host: '127.0.0.1', port })
    await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject) })
    const started = Date.now()
    const data: Buffer[] = []
    sock.on('data', (c: Buffer) => data.push(c))
    sock.on('error', () => {})
    const closedAfterMs = new Promise<number>(resolve => sock.once('close', () => resolve(Date.now() - started)))
    return { closedAfterMs, sock, data }
  }
  // slowloris: one header line every 200 ms, never the blank line
  const slow = await open()
  let n = 0
  slow.sock.write(`GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`)
  const drip = setInterval(() => { if (!slow.sock.destroyed) slow.sock.write(`x-drip-${n++}: 1\r\n`) }, 200)
  const slowMs = await Promise.race([slow.closedAfterMs, new Promise<number>(resolve => setTimeout(() => resolve(-1), 15_000))])
  clearInterval(drip)
  t.ok(slowMs > 0, `closed after ${slowMs} ms although it kept sending`)
  t.match(Buffer.concat(slow.data).toString('latin1'), /^(HTTP\/1\.1 408|)/, 'at most a 408, never an answer')
  // idle after one answered request on a kept-alive connection
  const idle = await open()
  idle.sock.write(`GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n`)
  const idleMs = await Promise.race([idle.closedAfterMs, new Promise<number>(resolve => setTimeout(() => resolve(-1), 15_000))])
  t.ok(idleMs > 0, `idle connection closed after ${idleMs} ms`)
  t.match(Buffer.concat(idle.data).toString('latin1'), /^HTTP\/1\.1 200/, 'the request was answered first')
})
