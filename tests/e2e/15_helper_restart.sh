#!/bin/sh
# Scenario 15: restarting the helpers (SIGTERM, as systemd and package upgrades do, then a new
# start) while their peers are relayed loses no traffic: the relayed peers stay on their relay
# sessions (no UNBIND, no endpoint put back) and the new run adopts them. A second watch on
# the same database refuses to start.
# shellcheck disable=SC2015 # "A && B || C": C when A or B fails, as meant
# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
. "$WGR_SOURCE_DIR/sim/world.sh"
world_skip_unless_able
world_init || exit 1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
world_pair symmetric symmetric 2 || exit 1
echo "world $W: a, b behind symmetric NATs, relays r1 r2"
world_traffic 200
world_wait 60 world_ping a b 1 1 && world_relayed_via a b >/dev/null || { bad "never relayed"; world_dumplogs; exit 1; }
sleep 3
e0=$(world_endpoint a b)
echo "check: SIGTERM and restart both helpers during 30 pings; at most 3 lost"
world_pings a b 30 "$WS/ping.txt"
sleep 4
stop() { kill -TERM "$(cat "$WS/$1.watchpid")"; world_wait 10 sh -c "! kill -0 $(cat "$WS/$1.watchpid") 2>/dev/null"; }
stop a
stop b
[ "$(world_endpoint a b)" = "$e0" ] || bad "a's endpoint was put back on stop: $e0 -> $(world_endpoint a b)"
sleep 2
world_watch a
world_watch b
world_pings_wait "$WS/ping.txt"
lost=$(world_pings_lost "$WS/ping.txt")
echo "  $lost of 30 pings lost"
[ "${lost:-99}" -le 3 ] || bad "$lost pings lost over a restart"
sleep 3
wgrelay_in a status | tee "$WS/st.txt" | sed 's/^/  /'
grep -q 'path: relayed' "$WS/st.txt" || bad "restarted helper does not report the peer relayed"
grep -q 'adopted' "$WS/a.watch.log" || bad "a's helper did not adopt its relayed peer"
echo "check: a second watch on the same database refuses to start"
if wgrelay_in a watch "${W}a" >"$WS/second.txt" 2>&1; then
	bad "a second watch started"
else
	grep -q 'another wgrelay watch' "$WS/second.txt" || bad "no clear message: $(cat "$WS/second.txt")"
fi
[ $fail = 0 ] && echo PASS || world_dumplogs
exit $fail
