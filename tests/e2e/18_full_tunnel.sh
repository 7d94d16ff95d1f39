#!/bin/sh
# Scenario 18: a full tunnel that comes up after the helper started (as wg-quick makes one: a
# device fwmark, everything not carrying it routed into the tunnel). The helper's relay links
# must carry the mark from then on, or they go into the tunnel and fall silent, and the helper
# can no longer see or steer: here the relay in use is then killed, and a, whose links are
# marked, must still fail over to the other relay with b.
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
world_wait 60 world_ping a b 1 1 && world_relayed_via a b >/dev/null || { bad "never relayed"; world_dumplogs; exit 1; }
echo "check: a full tunnel comes up on a (fwmark 51820, default route into the tunnel)"
world_x a wg set "${W}a" fwmark 51820 &&
	world_x a ip rule add not fwmark 51820 table 51820 &&
	world_x a ip route add default dev "${W}a" table 51820 &&
	world_x a ip rule add table main suppress_prefixlength 0 || bad "cannot set up the full tunnel"
world_wait 5 grep -q 'relay traffic now carries fwmark 0xca6c' "$WS/a.watch.log" ||
	bad "a's helper did not mark its relay links"
sleep 12 # longer than a link's dead time: unmarked links would have fallen silent by now
grep -q 'silent, reconnecting' "$WS/a.watch.log" && bad "a's relay links went silent"
world_ping a b 3 || bad "no ping through the relay inside the full tunnel"
used=$(world_relayed_via a b) || { bad "a not relayed"; world_dumplogs; exit 1; }
case $used in 203.0.113.10) victim=r1 ;; *) victim=r2 ;; esac
echo "check: kill -9 wgrelayd on $victim ($used); both sides move to the other relay within 30 s"
world_kill $victim.relaydpid
# shellcheck disable=SC2317 # run by world_wait
moved() { now=$(world_relayed_via a b) && [ "$now" != "$used" ] && world_ping a b 1 1; }
t0=$(date +%s)
if world_wait 30 moved; then
	echo "  moved to $(world_relayed_via a b) after $(($(date +%s) - t0)) s"
else
	bad "no failover inside the full tunnel (a->b $(world_endpoint a b), b->a $(world_endpoint b a))"
fi
[ $fail = 0 ] && echo PASS || world_dumplogs
exit $fail
