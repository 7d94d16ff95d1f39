#!/bin/sh
# Scenario 7: `kill -9` of a helper while its peer is relayed in direct mode: relayed traffic
# keeps flowing (the relay port is in WireGuard's endpoint), and the restarted helper adopts
# its peer (status says relayed again, endpoint unchanged).
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
world_wait 60 world_ping a b 1 1 && e0=$(world_relayed_via a b) || { bad "never relayed"; world_dumplogs; exit 1; }
e0=$(world_endpoint a b)
echo "check: kill -9 a's helper; pings keep flowing for 15 s"
world_kill a.watchpid
ok=0
for _ in 1 2 3 4 5; do world_ping a b 1 2 && ok=$((ok + 1)); sleep 2; done
echo "  $ok/5 pings answered; endpoint $(world_endpoint a b)"
[ $ok -ge 4 ] || bad "relayed traffic stopped without the helper"
echo "check: restarted helper adopts the peer"
world_watch a
sleep 8
world_ping a b 3 || bad "no ping after helper restart"
[ "$(world_endpoint a b)" = "$e0" ] || bad "endpoint changed: $e0 -> $(world_endpoint a b)"
wgrelay_in a status | tee "$WS/st.txt" | sed 's/^/  /'
grep -q 'path: relayed' "$WS/st.txt" || bad "restarted helper does not report the peer relayed"
[ $fail = 0 ] && echo PASS || world_dumplogs
exit $fail
