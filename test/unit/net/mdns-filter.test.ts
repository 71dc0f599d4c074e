/**
 * mDNS packets about other services are skipped undecoded (issue #19: an idle agent
 * decoded every printer's and every other fleet's packet). Real dns-packet encodings of
 * the queries and answers @libp2p/mdns sends, through the same exports object
 * multicast-dns calls.
 */
import { randomBytes } from 'node:crypto'
import dnsPacket from 'dns-packet'
import t from 'tap'
import { filterMdnsFor, mdnsPacketsSkipped, tagNeedle } from '../../../src/net/mdns-filter.js'

const tag = (): string => `storemesh-test-${randomBytes(4).toString('hex')}`
const query = (name: string): Buffer => dnsPacket.encode({ type: 'query', id: 0, questions: [{ name, type: 'PTR' }] })
const answer = (name: string, peer: string): Buffer => dnsPacket.encode({
  type: 'response', id: 0,
  answers: [{ name, type: 'PTR', class: 'IN', ttl: 120, data: `${peer}.${name}` },
    { name: `${peer}.${name}`, type: 'TXT', class: 'IN', ttl: 120, data: [`dnsaddr=/ip4/127.0.0.1/tcp/4001/p2p/${peer}`] }]
})

t.test('packets naming a registered tag decode; others come back empty and are counted', async t => {
  const ours = tag()
  const other = tag()
  const release = filterMdnsFor(ours)
  t.teardown(release)
  const before = mdnsPacketsSkipped()

  const q = dnsPacket.decode(query(ours))
  t.equal(q.type, 'query')
  t.equal(q.questions?.[0]?.name, ours, 'our query decodes in full')
  const a = dnsPacket.decode(answer(ours, '12D3KooWPeer'))
  t.equal(a.type, 'response')
  t.equal(a.answers?.length, 2, 'an answer about our service decodes in full')

  for (const p of [query(other), answer(other, '12D3KooWOther'), query('_printer._tcp.local')]) {
    const d = dnsPacket.decode(p)
    t.not(d.type, 'query', 'another service: neither a query ...')
    t.not(d.type, 'response', '... nor a response, so multicast-dns emits neither')
    t.same(d.questions, [])
    t.same(d.answers, [])
  }
  t.equal(mdnsPacketsSkipped() - before, 3, 'the three foreign packets were skipped')
})

t.test('the filter holds while any user of a tag remains, and lifts when none is left', async t => {
  const ours = tag()
  const r1 = filterMdnsFor(ours)
  const r2 = filterMdnsFor(ours)
  const foreign = query(tag())
  r1()
  r1()
  t.not(dnsPacket.decode(foreign).type, 'query', 'a second user still filters (a double release counts once)')
  r2()
  t.equal(dnsPacket.decode(foreign).type, 'query', 'no tag registered: every packet decodes as before')
})

t.test('the needle is the tag\'s first label', async t => {
  t.equal(tagNeedle('_storemesh._udp.local'), '_storemesh')
  t.equal(tagNeedle('storemesh-bench-1-ab'), 'storemesh-bench-1-ab')
})
