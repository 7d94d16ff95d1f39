#!/bin/sh
# Scenario 1: both peers behind symmetric NATs. Direct handshakes fail, the helpers move the
# pair onto a relay, and ping and an iperf3 run pass through the tunnel.
. "$WGR_SOURCE_DIR/sim/world.sh"
world_skip_unless_able
world_init || exit 1
fail=0
step() { echo "check: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

cat >"$WS/geo.txt" <<T
203.0.113.10/32 50.11 8.68 Frankfurt DE
203.0.113.11/32 52.37 4.90 Amsterdam NL
198.51.100.10/32 48.86 2.35 Paris FR
198.51.100.11/32 52.52 13.40 Berlin DE
T
world_geoip "$WS/geo.txt" || exit 1
world_relay r1 203.0.113.10 || exit 1
world_relay r2 203.0.113.11 || exit 1
world_natted a ra 198.51.100.10 1 symmetric || exit 1
world_natted b rb 198.51.100.11 2 symmetric || exit 1
world_wg a 192.0.2.1 && world_wg b 192.0.2.2 || exit 1
world_wg_peer a b && world_wg_peer b a || exit 1
world_helper a r1 r2 && world_helper b r1 r2 || exit 1
echo "world $W: a (Paris, symmetric NAT) and b (Berlin, symmetric NAT), relays r1 Frankfurt, r2 Amsterdam"

# traffic both ways makes both WireGuards try (and fail) the direct endpoints
world_x a ping -c 60 -i 1 -W 1 192.0.2.2 >/dev/null 2>&1 &
world_pid $!
world_x b ping -c 60 -i 1 -W 1 192.0.2.1 >/dev/null 2>&1 &
world_pid $!

step "the pair ends up relayed and pings within 60 s"
t0=$(date +%s)
if world_wait 60 world_ping a b 1 1; then
	echo "  ping a->b ok after $(($(date +%s) - t0)) s; a's endpoint for b: $(world_endpoint a b)"
else
	bad "no ping through the tunnel within 60 s"
fi
step "a's endpoint for b is a relay port (203.0.113.x), not b's NAT"
case $(world_endpoint a b) in
203.0.113.*) echo "  ok" ;;
*) bad "endpoint is $(world_endpoint a b)" ;;
esac
step "wgrelay status says relayed"
wgrelay_in a status "$W"a | tee "$WS/status.txt" | sed 's/^/  /'
grep -qi relayed "$WS/status.txt" || bad "status does not say relayed"
step "full-MTU packets pass (ping -s 1392: 1420-byte inner packet, MTU 1420)"
world_ping_size() { world_x a ping -n -q -c 2 -W 2 -s "$1" 192.0.2.2 >/dev/null 2>&1; }
for sz in 1300 1392; do
	if world_ping_size $sz; then echo "  size $sz ok"; else bad "ping -s $sz through the relay fails"; fi
done
step "iperf3 through the tunnel (3 s)"
if command -v iperf3 >/dev/null; then
	world_x b iperf3 -s -1 -B 192.0.2.2 >/dev/null 2>&1 &
	world_pid $!
	sleep 0.5
	if world_x a timeout 20 iperf3 -c 192.0.2.2 -t 3 >"$WS/iperf.txt" 2>&1; then
		grep -E 'receiver' "$WS/iperf.txt" | sed 's/^/  /'
		grep receiver "$WS/iperf.txt" | grep -q ' 0.00 Bytes' && bad "iperf3 moved no data (full-MTU packets lost)"
	else
		bad "iperf3 failed: $(tail -2 "$WS/iperf.txt")"
	fi
fi
[ $fail = 0 ] && echo PASS || world_dumplogs
exit $fail
