import t from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { BanFile, BAN_FILE_SCHEMA } from '../../../src/swarm/ban-file.js'
import { BanList } from '../../../src/swarm/scoring.js'

t.test('bans survive a restart through the ban file', async t => {
  const dir = t.testdir()
  const path = join(dir, 'bans.json')
  const first = new BanList()
  const file = new BanFile({ bans: first, path })
  t.equal(await file.start(), 0, 'no file yet')
  first.ban('peer-a', 'keepalive-flood')
  first.ban('peer-b', 'bad chunks')
  first.ban('peer-b', 'bad chunks')
  await file.stop()
  const doc = JSON.parse(await readFile(path, 'utf8')) as { schema: string, records: unknown[] }
  t.equal(doc.schema, BAN_FILE_SCHEMA)
  t.equal(doc.records.length, 2)

  const second = new BanList()
  const errors: string[] = []
  const again = new BanFile({ bans: second, path, onError: e => errors.push(e.message) })
  t.equal(await again.start(), 2)
  t.ok(second.isBanned('peer-a'))
  t.ok(second.isBanned('peer-b'))
  t.equal(second.offences('peer-b'), 2)
  t.equal(second.ban('peer-b', 'again').offence, 3, 'the next ban climbs the ladder')
  await again.stop()
  t.same(errors, [])
})

t.test('a corrupt or foreign file is reported and ignored; bad records are skipped', async t => {
  const dir = t.testdir()
  const path = join(dir, 'bans.json')
  await writeFile(path, '{not json')
  const errors: string[] = []
  const bans = new BanList()
  const f = new BanFile({ bans, path, onError: e => errors.push(e.message) })
  t.equal(await f.start(), 0)
  t.equal(errors.length, 1)
  await f.stop()
  const until = Date.now() + 60_000
  await writeFile(path, JSON.stringify({
    schema: BAN_FILE_SCHEMA,
    records: [{ key: 'k', peerId: 'k', untilMs: until, sinceMs: 1, offence: 1, reason: 'r' }, { key: 5 }, null]
  }))
  const b2 = new BanList()
  const f2 = new BanFile({ bans: b2, path })
  t.equal(await f2.start(), 1)
  t.ok(b2.isBanned('k'))
  await f2.stop()
})
