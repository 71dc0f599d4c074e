import t from 'tap'
import { isStoremeshError } from '../../../src/interface/errors.js'
import { checkMemory, defaultParams, parseDevicesRange, PARAM_SPECS, resolveParams } from '../../../src/sim/params.js'

const code = (fn: () => unknown): string => {
  try {
    fn()
  } catch (err) {
    return isStoremeshError(err) ? `${err.code} ${err.message}` : `other ${(err as Error).message}`
  }
  return 'no error'
}

t.test('every parameter has a default inside its own range', async t => {
  t.same(resolveParams({}), defaultParams())
  for (const [k, s] of Object.entries(PARAM_SPECS)) {
    if (s.kind === 'num') t.ok(s.def >= s.min && s.def <= s.max, k)
  }
})

t.test('a value outside its range names the parameter and the range', async t => {
  t.match(code(() => resolveParams({ hubLanMiBps: -1 })), /^E_SIM_PARAM --hub-lan-mibps: must be a number in \[0\.01, 10000\] MiB\/s, got -1/)
  t.match(code(() => resolveParams({ stores: 2.5 })), /^E_SIM_PARAM --stores: must be an integer in \[1, 100000\]/)
  t.match(code(() => resolveParams({ wanMedianMbit: 'fast' })), /^E_SIM_PARAM --wan-median-mbit: .*got fast/)
  t.match(code(() => resolveParams({ devicesMin: 50, devicesMax: 20 })), /^E_SIM_PARAM --devices-min: must be at most devicesMax/)
  t.match(code(() => resolveParams({ maintenanceWindow: '03:00-03:00' })), /^E_SIM_PARAM --maintenance-window: .*empty/)
  t.match(code(() => resolveParams({ timezones: 'Mars/Olympus:1' })), /^E_SIM_PARAM --timezones: Mars\/Olympus is not an IANA time zone/)
  t.match(code(() => parseDevicesRange('20-300')), /^E_SIM_PARAM --devices: must be N or MIN\.\.MAX/)
  t.same(parseDevicesRange('20..300'), { devicesMin: 20, devicesMax: 300 })
})

t.test('a run over the memory limit is refused before it starts, with the estimate', async t => {
  const p = resolveParams({ stores: 100_000, devicesMin: 10_000, devicesMax: 10_000 })
  t.match(code(() => checkMemory(p)), /^E_SIM_MEMORY refused before start: the run needs about \d+ MiB, over --memory-limit-mib 4096/)
  t.ok(checkMemory(resolveParams({ stores: 10_000, devicesMin: 50, devicesMax: 50 })) < 4096 * 2 ** 20, 'the issue\'s 10,000 x 50 run fits')
})
