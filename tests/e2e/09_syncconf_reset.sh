#!/bin/sh
# Scenario 9: `wg syncconf` with the original config resets a relayed peer's endpoint to the
# direct one; the helper notices and re-applies the relay endpoint.
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
e0=$(world_endpoint a b)
cat >"$WS/a.wgconf" <<C
[Interface]
PrivateKey = $(cat "$WS/a.key")
ListenPort = 51820

[Peer]
PublicKey = $(cat "$WS/b.pub")
AllowedIPs = 192.0.2.2/32
Endpoint = 198.51.100.11:51820
C
echo "check: after wg syncconf (endpoint back to 198.51.100.11:51820) the helper re-applies $e0"
world_x a wg syncconf "${W}a" "$WS/a.wgconf" || exit 1
echo "  endpoint after syncconf: $(world_endpoint a b)"
# shellcheck disable=SC2317 # run by world_wait
reapplied() { world_relayed_via a b >/dev/null && world_ping a b 1 1; }
t0=$(date +%s)
if world_wait 30 reapplied; then
	echo "  re-applied after $(($(date +%s) - t0)) s: $(world_endpoint a b)"
else
	bad "endpoint stays $(world_endpoint a b)"
fi
[ $fail = 0 ] && echo PASS || world_dumplogs
exit $fail
