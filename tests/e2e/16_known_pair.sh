#!/bin/sh
# Scenario 16: seed 003's connection cache. A pair that needed a relay goes onto it at once the
# next time: both helpers leave clean (SIGUSR1: direct endpoints back), the interfaces go down,
# the helpers start again, and from the moment the interfaces come up the first ping is
# answered through a relay within seconds (goal 2 s; asserted 6 s), without waiting for a
# direct handshake to fail. Only a pings: b's WireGuard is idle, and its helper makes it send
# through the relay when a's traffic reaches the session (PEER_ACTIVE).
# shellcheck disable=SC2015 # "A && B || C": C when A or B fails, as meant
# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
. "$WGR_SOURCE_DIR/sim/world.sh"
world_skip_unless_able
world_init || exit 1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
world_pair symmetric symmetric 2 || exit 1
echo "world $W: a, b behind symmetric NATs, relays r1 r2"
world_traffic 40
world_wait 60 world_ping a b 1 1 && world_relayed_via a b >/dev/null || { bad "never relayed"; world_dumplogs; exit 1; }
sleep 12 # healthy relayed windows: the cache records the relay's success
echo "check: helpers leave clean, interfaces down, helpers start again"
for h in a b; do
	p=$(cat "$WS/$h.watchpid")
	kill -USR1 "$p"
	world_wait 10 sh -c "! kill -0 $p 2>/dev/null" || bad "$h's helper did not exit on SIGUSR1"
	ip -n "$W-$h" link set "$W$h" down
done
o=$(world_endpoint a b)
[ "$o" = "$(world_ip b):51820" ] || bad "a's endpoint was not put back: $o"
world_watch a
world_watch b
sleep 3
echo "check: interfaces up; a relayed ping within 6 s"
ip -n "$W-a" link set "${W}a" up
ip -n "$W-b" link set "${W}b" up
t0=$(date +%s.%N)
if world_wait 6 world_ping a b 1 1 && world_relayed_via a b >/dev/null; then
	echo "  relayed ping $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after the interfaces came up"
else
	bad "no relayed ping within 6 s (a->b $(world_endpoint a b))"
fi
grep -q 'needed a relay last time' "$WS/a.watch.log" "$WS/b.watch.log" ||
	bad "neither helper used the connection cache"
[ $fail = 0 ] && echo PASS || world_dumplogs
exit $fail
