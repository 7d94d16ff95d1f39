// Node B of the interop tests: dials node A through the relay, pings it and checks an echo.
//
// usage: node --import ./polyfill.mjs dialer.mjs TARGET [--bytes N] [--circuits K]
//          [--again FILE] [--timeout S]
// TARGET is A's relayed address, /ip4/ADDR/tcp/PORT/p2p/RELAYID/p2p-circuit/p2p/AID.
// Default: one node dials A, prints "ping OK <ms>", sends N bytes (default 10 MiB) of the
// pseudo-random test pattern over /wgrelay-test/echo/1.0.0 and checks the echo byte for byte:
// "echo OK N bytes in T ms (X Mbit/s)". With --again FILE it then waits for FILE to exist and
// pings and echoes once more over the same circuit (a test does something to the relay in
// between). A dial the relay refuses prints "refused STATUS" and exits 3; any other failure
// exits 1; the timeout (default 120 s) exits 124.
// --circuits K: K separate nodes (K peer ids) each open a circuit to A, one after the other,
// all kept open until the last: "circuit I OK" or "circuit I refused STATUS" per node, exit 0
// when every node got an answer (OK or a relay status).
import { existsSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { multiaddr } from '@multiformats/multiaddr'
import { ECHO, errText, hardTimeout, makeNode, patternAt, patternMatches, relayStatus } from './common.mjs'

const { values: opt, positionals: pos } = parseArgs({
  allowPositionals: true,
  options: {
    bytes: { type: 'string', default: String(10 * 1024 * 1024) },
    circuits: { type: 'string' },
    again: { type: 'string' },
    timeout: { type: 'string', default: '120' }
  }
})
if (pos.length !== 1 || !pos[0].includes('/p2p-circuit/p2p/')) {
  console.error('usage: dialer.mjs /ip4/A/tcp/P/p2p/RELAY/p2p-circuit/p2p/TARGET ' +
    '[--bytes N] [--circuits K] [--again FILE] [--timeout S]')
  process.exit(2)
}
hardTimeout(Number(opt.timeout), 'dialer')
const target = multiaddr(pos[0])
const CHUNK = 64 * 1024

// Send n pattern bytes on a new echo stream and read them back: the elapsed ms, or a throw
// naming where the echo went wrong.
async function echo (conn, n) {
  const stream = await conn.newStream(ECHO, { runOnLimitedConnection: true })
  const t0 = performance.now()
  const reader = (async () => {
    let got = 0
    for await (const c of stream) {
      const chunk = c instanceof Uint8Array ? c : c.subarray()
      if (got + chunk.length > n) throw new Error(`echo: ${got + chunk.length} bytes, sent ${n}`)
      if (!patternMatches(chunk, got)) throw new Error(`echo: bytes differ within ${got}..${got + chunk.length}`)
      got += chunk.length
    }
    if (got !== n) throw new Error(`echo: stream ended after ${got} of ${n} bytes`)
  })()
  for (let off = 0; off < n; off += CHUNK) {
    if (!stream.send(patternAt(off, Math.min(CHUNK, n - off)))) await stream.onDrain()
  }
  await stream.close()
  await reader
  return performance.now() - t0
}

// One /ipfs/ping/1.0.0 round trip on conn itself: the ping service would dial A anew when
// its only connection is limited (a relay that sends a Limit makes it so), a second circuit.
async function ping (conn) {
  const stream = await conn.newStream('/ipfs/ping/1.0.0', { runOnLimitedConnection: true })
  const out = Buffer.from(crypto.getRandomValues(new Uint8Array(32)))
  const t0 = performance.now()
  stream.send(out)
  let back = Buffer.alloc(0)
  for await (const c of stream) {
    back = Buffer.concat([back, c instanceof Uint8Array ? c : c.subarray()])
    if (back.length >= 32) break
  }
  const ms = performance.now() - t0
  await stream.close().catch(() => {})
  if (Buffer.compare(back, out) !== 0) throw new Error(`ping: ${back.length} bytes back, not the 32 sent`)
  return ms
}

async function pingEcho (conn, n) {
  const ms = await ping(conn)
  console.log(`ping OK ${ms.toFixed(1)}`)
  const t = await echo(conn, n)
  console.log(`echo OK ${n} bytes in ${Math.round(t)} ms (${(n * 8 / t / 1000).toFixed(1)} Mbit/s)`)
}

// A relay's refusal becomes "refused STATUS" and exit 3; anything else is a failure.
function fail (what, err) {
  const status = relayStatus(err)
  console.error(`${what}js error: ${errText(err)}`)
  console.log(status != null ? `${what}refused ${status}` : `${what}failed ${errText(err)}`)
  return status != null ? 3 : 1
}

if (opt.circuits != null) {
  const k = Number(opt.circuits)
  const nodes = []
  let rc = 0
  for (let i = 1; i <= k; i++) {
    const node = await makeNode()
    nodes.push(node)
    try {
      await node.dial(target)
      console.log(`circuit ${i} OK`)
    } catch (err) {
      if (fail(`circuit ${i} `, err) !== 3) rc = 1
    }
  }
  await Promise.allSettled(nodes.map(n => n.stop()))
  process.exit(rc)
}

const node = await makeNode()
let conn
try {
  conn = await node.dial(target)
} catch (err) {
  process.exit(fail('', err))
}
try {
  await pingEcho(conn, Number(opt.bytes))
  if (opt.again != null) {
    while (!existsSync(opt.again)) await sleep(100)
    await pingEcho(conn, Number(opt.bytes))
  }
} catch (err) {
  console.log(`failed ${errText(err)}`)
  process.exit(1)
}
await node.stop()
process.exit(0)
