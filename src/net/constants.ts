/**
 * Defaults of the libp2p layer, in one place. Every figure that comes from a measured
 * trap cites /work/shared/STACK-NOTES.md ("the notes").
 */

const KiB = 1024
const MiB = 1024 * KiB

/** Loopback only: a role that serves the store LAN passes its LAN address explicitly. */
export const DEFAULT_LISTEN_ADDRS: readonly string[] = ['/ip4/127.0.0.1/tcp/0']

/** Our own mDNS service name, so we never answer other libp2p apps on the LAN. */
export const DEFAULT_MDNS_SERVICE_TAG = '_storemesh._udp.local'
/** @default 10 s, the mDNS module's own default query interval */
export const DEFAULT_MDNS_INTERVAL_MS = 10_000

/**
 * libp2p's connection monitor opens a ping stream on every connection each interval
 * (its default is 10 s). In a store every device holds a connection to every other, so
 * at 10 s an idle agent with 16 peers opened and answered about 3 streams a second,
 * most of its idle CPU (issue #19). Dead peers on a LAN are found sooner by TCP resets
 * and yamux's 30 s keep-alive frames; the ping only has to catch a silent half-open
 * connection, and a minute is soon enough for that.
 * @default 60 s
 */
export const CONNECTION_PING_INTERVAL_MS = 60_000

/** File name of the persisted peer identity inside a data dir. */
export const PEER_KEY_FILE = 'peer-key.json'

/**
 * Yamux: pnet 3.0.27 breaks on encrypted writes over ~640 KiB (the notes), and a
 * paused stream may still receive a whole window before the remote stops, so the
 * window also bounds what a paused reader buffers.
 * @default 256 KiB (the yamux minimum, since the initial window is 256 KiB)
 */
export const DEFAULT_MAX_STREAM_WINDOW_BYTES = 256 * KiB
/**
 * Streams the remote may open on a new connection before our side has finished the
 * upgrade. Past this yamux aborts the WHOLE connection (MaxEarlyStreamsError; its
 * default of 10 killed a connection when 32 streams were opened at once on a fresh
 * connection here). Only fleet members pass pnet, so a higher bound is cheap.
 */
export const DEFAULT_MAX_EARLY_STREAMS = 128
/**
 * A stream that is paused, or has no 'message' listener yet, buffers what arrives;
 * more than this resets it. A paused stream holds at most one window (above); the
 * slack is for a handler that attaches its listener late. libp2p's own default.
 */
export const DEFAULT_MAX_READ_BUFFER_BYTES = 4 * MiB

/**
 * Largest single write handed to pnet's XSalsa20. Its WASM memory starts at 640 KiB
 * and regrows without bound once one write passes that (the notes); 64 KiB keeps every
 * write far below it whatever noise and yamux queue up.
 */
export const PNET_MAX_WRITE_BYTES = 64 * KiB
/** The nonce exchange of pnet; its own default of 1 s fails on a loaded 2-core box. */
export const DEFAULT_PNET_TIMEOUT_MS = 5_000

/**
 * Connection and stream limits derive from the store's expected size (protocols/chunks/
 * SPEC.md "Limits"): 300 devices, a hub, and headroom for restarts.
 */
export const STORE_DEVICES = 300
/**
 * Bundles a store swarms on at once: device classes times versions in flight, with
 * room for a hub that still seeds the previous ones. @default 32
 */
export const STORE_ACTIVE_BUNDLES = 32
export const DEFAULT_MAX_CONNECTIONS = STORE_DEVICES + 100
/**
 * Connections one peer may hold to us. Two happen honestly (both sides dialled at
 * once after mDNS) and a restarted peer's new one may overlap its dead one; past this
 * the oldest is closed (connection-cap.ts), so one key holder cannot multiply its
 * per-connection stream allowance. @default 4
 */
export const DEFAULT_MAX_CONNECTIONS_PER_PEER = 4
/** libp2p's default is 5 per second per host, which loses half of 10 dials on loopback. */
export const DEFAULT_INBOUND_CONNECTION_THRESHOLD = STORE_DEVICES
export const DEFAULT_MAX_INCOMING_PENDING_CONNECTIONS = 128
export const DEFAULT_MAX_PARALLEL_DIALS = 64
export const DEFAULT_DIAL_TIMEOUT_MS = 10_000

/** Writes below this are coalesced into one send() (the notes: write 64 KiB or more). */
export const DEFAULT_BATCH_BYTES = 64 * KiB
/** Node Readable buffer of a stream adapter before it pauses the libp2p stream. */
export const DEFAULT_READABLE_HIGH_WATER_BYTES = 256 * KiB
/** Node Writable buffer of a stream adapter before write() returns false. */
export const DEFAULT_WRITABLE_HIGH_WATER_BYTES = 256 * KiB

/** Bounded control messages (manifest, lease, report) wait this long by default. */
export const DEFAULT_MESSAGE_TIMEOUT_MS = 30_000
/** Default limit of one bounded control message. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * KiB
export const MAX_VARINT_BYTES = 8

export const UNITS = { KiB, MiB } as const
