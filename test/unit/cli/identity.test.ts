/**
 * The real `storemesh identity` CLI as a child process: issue, enrol, revoke, show,
 * and the refusals an operator sees (stable code, exit 3).
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import t from 'tap'
import { certificatePath, readCertificateFile, readRevocationListFile } from '../../../src/identity/index.js'
import { loadOrCreatePeerKey } from '../../../src/net/identity.js'
import { runCli } from '../../support/cli.js'

t.test('issue, enrol, revoke and show', async t => {
  const dir = t.testdir()
  const key = join(dir, 'enrol.key')
  const pub = join(dir, 'enrol.pub')
  const other = join(dir, 'other.key')
  const k = await Promise.all([runCli(['keygen', '--out', key, '--public', pub]), runCli(['keygen', '--out', other])])
  t.same(k.map(r => r.code), [0, 0], k.map(r => r.stderr).join(''))

  // a device made its peer key already; the office issues from its key file
  const deviceData = join(dir, 'device')
  const devicePeer = peerIdFromPrivateKey(await loadOrCreatePeerKey(deviceData)).toString()
  const certFile = join(dir, 'pos-17.cert.json')
  const issued = await runCli(['identity', 'issue', '--enrolment-key', key, '--node-key', join(deviceData, 'peer-key.json'),
    '--device-id', 'pos-17', '--store-id', 's-042', '--role', 'device', '--class', 'pos', '--expires', '30d', '--out', certFile, '--json'])
  t.equal(issued.code, 0, issued.stderr)
  const shown = JSON.parse(issued.stdout) as { peerId: string, serial: string, role: string }
  t.equal(shown.peerId, devicePeer)
  t.equal(shown.role, 'device')

  const enrolled = await runCli(['identity', 'enrol', '--data', deviceData, '--cert', certFile, '--trust', pub])
  t.equal(enrolled.code, 0, enrolled.stderr)
  t.match(enrolled.stdout, /\(verified\)/)
  t.equal((await readCertificateFile(certificatePath(deviceData))).signed.serial, shown.serial)

  // a hub enrolled in one step: its peer key is made, the certificate issued for it
  const hubData = join(dir, 'hub')
  const hub = await runCli(['identity', 'enrol', '--data', hubData, '--enrolment-key', key, '--device-id', 'hub-1',
    '--store-id', 's-042', '--role', 'hub', '--class', 'hub', '--json'])
  t.equal(hub.code, 0, hub.stderr)
  t.equal((JSON.parse(hub.stdout) as { peerId: string }).peerId, peerIdFromPrivateKey(await loadOrCreatePeerKey(hubData)).toString())

  const [show, wrongTrust, mismatch, theft] = await Promise.all([
    runCli(['identity', 'show', deviceData, '--trust', pub, '--peer-id', devicePeer]),
    runCli(['identity', 'show', certFile, '--trust', `${other}.pub`]),
    runCli(['identity', 'show', certFile, '--trust', pub, '--peer-id', (JSON.parse(hub.stdout) as { peerId: string }).peerId]),
    // the device's certificate copied into the hub's data dir: refused, it names another peer
    runCli(['identity', 'enrol', '--data', hubData, '--cert', certFile])
  ])
  t.equal(show.code, 0, show.stderr)
  t.match(show.stdout, /device\s+pos-17/)
  t.equal(wrongTrust.code, 3)
  t.match(wrongTrust.stderr, /^storemesh: E_CERT_SIGNATURE /)
  t.equal(mismatch.code, 3)
  t.match(mismatch.stderr, /E_CERT_MISMATCH/)
  t.equal(theft.code, 3)
  t.match(theft.stderr, /E_CERT_MISMATCH/)

  const list = join(dir, 'revocations.json')
  const r1 = await runCli(['identity', 'revoke', '--enrolment-key', key, '--list', list, '--cert', certFile])
  t.equal(r1.code, 0, r1.stderr)
  const r2 = await runCli(['identity', 'revoke', '--enrolment-key', key, '--list', list, '--serial', 'ab'.repeat(16), '--json'])
  t.equal(r2.code, 0, r2.stderr)
  const l = await readRevocationListFile(list)
  t.equal(l?.signed.version, 2)
  t.same(l?.signed.serials, [shown.serial, 'ab'.repeat(16)].sort())
  t.same(l?.signed.peerIds, [devicePeer])

  const [showList, forged] = await Promise.all([
    runCli(['identity', 'show', list, '--trust', pub, '--json']),
    // another key may not extend (and so launder) the fleet's list
    runCli(['identity', 'revoke', '--enrolment-key', other, '--list', list, '--serial', 'cd'.repeat(16)])
  ])
  t.equal(showList.code, 0, showList.stderr)
  t.equal((JSON.parse(showList.stdout) as { version: number, kind: string }).kind, 'revocation-list')
  t.equal(forged.code, 3)
  t.match(forged.stderr, /E_REVOCATION_INVALID/)
  t.equal((await readRevocationListFile(list))?.signed.version, 2, 'the list is untouched')
  t.ok((await readFile(list, 'utf8')).endsWith('\n'))
})

t.test('usage errors', async t => {
  const dir = t.testdir()
  const key = join(dir, 'enrol.key')
  t.equal((await runCli(['keygen', '--out', key])).code, 0)
  const [both, role] = await Promise.all([
    runCli(['identity', 'issue', '--enrolment-key', key, '--device-id', 'd', '--store-id', 's', '--role', 'device', '--class', 'pos', '--out', join(dir, 'c')]),
    runCli(['identity', 'enrol', '--data', join(dir, 'd'), '--enrolment-key', key, '--device-id', 'd', '--store-id', 's', '--role', 'admin', '--class', 'pos'])
  ])
  t.equal(both.code, 64, both.stderr)
  t.match(both.stderr, /--peer-id and --node-key/)
  t.equal(role.code, 64, role.stderr)
  t.match(role.stderr, /--role must be/)
})
