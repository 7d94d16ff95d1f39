// Node A of the interop tests: reserves a slot on a Circuit Relay v2 relay and serves an echo
// protocol and ping to whoever dials it through the relay.
//
// usage: node --import ./polyfill.mjs listener.mjs RELAY_MULTIADDR [--timeout S]
// RELAY_MULTIADDR is /ip4/ADDR/tcp/PORT/p2p/RELAYID. Prints
//   relayed /ip4/ADDR/tcp/PORT/p2p/RELAYID/p2p-circuit/p2p/A   the reservation was accepted
//   refused STATUS                                              it was refused: exit 3
//   renewed expire=UNIX_S                                       js renewed it (see below)
//   echo N bytes                                                an echo stream ended
// then serves until killed or the timeout (default 3600 s). Exit 1 on other errors.
//
// Renewal: js-libp2p renews a reservation max(TTL - 5 min, 30 s) after it was made. It has no
// public event for it; the circuit relay transport's reservation store (internal) dispatches
// "relay:created-reservation" for the first reservation and every renewal, read here.
import { parseArgs } from 'node:util'
import { multiaddr } from '@multiformats/multiaddr'
import { ECHO, errText, hardTimeout, makeNode, relayStatus } from './common.mjs'

const { values: opt, positionals: pos } = parseArgs({
  allowPositionals: true,
  options: { timeout: { type: 'string', default: '3600' } }
})
if (pos.length !== 1 || !pos[0].includes('/p2p/')) {
  console.error('usage: listener.mjs /ip4/ADDR/tcp/PORT/p2p/RELAYID [--timeout S]')
  process.exit(2)
}
hardTimeout(Number(opt.timeout), 'listener')
const relay = multiaddr(pos[0])

// Not started yet: the handlers and the renewal hook are in place before the reservation.
const node = await makeNode({ start: false, listen: [`${relay}/p2p-circuit`] })

// Echo every byte back until the dialer half-closes, then half-close too.
await node.handle(ECHO, async (stream) => {
  let n = 0
  try {
    for await (const chunk of stream) {
      n += chunk.byteLength
      if (!stream.send(chunk)) await stream.onDrain()
    }
    await stream.close()
    console.log(`echo ${n} bytes`)
  } catch (err) {
    console.log(`echo failed after ${n} bytes: ${errText(err)}`)
    stream.abort(err)
  }
}, { runOnLimitedConnection: true, maxInboundStreams: 256 })

const circuit = node.components.transportManager.getTransports()
  .find(t => t[Symbol.toStringTag] === '@libp2p/circuit-relay-v2-transport')
let reservations = 0
circuit?.reservationStore?.addEventListener('relay:created-reservation', evt => {
  if (++reservations > 1) {
    console.log(`renewed expire=${evt.detail.details.reservation.expire}`)
  }
})

try {
  await node.start()
} catch (err) {
  const status = relayStatus(err)
  console.error(`js error: ${errText(err)}`)
  console.log(status != null ? `refused ${status}` : `failed ${errText(err)}`)
  process.exit(status != null ? 3 : 1)
}
const mine = node.getMultiaddrs().find(a => a.toString().includes('/p2p-circuit/'))
if (mine == null) {
  console.log(`failed no relayed address among ${node.getMultiaddrs().join(' ')}`)
  process.exit(1)
}
console.log(`relayed ${mine}`)
const stop = () => { node.stop().finally(() => process.exit(0)) }
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
