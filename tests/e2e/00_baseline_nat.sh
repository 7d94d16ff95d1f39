#!/bin/sh
# Baseline of scenario 2 without any relay: plain wireguard-go peers.
#  - both behind symmetric NATs: no handshake ever completes while packets are sent;
#  - one public, one behind a port-restricted NAT: handshake and ping work.
# shellcheck disable=SC2015 # "A && B || C": C when A or B fails, as meant
# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
. "$WGR_SOURCE_DIR/sim/world.sh"
world_skip_unless_able
world_init || exit 1
fail=0

echo "world $W: peers a, b behind symmetric NATs; peers c (public) and d (port-restricted)"
world_natted a ra 198.51.100.10 1 symmetric || exit 1
world_natted b rb 198.51.100.11 2 symmetric || exit 1
world_public c 198.51.100.20/24 20 || exit 1
world_natted d rd 198.51.100.12 4 restricted || exit 1
world_netem ra 30 0
world_wg a 192.0.2.1 && world_wg b 192.0.2.2 && world_wg c 192.0.2.3 && world_wg d 192.0.2.4 || exit 1
world_wg_peer a b && world_wg_peer b a && world_wg_peer c d && world_wg_peer d c || exit 1

echo "check: symmetric <-> symmetric never handshakes (12 s, both sides sending)"
world_x a ping -c 12 -i 1 -W 1 192.0.2.2 >/dev/null 2>&1 &
p1=$!
world_x b ping -c 12 -i 1 -W 1 192.0.2.1 >/dev/null 2>&1 &
p2=$!
wait $p1 $p2
hs=$(world_handshake a b) tx=$(world_tx a b)
echo "  a->b latest-handshake=$hs tx=$tx"
if [ "$hs" != 0 ] || [ "${tx:-0}" -eq 0 ]; then
	echo "FAIL: expected no handshake with traffic sent"
	fail=1
fi

echo "check: public <-> port-restricted handshakes and pings"
if world_wait 12 world_ping d c 1 1; then
	echo "  d->c ping ok, handshake $(world_handshake d c)"
else
	echo "FAIL: no ping from d to c"
	fail=1
fi
if world_ping c d 3; then echo "  c->d ping ok (reply path through the NAT)"; else echo "FAIL: c->d"; fail=1; fi

[ $fail = 0 ] && echo PASS || world_dumplogs
exit $fail
