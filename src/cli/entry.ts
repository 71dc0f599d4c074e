// Import order matters: ESM evaluates dependencies in the order they are imported,
// so the polyfill runs before any libp2p module that main.js pulls in.
import '../polyfill.js'
import { main } from './main.js'

process.exitCode = await main(process.argv)
