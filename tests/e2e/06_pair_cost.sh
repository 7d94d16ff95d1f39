#!/bin/sh
# Scenario 6: three relays at distinct locations and latencies (Frankfurt 10 ms, Amsterdam
# 60 ms, Warsaw 120 ms from the core); peers in Paris and Berlin: the pair picks the relay of
# least pair cost, Frankfurt (r1, 203.0.113.10), on both sides.
. "$WGR_SOURCE_DIR/sim/world.sh"
world_skip_unless_able
world_init || exit 1
netem=1
if ! world_has_netem; then
	echo "note: tc netem (sch_netem) unavailable on this kernel: no latencies, GeoIP distance only"
	netem=0
fi
fail=0
bad() { echo "FAIL: $*"; fail=1; }
world_pair symmetric symmetric 3 || exit 1
if [ $netem = 1 ]; then
	world_netem r1 10 0
	world_netem r2 60 0
	world_netem r3 120 0
fi
echo "world $W: a (Paris), b (Berlin) behind symmetric NATs, relays r1 Frankfurt 10 ms, r2 Amsterdam 60 ms, r3 Warsaw 120 ms"
world_traffic 150
world_wait 90 world_ping a b 1 1 || { bad "never relayed"; world_dumplogs; exit 1; }
sleep 3
echo "check: both sides use r1 (203.0.113.10)"
ra=$(world_relayed_via a b) rb=$(world_relayed_via b a)
echo "  a via $ra, b via $rb"
[ "$ra" = 203.0.113.10 ] && [ "$rb" = 203.0.113.10 ] || bad "pair not on the least-cost relay"
[ $fail = 0 ] && echo PASS || world_dumplogs
exit $fail
