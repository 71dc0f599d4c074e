/**
 * The logger factory (src/log/): the JSON line's shape, levels, the component field
 * of child loggers, the human line every reader of the daemons' output matches, and
 * where the level and format come from (flag, --json, environment, default).
 */
import t from 'tap'
import { isStoremeshError } from '../../../src/interface/errors.js'
import { silentLog, type Log } from '../../../src/interface/log.js'
import { createLogger, LOG_FORMAT_ENV, LOG_LEVEL_ENV, prettyLine, resolveLogSettings } from '../../../src/log/index.js'
import { captureLog } from '../../support/log-capture.js'

const BUNDLE = `b3:${'ab'.repeat(32)}`
const ISO_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

t.test('a JSON line: level label, time, role, component, ids, message', async t => {
  const { log, records, raw } = captureLog({ role: 'hub' })
  log.child({ component: 'swarm' }).info({ bundle: BUNDLE, wave: '142' }, `bundle ${BUNDLE} complete and verified`)
  t.equal(raw.length, 1)
  t.ok(raw[0]!.endsWith('}\n') && !raw[0]!.slice(0, -1).includes('\n'), 'one object on one line')
  const rec = records[0]!
  t.same(Object.keys(rec).sort(), ['at', 'bundle', 'component', 'event', 'level', 'line', 'role', 'wave'], 'no pid, hostname or numeric level')
  t.match(rec, { level: 'info', event: 'log', role: 'hub', component: 'swarm', bundle: BUNDLE, wave: '142', line: `bundle ${BUNDLE} complete and verified` })
  t.match(rec.at, ISO_RE)
  t.ok(Math.abs(Date.parse(rec.at) - Date.now()) < 60_000, 'the time is now')
  t.equal(raw[0]!.split('"component"').length, 2, 'the component appears once')
})

t.test('fields left undefined are left out; messages are not printf templates', async t => {
  const { log, records } = captureLog()
  log.info({ bundle: undefined, wave: '7' }, 'install: 100% %s %d %j done')
  t.notOk('bundle' in records[0]!)
  t.equal(records[0]!.wave, '7')
  t.equal(records[0]!.line, 'install: 100% %s %d %j done')
})

t.test('levels: the threshold drops quieter lines, silent drops all', async t => {
  const warn = captureLog({ level: 'warn' })
  const l = warn.log.child({ component: 'wan' })
  l.debug('d')
  l.info('i')
  l.warn('w')
  l.error('e')
  t.same(warn.records.map(r => [r.level, r.line]), [['warn', 'w'], ['error', 'e']])

  const byDefault = captureLog()
  byDefault.log.debug('d')
  byDefault.log.info('i')
  t.same(byDefault.records.map(r => r.line), ['i'], 'info by default')

  const debug = captureLog({ level: 'debug' })
  debug.log.debug('d')
  t.same(debug.records.map(r => r.level), ['debug'])

  const silent = captureLog({ level: 'silent' })
  silent.log.error('e')
  t.same(silent.raw, [])
})

t.test('a pino logger is a Log, and silentLog writes nothing at any depth', async t => {
  const { log, records } = captureLog()
  const asLog: Log = log
  asLog.child({ component: 'lease' }).child({ device: 'pos-1' }).warn('lease lost')
  t.match(records[0], { component: 'lease', device: 'pos-1', level: 'warn', line: 'lease lost' })
  t.equal(silentLog.child({ component: 'x' }), silentLog)
  t.doesNotThrow(() => { silentLog.child({}).error({ a: 1 }, 'nothing') })
})

t.test('human lines: `<ISO time> <text>` for info, the level named otherwise', async t => {
  const { log, raw } = captureLog({ format: 'pretty' })
  log.child({ component: 'swarm' }).info({ bundle: BUNDLE }, `bundle ${BUNDLE} complete and verified`)
  log.child({ component: 'wan' }).warn({ bundle: BUNDLE }, `pre-staging ${BUNDLE} failed, retrying: E_NOT_CONNECTED no super hub`)
  log.error('100% %s')
  t.equal(raw.length, 3)
  // bench/lan.ts reads a verified bundle's time this way
  const m = /^(\S+) bundle (b3:[0-9a-f]{64}) complete and verified\n$/.exec(raw[0]!)
  t.ok(m, raw[0])
  t.match(m?.[1], ISO_RE)
  t.match(raw[1], new RegExp(`^\\S+ WARN pre-staging ${BUNDLE} failed, retrying: E_NOT_CONNECTED no super hub\\n$`))
  t.match(raw[2], /^\S+ ERROR 100% %s\n$/)
  t.notMatch(raw.join(''), /\u001b\[/, 'no colour when the destination is not a terminal')
})

t.test('colour only on the level, and only when asked or on a colour terminal', async t => {
  const rec = { level: 'warn', at: '2026-01-05T02:00:00.000Z', line: 'x' }
  t.equal(prettyLine(rec), '2026-01-05T02:00:00.000Z WARN x')
  t.equal(prettyLine(rec, true), '2026-01-05T02:00:00.000Z \u001b[33mWARN\u001b[39m x')
  t.equal(prettyLine({ ...rec, level: 'info' }, true), '2026-01-05T02:00:00.000Z x', 'info lines are never coloured')
  const out: string[] = []
  const tty = { isTTY: true, hasColors: () => true, write: (s: string) => { out.push(s) } }
  createLogger({ role: 'hub', destination: tty }).error('e')
  createLogger({ role: 'hub', destination: { ...tty, hasColors: () => false } }).error('e')
  t.match(out[0], /\u001b\[31mERROR\u001b\[39m e\n$/, 'a colour terminal')
  t.match(out[1], /^\S+ ERROR e\n$/, 'a terminal without colours (NO_COLOR)')
})

t.test('settings: flag, then --json, then environment, then the default', async t => {
  const none = {}
  t.same(resolveLogSettings({ env: none }), { level: 'info', format: 'pretty' }, 'defaults')
  t.same(resolveLogSettings({ json: true, env: none }), { level: 'info', format: 'json' }, '--json means JSON lines')
  const env = { [LOG_LEVEL_ENV]: 'debug', [LOG_FORMAT_ENV]: 'json' }
  t.same(resolveLogSettings({ env }), { level: 'debug', format: 'json' }, 'the environment over the defaults')
  t.same(resolveLogSettings({ level: 'error', format: 'pretty', env }), { level: 'error', format: 'pretty' }, 'flags over the environment')
  t.same(resolveLogSettings({ json: true, env: { [LOG_FORMAT_ENV]: 'pretty' } }).format, 'json', '--json over the environment')
  t.same(resolveLogSettings({ json: true, format: 'pretty', env: none }).format, 'pretty', '--log-format over --json')
  t.same(resolveLogSettings({ level: ' WARN ', env: { [LOG_LEVEL_ENV]: '' } }).level, 'warn', 'case and spaces; an empty variable is unset')
  t.same(resolveLogSettings({ level: 'warn', env: { [LOG_LEVEL_ENV]: 'loud' } }).level, 'warn', 'a bad variable under a flag is never read')
})

t.test('settings: a bad value is a usage error naming where it came from', async t => {
  const check = (input: Parameters<typeof resolveLogSettings>[0], source: RegExp): void => {
    try {
      resolveLogSettings(input)
      t.fail('accepted')
    } catch (err) {
      t.ok(isStoremeshError(err, 'E_USAGE'), String(err))
      t.match((err as Error).message, source)
    }
  }
  check({ level: 'loud', env: {} }, /^--log-level must be one of trace, debug, info, warn, error, fatal, silent, got loud/)
  check({ format: 'xml', env: {} }, /^--log-format must be one of pretty, json/)
  check({ env: { [LOG_LEVEL_ENV]: 'verbose' } }, new RegExp(`^${LOG_LEVEL_ENV} must be one of`))
  check({ env: { [LOG_FORMAT_ENV]: 'yaml' } }, new RegExp(`^${LOG_FORMAT_ENV} must be one of`))
})
