/**
 * A worker thread of the full-fidelity LAN pool (lan-pool.ts): runs the stores it is
 * sent, one at a time, and answers each with its result.
 */
import { parentPort } from 'node:worker_threads'
import { runLanJob, type LanJob, type LanParams, type WorkerReply } from './lan-pool.js'

const port = parentPort
if (port === null) throw new Error('lan-worker.ts runs only as a worker thread')
port.on('message', (m: { job: LanJob, p: LanParams }) => {
  let reply: WorkerReply
  try {
    reply = { index: m.job.index, outcome: runLanJob(m.job, m.p) }
  } catch (err) {
    reply = { index: m.job.index, error: (err as Error).message }
  }
  port.postMessage(reply)
})
