import t from 'tap'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateSwarmKey, parseSwarmKey, readSwarmKeyFile, SWARM_KEY_HEADER, writeSwarmKeyFile } from '../../../src/net/swarm-key.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const HEX = '0123456789abcdef'.repeat(4)

t.test('generated keys use the standard format and round-trip', async t => {
  const k = generateSwarmKey()
  t.equal(k.psk.length, 32)
  const text = new TextDecoder().decode(k.file)
  t.match(text, /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/)
  t.same(parseSwarmKey(k.file).psk, k.psk)
  t.not(Buffer.from(generateSwarmKey().psk).toString('hex'), Buffer.from(k.psk).toString('hex'), 'random')
})

t.test('files written by go-ipfs style tools parse (CRLF, no trailing newline, upper case)', async t => {
  const k = parseSwarmKey(enc(`${SWARM_KEY_HEADER}\r\n/base16/\r\n${HEX.toUpperCase()}`))
  t.equal(Buffer.from(k.psk).toString('hex'), HEX)
  t.equal(new TextDecoder().decode(k.file), `${SWARM_KEY_HEADER}\n/base16/\n${HEX}\n`, 'normalised')
})

t.test('anything else is E_KEY_INVALID', async t => {
  const cases: Record<string, Uint8Array> = {
    'a signing key file': enc(JSON.stringify({ type: 'storemesh/ed25519-private', keyid: 'x', privateKey: 'AAAA' })),
    'a base64 codec': enc(`${SWARM_KEY_HEADER}\n/base64/\n${Buffer.from(HEX, 'hex').toString('base64')}\n`),
    'a short key': enc(`${SWARM_KEY_HEADER}\n/base16/\n${HEX.slice(2)}\n`),
    'non-hex': enc(`${SWARM_KEY_HEADER}\n/base16/\n${'zz'.repeat(32)}\n`),
    'trailing junk': enc(`${SWARM_KEY_HEADER}\n/base16/\n${HEX}\nmore\n`),
    'binary': new Uint8Array([0xff, 0xfe, 0x00, 0x01]),
    'empty': new Uint8Array(0),
    'huge': new Uint8Array(1 << 20).fill(0x41)
  }
  for (const [name, bytes] of Object.entries(cases)) {
    t.throws(() => parseSwarmKey(bytes), { code: 'E_KEY_INVALID' }, name)
  }
})

t.test('writeSwarmKeyFile writes 0600, never overwrites, and reads back', async t => {
  const dir = t.testdir()
  const path = join(dir, 'swarm.key')
  const k = await writeSwarmKeyFile(path)
  t.equal((await stat(path)).mode & 0o777, 0o600)
  t.same((await readSwarmKeyFile(path)).psk, k.psk)
  await t.rejects(writeSwarmKeyFile(path), { code: 'E_INVALID_ARGUMENT' }, 'an existing fleet key is never replaced')
  t.same((await readSwarmKeyFile(path)).psk, k.psk, 'still the first key')
  t.same((await readFile(path)).length, k.file.length)
})

t.test('reading a missing or wrong file is typed', async t => {
  const dir = t.testdir({ 'pub.json': JSON.stringify({ type: 'storemesh/ed25519-public' }) })
  await t.rejects(readSwarmKeyFile(join(dir, 'nope.key')), { code: 'E_FILE_NOT_FOUND' })
  await t.rejects(readSwarmKeyFile(join(dir, 'pub.json')), { code: 'E_KEY_INVALID' })
  await writeFile(join(dir, 'ok.key'), generateSwarmKey().file)
  t.ok(await readSwarmKeyFile(join(dir, 'ok.key')))
})
