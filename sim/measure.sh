#!/bin/sh
# measure.sh BUILD_DIR [RUNS] [FIGURE...]: figures for docs/E2E-RESULTS.md, RUNS fresh worlds
# each (default 10), printed one "name seconds" line per run. FIGUREs (default: all):
#   relay     two symmetric-NAT peers, two relays: seconds from traffic start (the first
#             initiation WireGuard sends) to the first ping answered through a relay
#   blocked   two cone-NAT peers pinging directly; the direct path is blocked at a's router:
#             seconds to the first relayed ping
#   failover  relayed pair; the relay in use is killed (kill -9): seconds to the first ping
#             through the other relay
#   restart   relayed pair; both helpers get SIGTERM and start again: pings lost of 30 (1/s)
#   retry     relayed pair, direct still broken: pings lost (1/s) over the first direct try
#   known     relayed pair; helpers leave clean (SIGUSR1), interfaces down, helpers start,
#             interfaces up: seconds to the first relayed ping (the connection cache)
#   iperf     (one run) iperf3 Mbit/s relayed, direct (cone NATs) and relayed in sealed mode
#   network   the relay-network world of tests/e2e/19_relay_network.sh (30 relays, then a
#             31st): seconds until every store holds all 30 descriptors (converge_s), until
#             the 31st is in all 31 stores (join_s), of a helper's list-relays --refresh
#             (refresh_s, two a run), from the helpers' start to the pair's first ping through
#             the GeoIP-best relay (meet_s), until a new valid descriptor is in every store
#             (poke_spread_s), until a killed relay's descriptor left every store (expire_s,
#             DescriptorLifetime 120 s), and the whole run (total_s)
# Set WGR_MTU to override the tunnel MTU (default 1420).
# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
WGR_SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)
WGR_BINARY_DIR=$(cd "${1:-build}" && pwd) || exit 1
export WGR_SOURCE_DIR WGR_BINARY_DIR
. "$WGR_SOURCE_DIR/sim/world.sh"
world_skip_unless_able
runs=${2:-10}
if [ $# -gt 2 ]; then
	shift 2
else
	set -- relay blocked failover restart retry known iperf network
fi
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
iperf() # world_x a iperf3 to b, print receiver Mbit/s
{
	world_x b iperf3 -s -1 -B 192.0.2.2 >/dev/null 2>&1 &
	world_pid $!
	sleep 0.5
	world_x a timeout -k 5 30 iperf3 -c 192.0.2.2 -t 5 -f m 2>&1 | awk '/receiver/ { print $(NF-2) }'
}
mtu() { [ -n "$WGR_MTU" ] && ip -n "$W-a" link set "${W}a" mtu "$WGR_MTU" && ip -n "$W-b" link set "${W}b" mtu "$WGR_MTU"; }
# shellcheck disable=SC2317 # run by world_wait
relayed() { world_relayed_via a b >/dev/null && world_ping a b 1 1; }
relayed_pair() # a relayed symmetric-NAT pair with traffic for $1 s
{
	world_init || exit 1
	world_pair symmetric symmetric 2 >/dev/null || exit 1
	mtu
	world_traffic "$1"
	world_wait 90 relayed || { echo "no relay"; exit 1; }
	sleep 3
}
fig_relay()
{
	world_init || exit 1
	world_pair symmetric symmetric 2 >/dev/null || exit 1
	mtu
	world_traffic 120
	t0=$(date +%s.%N)
	world_wait 90 world_ping a b 1 1 || { echo "no relay"; exit 1; }
	echo "relay_s $(since "$t0")"
}
fig_blocked()
{
	world_init || exit 1
	world_pair cone cone 2 >/dev/null || exit 1
	world_traffic 150
	world_wait 30 world_ping a b 1 1 || { echo "no direct ping"; exit 1; }
	sleep 8
	world_block ra "$(world_ip b)"
	t0=$(date +%s.%N)
	world_wait 120 relayed || { echo "blocked: not relayed"; exit 1; }
	echo "blocked_s $(since "$t0")"
}
fig_failover()
{
	relayed_pair 150
	used=$(world_relayed_via a b)
	case $used in 203.0.113.10) victim=r1 ;; *) victim=r2 ;; esac
	t0=$(date +%s.%N)
	world_kill $victim.relaydpid
	# shellcheck disable=SC2317 # run by world_wait
	moved() { now=$(world_relayed_via a b) && [ "$now" != "$used" ] && world_ping a b 1 1; }
	world_wait 90 moved || { echo "failover: none"; exit 1; }
	echo "failover_s $(since "$t0")"
}
fig_restart()
{
	relayed_pair 150
	world_pings a b 30 "$WS/ping.txt"
	sleep 4
	for h in a b; do
		kill -TERM "$(cat "$WS/$h.watchpid")"
		world_wait 10 sh -c "! kill -0 $(cat "$WS/$h.watchpid") 2>/dev/null"
	done
	sleep 2
	world_watch a
	world_watch b
	world_pings_wait "$WS/ping.txt"
	echo "restart_lost $(world_pings_lost "$WS/ping.txt")"
}
fig_retry()
{
	relayed_pair 200
	# the first direct try is due 60 s after relaying; ping across it
	world_pings a b 70 "$WS/ping.txt"
	world_wait 80 grep -q 'still failing' "$WS/a.watch.log" "$WS/b.watch.log"
	world_pings_wait "$WS/ping.txt"
	echo "retry_lost $(world_pings_lost "$WS/ping.txt")"
}
fig_known()
{
	relayed_pair 40
	sleep 12
	for h in a b; do
		kill -USR1 "$(cat "$WS/$h.watchpid")"
		world_wait 10 sh -c "! kill -0 $(cat "$WS/$h.watchpid") 2>/dev/null"
		ip -n "$W-$h" link set "$W$h" down
	done
	world_watch a
	world_watch b
	sleep 3
	ip -n "$W-a" link set "${W}a" up
	ip -n "$W-b" link set "${W}b" up
	t0=$(date +%s.%N)
	world_wait 60 relayed || { echo "known: not relayed"; exit 1; }
	echo "known_s $(since "$t0")"
}
fig_iperf()
{
	(
		relayed_pair 120
		echo "relayed_mbit $(iperf)"
	)
	(
		world_init || exit 1
		world_pair cone cone 2 >/dev/null || exit 1
		mtu
		world_wait 30 world_ping a b 1 1 || { echo "cone: no direct ping"; exit 1; }
		echo "direct_endpoint $(world_endpoint a b)"
		echo "direct_mbit $(iperf)"
	)
	(
		# the same symmetric-NAT world with both helpers in sealed mode
		export WORLD_MODE=sealed
		relayed_pair 120
		echo "sealed_endpoint $(world_endpoint a b)"
		echo "sealed_mbit $(iperf)"
	)
}
fig_network()
{
	# The scenario builds and removes its own world; its figure lines are the figures.
	_out=$(sh "$WGR_SOURCE_DIR/tests/e2e/19_relay_network.sh" 2>&1)
	echo "$_out" | sed -n 's/^figure: //p'
	echo "$_out" | grep -qx PASS || { echo "$_out" | grep '^FAIL'; exit 1; }
}
for fig in "$@"; do
	if [ "$fig" = iperf ]; then
		fig_iperf
		continue
	fi
	# the run counter is not called n: sim/world.sh's functions use n as a plain (global) variable
	run=0
	while [ $run -lt "$runs" ]; do
		(fig_"$fig") || echo "$fig run $run failed"
		run=$((run + 1))
	done
done
