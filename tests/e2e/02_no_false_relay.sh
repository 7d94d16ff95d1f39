#!/bin/sh
# Scenario 2: one peer public, one behind a port-restricted NAT: the direct path works and the
# helpers keep it (no false relay). The plain-WireGuard baseline is 00_baseline_nat.sh.
# shellcheck disable=SC2015 # "A && B || C": C when A or B fails, as meant
# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
. "$WGR_SOURCE_DIR/sim/world.sh"
world_skip_unless_able
world_init || exit 1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
world_pair none restricted 2 || exit 1
echo "world $W: a public (Paris), b behind a port-restricted NAT (Berlin), relays r1 r2"
world_traffic 40
echo "check: b pings a directly"
# WireGuard retries an unanswered initiation every 5 s: the first ping may wait for a few
# retries on a loaded machine, so the bound is generous; the time it took is printed.
t0=$(date +%s)
if world_wait 30 world_ping b a 1 1; then
	echo "  ping b->a ok after $(($(date +%s) - t0)) s"
else
	bad "no ping b->a within 30 s"
fi
echo "check: for 25 s the endpoints never point at a relay"
end=$(($(date +%s) + 25))
while [ "$(date +%s)" -lt $end ]; do
	for p in "a b" "b a"; do
		# shellcheck disable=SC2086 # p is "a b": two arguments
		if r=$(world_relayed_via $p); then bad "${p% *} relayed via $r"; break 2; fi
	done
	sleep 1
done
echo "  a's endpoint for b: $(world_endpoint a b); b's for a: $(world_endpoint b a)"
wgrelay_in b status | sed 's/^/  /' | tee "$WS/status.txt"
grep -q 'path: direct' "$WS/status.txt" || bad "b's helper does not report direct"
world_ping a b 3 || bad "no ping a->b"
[ $fail = 0 ] && echo PASS || world_dumplogs
exit $fail
