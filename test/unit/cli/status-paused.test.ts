/** `storemesh status` says, under its table, when downloads are paused for lack of space. */
import t from 'tap'
import { statusTable } from '../../../src/cli/status.js'
import type { PeerStatus } from '../../../src/roles/peer-status.js'
import { STATUS_SCHEMA } from '../../../src/roles/lan-constants.js'

const base: PeerStatus = {
  schema: STATUS_SCHEMA, role: 'device', peerId: '12D3KooWtest', pid: 1, running: true, startedAt: '2026-12-07T00:00:00.000Z',
  updatedAt: '2026-12-07T00:00:01.000Z', addrs: [], connections: 1, bans: [], bundles: [],
  store: { quotaBytes: 1000, usedBytes: 990, chunkCount: 3, paused: null }
}

t.test('a paused store is named under the table; a running one is not', async t => {
  t.notMatch(statusTable(base), /PAUSED/)
  const paused = statusTable({
    ...base,
    store: { ...base.store!, paused: { reason: 'disk-full', since: '2026-12-07T00:00:00.500Z', detail: 'E_DISK_FULL disk full while writing the store' } }
  })
  t.match(paused, /\ndownloads PAUSED \(disk-full\) since 2026-12-07T00:00:00\.500Z: E_DISK_FULL disk full while writing the store$/)
})
