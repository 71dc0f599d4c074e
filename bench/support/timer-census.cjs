/**
 * Wake-up census for an idle daemon (issue 19): preload with
 * `node --require bench/support/timer-census.cjs …` (bench:lan `--node-args`), set
 * TIMER_CENSUS_DIR. Every timer callback is counted, with the CPU it took, by the
 * place that armed it (first frames outside node:internal and this file). On SIGUSR2
 * the counts since the last dump go to <dir>/<pid>.json and restart from zero, so a
 * bench can dump once when idle begins and once at its end. Each dump also carries the
 * process's memory at that moment (issue 19, "where do an idle device's MiB go"):
 * process.memoryUsage() and V8's heap spaces (used and committed), in KiB. Not product code.
 */
'use strict'
const { writeFileSync } = require('node:fs')
const { join } = require('node:path')
const v8 = require('node:v8')

const kib = n => Math.round(n / 1024)
const memoryNow = () => ({
  usage: Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, kib(v)])),
  heapSpaces: Object.fromEntries(v8.getHeapSpaceStatistics().map(s => [s.space_name, { used: kib(s.space_used_size), committed: kib(s.physical_space_size) }])),
  code: (({ code_and_metadata_size: c, bytecode_and_metadata_size: b, external_script_source_size: src }) => ({ codeAndMetadata: kib(c), bytecodeAndMetadata: kib(b), externalScriptSource: kib(src) }))(v8.getHeapCodeStatistics())
})

const dir = process.env.TIMER_CENSUS_DIR
if (dir !== undefined && dir !== '') {
  /** site -> { fired, cpuUs } */
  let census = new Map()
  const siteOf = () => {
    const lines = (new Error().stack ?? '').split('\n').slice(2)
    return lines.filter(l => !l.includes('timer-census') && !l.includes('node:internal') && !l.includes('(node:')).slice(0, 4).map(l => l.trim()).join(' < ')
  }
  const wrap = (fn, site) => function (...a) {
    const t0 = process.cpuUsage()
    try { return fn.apply(this, a) } finally {
      const d = process.cpuUsage(t0)
      const e = census.get(site) ?? { fired: 0, cpuUs: 0 }
      e.fired++
      e.cpuUs += d.user + d.system
      census.set(site, e)
    }
  }
  for (const name of ['setTimeout', 'setInterval', 'setImmediate']) {
    const orig = globalThis[name]
    globalThis[name] = function (fn, ...rest) {
      if (typeof fn !== 'function') return orig.call(this, fn, ...rest)
      return orig.call(this, wrap(fn, `${name} ${siteOf()}`), ...rest)
    }
  }
  let since = Date.now()
  let cpuSince = process.cpuUsage()
  process.on('SIGUSR2', () => {
    const cpu = process.cpuUsage(cpuSince)
    const rows = [...census.entries()].map(([site, e]) => ({ site, ...e })).sort((a, b) => b.cpuUs - a.cpuUs)
    writeFileSync(join(dir, `${process.pid}-${Date.now()}.json`), JSON.stringify({ pid: process.pid, argv: process.argv.slice(2, 3), ms: Date.now() - since, cpuUs: cpu.user + cpu.system, memoryKiB: memoryNow(), rows }, null, 1))
    census = new Map()
    since = Date.now()
    cpuSince = process.cpuUsage()
  })
}
