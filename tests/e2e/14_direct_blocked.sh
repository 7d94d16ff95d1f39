#!/bin/sh
# Scenario 14: a working direct path (both peers behind cone NATs, pinging each other) is
# blocked while in use: the helpers notice from the unanswered traffic itself (WireGuard's own
# 15 s rule), not from the handshake's age, and the pair is relayed (goal 20 s; asserted 60 s).
# shellcheck disable=SC2015 # "A && B || C": C when A or B fails, as meant
# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
. "$WGR_SOURCE_DIR/sim/world.sh"
world_skip_unless_able
world_init || exit 1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
world_pair cone cone 2 || exit 1
echo "world $W: a, b behind cone NATs (direct works), relays r1 r2"
world_traffic 150
world_wait 60 world_ping a b 1 1 || { bad "no direct ping"; world_dumplogs; exit 1; }
sleep 8
world_relayed_via a b >/dev/null && { bad "relayed although direct works"; world_dumplogs; exit 1; }
echo "check: direct path blocked at a's router; relayed ping within 60 s"
world_block ra "$(world_ip b)"
t0=$(date +%s)
# shellcheck disable=SC2317 # run by world_wait
relayed() { world_relayed_via a b >/dev/null && world_relayed_via b a >/dev/null && world_ping a b 1 1; }
if world_wait 60 relayed; then
	echo "  relayed via $(world_relayed_via a b) after $(($(date +%s) - t0)) s"
else
	bad "not relayed after 60 s: a->b $(world_endpoint a b), b->a $(world_endpoint b a)"
fi
wgrelay_in a status | tee "$WS/st.txt" | sed 's/^/  /'
grep -q 'path: relayed' "$WS/st.txt" || bad "a's helper does not report the peer relayed"
[ $fail = 0 ] && echo PASS || world_dumplogs
exit $fail
