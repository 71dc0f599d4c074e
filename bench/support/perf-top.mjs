// The top self-time frames of each kind of daemon, from `perf script` output (issue #19's
// closing note asks for them before and after). On-CPU samples only, every thread.
//
//   perf script -i run.data -F comm,pid,tid,ip,sym,dso | node bench/support/perf-top.mjs hub=<pid> dev=<pid>,<pid>… [--top 12] [--incl <regexp>]
//
// Prints per role: samples, the share on helper threads, the top frames by self time
// (JS frames keep their file:line, without the node_modules prefix), and with --incl the
// share of samples whose stack holds a frame matching the regexp (inclusive time).
// Not product code.
import { createInterface } from 'node:readline'

const roles = new Map()
let top = 12
const incl = []
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]
  if (a === '--top') top = Number(argv[++i])
  else if (a === '--incl') incl.push(new RegExp(argv[++i]))
  else {
    const [role, pids] = a.split('=')
    for (const p of (pids ?? '').split(',').filter(Boolean)) roles.set(p, role)
  }
}

const stats = new Map()
const statsOf = (role) => {
  let s = stats.get(role)
  if (s === undefined) {
    s = { total: 0, helpers: 0, self: new Map(), incl: incl.map(() => 0) }
    stats.set(role, s)
  }
  return s
}
const shorten = (sym) => sym
  .replace(/file:\/\/\/\S*node_modules\//, '')
  .replace(/file:\/\/\/\S*\/(dist|src)\//, '$1/')
  .replace(/^JS:/, '')

let head
let frames = []
const flush = () => {
  if (head === undefined || frames.length === 0) return
  const role = roles.get(head.pid)
  if (role === undefined) return
  const s = statsOf(role)
  s.total++
  if (head.pid !== head.tid) s.helpers++
  const self = shorten(frames[0])
  s.self.set(self, (s.self.get(self) ?? 0) + 1)
  incl.forEach((re, i) => { if (frames.some(f => re.test(f))) s.incl[i]++ })
}
const rl = createInterface({ input: process.stdin })
rl.on('line', line => {
  if (/^\S/.test(line)) {
    flush()
    const m = /^\S+\s+(\d+)\/(\d+)/.exec(line)
    head = m === null ? undefined : { pid: m[1], tid: m[2] }
    frames = []
    return
  }
  const m = /^\s+[0-9a-f]+\s+(.*) \((\S*)\)\s*$/.exec(line)
  if (m !== null) frames.push(m[1])
})
rl.on('close', () => {
  flush()
  for (const [role, s] of stats) {
    const pct = (n) => `${(100 * n / s.total).toFixed(1).padStart(5)}%`
    console.log(`${role}: ${s.total} samples, ${pct(s.helpers)} on helper threads; top ${top} self frames:`)
    for (const [sym, n] of [...s.self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(n)}  ${sym}`)
    incl.forEach((re, i) => { console.log(`  inclusive ${pct(s.incl[i])}  /${re.source}/`) })
  }
})
