import t from 'tap'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { HubBatch } from '../../../src/ledger/report/index.js'
import { SuperLedger } from '../../../src/ledger/super-ledger.js'
import {
  readSuperLedgerStatus, SUPER_LEDGER_STATUS_FILE, SuperLedgerStatusWriter, writeSuperLedgerStatus
} from '../../../src/ledger/super-ledger-status.js'
import { until } from '../../support/poll.js'

const EPOCH = '1'.repeat(32)

function batch (hubId: string, deviceId: string, seq: number): HubBatch {
  return { type: 'hub-ledger', hubId, epoch: EPOCH, entries: [{ seq, waveId: '142', deviceId, state: 'updated', version: 2, atMs: 1 }] }
}

t.test('the status file carries the ledger\'s hubs and wave totals; absent before the first write', async t => {
  const dir = t.testdir()
  const ledger = await SuperLedger.open(join(dir, 'db'), { haltOnRollbackRatio: 1 })
  t.teardown(async () => { await ledger.close() })
  t.equal(await readSuperLedgerStatus(dir), undefined)
  await ledger.acceptHubBatch(batch('store-1', 'pos-1', 1))
  await writeSuperLedgerStatus(dir, ledger)
  const status = await readSuperLedgerStatus(dir)
  t.same(status?.hubs.map(h => h.hubId), ['store-1'])
  t.same(status?.waves.map(w => [w.waveId, w.counts.updated]), [['142', 1]])
})

t.test('the writer writes at once, on its interval, and the last totals on stop', async t => {
  const dir = t.testdir()
  const ledger = await SuperLedger.open(join(dir, 'db'), { haltOnRollbackRatio: 1 })
  t.teardown(async () => { await ledger.close() })
  const writer = new SuperLedgerStatusWriter({ dataDir: dir, ledger, intervalMs: 10 })
  await ledger.acceptHubBatch(batch('store-1', 'pos-1', 1))
  t.ok(await until(async () => (await readSuperLedgerStatus(dir))?.hubs.length === 1), 'a tick wrote the new hub')
  await ledger.acceptHubBatch(batch('store-2', 'pos-2', 1))
  await writer.stop()
  t.same((await readSuperLedgerStatus(dir))?.hubs.map(h => h.hubId), ['store-1', 'store-2'], 'stop wrote the last totals')
})

t.test('a file that is not a status file is a typed error', async t => {
  const dir = t.testdir()
  await writeFile(join(dir, SUPER_LEDGER_STATUS_FILE), '{"waves": 3}')
  await t.rejects(readSuperLedgerStatus(dir), { code: 'E_CONFIG_INVALID' })
})
