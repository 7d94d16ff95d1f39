#!/bin/sh
# bench/libp2p.sh [--bytes N] [--reps R] [BUILD_DIR]: a relayed libp2p stream through wgrelayd
# next to the same through js-libp2p's own relay, in one run (docs/LIBP2P.md "Performance").
#
# A network-namespace world (sim/world.sh, as root): relay host r1 runs both relays at once,
# wgrelayd ([Libp2p] on port 4001, no circuit limits) and tests/libp2p/relay.mjs (port 4002,
# unlimited); host a runs two js-libp2p listeners, one reserved on each relay; host b runs the
# js-libp2p dialer, which sends N bytes (default 64 MiB) over an echo protocol through the
# relay and checks them back (so 2N bytes cross the relay). R runs per relay (default 3),
# interleaved; medians reported. Per run: the stream's throughput as the dialer measured it
# (N bytes echoed / time), and the relay's CPU time over the run (utime + stime of all its
# threads, /proc/PID/stat) per MB that crossed it. With 2 CPUs or more the relays share CPU 1
# and the js nodes CPU 0: the throughput is bounded by the js endpoints, the same for both
# rows; the CPU per MB is the relay's own. Prints a table; exit 77 when it cannot run (not
# root, no namespaces, no node or js-libp2p, wgrelayd without libp2p). RELAYS="js" (or
# "wgrelayd") measures one row only.
WGR_SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$WGR_SOURCE_DIR/bench/lib.sh"
BYTES=$((64 * 1024 * 1024))
REPS=3
BUILD=""
while [ $# -gt 0 ]; do
	case $1 in
	--bytes)
		BYTES=$2
		shift
		;;
	--reps)
		REPS=$2
		shift
		;;
	-h | --help)
		bench_usage
		exit 0
		;;
	*) BUILD=$1 ;;
	esac
	shift
done
WGR_BINARY_DIR=$(bench_build_dir "bench: libp2p" "${BUILD:-$WGR_SOURCE_DIR/build}") || exit 1
export WGR_SOURCE_DIR WGR_BINARY_DIR
. "$WGR_SOURCE_DIR/sim/world.sh"
. "$WGR_SOURCE_DIR/sim/libp2p.sh"
world_skip_unless_able
lp_skip_unless_able
RELAYS=${RELAYS:-wgrelayd js}
HZ=$(getconf CLK_TCK)
PIN=""
[ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1 && PIN=1
log() { echo "bench: libp2p: $*" >&2; }

# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
world_init || exit 1
world_public r1 203.0.113.10/24 || exit 1
world_public a 198.51.100.10/24 || exit 1
world_public b 198.51.100.11/24 || exit 1
cat >"$WS/r1.p2p.conf" <<EOF
[Libp2p]
Listen = 203.0.113.10:4001
CircuitBytes = 0
CircuitDuration = 0
EOF
for k in $RELAYS; do
	case $k in
	wgrelayd)
		[ -x "$WGR_BINARY_DIR/relayd/wgrelayd" ] || { echo "SKIP: wgrelayd not built"; exit 77; }
		LP_RELAYD_OPTS="" lp_relay r1 wgrelayd 203.0.113.10 4001 || {
			echo "SKIP: wgrelayd does not serve libp2p"
			exit 77
		}
		;;
	js) lp_relay r1 js 203.0.113.10 4002 --timeout 3600 || exit 1 ;;
	*)
		echo "bench: libp2p: RELAYS: wgrelayd and/or js" >&2
		exit 2
		;;
	esac
	mv "$WS/r1.maddr" "$WS/$k.maddr"
	mv "$WS/r1.relaypid" "$WS/$k.pid"
	lp_js a "a$k" listener.mjs "$(cat "$WS/$k.maddr")" --timeout 3600
done
for k in $RELAYS; do
	world_wait 30 lp_has "a$k" '^relayed ' || {
		echo "bench: libp2p: listener on relay $k: $(tail -2 "$WS/a$k.log")" >&2
		exit 1
	}
done
if [ -n "$PIN" ]; then
	for k in $RELAYS; do
		taskset -a -pc 1 "$(cat "$WS/$k.pid")" >/dev/null
		taskset -a -pc 0 "$(cat "$WS/a$k.pid")" >/dev/null
	done
fi

# run K I: one dialer run through relay K; appends "K MBIT CPU_MS_PER_MB" to $WS/runs
run()
{
	rp=$(cat "$WS/$1.pid")
	c0=$(lp_cpu_ticks "$rp")
	ip netns exec "$W-b" ${PIN:+taskset -c 0} node --import "$LP_DIR/polyfill.mjs" \
		"$LP_DIR/dialer.mjs" "$(lp_field "a$1" relayed)" --bytes "$BYTES" --timeout 600 \
		>"$WS/run-$1-$2.log" 2>&1
	c1=$(lp_cpu_ticks "$rp")
	mbit=$(sed -n 's/^echo OK .*(\([0-9.]*\) Mbit\/s)$/\1/p' "$WS/run-$1-$2.log")
	if [ -z "$mbit" ]; then
		log "run $2 through $1 failed: $(tail -1 "$WS/run-$1-$2.log")"
		return 1
	fi
	awk -v k="$1" -v m="$mbit" -v c=$((c1 - c0)) -v hz="$HZ" -v n="$BYTES" \
		'BEGIN { printf "%s %s %.3f\n", k, m, c * 1000 / hz / (2 * n / 1e6) }' >>"$WS/runs"
	log "run $2 through $1: $(tail -1 "$WS/runs" | cut -d' ' -f2-) (Mbit/s, relay CPU ms/MB)"
}
: >"$WS/runs"
i=1
while [ $i -le "$REPS" ]; do
	for k in $RELAYS; do
		run "$k" $i || exit 1
	done
	i=$((i + 1))
done

median() # K FIELD: the median of FIELD over relay K's runs
{
	awk -v k="$1" -v f="$2" '$1 == k { print $f }' "$WS/runs" | bench_median
}
echo "libp2p relayed stream: js-libp2p $(node -p "require('$LP_DIR/node_modules/libp2p/package.json').version") at both ends, $BYTES bytes echoed ($((2 * BYTES)) through the relay), median of $REPS"
echo
echo "| relay | stream Mbit/s | relay CPU ms per MB |"
echo "|---|---:|---:|"
for k in $RELAYS; do
	name=wgrelayd
	[ "$k" = js ] && name="js-libp2p relay (@libp2p/circuit-relay-v2 $(node -p \
		"require('$LP_DIR/node_modules/@libp2p/circuit-relay-v2/package.json').version"))"
	echo "| $name | $(median "$k" 2) | $(median "$k" 3) |"
done
