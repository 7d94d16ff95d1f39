#!/bin/sh
# demo.sh BUILD_DIR: a narrated world: two WireGuard peers behind symmetric NATs cannot reach
# each other directly; the wgrelay helpers move them onto one of two relays. Run as root.
# `make demo` runs it after building. Measures nothing; tears everything down at the end.
# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
WGR_SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)
WGR_BINARY_DIR=$(cd "${1:-build}" && pwd) || { echo "demo: no build dir '$1'"; exit 1; }
export WGR_SOURCE_DIR WGR_BINARY_DIR
. "$WGR_SOURCE_DIR/sim/world.sh"
world_skip_unless_able
for b in relayd/wgrelayd relay-client/wgrelay; do
	[ -x "$WGR_BINARY_DIR/$b" ] || { echo "demo: $WGR_BINARY_DIR/$b missing (make build)"; exit 1; }
done
say() { printf '\n== %s\n' "$*"; }
world_init || exit 1

say "Building world $W: an internet core, relays r1 203.0.113.10 (Frankfurt) and r2"
echo "   203.0.113.11 (Amsterdam); peer a behind a symmetric NAT 198.51.100.10 (Paris),"
echo "   peer b behind a symmetric NAT 198.51.100.11 (Berlin). Tunnel: 192.0.2.1 <-> 192.0.2.2"
world_pair symmetric symmetric 2 >/dev/null || { echo "demo: world setup failed"; world_dumplogs; exit 1; }
echo "   wireguard-go runs on a and b; wgrelayd on r1, r2; 'wgrelay watch' on a and b"
# Some geography: each link's round trip (tc netem, or the NFQUEUE delay line without it).
if world_has_delay; then
	world_netem ra 8 0 2>/dev/null && world_netem rb 6 0 2>/dev/null &&
		world_netem r1 4 0 2>/dev/null && world_netem r2 12 0 2>/dev/null &&
		echo "   link round trips: a's NAT 8 ms, b's NAT 6 ms, r1 4 ms, r2 12 ms"
fi

say "a pings b. WireGuard sends handshakes to b's NAT, which drops them (symmetric NAT)."
world_traffic 90
t0=$(date +%s)
sleep 6
echo "   a: latest handshake with b = $(world_handshake a b) (0 = never), sent $(world_tx a b) bytes"
echo "   a's endpoint for b: $(world_endpoint a b)"

say "The helpers see failed handshake windows and move the pair onto a relay..."
if world_wait 60 world_ping a b 1 1; then
	echo "   ping through the tunnel works after $(($(date +%s) - t0)) s"
else
	echo "   no ping through the relay within 60 s (see logs below)"
	world_dumplogs
	exit 1
fi
echo "   a's endpoint for b is now $(world_endpoint a b) (a port on a relay)"

say "wgrelay status on a (the helper's decision and why):"
wgrelay_in a status | sed 's/^/   /'

say "wgrelay list-relays on a:"
wgrelay_in a list-relays | sed 's/^/   /'

say "ping through the relay:"
world_x a ping -c 3 -i 0.3 192.0.2.2 | sed 's/^/   /'

say "Tearing world $W down."
exit 0
