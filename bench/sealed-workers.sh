#!/bin/sh
# bench/sealed-workers.sh [--quick] [BUILD_DIR]: wgrelayd sealed mode on one forwarding thread
# against two (docs/BENCHMARKS.md "Sealed mode on every core"), in one run.
#
# With workers, every Listen address has one control socket per worker in a SO_REUSEPORT group
# and the kernel spreads client address:port flows over them, so the load is many flows: the
# member tool (wgr-bench-member --mode sealed --flows K --preseal) binds K sealed sessions, each
# on its own A link and its own B link (own sockets: K source ports), seals every frame before
# the timed part (then A costs only its sendmmsg calls) and sends one batch per flow in turn; B
# counts per flow. wgrelayd runs with Workers = 1 pinned to CPU 0 and with Workers = 2 pinned to
# CPUs 0-1, a fresh relay per run, the two settings alternating, three runs each (one with
# --quick). The member tool (A and B in one thread) runs on CPU 1 beside one worker, so that
# worker has its core to itself as in the sealed row; beside two workers it is not pinned: on
# two cores it must share them with the workers, and pinned to either it would halve the worker
# there and the flows the kernel gave that worker, while the scheduler can spread the three
# busy threads. The 1-worker rate is so the best case and the ratio a conservative one.
# Per run, over the timed part only (from the member's --ready file to its exit): datagrams
# that reached B (received + dropped at B's sockets, over B's first-to-last window), the
# relay's CPU time (/proc/PID/stat, all threads; and per thread), the frames each worker
# resealed (wgrelayd_worker_sealed_packets_total on --metrics), the relay's futex and recvmmsg
# calls per thread (perf stat on the syscalls tracepoints, when perf can: a pthread mutex calls
# futex only when contended), context switches per thread, each CPU's busy time and its
# ksoftirqd's, and how busy the whole machine was; before each pair of runs, how busy it was
# with nothing of ours running (the machine may be shared) and one open + one seal on CPU 0
# (wgr-bench-crypto: the machine's speed then). Medians of the runs, ratios 2 workers / 1.
# Writes bench/results/sealed-workers-<stamp>/ (runs.jsonl, sealed-workers.json,
# sealed-workers.md, log.txt, the relays' logs). Environment: WGR_BENCH_PORT_BASE (as
# bench/run), WGR_BENCH_OUT, WGR_SW_FLOWS (default 32), WGR_SW_FRAMES (pre-sealed frames per
# run, default 800000: about 1.1 GiB of 1424-byte payloads), WGR_SW_DURATION (s, default 2),
# WGR_SW_GEN_CPUS1 / WGR_SW_GEN_CPUS2 (a taskset list for the member tool beside 1 / 2
# workers; default 1 / empty: not pinned), WGR_SW_PERF=0 (no perf).
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"
bench_args "$@"
BUILD=$(bench_build_dir sealed-workers "${BUILD:-$SRC/build}") || exit 1
if [ "$(nproc)" -lt 2 ]; then
	echo "sealed-workers: needs two CPUs (one per worker)" >&2
	exit 77
fi
BIN=$BUILD/bench
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${WGR_BENCH_OUT:-$SRC/bench/results/sealed-workers-$STAMP}
mkdir -p "$BIN" "$OUT"
OUT=$(cd "$OUT" && pwd)
LOG=$OUT/log.txt
: >"$LOG"
: >"$OUT/runs.jsonl"

PB=${WGR_BENCH_PORT_BASE:-42100}
CTL=$((PB + 60))
MET=$((PB + 61))
SIZE=1424 # WireGuard-shaped (a multiple of 16), filed under 1420 like the sealed row
FLOWS=${WGR_SW_FLOWS:-32}
FRAMES=${WGR_SW_FRAMES:-800000}
bench_durations "$QUICK" "${WGR_SW_DURATION:-2}"
GEN_CPUS1=${WGR_SW_GEN_CPUS1-1}
GEN_CPUS2=${WGR_SW_GEN_CPUS2:-}
HZ=$(getconf CLK_TCK)
# ksoftirqd/0 and ksoftirqd/1, in CPU order.
SOFTIRQD=$(for c in 0 1; do
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = "ksoftirqd/$c" ] && echo "${p#/proc/}" && break
	done
done | tr '\n' ' ')

log() {
	echo "sealed-workers: $*" | tee -a "$LOG" >&2
}

RPID=""
MPID=""
PPID_PERF=""
cleanup() {
	bench_stop "$MPID $PPID_PERF $RPID"
	MPID=""
	PPID_PERF=""
	RPID=""
}
bench_on_exit cleanup

# --- build ---------------------------------------------------------------------------------------
[ -x "$BUILD/relayd/wgrelayd" ] || {
	log "wgrelayd not built ($BUILD/relayd/wgrelayd)"
	exit 1
}
bench_cc
bench_build_member || {
	log "wgr-bench-member does not build (see log.txt)"
	exit 1
}
# shellcheck disable=SC2086,SC2046 # CFLAGS and pkg-config's flags are word lists
$CC $CFLAGS -o "$BIN/wgr-bench-crypto" "$SRC/bench/crypto.c" "$SRC/bench/util.c" \
	$(pkg-config --cflags --libs libsodium) 2>>"$LOG" || {
	log "wgr-bench-crypto does not build (see log.txt)"
	exit 1
}
PERF=0
if [ "${WGR_SW_PERF:-1}" != 0 ] && command -v perf >/dev/null 2>&1 &&
	perf stat -e syscalls:sys_enter_futex -o /dev/null true >/dev/null 2>&1; then
	PERF=1
fi

umask 077
wg genkey >"$OUT/key"
umask 022
PUB=$(wg pubkey <"$OUT/key")

# conf WORKERS: the relay's config. Loopback allowed (the test allowance); open-mode limits
# lifted, the per-source ones too: every link of the run comes from 127.0.0.1 (2 x FLOWS links,
# FLOWS sessions with two members each).
conf() {
	cat <<-EOF
		[Relay]
		Listen = 127.0.0.1:$CTL
		PortRange = $((PB + 62))-$((PB + 69))
		KeyFile = $OUT/key
		AllowLoopback = true
		Metrics = 127.0.0.1:$MET
		Workers = $1
	EOF
	bench_limits_lifted
}

# stat_jiffies: "busy total" clock ticks of all CPUs so far (/proc/stat; idle and iowait are
# not busy).
stat_jiffies() {
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat
}

# background: how busy the machine was (% of all its CPUs) over one second with nothing of ours
# running.
background() {
	b0=$(stat_jiffies)
	sleep 1
	b1=$(stat_jiffies)
	echo "$b0 $b1" | awk '{ printf "%.0f", ($4 > $2) ? 100 * ($3 - $1) / ($4 - $2) : 0 }'
}

# threads PID: "TID ticks voluntary nonvoluntary" per thread of PID, control thread (= PID)
# first, then by TID (the workers in the order they started).
threads() {
	for _t in /proc/"$1"/task/*; do
		_tid=${_t##*/}
		_k=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "$_t/stat" 2>/dev/null || echo 0)
		_c=$(awk '/^voluntary_ctxt_switches/ { v = $2 } /^nonvoluntary_ctxt_switches/ { n = $2 }
			END { print v + 0, n + 0 }' "$_t/status" 2>/dev/null || echo "0 0")
		echo "$_tid $_k $_c"
	done | sort -n | awk -v p="$1" '$1 == p { print; next } { rest[++n] = $0 }
		END { for (i = 1; i <= n; i++) print rest[i] }'
}

# worker_pkts: "N count" per worker from the relay's metrics.
worker_pkts() {
	curl -sf "http://127.0.0.1:$MET/metrics" 2>/dev/null |
		sed -n 's/^wgrelayd_worker_sealed_packets_total{worker="\([0-9]*\)"} \([0-9]*\)$/\1 \2/p'
}

# snap PID TAG NAME: wall clock, the relay's CPU, the machine's, per thread and per worker.
snap() {
	{
		echo "wall $(date +%s%N)"
		echo "cpu $(bench_cpu_ns "$1")"
		echo "jiffies $(stat_jiffies)"
		threads "$1" | sed 's/^/thread /'
		worker_pkts | sed 's/^/worker /'
		# Per CPU: busy ticks, and those of its ksoftirqd (softirq work deferred there, such as
		# loopback deliveries the sender could not finish, is nobody's process time).
		awk '$1 ~ /^cpu[0-9]/ { print "cpubusy", substr($1, 4), $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
		for _k in $SOFTIRQD; do
			echo "softirqd $_k $(bench_cpu_ns "$_k")"
		done
	} >"$OUT/$3.$2"
}

# start_relay WORKERS CPUS NAME: a fresh relay, RPID once its metrics answer.
start_relay() {
	conf "$1" >"$OUT/$3.conf"
	taskset -c "$2" "$BUILD/relayd/wgrelayd" -f -c "$OUT/$3.conf" >>"$OUT/wgrelayd-$1w.log" 2>&1 &
	RPID=$!
	_i=0
	until curl -sf "http://127.0.0.1:$MET/metrics" >/dev/null 2>&1; do
		_i=$((_i + 1))
		if [ $_i -ge 50 ] || ! kill -0 "$RPID" 2>/dev/null; then
			log "wgrelayd did not start (wgrelayd-$1w.log)"
			return 1
		fi
		sleep 0.1
	done
	# Another process may hold the ports (and answer /metrics): ours must still be alive.
	sleep 0.2
	kill -0 "$RPID" 2>/dev/null || {
		log "wgrelayd exited at start (wgrelayd-$1w.log: ports taken?)"
		return 1
	}
}

# perf_counts PID SYSCALL: perf's per-thread count of SYSCALL over the run (name.perf), comma
# separated in the thread order of threads() (control first); nothing without perf.
perf_counts() {
	[ -f "$OUT/$name.perf" ] || return 0
	awk -F, -v e="sys_enter_$2" '$4 ~ e"$" { n = split($1, a, "-"); c[a[n]] = $2 }
		END { for (t in c) print t, c[t] }' "$OUT/$name.perf" | sort -n |
		awk -v p="$1" '{ v[$1] = $2; o[++n] = $1 }
			END { s = (p in v) ? v[p] : 0; printf "%d", s
				for (i = 1; i <= n; i++) if (o[i] != p) printf ",%d", v[o[i]] }'
}

# crypto_ns: one open plus one seal of a SIZE-byte payload on CPU 0 now, in ns: the speed of
# the machine at the time (a shared virtual machine's varies), measured beside each pair.
crypto_ns() {
	taskset -c 0 "$BIN/wgr-bench-crypto" --size "$SIZE" --iters 50000 2>>"$LOG" |
		awk '{ s = $0; o = $0; sub(/.*"seal_ns":/, "", s); sub(/.*"open_ns":/, "", o)
			printf "%d", (s + 0) + (o + 0) }'
}

# one WORKERS CPUS REP BACKGROUND CRYPTO_NS: one run, one runs.jsonl line.
one() {
	name=w$1-$3
	start_relay "$1" "$2" "$name" || return 1
	rm -f "$OUT/$name.ready"
	pin=""
	gcpus=$GEN_CPUS1
	[ "$1" = 2 ] && gcpus=$GEN_CPUS2
	[ -n "$gcpus" ] && pin="taskset -c $gcpus"
	# shellcheck disable=SC2086 # pin is a command prefix or nothing
	$pin "$BIN/wgr-bench-member" --relay "127.0.0.1:$CTL" --relay-pub "$PUB" --mode sealed \
		--size "$SIZE" --flows "$FLOWS" --preseal --frames "$FRAMES" --duration "$DUR" \
		--ready "$OUT/$name.ready" --sink-out "$OUT/$name.sink" \
		>"$OUT/$name.gen" 2>>"$OUT/member.log" &
	MPID=$!
	# Binding 2 x FLOWS links and sealing FRAMES frames take a few seconds.
	if ! bench_wait_file "$OUT/$name.ready" "$MPID" 1200; then
		log "$name: the member tool did not start its run (member.log)"
		bench_stop "$MPID $RPID"
		MPID=""
		RPID=""
		return 1
	fi
	# perf first, given 0.1 s to attach, then the figures: its counts span the interval and a
	# little more, so its figures per frame are upper bounds.
	if [ "$PERF" = 1 ]; then
		perf stat -x, --per-thread -e syscalls:sys_enter_futex \
			-e syscalls:sys_enter_recvmmsg -p "$RPID" \
			-o "$OUT/$name.perf" 2>>"$LOG" &
		PPID_PERF=$!
		sleep 0.1
	fi
	snap "$RPID" 0 "$name"
	wait "$MPID" || log "$name: the member tool failed (member.log)"
	MPID=""
	snap "$RPID" 1 "$name"
	if [ -n "$PPID_PERF" ]; then
		kill -INT "$PPID_PERF" 2>/dev/null || true
		wait "$PPID_PERF" 2>/dev/null || true
		PPID_PERF=""
	fi
	rpid=$RPID
	bench_stop "$RPID"
	RPID=""
	# The run's figures, one JSON line: the timed part's deltas.
	awk -v w="$1" -v rep="$3" -v bg="$4" -v cns="${5:-0}" -v hz="$HZ" -v cpus="$2" -v size="$SIZE" \
		-v gen="$(cat "$OUT/$name.gen")" -v sink="$(cat "$OUT/$name.sink" 2>/dev/null || echo '{}')" '
		function jnum(s, k,   m) {
			if (match(s, "\"" k "\":[0-9.]+")) { m = substr(s, RSTART, RLENGTH); sub(/.*:/, "", m); return m + 0 }
			return 0
		}
		FNR == 1 { f++ }
		$1 == "wall" { wall[f] = $2 } $1 == "cpu" { cpu[f] = $2 }
		$1 == "jiffies" { busy[f] = $2; tot[f] = $3 }
		$1 == "thread" { if (f == 1) { t0[$2] = $3; v0[$2] = $4; n0[$2] = $5 }
			else { nt++; tid[nt] = $2; t1[$2] = $3; v1[$2] = $4; n1[$2] = $5 } }
		$1 == "worker" { if (f == 1) p0[$2] = $3; else { nw++; p1[$2] = $3 } }
		$1 == "cpubusy" { if (f == 1) c0[$2] = $3; else { nc++; c1[$2] = $3 } }
		$1 == "softirqd" { if (f == 1) k0[++ns0] = $3; else k1[++ns1] = $3 }
		END {
			fwd = 0
			for (i = 0; i < nw; i++) { d[i] = p1[i] - p0[i]; fwd += d[i] }
			rcv = jnum(sink, "received"); drp = jnum(sink, "dropped"); win = jnum(sink, "window_s")
			arr = rcv + drp
			kpps = win > 0 ? arr / win / 1000 : 0
			cpu_s = (cpu[2] - cpu[1]) / 1e9
			wall_s = (wall[2] - wall[1]) / 1e9
			mbusy = (tot[2] > tot[1]) ? 100 * (busy[2] - busy[1]) / (tot[2] - tot[1]) : 0
			printf "{\"system\":\"sealed-workers\",\"size\":%d,\"workers\":%d,\"relay_cpus\":\"%s\",\"rep\":%d,", size, w, cpus, rep
			printf "\"kpps\":%.1f,\"gbps\":%.3f,\"relay_fwd\":%d,\"relay_cpu_s\":%.3f,\"wall_s\":%.3f,", kpps, kpps * 1000 * size * 8 / 1e9, fwd, cpu_s, wall_s
			# Busy: CPU per frame times the rate (the CPU interval starts after perf attached).
			printf "\"relay_busy_pct\":%.0f,\"cpu_us_per_pkt\":%.3f,\"per_core_kpps\":%.1f,", (fwd ? 100 * cpu_s / fwd * kpps * 1000 : 0), (fwd ? cpu_s * 1e6 / fwd : 0), (cpu_s > 0 ? fwd / cpu_s / 1000 : 0)
			# The CPU time everything but the relay took meanwhile: the member tool and others.
			others = (busy[2] - busy[1]) / hz - cpu_s
			printf "\"machine_busy_pct\":%.0f,\"others_cpu_s\":%.2f,\"background_pct\":%s,\"crypto_us\":%.3f,\"worker_pkts\":[", mbusy, others, bg, cns / 1000
			for (i = 0; i < nw; i++) printf "%s%d", (i ? "," : ""), d[i]
			printf "],\"thread_cpu_s\":["
			for (i = 1; i <= nt; i++) printf "%s%.2f", (i > 1 ? "," : ""), (t1[tid[i]] - t0[tid[i]]) / hz
			printf "],\"thread_vcsw\":["
			for (i = 1; i <= nt; i++) printf "%s%d", (i > 1 ? "," : ""), v1[tid[i]] - v0[tid[i]]
			printf "],\"thread_ivcsw\":["
			for (i = 1; i <= nt; i++) printf "%s%d", (i > 1 ? "," : ""), n1[tid[i]] - n0[tid[i]]
			printf "],\"cpu_busy_s\":["
			for (i = 0; i < nc; i++) printf "%s%.2f", (i ? "," : ""), (c1[i] - c0[i]) / hz
			printf "],\"ksoftirqd_s\":["
			for (i = 1; i <= ns1; i++) printf "%s%.2f", (i > 1 ? "," : ""), (k1[i] - k0[i]) / 1e9
			printf "],\"cpu0_us_per_pkt\":%.3f", fwd ? (c1[0] - c0[0]) / hz * 1e6 / fwd : 0
			printf ",\"gen\":%s,\"sink\":%s", gen, sink
		}' "$OUT/$name.0" "$OUT/$name.1" >"$OUT/$name.json"
	printf ',"thread_futex":[%s],"thread_recvmmsg":[%s]}\n' "$(perf_counts "$rpid" futex)" \
		"$(perf_counts "$rpid" recvmmsg)" >>"$OUT/$name.json"
	tr -d '\n' <"$OUT/$name.json" >>"$OUT/runs.jsonl"
	echo >>"$OUT/runs.jsonl"
}

# --- the runs ------------------------------------------------------------------------------------
log "flows $FLOWS, $FRAMES pre-sealed frames of $SIZE B, $REPS x ${DUR} s per setting, member tool pinned to '$GEN_CPUS1' / '$GEN_CPUS2' (1 / 2 workers), perf $PERF"
rep=1
while [ $rep -le "$REPS" ]; do
	bg=$(background)
	cns=$(crypto_ns)
	log "run $rep: machine $bg % busy before it; open + seal $cns ns"
	for w in 1 2; do
		cpus=0
		[ $w = 2 ] && cpus=0-1
		one "$w" "$cpus" "$rep" "$bg" "$cns" || log "w$w-$rep failed"
	done
	rep=$((rep + 1))
done

# --- the summary ---------------------------------------------------------------------------------
# vals W KEY: KEY of every run of W workers, one a line (runs.jsonl's top-level keys are unique
# in their line: the member tool's nested objects use other names).
vals() {
	grep "\"workers\":$1," "$OUT/runs.jsonl" | sed -n "s/.*\"$2\":\\([-0-9.]*\\).*/\\1/p"
}
# med W KEY: the median of KEY over the runs of W workers.
med() {
	vals "$1" "$2" | bench_median
}
# range W KEY: "min–max" of KEY over the runs of W workers.
range() {
	vals "$1" "$2" | sort -n |
		awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s–%s", lo, hi }'
}
# share W: each worker's share of the frames resealed, median over the runs ("62/38").
share() {
	grep "\"workers\":$1," "$OUT/runs.jsonl" |
		sed -n 's/.*"worker_pkts":\[\([0-9,]*\)\].*/\1/p' |
		awk -F, '{ t = 0; for (i = 1; i <= NF; i++) t += $i
			for (i = 1; i <= NF; i++) s[i, NR] = t ? 100 * $i / t : 0; n = NF }
			END { for (i = 1; i <= n; i++) { m = 0
				for (r = 1; r <= NR; r++) v[r] = s[i, r]
				for (a = 1; a <= NR; a++) for (b = a + 1; b <= NR; b++) if (v[b] < v[a]) { x = v[a]; v[a] = v[b]; v[b] = x }
				m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
				printf "%s%.0f", (i > 1 ? "/" : ""), m } }'
}
# futex W: the relay's futex calls per 1000 frames resealed, median over the runs.
futex() {
	grep "\"workers\":$1," "$OUT/runs.jsonl" |
		sed -n 's/.*"relay_fwd":\([0-9]*\).*"thread_futex":\[\([0-9,]*\)\].*/\1 \2/p' |
		awk '{ n = split($2, a, ","); t = 0; for (i = 1; i <= n; i++) t += a[i]
			if ($1 > 0 && n > 0) printf "%.3f\n", 1000 * t / $1 }' | bench_median
}

# starved W: how many runs of W workers had the relay below 90 % busy on its W cores (the
# load or other work had part of them: such a rate is a lower bound, as bench/run's load-bound).
starved() {
	vals "$1" relay_busy_pct | awk -v w="$1" '$1 < 90 * w { n++ } END { printf "%d of %d", n, NR }'
}

# batch W: frames per worker read (recvmmsg), median over the runs.
batch() {
	grep "\"workers\":$1," "$OUT/runs.jsonl" |
		sed -n 's/.*"relay_fwd":\([0-9]*\).*"thread_recvmmsg":\[\([0-9,]*\)\].*/\1 \2/p' |
		awk '{ n = split($2, a, ","); t = 0; for (i = 2; i <= n; i++) t += a[i]
			if (t > 0) printf "%.1f\n", $1 / t }' | bench_median
}

{
	echo "### Sealed mode on every core"
	echo
	echo "Run \`sealed-workers-$STAMP\` on $(nproc) cores, Linux $(uname -r | cut -d- -f1);" \
		"$FLOWS sealed sessions (each on its own pair of links), $SIZE-byte WireGuard-shaped payloads" \
		"sealed before the timed part, A unpaced; median of $REPS run(s) of up to $DUR s per setting," \
		"the settings alternating; member tool (A and B) on CPU ${GEN_CPUS1:-any} beside 1 worker," \
		"on ${GEN_CPUS2:-any CPU (not pinned)} beside 2." \
		"One open and one seal of a $SIZE-byte payload (wgr-bench-crypto on CPU 0 before each pair" \
		"of runs) took $(vals 1 crypto_us | bench_median) µs (median; $(range 1 crypto_us))."
	echo
	echo "| Workers (relay CPUs) | forwarded (kpps) | Gbit/s | relay CPU (s) | relay CPU busy (% of one core) | relay CPU per packet (µs) | per relay core (kpps) | worker shares (%) | frames per worker read | relay futex calls per 1000 packets | machine busy (%) | CPU (s) of all but the relay | busy before, others (%) | runs with the relay < 90 % busy on its cores |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	for w in 1 2; do
		cpus=0
		[ $w = 2 ] && cpus=0-1
		printf '| %s (%s) | %s (%s) | %s | %s | %s | %s (%s) | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
			"$w" "$cpus" "$(med $w kpps)" "$(range $w kpps)" "$(med $w gbps)" "$(med $w relay_cpu_s)" \
			"$(med $w relay_busy_pct)" "$(med $w cpu_us_per_pkt)" "$(range $w cpu_us_per_pkt)" \
			"$(med $w per_core_kpps)" "$(share $w)" "$(if [ "$PERF" = 1 ]; then batch $w; else echo n/a; fi)" \
			"$(if [ "$PERF" = 1 ]; then futex $w; else echo n/a; fi)" \
			"$(med $w machine_busy_pct)" "$(med $w others_cpu_s)" "$(range $w background_pct)" \
			"$(starved $w)"
	done
	echo
	awk -v r1="$(med 1 kpps)" -v r2="$(med 2 kpps)" -v c1="$(med 1 cpu_us_per_pkt)" \
		-v c2="$(med 2 cpu_us_per_pkt)" -v k1="$(med 1 per_core_kpps)" -v k2="$(med 2 per_core_kpps)" \
		-v b2="$(med 2 relay_busy_pct)" 'BEGIN {
		print "| goal (1424 B sealed, same run) | target | measured | verdict |"
		print "|---|---|---|---|"
		x = r1 > 0 ? r2 / r1 : 0
		printf "| forwarding rate, 2 workers / 1 worker | >= 1.8x | %.2fx (%s against %s kpps) | %s |\n", x, r2, r1, (x >= 1.8 ? "met" : "not met here")
		printf "| relay CPU per packet, 2 workers / 1 worker | (1.0x: no cost of sharing) | %.2fx (%s against %s µs) | |\n", (c1 > 0 ? c2 / c1 : 0), c2, c1
		printf "| rate per relay core, 2 workers / 1 worker | | %.2fx (%s against %s kpps) | |\n", (k1 > 0 ? k2 / k1 : 0), k2, k1
		printf "| relay CPU busy on 2 workers | 200 %% (two cores) | %s %% of one core | |\n", b2
	}'
	echo
	echo "Forwarded = datagrams that reached B's sockets (received + dropped there) over B's" \
		"first-to-last window. Relay CPU = wgrelayd's utime + stime (/proc/PID/stat) over the timed" \
		"part; per packet: divided by the frames its workers resealed" \
		"(\`wgrelayd_worker_sealed_packets_total\`); per relay core = its inverse. Machine busy:" \
		"all CPUs over the timed part (/proc/stat), relay and member tool included; all but the" \
		"relay: that busy time less the relay's CPU (the member tool, and anything else that ran);" \
		"busy before:" \
		"the same over 1 s with nothing of the bench running, just before each pair of runs." \
		"Frames per worker read: frames resealed per recvmmsg call of the workers; futex calls: all" \
		"the relay's threads' (perf stat, syscalls tracepoints), which a pthread mutex makes only" \
		"when it finds the lock taken (a wait) or must wake a waiter; every read takes the relay" \
		"lock twice (checks before the crypto, counters after)."
} >"$OUT/sealed-workers.md"

{
	printf '{"stamp":"%s","flows":%s,"frames":%s,"size":%s,"reps":%s,"duration_s":%s,"gen_cpus":"%s / %s","perf":%s,"kernel":"%s","cpus":%s,"settings":[' \
		"$STAMP" "$FLOWS" "$FRAMES" "$SIZE" "$REPS" "$DUR" "$GEN_CPUS1" "$GEN_CPUS2" "$PERF" "$(uname -r)" "$(nproc)"
	for w in 1 2; do
		[ $w = 2 ] && printf ','
		printf '{"workers":%s,"kpps":%s,"gbps":%s,"relay_cpu_s":%s,"relay_busy_pct":%s,"cpu_us_per_pkt":%s,"per_core_kpps":%s,"worker_share_pct":"%s","frames_per_read":"%s","futex_per_1000":"%s","machine_busy_pct":%s,"others_cpu_s":%s,"crypto_us":%s}' \
			"$w" "$(med $w kpps)" "$(med $w gbps)" "$(med $w relay_cpu_s)" "$(med $w relay_busy_pct)" \
			"$(med $w cpu_us_per_pkt)" "$(med $w per_core_kpps)" "$(share $w)" "$(batch $w)" "$(futex $w)" \
			"$(med $w machine_busy_pct)" "$(med $w others_cpu_s)" "$(med $w crypto_us)"
	done
	printf '],"rate_ratio":%s,"cpu_per_pkt_ratio":%s}\n' \
		"$(awk -v a="$(med 1 kpps)" -v b="$(med 2 kpps)" 'BEGIN { printf "%.3f", (a > 0 ? b / a : 0) }')" \
		"$(awk -v a="$(med 1 cpu_us_per_pkt)" -v b="$(med 2 cpu_us_per_pkt)" 'BEGIN { printf "%.3f", (a > 0 ? b / a : 0) }')"
} >"$OUT/sealed-workers.json"
cat "$OUT/sealed-workers.md"
log "results in $OUT"
