/**
 * The fleet dashboard page (GET / on the super hub's API): waves with their batches and
 * progress, stores with their state, availability and outcome counts, and halts. One
 * self-contained page (no build step, nothing fetched from outside the super hub),
 * kept as a string in this module so the bundled CLI needs no file beside it. It polls
 * /api/waves, /api/stores and /api/halts every second and renders each answer as it
 * came; each figure carries a data attribute naming where in the answer it is from,
 * and the body the `atMs` of the answers rendered (test/integration/fleet-dashboard.test.ts
 * compares them).
 */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>storemesh fleet</title>
<style>
  :root { --ok: #2e8b57; --missing: #d8dde3; --ink: #1c2430; --muted: #5f6b7a; }
  body { font: 14px/1.4 system-ui, sans-serif; color: var(--ink); margin: 16px 24px; background: #fafbfc; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  h2 { font-size: 16px; margin: 24px 0 8px; }
  .muted { color: var(--muted); }
  table { border-collapse: collapse; background: #fff; margin-bottom: 8px; }
  th, td { border: 1px solid #e3e7ec; padding: 4px 10px; text-align: right; }
  th:first-child, td:first-child { text-align: left; }
  td.text { text-align: left; }
  .bar { display: inline-block; width: 120px; height: 10px; background: var(--missing); border-radius: 5px; overflow: hidden; vertical-align: middle; }
  .bar > div { height: 100%; background: var(--ok); }
  .paused { color: #b26b00; } .halted { color: #b00020; font-weight: 600; }
  #error { color: #b00020; }
</style>
</head>
<body>
<h1>storemesh fleet</h1>
<div class="muted">waves, stores and halts from the fleet ledger, refreshed every second · <span id="updated">loading…</span> <span id="error"></span></div>

<h2>Waves</h2>
<table id="waves">
  <thead><tr><th>wave</th><th>state</th><th>batch</th><th>stores</th><th>updated</th><th>rolled back</th><th>failed</th><th>pending</th><th>blocked</th><th>total</th><th>rollback ratio</th><th>halt at</th><th>progress</th></tr></thead>
  <tbody></tbody>
</table>

<h2>Batches</h2>
<table id="batches">
  <thead><tr><th>wave</th><th>batch</th><th>state</th><th>stores</th><th>not before</th><th>healthy at</th></tr></thead>
  <tbody></tbody>
</table>

<h2>Stores</h2>
<div class="muted" id="stores-more"></div>
<table id="stores">
  <thead><tr><th>store</th><th>wave</th><th>state</th><th>batch</th><th>updated</th><th>rolled back</th><th>failed</th><th>pending</th><th>blocked</th><th>total</th><th>availability (chunks held / bundle)</th><th>last report</th></tr></thead>
  <tbody></tbody>
</table>

<h2>Halts</h2>
<table id="halts">
  <thead><tr><th>wave</th><th>source</th><th>by</th><th>at</th><th>reason</th><th>cleared</th></tr></thead>
  <tbody></tbody>
</table>

<script>
'use strict'
const POLL_MS = 1000

function esc (s) {
  return String(s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c])
}
function short (id) { return id.length > 16 ? id.slice(0, 11) + '…' + id.slice(-4) : id }
function time (ms) { return ms == null ? '–' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19) }
function td (fig, value, cls) { return '<td data-fig="' + fig + '"' + (cls ? ' class="' + cls + '"' : '') + '>' + esc(value) + '</td>' }
function pct (r) { return r == null ? '–' : (100 * r).toFixed(1) + '%' }
function counts (c) {
  return td('updated', c.updated) + td('rolledBack', c.rolledBack) + td('failed', c.failed) + td('pending', c.pending) + td('blocked', c.blocked) + td('total', c.total)
}
function stateCell (fig, state) {
  const cls = state === 'halted' ? 'text halted' : state === 'paused' ? 'text paused' : 'text'
  return td(fig, state, cls)
}

function renderWaves (view) {
  const rows = []
  const batches = []
  for (const w of view.waves) {
    const p = w.progress
    rows.push('<tr data-wave="' + esc(w.waveId) + '"><td data-fig="waveId">' + esc(w.waveId) + '</td>' + stateCell('state', w.state) +
      td('currentBatch', w.currentBatch == null ? '–' : w.currentBatch) + td('stores', w.stores) + counts(w.counts) +
      td('rollbackRatio', pct(w.rollbackRatio)) + td('haltOnRollbackRatio', pct(w.haltOnRollbackRatio)) +
      '<td><span class="bar"><div style="width:' + Math.floor(100 * p.updatedRatio) + '%"></div></span> <span data-fig="updatedRatio">' + pct(p.updatedRatio) + '</span></td></tr>')
    for (const b of w.batches) {
      batches.push('<tr data-wave="' + esc(w.waveId) + '" data-batch="' + b.batchNo + '"><td>' + esc(w.waveId) + '</td>' + td('batchNo', b.batchNo) +
        stateCell('state', b.state) + td('stores', b.stores) + td('notBeforeMs', time(b.notBeforeMs)) + td('healthyMs', time(b.healthyMs)) + '</tr>')
    }
  }
  document.querySelector('#waves tbody').innerHTML = rows.join('') || '<tr><td colspan="13" class="muted">no waves</td></tr>'
  document.querySelector('#batches tbody').innerHTML = batches.join('') || '<tr><td colspan="6" class="muted">no batches planned</td></tr>'
}

function renderStores (view) {
  const rows = []
  for (const s of view.stores) {
    const avail = s.availability.map(a =>
      '<span data-bundle="' + esc(a.bundleId) + '" data-held="' + a.heldChunks + '" data-pieces="' + a.pieceCount + '" title="' + esc(a.bundleId) + '">' +
      esc(short(a.bundleId)) + ' ' + a.heldChunks + '/' + a.pieceCount + '</span>').join('<br>')
    const waves = s.waves.length > 0 ? s.waves : [null]
    for (const w of waves) {
      rows.push('<tr data-store="' + esc(s.hubId) + '"' + (w ? ' data-wave="' + esc(w.waveId) + '"' : '') + '><td data-fig="hubId">' + esc(s.hubId) + '</td>' +
        (w ? td('waveId', w.waveId, 'text') + stateCell('state', w.state) + td('batchNo', w.batchNo == null ? '–' : w.batchNo) + counts(w.counts)
          : '<td colspan="9" class="muted">in no wave</td>') +
        '<td class="text avail">' + (avail || '<span class="muted">nothing held</span>') + '</td>' + td('lastReportMs', time(s.lastReportMs)) + '</tr>')
    }
  }
  document.querySelector('#stores tbody').innerHTML = rows.join('') || '<tr><td colspan="12" class="muted">no stores</td></tr>'
  document.getElementById('stores-more').textContent = view.next ? 'the first ' + view.stores.length + ' stores; the rest from /api/stores?after=' + view.next : ''
}

function renderHalts (view) {
  const rows = view.halts.map(h => '<tr data-order="' + esc(h.orderId) + '" data-wave="' + esc(h.waveId) + '"><td data-fig="waveId">' + esc(h.waveId) + '</td>' +
    td('source', h.source, 'text') + td('issuedBy', h.issuedBy, 'text') + td('issuedAtMs', time(h.issuedAtMs)) + td('reason', h.reason, 'text') +
    td('cleared', h.cleared ? 'resumed since' : 'in force', h.cleared ? 'text' : 'text halted') + '</tr>')
  document.querySelector('#halts tbody').innerHTML = rows.join('') || '<tr><td colspan="6" class="muted">no halts</td></tr>'
}

async function getJson (path) {
  const res = await fetch(path, { cache: 'no-store' })
  if (!res.ok) {
    let why = 'HTTP ' + res.status
    try { why = (await res.json()).error.message } catch {}
    throw new Error(path + ': ' + why)
  }
  return await res.json()
}

let polls = 0
async function poll () {
  try {
    const [waves, stores, halts] = await Promise.all([getJson('/api/waves'), getJson('/api/stores'), getJson('/api/halts')])
    renderWaves(waves)
    renderStores(stores)
    renderHalts(halts)
    polls++
    const d = document.body.dataset
    d.wavesAt = String(waves.atMs)
    d.storesAt = String(stores.atMs)
    d.haltsAt = String(halts.atMs)
    d.polls = String(polls)
    document.getElementById('updated').textContent = 'updated ' + new Date(waves.atMs).toLocaleTimeString()
    document.getElementById('error').textContent = ''
  } catch (err) {
    document.getElementById('error').textContent = String(err.message || err)
  } finally {
    setTimeout(poll, POLL_MS)
  }
}
poll()
</script>
</body>
</html>
`

export function fleetDashboardHtml (): string {
  return PAGE
}
