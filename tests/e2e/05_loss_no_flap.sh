#!/bin/sh
# Scenario 5: 10 % loss on the relays' links (both ways): the relayed tunnel stays up and the
# helpers do not flap between relays or back and forth to direct.
. "$WGR_SOURCE_DIR/sim/world.sh"
world_skip_unless_able
world_init || exit 1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
world_pair symmetric symmetric 2 || exit 1
echo "world $W: a, b behind symmetric NATs, relays r1 r2"
world_traffic 200
world_wait 60 world_ping a b 1 1 && world_relayed_via a b >/dev/null || { bad "never relayed"; world_dumplogs; exit 1; }
sleep 5
world_netem r1 0 10
world_netem r2 0 10
e0=$(world_endpoint a b)
n0=$(grep -c 'relayed via\|direct' "$WS/a.watch.log")
echo "check: 10 % loss on r1 and r2 for 60 s: >= 40 % of pings answered (a round trip crosses the relay link 4 times: ~66 % expected), endpoint and path unchanged"
world_x a ping -q -c 60 -i 1 -W 1 192.0.2.2 >"$WS/lossping.txt" 2>&1
got=$(awk '/received/ { print $4 }' "$WS/lossping.txt")
echo "  $got/60 answered; endpoint $(world_endpoint a b)"
[ "${got:-0}" -ge 24 ] || bad "tunnel did not stay up"
[ "$(world_endpoint a b)" = "$e0" ] || bad "endpoint moved: $e0 -> $(world_endpoint a b)"
n1=$(grep -c 'relayed via\|direct' "$WS/a.watch.log")
[ "$n1" = "$n0" ] || bad "helper changed path $((n1 - n0)) times under loss"
[ $fail = 0 ] && echo PASS || world_dumplogs
exit $fail
