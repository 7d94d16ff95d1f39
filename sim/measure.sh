#!/bin/sh
# measure.sh BUILD_DIR [RUNS]: figures for docs/E2E-RESULTS.md. For each run, a fresh world of
# two symmetric-NAT peers and two relays: seconds from the first failed direct handshake (the
# first initiation WireGuard sends, i.e. traffic start) to the first ping answered through the
# relay. Then iperf3 through the relayed tunnel, and in the same topology with full-cone NATs
# (direct path works) for comparison, and with both helpers in sealed mode. Set WGR_MTU to
# override the tunnel MTU (default 1420).
# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
WGR_SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)
WGR_BINARY_DIR=$(cd "${1:-build}" && pwd) || exit 1
export WGR_SOURCE_DIR WGR_BINARY_DIR
. "$WGR_SOURCE_DIR/sim/world.sh"
world_skip_unless_able
runs=${2:-10}
iperf() # world_x a iperf3 to b, print receiver Mbit/s
{
	world_x b iperf3 -s -1 -B 192.0.2.2 >/dev/null 2>&1 &
	world_pid $!
	sleep 0.5
	world_x a timeout 30 iperf3 -c 192.0.2.2 -t 5 -f m 2>&1 | awk '/receiver/ { print $(NF-2) }'
}
mtu() { [ -n "$WGR_MTU" ] && ip -n "$W-a" link set "${W}a" mtu "$WGR_MTU" && ip -n "$W-b" link set "${W}b" mtu "$WGR_MTU"; }
# the run counter is not called n: sim/world.sh's functions use n as a plain (global) variable
run=0
while [ $run -lt "$runs" ]; do
	(
		world_init || exit 1
		world_pair symmetric symmetric 2 >/dev/null || exit 1
		mtu
		world_traffic 120
		t0=$(date +%s.%N)
		world_wait 90 world_ping a b 1 1 || { echo "run $run: no relay"; exit 1; }
		echo "relay_s $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
		if [ "$run" = 0 ]; then echo "relayed_mbit $(iperf)"; fi
	)
	run=$((run + 1))
done
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
	world_init || exit 1
	WORLD_MODE=sealed
	world_pair symmetric symmetric 2 >/dev/null || exit 1
	world_traffic 120
	world_wait 90 world_ping a b 1 1 || { echo "sealed: no relay"; exit 1; }
	sleep 3 # both WireGuards on the helpers' local ports
	echo "sealed_endpoint $(world_endpoint a b)"
	echo "sealed_mbit $(iperf)"
)
