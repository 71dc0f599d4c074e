/** `storemesh demo`: the store in a box on its embedded defaults (README's main command). */
import type { Register } from './commands.js'
import { action } from './context.js'
import { formatTable, humanBytes, printJson } from './output.js'
import { runDemo, type DemoSummary } from '../roles/demo/run.js'

function printSummary (s: DemoSummary): void {
  const out: string[] = ['', '== storemesh demo summary ==']
  for (const b of s.bundles) out.push(`bundle pos-os ${b.version}  ${b.id}  ${b.chunks} chunks  ${humanBytes(b.bytes)}`)
  const pct = (100 * s.delta.newBytes / s.delta.v2Bytes).toFixed(1)
  out.push(`v2 delta: ${s.delta.newChunks} new chunks, ${humanBytes(s.delta.newBytes)} of ${humanBytes(s.delta.v2Bytes)} (${pct}%); ${s.delta.sharedChunks} chunks reused from v1`)
  for (const r of s.rounds) {
    out.push('', `pos-os ${r.version}:`)
    out.push(formatTable(['device', 'expected', 'exit', 'outcome and deciding gate'],
      r.devices.map(d => [d.id, d.expect, String(d.exitCode), d.line])))
  }
  out.push('', `elapsed ${(s.elapsedMs / 1000).toFixed(1)} s`)
  process.stdout.write(out.join('\n') + '\n')
}

export const register: Register = (program, ctx) => {
  program.command('demo')
    .description('run the store-in-a-box demo: build v1 and v2, decide per device, install A/B, show the v2 delta')
    .option('--dir <path>', 'work dir (default: a new temp dir)')
    .option('--keep', 'leave the work dir in place to explore')
    .option('--image-mib <n>', 'sample image size in MiB', '24')
    .option('--json', 'print the summary as JSON')
    .action(action(ctx, async (opts: { dir?: string, keep?: boolean, imageMib: string, json?: boolean }) => {
      const mib = Number(opts.imageMib)
      const summary = await runDemo({
        ...(opts.dir !== undefined ? { workDir: opts.dir } : {}),
        keep: opts.keep === true,
        imageBytes: Math.max(1, mib) * 1024 * 1024,
        log: opts.json === true ? () => {} : line => { process.stdout.write(line + '\n') }
      })
      if (opts.json === true) printJson(summary)
      else printSummary(summary)
      const unexpected = summary.rounds.flatMap(r => r.devices).filter(d => d.exitCode === null || d.result === 'error')
      return unexpected.length > 0 ? 1 : 0
    }))
}
