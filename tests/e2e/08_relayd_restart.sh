#!/bin/sh
# Scenario 8: the only relay's wgrelayd restarts (same key): sessions are back within 10 s.
# shellcheck disable=SC2015 # "A && B || C": C when A or B fails, as meant
# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
. "$WGR_SOURCE_DIR/sim/world.sh"
world_skip_unless_able
world_init || exit 1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
world_pair symmetric symmetric 1 || exit 1
echo "world $W: a, b behind symmetric NATs, one relay r1"
world_traffic 150
world_wait 60 world_ping a b 1 1 && world_relayed_via a b >/dev/null || { bad "never relayed"; world_dumplogs; exit 1; }
echo "check: restart wgrelayd on r1; ping through the relay within 10 s of the restart"
kill "$(cat "$WS/r1.relaydpid")"
world_wait 5 sh -c "! kill -0 $(cat "$WS/r1.relaydpid") 2>/dev/null"
world_relay_start r1 || exit 1
t0=$(date +%s)
if world_wait 10 world_ping a b 1 1; then
	echo "  back after $(($(date +%s) - t0)) s via $(world_endpoint a b)"
else
	bad "no ping within 10 s of the restart (endpoint $(world_endpoint a b))"
fi
[ $fail = 0 ] && echo PASS || world_dumplogs
exit $fail
