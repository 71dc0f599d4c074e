/**
 * Wave admission: a device is in a wave when the stable hash of (policy name, device id)
 * falls below the wave percentage. The wave number is left out on purpose, so a
 * device admitted at 5 % stays admitted when the same policy widens to 20 %: cohorts
 * only grow. Pure and the same on every peer (BLAKE3 of fixed bytes).
 */
import { blake3Bytes } from '../bundle/hash.js'
import { WAVE_BUCKETS, WAVE_HASH_CONTEXT } from './constants.js'

/** The top 48 bits of the hash, as an exact integer in a double. */
const BUCKET_BITS = 48
const BUCKET_SPACE = 2 ** BUCKET_BITS

/** The device's bucket in [0, WAVE_BUCKETS). */
export function waveBucket (policyName: string, deviceId: string): number {
  // NUL separators: ("ab", "c") and ("a", "bc") must not hash alike.
  const bytes = new TextEncoder().encode(`${WAVE_HASH_CONTEXT}\0${policyName}\0${deviceId}`)
  const h = blake3Bytes(bytes)
  let top = 0
  for (let i = 0; i < BUCKET_BITS / 8; i++) top = top * 256 + (h[i] ?? 0)
  return Math.floor((top / BUCKET_SPACE) * WAVE_BUCKETS)
}

/** Buckets admitted by a percentage (0..100, fractions allowed down to 0.01 %). */
export function admittedBuckets (percentage: number): number {
  return Math.round(Math.min(100, Math.max(0, percentage)) * (WAVE_BUCKETS / 100))
}

export function isAdmitted (policyName: string, deviceId: string, percentage: number): boolean {
  return waveBucket(policyName, deviceId) < admittedBuckets(percentage)
}
