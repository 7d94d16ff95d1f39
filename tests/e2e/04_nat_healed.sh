#!/bin/sh
# Scenario 4: the pair is relayed (both symmetric NATs); b's NAT is healed (inbound forwarded,
# as a public host): the helpers' direct retry (backoff from 1 min) returns the pair to direct.
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
echo "check: relayed within 60 s"
world_wait 60 world_ping a b 1 1 && world_relayed_via a b >/dev/null || { bad "never relayed"; world_dumplogs; exit 1; }
echo "  relayed via $(world_relayed_via a b); healing NATs (b and a forward inbound, keep ports)"
world_nat rb public "$(cat "$WS/b.inner")"
world_nat ra public "$(cat "$WS/a.inner")"
echo "check: back to direct within 150 s (first direct retry is due after 1 min)"
# shellcheck disable=SC2317 # run by world_wait
direct() { ! world_relayed_via a b >/dev/null && ! world_relayed_via b a >/dev/null && world_ping a b 1 1; }
t0=$(date +%s)
if world_wait 150 direct; then
	echo "  direct after $(($(date +%s) - t0)) s: a->b $(world_endpoint a b), b->a $(world_endpoint b a)"
else
	bad "still relayed: a->b $(world_endpoint a b), b->a $(world_endpoint b a)"
fi
echo "check: both helpers say direct (within one retry window)"
# shellcheck disable=SC2317 # run by world_wait
says_direct() { wgrelay_in "$1" status 2>&1 | grep -q 'path: direct'; }
for h in a b; do
	world_wait 12 says_direct $h || bad "$h's helper does not report the peer direct: $(wgrelay_in $h status 2>&1 | grep 'path:\|why:')"
done
[ $fail = 0 ] && echo PASS || world_dumplogs
exit $fail
