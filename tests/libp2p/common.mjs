// Shared by relay.mjs, listener.mjs and dialer.mjs: the hard timeout, node construction, the
// test data pattern and the relay status found in a js-libp2p error.
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'

export const ECHO = '/wgrelay-test/echo/1.0.0'

// Every script ends by itself: a test that hangs must fail, not stall the suite. Exit code 124
// (as timeout(1)) names the cause.
export function hardTimeout (seconds, what) {
  const t = setTimeout(() => {
    console.error(`${what}: timeout after ${seconds} s`)
    process.exit(124)
  }, seconds * 1000)
  t.unref()
}

// A js-libp2p node as the tests use it: TCP, Noise, yamux, identify, ping; the circuit relay
// transport so that it can reserve on a relay and dial through one. services are added to
// the defaults; listen is a list of multiaddr strings; connectionManager its init (optional).
export async function makeNode ({ listen = [], services = {}, start = true, connectionManager } = {}) {
  return createLibp2p({
    start,
    // the tests open several connections a second between the same hosts (six circuits to
    // one node arrive from one relay): js-libp2p's default of 5 a second per host would
    // refuse the sixth by itself
    connectionManager: {
      inboundConnectionThreshold: 1000,
      maxIncomingPendingConnections: 256,
      ...connectionManager
    },
    addresses: { listen },
    transports: [
      tcp(),
      // 20 s to reserve: namespaces with NATs and a loaded machine are slower than loopback
      circuitRelayTransport({ reservationCompletionTimeout: 20000 })
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping(), ...services }
  })
}

// The echo test data: byte i of every transfer is PATTERN[i % PATTERN.length], a
// pseudo-random block (xorshift32, fixed seed) whose prime length keeps chunk and window
// boundaries from lining up with it, so a lost, repeated or reordered chunk shows.
const PATTERN_LEN = 1048573
const PATTERN = (() => {
  const b = Buffer.alloc(PATTERN_LEN)
  let x = 0x9e3779b9
  for (let i = 0; i < PATTERN_LEN; i++) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    b[i] = x & 0xff
  }
  return b
})()

// The n bytes of the pattern from offset off.
export function patternAt (off, n) {
  const out = Buffer.alloc(n)
  let done = 0
  while (done < n) {
    const p = (off + done) % PATTERN_LEN
    const k = Math.min(n - done, PATTERN_LEN - p)
    PATTERN.copy(out, done, p, p + k)
    done += k
  }
  return out
}

// Whether chunk equals the pattern at offset off (no copy).
export function patternMatches (chunk, off) {
  let done = 0
  while (done < chunk.length) {
    const p = (off + done) % PATTERN_LEN
    const k = Math.min(chunk.length - done, PATTERN_LEN - p)
    if (Buffer.compare(chunk.subarray(done, done + k), PATTERN.subarray(p, p + k)) !== 0) {
      return false
    }
    done += k
  }
  return true
}

// The Circuit Relay v2 status name in a js-libp2p error ("reservation failed with status
// RESOURCE_LIMIT_EXCEEDED", "failed to connect via relay with status NO_RESERVATION"), looked
// for through wrapped causes and aggregated errors; null when there is none.
export function relayStatus (err, depth = 0) {
  if (err == null || depth > 8) return null
  const m = /with status ([A-Z_0-9]+)/.exec(String(err.message ?? err))
  if (m != null) return m[1]
  for (const e of err.errors ?? []) {
    const s = relayStatus(e, depth + 1)
    if (s != null) return s
  }
  return relayStatus(err.cause, depth + 1)
}

// The whole message of err, its causes and aggregated errors on one line (for the logs).
export function errText (err, depth = 0) {
  if (err == null || depth > 8) return ''
  let s = `${err.name ?? 'Error'}: ${err.message ?? err}`
  for (const e of err.errors ?? []) s += ` [${errText(e, depth + 1)}]`
  if (err.cause != null) s += ` (cause: ${errText(err.cause, depth + 1)})`
  return s.replace(/\s*\n\s*/g, ' ')
}
