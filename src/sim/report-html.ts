/**
 * The report as one self-contained HTML page: inline SVG plots (no script, no external
 * file), the claims table, every parameter, and the figures of the JSON it is built
 * from (the page shows only what report.json holds).
 */

type J = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

const W = 720
const H = 220
const PAD = 40

function esc (s: unknown): string {
  return String(s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string)
}

function fmt (x: unknown): string {
  if (typeof x === 'number') return Number.isInteger(x) ? x.toLocaleString('en-US') : String(Math.round(x * 1000) / 1000)
  if (typeof x === 'boolean') return x ? 'yes' : 'no'
  if (x !== null && typeof x === 'object') return Object.entries(x).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')
  return String(x)
}

/** Lines over a shared x (index * xStep); y from 0 to the largest value. */
function lineChart (title: string, xLabel: string, yLabel: string, xStep: number, lines: Array<{ name: string, color: string, ys: number[] }>): string {
  const n = Math.max(1, ...lines.map(l => l.ys.length))
  const yMax = Math.max(1e-9, ...lines.flatMap(l => l.ys))
  const x = (i: number): number => PAD + (W - 2 * PAD) * i / Math.max(1, n - 1)
  const y = (v: number): number => H - PAD + (2 * PAD - H) * v / yMax
  const paths = lines.map(l => `<polyline fill="none" stroke="${l.color}" stroke-width="1.5" points="${l.ys.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`).join('')
  const legend = lines.map((l, i) => `<text x="${W - PAD - 220}" y="${PAD + 14 * i}" fill="${l.color}" font-size="12">${esc(l.name)}</text>`).join('')
  return `<figure><figcaption>${esc(title)}</figcaption><svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img">` +
    `<line x1="${PAD}" y1="${H - PAD}" x2="${W - PAD}" y2="${H - PAD}" stroke="#888"/><line x1="${PAD}" y1="${PAD}" x2="${PAD}" y2="${H - PAD}" stroke="#888"/>` +
    `<text x="${PAD}" y="${PAD - 8}" font-size="11">${esc(yLabel)} (max ${fmt(Math.round(yMax * 100) / 100)})</text>` +
    `<text x="${W - PAD}" y="${H - 8}" font-size="11" text-anchor="end">${esc(xLabel)} (0 to ${fmt(Math.round((n - 1) * xStep * 10) / 10)})</text>` +
    paths + legend + '</svg></figure>'
}

function barChart (title: string, bars: Array<[string, number]>, color = '#3b6ea5'): string {
  const rowH = 18
  const h = PAD + rowH * bars.length
  const max = Math.max(1e-9, ...bars.map(b => b[1]))
  const labelW = 260
  const rows = bars.map(([k, v], i) => {
    const w = (W - labelW - 80) * v / max
    const yy = 10 + i * rowH
    return `<text x="${labelW - 6}" y="${yy + 12}" font-size="12" text-anchor="end">${esc(k)}</text>` +
      `<rect x="${labelW}" y="${yy}" width="${w.toFixed(1)}" height="${rowH - 4}" fill="${color}"/>` +
      `<text x="${labelW + w + 4}" y="${yy + 12}" font-size="12">${esc(fmt(v))}</text>`
  }).join('')
  return `<figure><figcaption>${esc(title)}</figcaption><svg width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" role="img">${rows}</svg></figure>`
}

function table (head: string[], rows: unknown[][]): string {
  return `<table><tr>${head.map(h => `<th>${esc(h)}</th>`).join('')}</tr>${rows.map(r => `<tr>${r.map(c => `<td>${esc(fmt(c))}</td>`).join('')}</tr>`).join('')}</table>`
}

export function renderHtml (r: J): string {
  const wan = r.wan
  const lan = r.lan
  const ins = r.install
  const s = r.series
  const ledger = r.ledgerCompleteness as Array<{ hour: number, inLedger: number, withOutcome: number }>
  const body = [
    `<h1>storemesh fleet simulation, seed ${esc(r.seed)}</h1>`,
    `<p>${fmt(r.fleet.stores)} stores, ${fmt(r.fleet.devices)} devices (largest store ${fmt(r.fleet.largestStore)}), ${fmt(r.params.bundleMiB.value)} MiB bundle; ${fmt(r.events)} simulated events; ${fmt(r.rollout.simulatedHours)} simulated hours.</p>`,
    '<h2>The seeds\' claims</h2>',
    table(['claim', 'seeds', 'simulated', 'holds'], (r.claims as J[]).map(c => [c.claim, c.seeds, c.simulated, c.holds])),
    '<h2>WAN</h2>',
    table(['', 'bytes', 'peak Mbit/s', 'done (hours)'], [
      ['storemesh (hub pulls once, LAN swarm)', wan.storemesh.bytes, wan.storemesh.peakMbps, wan.storemesh.hubDoneHours],
      ['hub-only caching (no LAN swarm)', wan.hubOnly.bytes, wan.hubOnly.peakMbps, wan.storemesh.hubDoneHours],
      ['every device pulls from the centre', wan.centre.bytes, wan.centre.peakMbps, wan.centre.storeDoneHours]
    ]),
    `<p>WAN bytes ${fmt(-100 * wan.bytesReductionVsCentre)}% and WAN peak ${fmt(-100 * wan.peakReductionVsCentre)}% against every device pulling from the centre.</p>`,
    lineChart(`WAN egress at the centre, Mbit/s per ${s.binMinutes} min`, 'hours', 'Mbit/s', s.binMinutes / 60, [
      { name: 'every device from the centre', color: '#c0392b', ys: s.centreWanMbps },
      { name: 'storemesh', color: '#2471a3', ys: s.storemeshWanMbps }
    ]),
    '<h2>Makespan</h2>',
    table(['', 'p50', 'p99', 'max', 'stores'], [
      ['store LAN, storemesh swarm (s)', lan.storemeshMakespanSec.p50, lan.storemeshMakespanSec.p99, lan.storemeshMakespanSec.max, lan.storemeshMakespanSec.n],
      ['store LAN, hub-only (s)', lan.hubOnlyMakespanSec.p50, lan.hubOnlyMakespanSec.p99, lan.hubOnlyMakespanSec.max, lan.hubOnlyMakespanSec.n],
      ['store rollout, start to last outcome (h)', r.rollout.storeMakespanHours.p50, r.rollout.storeMakespanHours.p99, r.rollout.storeMakespanHours.max, r.rollout.storeMakespanHours.n]
    ]),
    `<p>Fleet makespan ${fmt(r.rollout.fleetMakespanHours)} h; waves (batches started at, h): ${(r.rollout.waves as Array<{ cls: string, phase: string, batchStartHours: number[] }>).map(w => `${w.cls} ${w.phase} [${w.batchStartHours.join(', ')}]`).join('; ')}. Full-fidelity stores: makespan/bound ${fmt(lan.fullFidelity.ratioToBound)}, hub copies ${fmt(lan.fullFidelity.hubCopies)}, ${fmt(lan.fullFidelity.badChunks)} bad chunks, ${fmt(lan.fullFidelity.bans)} bans.</p>`,
    barChart('store LAN makespan quantiles (s)', [
      ['swarm p50', lan.storemeshMakespanSec.p50], ['swarm p99', lan.storemeshMakespanSec.p99], ['swarm max', lan.storemeshMakespanSec.max],
      ['hub-only p50', lan.hubOnlyMakespanSec.p50], ['hub-only p99', lan.hubOnlyMakespanSec.p99], ['hub-only max', lan.hubOnlyMakespanSec.max]
    ]),
    '<h2>Installs</h2>',
    table(['devices', 'in good-bundle classes', 'committed', 'rolled back', 'refused', 'pending', 'bricked', 'power losses', 'success'], [[
      ins.devices, ins.healthyClassDevices, ins.committed, ins.rolledBack, ins.refused, ins.pending, ins.bricked, ins.powerLosses, ins.successRate
    ]]),
    table(['halted class', 'at hour', 'committed', 'rolled back'], (ins.halts as J[]).map(h => [h.cls, h.atHours, h.committed, h.rolledBack])),
    lineChart('ledger completeness: share of devices whose outcome the super hub holds', 'hours', 'share', 1, [
      { name: 'in the super hub ledger', color: '#117a65', ys: ledger.map(l => l.inLedger) },
      { name: 'outcome on the device', color: '#b9770e', ys: ledger.map(l => l.withOutcome) }
    ]),
    barChart('final outcome by deciding gate (devices)', Object.entries(r.gates.finalDeciding as Record<string, number>)),
    barChart('deferrals by deciding gate (evaluations)', Object.entries(r.gates.deferralsByDecidingGate as Record<string, number>), '#7d3c98'),
    '<h2>Model</h2>',
    `<ul>${Object.entries(r.model as J).filter(([k]) => k !== 'classes').map(([k, v]) => `<li><b>${esc(k)}</b>: ${esc(v)}</li>`).join('')}</ul>`,
    table(['device class', 'LAN up B/s', 'LAN down B/s', 'battery', 'bad bundle'], (r.model.classes as J[]).map(c => [c.name, c.upBps, c.downBps, c.battery, c.badBundle])),
    '<h2>Parameters</h2>',
    table(['flag', 'value', 'default', 'unit', 'source', 'meaning'], Object.values(r.params as J).map((x: J) => [x.flag, x.value, x.default, x.unit, x.source, x.doc]))
  ].join('\n')
  return '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>storemesh fleet simulation</title>' +
    '<style>body{font:14px system-ui,sans-serif;max-width:900px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0}' +
    'td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}figure{margin:1em 0}figcaption{font-weight:600}</style>' +
    `</head><body>${body}</body></html>\n`
}
