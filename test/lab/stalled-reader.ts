/**
 * A store hub whose reader stops (test/lab/serve-stall.test.ts), run inside the lab's
 * store-hub namespace so its bytes cross the tc-shaped WAN veth: dials the super hub,
 * opens `streams` wan-pull streams, asks each for every listed chunk, and never reads a
 * byte of the answers. Prints `peer <id>`, `asked <streams>`, and `closed <i>` when the
 * super hub drops stream i; runs until killed.
 *
 * argv: <super multiaddr> <swarm key file> <file of chunk hashes, one a line> <streams>
 */
import { readFile } from 'node:fs/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { createStoremeshNode } from '../../src/net/node.js'
import { toNodeDuplex } from '../../src/net/stream.js'
import { readSwarmKeyFile } from '../../src/net/swarm-key.js'
import { encodePullRequest, MAX_PULL_BATCH_CHUNKS, WAN_PULL_PROTOCOL } from '../../src/wan/pull/index.js'

const MAX_STREAMS = 16
const [addr, swarmKeyPath, hashesPath, streamsArg] = process.argv.slice(2)
const streams = Number(streamsArg)
if (addr === undefined || swarmKeyPath === undefined || hashesPath === undefined || !(Number.isSafeInteger(streams) && streams >= 1 && streams <= MAX_STREAMS)) {
  throw new Error('usage: stalled-reader <super multiaddr> <swarm key file> <hashes file> <streams 1..16>')
}
const hashes = (await readFile(hashesPath, 'utf8')).split('\n').filter(h => h !== '').slice(0, MAX_PULL_BATCH_CHUNKS)
const node = await createStoremeshNode({ swarmKey: await readSwarmKeyFile(swarmKeyPath), listen: [] })
process.stdout.write(`peer ${node.peerId.toString()}\n`)
for (let i = 0; i < streams; i++) {
  const duplex = toNodeDuplex(await node.dialProtocol(multiaddr(addr), WAN_PULL_PROTOCOL))
  duplex.on('error', () => {})
  duplex.once('close', () => { process.stdout.write(`closed ${i}\n`) })
  // paused mode, never read: the readable buffer fills, the stream pauses, yamux stops the super hub
  duplex.write(encodePullRequest(hashes))
}
process.stdout.write(`asked ${streams}\n`)
// runs until the test kills it (its node keeps the event loop alive)
