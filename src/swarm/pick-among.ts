/** A scan that picks the best of a few candidates: the picker's second-copy choice (picker.ts). */

/** The candidate among `indices` with the lowest key, ties broken uniformly at random. */
export function pickAmong (indices: Iterable<number>, isCandidate: (i: number) => boolean, key: (i: number) => number, random: () => number): number | undefined {
  let best: number | undefined
  let bestKey = Infinity
  let ties = 0
  for (const i of indices) {
    if (!isCandidate(i)) continue
    const k = key(i)
    if (k < bestKey) {
      best = i
      bestKey = k
      ties = 1
    } else if (k === bestKey && random() * ++ties < 1) {
      best = i
    }
  }
  return best
}
