// A js-libp2p Circuit Relay v2 server: the reference relay the other scripts are checked
// against, and the comparison row of bench/libp2p.sh.
//
// usage: node --import ./polyfill.mjs relay.mjs ADDR:PORT [--max-reservations N]
//          [--reservation-ttl S] [--circuit-duration S] [--circuit-bytes N] [--timeout S]
// Prints "relay /ip4/ADDR/tcp/PORT/p2p/ID" once listening, then serves until killed or the
// timeout (default 3600 s). Circuits are unlimited unless --circuit-duration or
// --circuit-bytes is given (js-libp2p's own default, 2 min / 128 KiB, would cut the echo).
// js-libp2p's server has no per-peer circuit limit; a reservation beyond --max-reservations
// is refused with RESERVATION_REFUSED.
import { parseArgs } from 'node:util'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { errText, hardTimeout, makeNode } from './common.mjs'

const { values: opt, positionals: pos } = parseArgs({
  allowPositionals: true,
  options: {
    'max-reservations': { type: 'string', default: '1024' },
    'reservation-ttl': { type: 'string', default: '3600' },
    'circuit-duration': { type: 'string', default: '0' },
    'circuit-bytes': { type: 'string', default: '0' },
    timeout: { type: 'string', default: '3600' }
  }
})
const m = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(pos[0] ?? '')
if (m == null) {
  console.error('usage: relay.mjs ADDR:PORT [--max-reservations N] [--reservation-ttl S] ' +
    '[--circuit-duration S] [--circuit-bytes N] [--timeout S]')
  process.exit(2)
}
hardTimeout(Number(opt.timeout), 'relay')

const durationS = Number(opt['circuit-duration'])
const bytes = BigInt(opt['circuit-bytes'])
const limited = durationS > 0 || bytes > 0n
const node = await makeNode({
  listen: [`/ip4/${m[1]}/tcp/${m[2]}`],
  services: {
    relay: circuitRelayServer({
      reservations: {
        maxReservations: Number(opt['max-reservations']),
        reservationTtl: Number(opt['reservation-ttl']) * 1000,
        applyDefaultLimit: limited,
        // js-libp2p's server counts Limit.duration in milliseconds, enforces and sends that
        // number; its client (as the spec) reads seconds, so it expects 1000 times longer
        defaultDurationLimit: durationS > 0 ? durationS * 1000 : 2 ** 31 - 1,
        defaultDataLimit: bytes > 0n ? bytes : 2n ** 63n - 1n
      }
    })
  }
}).catch(err => {
  console.error(`relay: ${errText(err)}`)
  process.exit(1)
})
const addr = node.getMultiaddrs().find(a => a.toString().startsWith(`/ip4/${m[1]}/`))
console.log(`relay ${addr}`)
const stop = () => { node.stop().finally(() => process.exit(0)) }
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
