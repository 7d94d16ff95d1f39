#!/bin/sh
# Scenario 6: three relays at distinct locations and latencies (Frankfurt 10 ms, Amsterdam
# 60 ms, Warsaw 120 ms from the core); peers in Paris and Berlin: the pair picks the relay of
# least pair cost, Frankfurt (r1, 203.0.113.10), on both sides. Where delays can be added
# (tc netem, or the NFQUEUE delay line of sim/world.sh), the RTTs each helper measured to the
# relays (`wgrelay list-relays --no-probe`) must also follow them: r1 < r2 < r3, each within
# 40 % + 5 ms of its link's delay.
# shellcheck disable=SC2015 # "A && B || C": C when A or B fails, as meant
# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
. "$WGR_SOURCE_DIR/sim/world.sh"
world_skip_unless_able
world_init || exit 1
delay=1
if ! world_has_delay; then
	echo "note: neither tc netem nor the NFQUEUE delay line works here: no latencies"
	delay=0
fi
fail=0
bad() { echo "FAIL: $*"; fail=1; }
world_pair symmetric symmetric 3 || exit 1
if [ $delay = 1 ]; then
	world_netem r1 10 0 && world_netem r2 60 0 && world_netem r3 120 0 || exit 1
fi
echo "world $W: a (Paris), b (Berlin) behind symmetric NATs, relays r1 Frankfurt 10 ms, r2 Amsterdam 60 ms, r3 Warsaw 120 ms"
world_traffic 150
world_wait 90 world_ping a b 1 1 || { bad "never relayed"; world_dumplogs; exit 1; }
sleep 3
echo "check: both sides use r1 (203.0.113.10)"
ra=$(world_relayed_via a b) rb=$(world_relayed_via b a)
echo "  a via $ra, b via $rb"
[ "$ra" = 203.0.113.10 ] && [ "$rb" = 203.0.113.10 ] || bad "pair not on the least-cost relay"

# rtt_ok NAME: NAME's helper published RTTs r1 < r2 < r3, each near its link's delay
# shellcheck disable=SC2317 # run by world_wait
rtt_ok()
{
	wgrelay_in "$1" list-relays --no-probe --json 2>/dev/null |
		jq -r '.[] | "\(.endpoint | sub(":[0-9]+$"; "")) \(.rtt_ms // -1)"' >"$WS/$1.rtt"
	awk 'BEGIN { want["203.0.113.10"] = 10; want["203.0.113.11"] = 60; want["203.0.113.12"] = 120 }
		$1 in want { got[$1] = $2; d = $2 - want[$1]; if (d < 0) d = -d
			if ($2 < 0 || d > want[$1] * 0.4 + 5) off = 1; n++ }
		END { exit !(n == 3 && !off && got["203.0.113.10"] < got["203.0.113.11"] &&
			got["203.0.113.11"] < got["203.0.113.12"]) }' "$WS/$1.rtt"
}
if [ $delay = 1 ]; then
	# the helpers PING every 5 s and publish every 10 s: allow two rounds after the delays
	echo "check: helper RTTs r1 < r2 < r3, each within 40 % + 5 ms of 10, 60, 120 ms"
	for h in a b; do
		world_wait 25 rtt_ok $h || bad "$h's RTTs do not follow the link delays"
		echo "  $h: $(awk '{ printf "%s %s ms  ", $1, $2 }' "$WS/$h.rtt")"
	done
fi
[ $fail = 0 ] && echo PASS || world_dumplogs
exit $fail
