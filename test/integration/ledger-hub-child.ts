/**
 * A store hub in a process of its own, for ledger-hub-restart.test.ts to SIGKILL:
 * the hub ledger, the report handler and the uplink to the super hub, on a fixed port
 * and identity (both from the data dir), printing one JSON line per stored batch.
 *
 *   node --import tsx --import ./src/polyfill.ts ledger-hub-child.ts <dataDir> <port> <swarmKeyFile> <superAddr> <hubId>
 */
import { multiaddr } from '@multiformats/multiaddr'
import { HubLedger } from '../../src/ledger/hub-ledger.js'
import type { DeviceBatch } from '../../src/ledger/report/index.js'
import { reportProtocol } from '../../src/ledger/report/index.js'
import { HubUplink } from '../../src/ledger/uplink.js'
import { createStoremeshNode } from '../../src/net/node.js'
import { readSwarmKeyFile } from '../../src/net/swarm-key.js'
import { TEST_UPLINK } from './ledger-fixture.js'

const [dataDir, port, keyFile, superAddr, hubId] = process.argv.slice(2)
if (dataDir === undefined || port === undefined || keyFile === undefined || superAddr === undefined || hubId === undefined) {
  process.stderr.write('usage: ledger-hub-child <dataDir> <port> <swarmKeyFile> <superAddr> <hubId>\n')
  process.exit(64)
}

const say = (x: unknown): void => { process.stdout.write(JSON.stringify(x) + '\n') }

const ledger = await HubLedger.open(dataDir)
const sink = {
  acceptDeviceBatch: async (batch: DeviceBatch, ctx: { peer?: string }) => {
    const ack = await ledger.acceptDeviceBatch(batch, ctx)
    // printed after the durable write and before the answer: a kill now loses the answer only
    say({ event: 'batch', deviceId: batch.deviceId, entries: batch.entries.length, ackedSeq: ack.ackedSeq })
    return ack
  }
}
const node = await createStoremeshNode({
  swarmKey: await readSwarmKeyFile(keyFile), dataDir, listen: [`/ip4/127.0.0.1/tcp/${port}`], services: { report: reportProtocol({ devices: sink }) }
})
const target = multiaddr(superAddr)
const uplink = new HubUplink({ hubId, ledger, client: node.services.report, superHub: () => target, options: TEST_UPLINK })
uplink.start()
say({ event: 'ready', addr: node.getMultiaddrs()[0]?.toString(), epoch: ledger.epoch })

process.once('SIGTERM', () => {
  void (async () => {
    await uplink.stop()
    await node.stop()
    await ledger.close()
    process.exit(0)
  })()
})
