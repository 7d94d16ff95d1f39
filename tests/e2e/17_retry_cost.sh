#!/bin/sh
# Scenario 17: a relayed pair whose direct path is still broken (symmetric NATs). The helpers'
# first direct try (60 s after relaying) costs about one round trip: WireGuard is made to send
# on the direct endpoint at once and the try is judged within 2 s, so pinging once a second
# across it loses at most a couple of pings (goal 2; asserted 6), and the pair stays relayed.
# shellcheck disable=SC2015 # "A && B || C": C when A or B fails, as meant
# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
. "$WGR_SOURCE_DIR/sim/world.sh"
world_skip_unless_able
world_init || exit 1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
world_pair symmetric symmetric 2 || exit 1
echo "world $W: a, b behind symmetric NATs, relays r1 r2"
world_traffic 30
world_wait 60 world_ping a b 1 1 && world_relayed_via a b >/dev/null || { bad "never relayed"; world_dumplogs; exit 1; }
echo "check: ping once a second across the first direct try; at most 6 lost"
world_pings a b 80 "$WS/ping.txt"
# shellcheck disable=SC2317 # run by world_wait
tried() { grep -q 'still failing' "$WS/a.watch.log" && grep -q 'still failing' "$WS/b.watch.log"; }
world_wait 90 tried || bad "no direct try within 90 s"
grep -h 'trying direct\|still failing' "$WS/a.watch.log" | sed 's/^/  /'
world_pings_wait "$WS/ping.txt"
lost=$(world_pings_lost "$WS/ping.txt")
echo "  $lost of 80 pings lost"
[ "${lost:-99}" -le 6 ] || bad "$lost pings lost over a failed direct try"
world_relayed_via a b >/dev/null || bad "not relayed after the try"
[ $fail = 0 ] && echo PASS || world_dumplogs
exit $fail
