#!/bin/sh
# bench/circuits.sh [--quick] [BUILD_DIR]: what multi-hop circuits (PROTOCOL.md §13) cost real
# WireGuard: RTT and iperf3 throughput for 1, 2 and 3 hops a side against a direct baseline, in
# one world (docs/BENCHMARKS.md, "Multi-hop circuits", explains the method and holds the table).
# Run as root; needs what scenario 24 needs (wireguard-go, wg, nft, curl, iperf3) and a build
# with wgrelayd and sim/wgr-circ.
#
# The world of scenario 24 (sim/circworld.sh): six relays with Circuits = on in a full mesh, a
# and b behind NATs running wireguard-go; wgr-circ stands in for the helper, which does not
# build circuits yet. Per run, in order, each path a -> b:
#   direct  both NATs switched to "public" (inbound forwarded to the peer), each WireGuard's
#           endpoint the other's public address: the same namespaces, NAT routers and core,
#           no relay and no wgr-circ (WireGuard MTU 1420)
#   1hop    a -> r3, b -> r3 (r3 the rendezvous; NATs symmetric again from here on)
#   2hop    a r1 -> r3, b r2 -> r3
#   3hop    a r1 -> r4 -> r5, b r2 -> r6 -> r5
# each: ping a -> b (WGR_CIRC_PINGS, default 200, every WGR_CIRC_INTERVAL s, default 0.02) for
# RTT p50/p99, then iperf3 TCP a -> b for 5 s with the CPU time (utime + stime) every wgrelayd,
# and both wgr-circ, spent meanwhile. Three runs; the table holds the medians. No link delay
# (this kernel has no sch_netem, and the NFQUEUE delay line would hold every cell in user
# space): RTTs are processing time only. --quick: one run, 1 s of iperf3, 50 pings.
# Writes BUILD_DIR/bench/results/circuits-<stamp>/ (runs.txt, table.md, log.txt) unless
# WGR_BENCH_OUT names another directory; the table also goes to stdout.
SRC=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"
bench_args "$@"
BUILD=$(bench_build_dir circuits "${BUILD:-$SRC/build}") || exit 1
bench_durations "$QUICK" 5
NPING=${WGR_CIRC_PINGS:-200}
[ "$QUICK" = 1 ] && NPING=${WGR_CIRC_PINGS:-50}
IVAL=${WGR_CIRC_INTERVAL:-0.02}
WGR_SOURCE_DIR=$SRC
WGR_BINARY_DIR=$BUILD
export WGR_SOURCE_DIR WGR_BINARY_DIR
# shellcheck source=sim/world.sh
. "$SRC/sim/world.sh"
world_skip_unless_able
for t in curl iperf3; do
	command -v $t >/dev/null 2>&1 || { echo "circuits: $t not installed" >&2; exit 77; }
done
if [ ! -x "$BUILD/sim/wgr-circ" ] || [ ! -x "$BUILD/relayd/wgrelayd" ]; then
	echo "circuits: $BUILD lacks sim/wgr-circ or relayd/wgrelayd" >&2
	exit 1
fi
OUT=${WGR_BENCH_OUT:-$BUILD/bench/results/circuits-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT" || exit 1
LOG=$OUT/log.txt
RUNS=$OUT/runs.txt
: >"$LOG"
printf 'run\tpath\trelays\tp50_ms\tp99_ms\tlost\tmbit_s\tbytes\trelay_cpu_ns\tcirc_cpu_ns\n' >"$RUNS"
say() { echo "$*" | tee -a "$LOG"; }

# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
world_init || exit 1
# shellcheck source=sim/circworld.sh
. "$SRC/sim/circworld.sh"
circ_relays >>"$LOG" 2>&1 || { say "circuits: the relays did not start"; exit 1; }
world_wait 40 circ_mesh_up || { say "circuits: the relay mesh did not come up"; exit 1; }
circ_peers >>"$LOG" 2>&1 || { say "circuits: the peers did not start"; exit 1; }

relay_cpu() # the CPU time of every wgrelayd of the world so far, in ns
{
	_c=0
	for _r in r1 r2 r3 r4 r5 r6; do
		_c=$((_c + $(bench_cpu_ns "$(cat "$WS/$_r.relaydpid")")))
	done
	echo $_c
}
circ_cpu() # PATH: the CPU time of both wgr-circ so far, in ns (0 for the direct path)
{
	[ "$1" = direct ] && { echo 0; return 0; }
	echo $(($(bench_cpu_ns "$(cat "$WS/a.circpid")") + $(bench_cpu_ns "$(cat "$WS/b.circpid")")))
}

# rtts: NPING pings a -> b, every IVAL s; "p50 p99 lost" in ms (nearest rank)
rtts()
{
	world_x a ping -n -c "$NPING" -i "$IVAL" -W 1 -w $((NPING / 10 + 30)) 192.0.2.2 2>&1 |
		awk -v n="$NPING" '/time=/ { sub(/.*time=/, ""); print $1 }' | sort -n |
		awk -v n="$NPING" '{ v[NR] = $1 }
			END { if (NR == 0) { print "- - " n; exit }
				i50 = int(NR * 0.50); if (i50 < NR * 0.50) i50++
				i99 = int(NR * 0.99); if (i99 < NR * 0.99) i99++
				printf "%.3f %.3f %d\n", v[i50], v[i99], n - NR }'
}

# iperf: TCP a -> b for DUR s; "Mbit/s bytes" of the receiver, "- 0" when it failed. The
# server is stopped by its PID whatever happened, so the next run can bind its port.
iperf()
{
	ip netns exec "$W-b" iperf3 -s -1 -B 192.0.2.2 >/dev/null 2>&1 &
	_sp=$!
	world_pid $_sp
	sleep 0.5
	world_x a timeout $((DUR + 17)) iperf3 -c 192.0.2.2 -t "$DUR" -f m >"$WS/iperf.txt" 2>&1
	kill $_sp 2>/dev/null
	wait $_sp 2>/dev/null
	cat "$WS/iperf.txt" >>"$LOG"
	awk '/receiver/ { for (i = 2; i <= NF; i++) {
			if ($i ~ /Bytes$/) { b = $(i - 1); u = $i }
			if ($i ~ /bits\/sec$/) r = $(i - 1) } }
		END { if (r == "") { print "- 0"; exit }
			m = (u ~ /^G/) ? 1073741824 : (u ~ /^M/) ? 1048576 : (u ~ /^K/) ? 1024 : 1
			printf "%s %.0f\n", r, b * m }' "$WS/iperf.txt"
}

# measure RUN PATH RELAYS: pings and iperf3 over what is set up now, one line into RUNS
measure()
{
	if ! world_wait 30 world_ping a b 1 1; then
		say "  run $1 $2: no ping a -> b within 30 s"
		printf '%s\t%s\t%s\t-\t-\t%s\t-\t0\t0\t0\n' "$1" "$2" "$3" "$NPING" >>"$RUNS"
		return 1
	fi
	world_ping a b 5 1 # warm: ARP, WireGuard's handshake both ways
	_rt=$(rtts)
	_c0=$(relay_cpu)
	_w0=$(circ_cpu "$2")
	_ip=$(iperf)
	_c1=$(relay_cpu)
	_w1=$(circ_cpu "$2")
	# shellcheck disable=SC2086 # _rt and _ip: three and two words
	set -- "$1" "$2" "$3" $_rt $_ip
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" \
		$((_c1 - _c0)) $((_w1 - _w0)) >>"$RUNS"
	say "  run $1 $2: RTT p50 $4 ms, p99 $5 ms, $6 of $NPING lost; iperf3 $7 Mbit/s;" \
		"relays' CPU $(((_c1 - _c0) / 1000000)) ms, wgr-circ $(((_w1 - _w0) / 1000000)) ms"
}

no_hops()
{
	for _r in r1 r2 r3 r4 r5 r6; do [ "$(hops "$_r")" = 0 ] || return 1; done
}

# circuit RUN PATH RELAYS "A's RELAYS" "B's RELAYS": both wgr-circ built to one cookie,
# measured, stopped (DESTROY) and every relay's hops gone before the next path
circuit()
{
	# shellcheck disable=SC2086 # the relay lists: counted as words
	set_mtu "$(wg_mtu "$(echo $4 | wc -w)" "$(echo $5 | wc -w)")" || return 1
	_ck=$(cookie)
	# shellcheck disable=SC2086 # the relay lists: one argument each
	circ_start a "$2" "$_ck" $4
	# shellcheck disable=SC2086 # the relay lists: one argument each
	circ_start b "$2" "$_ck" $5
	if world_wait 20 spliced "$2"; then
		measure "$1" "$2" "$3"
	else
		say "  run $1 $2: the circuits did not meet (a: $(status a "$2" state), b: $(status b "$2" state))"
	fi
	circ_stop a
	circ_stop b
	world_wait 10 no_hops || say "  run $1 $2: hops left on the relays after DESTROY"
}

direct() # RUN: WireGuard a <-> b without relays, then back to the circuits' set-up
{
	if world_nat ra public 198.18.1.2 && world_nat rb public 198.18.2.2 && set_mtu 1420 &&
		world_x a wg set "${W}a" peer "$(cat "$WS/b.pub")" endpoint 198.51.100.11:51820 &&
		world_x b wg set "${W}b" peer "$(cat "$WS/a.pub")" endpoint 198.51.100.10:51820; then
		measure "$1" direct 0
	else
		say "  run $1: the direct path could not be set up"
	fi
	world_nat ra symmetric 198.18.1.2 || return 1
	world_nat rb symmetric 198.18.2.2 || return 1
	world_x a wg set "${W}a" peer "$(cat "$WS/b.pub")" endpoint "127.0.0.1:$CPORT" &&
		world_x b wg set "${W}b" peer "$(cat "$WS/a.pub")" endpoint "127.0.0.1:$CPORT"
}

say "circuits: $REPS run(s); $NPING pings every $IVAL s, iperf3 ${DUR} s; $(nproc) CPUs; $(uname -r)"
run=1
while [ $run -le "$REPS" ]; do
	direct $run || { say "circuits: the NATs could not be set back"; exit 1; }
	circuit $run 1hop 1 "r3" "r3"
	circuit $run 2hop 3 "r1 r3" "r2 r3"
	circuit $run 3hop 5 "r1 r4 r5" "r2 r6 r5"
	run=$((run + 1))
done

# The table: medians over the runs of each path.
med() # PATH COLUMN: the median of that column over the runs that measured it
{
	awk -F'\t' -v p="$1" -v c="$2" 'NR > 1 && $2 == p && $c != "-" { print $c }' "$RUNS" |
		bench_median
}
nruns() { awk -F'\t' -v p="$1" 'NR > 1 && $2 == p && $4 != "-" { n++ } END { print n + 0 }' "$RUNS"; }
D50=$(med direct 4)
{
	echo "| path a → b | relays crossed | RTT p50 (ms) | RTT p99 (ms) | added RTT per relay crossed (ms) | iperf3 TCP (Mbit/s) | relays' CPU (s per GB) | wgr-circ CPU (s per GB) | runs |"
	echo "|---|---|---|---|---|---|---|---|---|"
	for p in direct 1hop 2hop 3hop; do
		case $p in
		direct) k=0 d="direct WireGuard (no relay)" ;;
		1hop) k=1 d="1 hop a side (a→r3←b)" ;;
		2hop) k=3 d="2 hops a side (a r1→r3, b r2→r3)" ;;
		3hop) k=5 d="3 hops a side (a r1→r4→r5, b r2→r6→r5)" ;;
		esac
		n=$(nruns $p)
		if [ "$n" = 0 ]; then
			echo "| $d | $k | — | — | — | — | — | — | 0 |"
			continue
		fi
		p50=$(med $p 4)
		p99=$(med $p 5)
		mb=$(med $p 7)
		# CPU per GB per run, then the median of those
		cpg=$(awk -F'\t' -v p="$p" 'NR > 1 && $2 == p && $8 > 0 { printf "%.3f\n", $9 / $8 }' "$RUNS" |
			bench_median)
		wpg=$(awk -F'\t' -v p="$p" 'NR > 1 && $2 == p && $8 > 0 { printf "%.3f\n", $10 / $8 }' "$RUNS" |
			bench_median)
		if [ "$k" = 0 ]; then
			add="—"
			cpg="—"
			wpg="—"
		else
			add=$(awk -v a="$p50" -v b="$D50" -v k="$k" 'BEGIN { printf "%.3f", (a - b) / k }')
		fi
		printf '| %s | %s | %.3f | %.3f | %s | %.0f | %s | %s | %s |\n' "$d" "$k" "$p50" "$p99" \
			"$add" "$mb" "$cpg" "$wpg" "$n"
	done
	# Past the first relay: what each further relay adds, wgr-circ's fixed cost left out.
	awk -v a="$(med 3hop 4)" -v b="$(med 1hop 4)" 'BEGIN {
		printf "\nRTT p50 added per further relay, 1 → 3 hops a side (4 relays more): %.3f ms\n",
			(a - b) / 4 }'
} >"$OUT/table.md"
echo
cat "$OUT/table.md"
echo
echo "circuits: results in $OUT"
