#!/bin/sh
# Scenario 10: the relay ends a relayed circuit because its byte allowance is used up: both
# helpers bind again at once, the circuit is re-formed on the same relay on a new port, the
# helpers follow it, and traffic flows again.
# shellcheck disable=SC2015 # "A && B || C": C when A or B fails, as meant
# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
. "$WGR_SOURCE_DIR/sim/world.sh"
world_skip_unless_able
world_init || exit 1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
# One relay, with a 2 MB allowance per circuit (the worlds' relays otherwise have none).
printf '[Limits]\nCircuitBytes = 2000000\nCircuitDuration = 0\n' >"$WS/relayd.conf"
world_pair symmetric symmetric 1 || exit 1
echo "world $W: a, b behind symmetric NATs, one relay r1 with CircuitBytes = 2000000"
world_traffic 200
world_wait 60 world_ping a b 1 1 && world_relayed_via a b >/dev/null || {
	bad "never relayed"
	world_dumplogs
	exit 1
}
ep0=$(world_endpoint a b)
echo "  relayed via $ep0"
echo "check: 1100 full-size pings and their replies (3.2 MB) use up the circuit"
world_x a ping -n -q -f -s 1392 -c 1100 -W 1 "$(cat "$WS/b.tun")" >/dev/null 2>&1
if world_wait 10 grep -q "circuit closed.*byte limit" "$WS/r1.relayd.log"; then
	echo "  r1: $(grep -m1 "circuit closed.*byte limit" "$WS/r1.relayd.log" | sed 's/.*event: //')"
else
	bad "r1 never ended the circuit"
fi
t0=$(date +%s)
# shellcheck disable=SC2317 # run by world_wait
reformed() {
	e=$(world_endpoint a b)
	[ "${e%:*}" = "${ep0%:*}" ] && [ "$e" != "$ep0" ] && world_ping a b 1 1
}
echo "check: ping through r1 again, on a new session port, within 30 s"
if world_wait 30 reformed; then
	echo "  back after $(($(date +%s) - t0)) s via $(world_endpoint a b)"
else
	bad "not back on r1 within 30 s (endpoint $(world_endpoint a b))"
fi
echo "check: b follows to the same port"
e=$(world_endpoint b a)
[ "$e" = "$(world_endpoint a b)" ] || bad "b uses $e, a uses $(world_endpoint a b)"
[ $fail = 0 ] && echo PASS || world_dumplogs
exit $fail
