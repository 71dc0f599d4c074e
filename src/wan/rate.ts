/**
 * Rates as operators write them: `5MiB/s`, `40Mbit`, `40Mbit/s`, `512KiB/s`,
 * `1.5MB/s`, `0` (paused), `unlimited`. Everything inside the WAN tier is integer
 * bytes per second; `Infinity` means no limit.
 *
 * Grammar: a decimal number, optional spaces, a unit, an optional `/s`.
 * Units: `B`, `kB` `MB` `GB` `TB` (powers of 1000), `KiB` `MiB` `GiB` `TiB` (powers of
 * 1024), `bit`, `kbit` `Mbit` `Gbit` `Tbit` and `Kibit` `Mibit` `Gibit` (bits, / 8).
 * Prefix letters are read case-insensitively (tc writes `mbit`), but the byte unit
 * must be an upper-case `B`: `40Mb` and `40Mbps` are refused as ambiguous, because
 * most people mean megabits and tc reads `mbps` as megabytes.
 */
import { StoremeshError } from '../interface/errors.js'
import { MAX_RATE_BYTES_PER_SEC, MAX_RATE_STRING_LENGTH } from './constants.js'

export const UNLIMITED = Number.POSITIVE_INFINITY

const PREFIX_POWER: Record<string, number> = { '': 0, k: 1, m: 2, g: 3, t: 4 }

const NUMBER_AND_UNIT_RE = /^(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z]*)(\/s(?:ec)?)?$/
const BYTE_UNIT_RE = /^([kmgt]?)(i?)B$/i
const BIT_UNIT_RE = /^([kmgt]?)(i?)bits?$/i
const AMBIGUOUS_UNIT_RE = /^([kmgt]?)(i?)(b|bps|Bps)$/i

function invalid (input: string, why: string): StoremeshError {
  return new StoremeshError('E_INVALID_ARGUMENT', `invalid rate "${input}": ${why}`, { rate: input })
}

function multiplier (prefix: string, binary: string, input: string): number {
  const power = PREFIX_POWER[prefix.toLowerCase()]
  if (power === undefined) throw invalid(input, `unknown prefix "${prefix}"`)
  if (binary !== '' && power === 0) throw invalid(input, 'a binary unit needs a prefix (KiB, MiB, GiB)')
  return (binary !== '' ? 1024 : 1000) ** power
}

/**
 * Parses a rate into bytes per second. A number is taken as bytes per second as it
 * is (for callers that already hold one). Throws E_INVALID_ARGUMENT with the reason.
 */
export function parseRate (input: string | number): number {
  if (typeof input === 'number') return checkRate(input, String(input))
  if (typeof input !== 'string') throw invalid(String(input), 'not a string')
  if (input.length > MAX_RATE_STRING_LENGTH) throw invalid(input.slice(0, 16) + '...', `longer than ${MAX_RATE_STRING_LENGTH} characters`)
  const text = input.trim()
  if (/^(unlimited|none|off)$/i.test(text)) return UNLIMITED
  const m = NUMBER_AND_UNIT_RE.exec(text)
  if (m === null) throw invalid(input, 'expected a number and a unit, e.g. 5MiB/s, 40Mbit/s or 0')
  const value = Number(m[1])
  const unit = m[2] ?? ''
  if (unit === '') {
    if (value === 0) return 0
    throw invalid(input, 'a rate other than 0 needs a unit, e.g. 5MiB/s or 40Mbit/s')
  }
  let bytesPerSec: number
  const byteUnit = BYTE_UNIT_RE.exec(unit)
  const bitUnit = BIT_UNIT_RE.exec(unit)
  if (byteUnit !== null && unit.endsWith('B')) {
    bytesPerSec = value * multiplier(byteUnit[1] ?? '', byteUnit[2] ?? '', input)
  } else if (bitUnit !== null) {
    bytesPerSec = value * multiplier(bitUnit[1] ?? '', bitUnit[2] ?? '', input) / 8
  } else if (AMBIGUOUS_UNIT_RE.test(unit)) {
    throw invalid(input, `"${unit}" is ambiguous; write bits as "${unit.replace(/b(ps)?$/i, 'bit')}/s" or bytes as "${unit.replace(/b(ps)?$/i, 'B')}/s"`)
  } else {
    throw invalid(input, `unknown unit "${unit}"; use B, kB, MB, GB, KiB, MiB, GiB, bit, kbit, Mbit or Gbit`)
  }
  if (value > 0 && bytesPerSec < 1) throw invalid(input, 'below 1 byte per second; use 0 to pause')
  return checkRate(Math.round(bytesPerSec), input)
}

function checkRate (bytesPerSec: number, input: string): number {
  if (bytesPerSec === UNLIMITED) return bytesPerSec
  if (!Number.isFinite(bytesPerSec) || bytesPerSec < 0) throw invalid(input, 'must be 0 or more bytes per second')
  if (bytesPerSec > MAX_RATE_BYTES_PER_SEC) throw invalid(input, 'above 1 TiB/s; write "unlimited" for no limit')
  return bytesPerSec
}

/** True for 0 (paused), a positive finite rate, or Infinity (unlimited). */
export function isValidRate (bytesPerSec: number): boolean {
  return bytesPerSec === UNLIMITED || (Number.isFinite(bytesPerSec) && bytesPerSec >= 0)
}

/** Throws E_INVALID_ARGUMENT unless isValidRate(). */
export function assertRate (bytesPerSec: number, what = 'rate'): void {
  if (!isValidRate(bytesPerSec)) {
    throw new StoremeshError('E_INVALID_ARGUMENT', `${what} must be 0, a positive number of bytes per second, or unlimited`, { [what]: String(bytesPerSec) })
  }
}

const BYTE_UNITS = ['B/s', 'KiB/s', 'MiB/s', 'GiB/s', 'TiB/s'] as const
const BIT_UNITS = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'] as const

function trimNumber (x: number): string {
  return x.toFixed(2).replace(/\.?0+$/, '')
}

/**
 * For humans: `5 MiB/s`, `1.43 MiB/s`, or with `bits` `40 Mbit/s`; `0 B/s` and
 * `unlimited`. Two decimals at most, so round trips are exact only for round numbers.
 */
export function formatRate (bytesPerSec: number, style: 'bytes' | 'bits' = 'bytes'): string {
  if (bytesPerSec === UNLIMITED) return 'unlimited'
  if (!Number.isFinite(bytesPerSec)) return String(bytesPerSec)
  const bits = style === 'bits'
  const units = bits ? BIT_UNITS : BYTE_UNITS
  const base = bits ? 1000 : 1024
  let value = bits ? bytesPerSec * 8 : bytesPerSec
  let i = 0
  while (i < units.length - 1 && Math.abs(value) >= base) {
    value /= base
    i++
  }
  // 1023.999 KiB/s would print as "1024 KiB/s"; step up once more instead.
  if (i < units.length - 1 && Number(trimNumber(value)) >= base) {
    value /= base
    i++
  }
  return `${trimNumber(value)} ${units[i] ?? ''}`
}
