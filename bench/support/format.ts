/**
 * How the benchmarks print their figures: one spelling for seconds, MiB and a
 * target's verdict, so every bench's table reads the same.
 */
const MiB = 1024 * 1024

export const sec = (ms: number): string => (ms / 1000).toFixed(1) + ' s'
/** min / median / max of `xs`, in seconds */
export const spread = (xs: number[]): string => {
  if (xs.length === 0) return 'none'
  const s = [...xs].sort((a, b) => a - b)
  return `${sec(s[0] as number)} / ${sec(s[Math.floor(s.length / 2)] as number)} / ${sec(s[s.length - 1] as number)}`
}
export const mark = (ok: boolean): string => ok ? 'ok' : 'MISSED'
export const mib = (b: number): string => (b / MiB).toFixed(0) + ' MiB'
