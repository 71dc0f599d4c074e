import t from 'tap'
import { isStoremeshError } from '../../../src/interface/errors.js'
import { formatRate, parseRate, UNLIMITED } from '../../../src/wan/rate.js'

const MiB = 1024 * 1024

t.test('parses the rates operators write', async t => {
  const table: Array<[string, number]> = [
    ['0', 0],
    ['0MiB/s', 0],
    ['5MiB/s', 5 * MiB],
    ['5 MiB/s', 5 * MiB],
    ['5MiB', 5 * MiB],
    ['512KiB/s', 512 * 1024],
    ['1.5MB/s', 1_500_000],
    ['1GB/s', 1e9],
    ['2GiB/s', 2 * 1024 ** 3],
    ['100B/s', 100],
    ['40Mbit', 5_000_000],
    ['40Mbit/s', 5_000_000],
    ['40mbit', 5_000_000],
    ['40 Mbits/s', 5_000_000],
    ['1Mbit/s', 125_000],
    ['20Mbit/s', 2_500_000],
    ['8kbit/s', 1000],
    ['8Kbit/s', 1000],
    ['1Gbit/s', 125_000_000],
    ['8Kibit/s', 1024],
    ['800bit/s', 100],
    ['.5MB/s', 500_000],
    ['10kB/s', 10_000],
    ['  3MiB/s  ', 3 * MiB],
    ['1MiB/sec', MiB],
    ['unlimited', UNLIMITED],
    ['Unlimited', UNLIMITED]
  ]
  for (const [text, bytes] of table) t.equal(parseRate(text), bytes, text)
  t.equal(parseRate(1234), 1234, 'a number is bytes per second')
})

t.test('refuses bad rates with E_INVALID_ARGUMENT and a reason', async t => {
  const table: Array<[string, RegExp]> = [
    ['', /expected a number and a unit/],
    ['fast', /expected a number and a unit/],
    ['-5MiB/s', /expected a number and a unit/],
    ['5', /needs a unit/],
    ['40Mb', /ambiguous/],
    ['40Mbps', /ambiguous/],
    ['5MBps', /ambiguous/],
    ['5XB/s', /unknown prefix|unknown unit/],
    ['5furlongs', /unknown unit/],
    ['5iB/s', /binary unit needs a prefix/],
    ['1bit/s', /below 1 byte per second/],
    ['2TiB/s', /above 1 TiB\/s/],
    ['5MiB/h', /expected a number and a unit/],
    ['1e6B/s', /expected a number and a unit/],
    ['NaN', /expected a number and a unit/],
    ['9'.repeat(100), /longer than/]
  ]
  for (const [text, re] of table) {
    let caught: unknown
    try {
      parseRate(text)
    } catch (err) {
      caught = err
    }
    t.ok(isStoremeshError(caught, 'E_INVALID_ARGUMENT'), `${text}: E_INVALID_ARGUMENT`)
    t.match((caught as Error | undefined)?.message, re, text)
  }
  t.throws(() => parseRate(-1), { code: 'E_INVALID_ARGUMENT' })
  t.throws(() => parseRate(Number.NaN), { code: 'E_INVALID_ARGUMENT' })
})

t.test('the ambiguity message suggests both readings', async t => {
  t.throws(() => parseRate('40Mbps'), /40Mbps.*"Mbit\/s".*"MB\/s"|"Mbit\/s" or bytes as "MB\/s"/)
})

t.test('formats rates for humans and round-trips round numbers', async t => {
  t.equal(formatRate(0), '0 B/s')
  t.equal(formatRate(100), '100 B/s')
  t.equal(formatRate(5 * MiB), '5 MiB/s')
  t.equal(formatRate(1.5 * MiB), '1.5 MiB/s')
  t.equal(formatRate(512 * 1024), '512 KiB/s')
  t.equal(formatRate(1024 * 1024 - 1), '1 MiB/s', 'no "1024 KiB/s"')
  t.equal(formatRate(5_000_000, 'bits'), '40 Mbit/s')
  t.equal(formatRate(125_000, 'bits'), '1 Mbit/s')
  t.equal(formatRate(125, 'bits'), '1 kbit/s')
  t.equal(formatRate(UNLIMITED), 'unlimited')
  for (const text of ['5MiB/s', '512KiB/s', '3GiB/s', '40Mbit/s', '1Gbit/s', '0', 'unlimited']) {
    const bytes = parseRate(text)
    const style = text.includes('bit') ? 'bits' : 'bytes'
    t.equal(parseRate(formatRate(bytes, style)), bytes, `${text} -> ${formatRate(bytes, style)}`)
  }
})
