#!/bin/sh
# Scenario 3: both peers behind symmetric NATs, relayed; the relay in use is killed and the
# traffic moves to the other bound relay. Prints the failover time.
# shellcheck disable=SC2015 # "A && B || C": C when A or B fails, as meant
# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
. "$WGR_SOURCE_DIR/sim/world.sh"
world_skip_unless_able
world_init || exit 1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
world_pair symmetric symmetric 2 || exit 1
echo "world $W: a, b behind symmetric NATs, relays r1 r2"
world_traffic 150
echo "check: relayed ping within 60 s"
world_wait 60 world_ping a b 1 1 || { bad "never relayed"; world_dumplogs; exit 1; }
sleep 3
used=$(world_relayed_via a b) || { bad "a not relayed"; world_dumplogs; exit 1; }
case $used in 203.0.113.10) victim=r1 ;; *) victim=r2 ;; esac
echo "  relayed via $used ($victim); kill -9 wgrelayd on $victim"
t0=$(date +%s)
world_kill $victim.relaydpid
echo "check: ping works again through the other relay within 20 s (goal 6 s)"
if world_wait 20 world_ping a b 1 1 && now=$(world_relayed_via a b) && [ "$now" != "$used" ]; then
	echo "  failover to $now after $(($(date +%s) - t0)) s"
else
	sleep 2
	now=$(world_relayed_via a b)
	if [ -n "$now" ] && [ "$now" != "$used" ] && world_ping a b 2; then
		echo "  failover to $now after $(($(date +%s) - t0)) s"
	else
		bad "no failover (endpoint $(world_endpoint a b))"
	fi
fi
[ $fail = 0 ] && echo PASS || world_dumplogs
exit $fail
