#!/bin/sh
# bench/streams.sh [--quick] BUILD_DIR OUT_DIR: wgrelayd over stream transports (PROTOCOL.md
# §12) next to UDP sealed, in one run (docs/BENCHMARKS.md "Stream transports").
#
# One wgrelayd pinned on the system CPU with its UDP control port and a [Transport] stream port;
# two members (wgr-bench-stream: client A and client B, one sealed session) on the load CPU.
# A sends sealed DATA of 1424-byte WireGuard-shaped datagrams, B counts what arrives; UDP sealed
# uses wgr-bench-member --mode sealed the same way. Per system (udp, tcp, tls, ws, wss):
#   max     A unpaced (over a stream: as fast as the relay reads, TCP's flow control)
#   fixed   A paced at a fixed offered rate; B opens every frame for the one-way delay
# three runs each (one with --quick), interleaved, medians reported. The relay's CPU time
# (/proc/PID/stat) over the run, per datagram B received; frames the relay dropped at a full
# stream queue (wgrelayd_stream_dropped_total on /metrics). Writes OUT/streams.md,
# OUT/streams.json and runs.jsonl lines (system stream-*); a full run (not --quick, without
# WGR_BENCH_NO_DOCS) refreshes the block of docs/BENCHMARKS.md between the bench:streams markers.
# B reads on a real-time thread (--rx-fifo, as root): it shares the load CPU with A, and a
# reader starved of CPU closes its TCP window, which the relay answers by dropping DATA at its
# bounded queue (about half of it at max rate): that would be the bench's loss, not the relay's.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"
QUICK=0
if [ "${1:-}" = --quick ]; then
	QUICK=1
	shift
fi
[ $# -eq 2 ] || {
	bench_usage >&2
	exit 2
}
BUILD=$(bench_build_dir "bench: streams" "$1") || exit 1
OUT=$2
mkdir -p "$OUT" "$BUILD/bench"
OUT=$(cd "$OUT" && pwd)
BIN=$BUILD/bench
LOG=$OUT/log.txt
PB=${WGR_BENCH_PORT_BASE:-42100}
CTL=$((PB + 30))
MET=$((PB + 31))
STR=$((PB + 32))
SIZE=1424 # WireGuard-shaped (a multiple of 16), filed under 1420 like the sealed row
FIXED=${WGR_BENCH_STREAM_RATE:-20000}
bench_durations "$QUICK" 3
if [ "$(nproc)" -ge 2 ]; then
	CPU_LOAD=0
	CPU_SYS=1
else
	CPU_LOAD=0
	CPU_SYS=0
fi

log() {
	echo "bench: streams: $*" | tee -a "$LOG" >&2
}

# not_run WHY: the table says why, and the run goes on.
not_run() {
	log "$1"
	printf '### Stream transports\n\nNot run: %s.\n' "$1" >"$OUT/streams.md"
	exit 0
}

RPID=""
cleanup() {
	bench_stop "$RPID"
	RPID=""
}
bench_on_exit cleanup

# --- build ---------------------------------------------------------------------------------------
[ -x "$BUILD/relayd/wgrelayd" ] || not_run "wgrelayd not built"
[ -f "$BUILD/transport/libwgrtransport.a" ] ||
	not_run "libwgrtransport not built (cmake --build BUILD_DIR --target wgrtransport)"
bench_cc
# shellcheck disable=SC2086,SC2046 # CFLAGS and pkg-config's flags are word lists
$CC $CFLAGS -I"$SRC/common" -I"$SRC/transport" -o "$BIN/wgr-bench-stream" "$SRC/bench/stream.c" \
	"$SRC/bench/util.c" "$BUILD/transport/libwgrtransport.a" "$BUILD/common/libwgrcommon.a" \
	-lssl -lcrypto -lwslay -lpthread $(pkg-config --cflags --libs libsodium) 2>>"$LOG" ||
	not_run "wgr-bench-stream does not build (see log.txt)"
if [ ! -x "$BIN/wgr-bench-member" ]; then
	bench_build_member || not_run "wgr-bench-member does not build (see log.txt)"
fi

# --- the relay -----------------------------------------------------------------------------------
D=$OUT/streams
mkdir -p "$D"
umask 077
wg genkey >"$D/key"
umask 022
PUB=$(wg pubkey <"$D/key")
# Loopback allowed (the test allowance), one forwarding thread, open-mode limits lifted (every
# run binds a fresh session from 127.0.0.1), the stream port with its defaults (QueueBytes 64K).
{
	cat <<EOF
[Relay]
Listen = 127.0.0.1:$CTL
PortRange = $((PB + 40))-$((PB + 59))
KeyFile = $D/key
AllowLoopback = true
Metrics = 127.0.0.1:$MET
Workers = 1
EOF
	bench_limits_lifted
	printf '[Transport]\nListen = 127.0.0.1:%s\n' "$STR"
} >"$D/wgrelayd.conf"
taskset -c "$CPU_SYS" "$BUILD/relayd/wgrelayd" -f -c "$D/wgrelayd.conf" >>"$OUT/wgrelayd-streams.log" 2>&1 &
RPID=$!
i=0
until curl -sf "http://127.0.0.1:$MET/metrics" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -ge 50 ] || ! kill -0 "$RPID" 2>/dev/null; then
		not_run "wgrelayd did not start (wgrelayd-streams.log)"
	fi
	sleep 0.1
done
# Another process may hold the ports (and answer /metrics): ours must still be alive.
sleep 0.3
kill -0 "$RPID" 2>/dev/null || not_run "wgrelayd exited at start (wgrelayd-streams.log: ports taken?)"

dropped() {
	curl -sf "http://127.0.0.1:$MET/metrics" | awk '/^wgrelayd_stream_dropped_total / { print $2 }'
}

# one SYS KIND REP: one run, one runs.jsonl line.
one() {
	sys=$1 kind=$2 rep=$3
	name=stream-$sys-$kind-$rep
	rate=0
	lat=""
	if [ "$kind" = fixed ]; then
		rate=$FIXED
		lat="--open --warmup 0.2"
	fi
	d0=$(dropped)
	c0=$(bench_cpu_ns "$RPID")
	# shellcheck disable=SC2086
	if [ "$sys" = udp ]; then
		taskset -c "$CPU_LOAD" "$BIN/wgr-bench-member" --relay "127.0.0.1:$CTL" --relay-pub "$PUB" \
			--mode sealed --size $SIZE --rate $rate --duration $DUR --sink-out "$D/$name.sink" \
			$lat >"$D/$name.gen" 2>>"$LOG" || true
	else
		taskset -c "$CPU_LOAD" "$BIN/wgr-bench-stream" --url "$sys://127.0.0.1:$STR" \
			--relay-pub "$PUB" --size $SIZE --rate $rate --duration $DUR \
			--sink-out "$D/$name.sink" --rx-fifo $lat >"$D/$name.gen" 2>>"$LOG" || true
	fi
	c1=$(bench_cpu_ns "$RPID")
	d1=$(dropped)
	printf '{"system":"stream-%s","size":1420,"kind":"stream-%s","rep":%s,"rate":%s,"cpu_ns":%s,"stream_dropped":%s,"gen":%s,"sink":%s}\n' \
		"$sys" "$kind" "$rep" "$rate" "$((c1 - c0))" "$((${d1:-0} - ${d0:-0}))" \
		"$(cat "$D/$name.gen" 2>/dev/null || echo '{}')" \
		"$(cat "$D/$name.sink" 2>/dev/null || echo '{}')" >>"$D/runs.jsonl"
	log "$sys $kind #$rep: $(sed -n 's/.*"pps":\([0-9]*\).*/\1/p' "$D/$name.sink" 2>/dev/null) pps at B," \
		"relay cpu $(((c1 - c0) / 1000000)) ms, queue drops $((${d1:-0} - ${d0:-0}))"
}

SYSTEMS="udp tcp tls ws wss"
: >"$D/runs.jsonl"
log "relay pid $RPID on cpu $CPU_SYS, members on cpu $CPU_LOAD; $REPS x $DUR s per system and kind"
for kind in max fixed; do
	rep=1
	while [ $rep -le $REPS ]; do
		for sys in $SYSTEMS; do
			one "$sys" "$kind" "$rep"
		done
		rep=$((rep + 1))
	done
done
cleanup
cat "$D/runs.jsonl" >>"$OUT/runs.jsonl"

# --- the table -----------------------------------------------------------------------------------
awk -v out="$OUT" -v fixed="$FIXED" -v reps="$REPS" -v dur="$DUR" -v size="$SIZE" '
function get(s, k,    r) {
	if (!match(s, "\"" k "\":\"?[^,}\"]*"))
		return ""
	r = substr(s, RSTART + length(k) + 3, RLENGTH - length(k) - 3)
	sub(/^"/, "", r)
	return r
}
function part(s, k,    i) { i = index(s, "\"" k "\":{"); return i ? substr(s, i) : "" }
function add(key, v) { N[key]++; V[key, N[key]] = v + 0 }
# The median of the values filed under key ("" when none).
function med(key,    n, i, j, t, a) {
	n = N[key]
	if (!n) return ""
	for (i = 1; i <= n; i++) a[i] = V[key, i]
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function f(x, d) { return x == "" ? "n/a" : sprintf("%." d "f", x) }
# A delay: the histogram (bench/util.h) ends at 4 ms; past it the largest value is all it knows.
function fl(x) { return x + 0 > 4000 ? "> 4000" : f(x, 0) }
function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "" : a / b }
function jn(x) { return x == "" ? "null" : x }
{
	sys = get($0, "system"); sub(/^stream-/, "", sys); kind = get($0, "kind"); sub(/^stream-/, "", kind)
	g = part($0, "gen"); s = part($0, "sink")
	# As in the main table, what reached the receiving socket counts (received + dropped there).
	sent = get(g, "sent") + 0; recv = get(s, "received") + get(s, "dropped"); win = get(s, "window_s") + 0
	secs = get(g, "seconds") + 0; cpu = get($0, "cpu_ns") + 0
	k = sys SUBSEP kind
	if (recv <= 0 || win <= 0) { add(k SUBSEP "fail", 1); next }
	add(k SUBSEP "pps", recv / win)
	add(k SUBSEP "cpu", cpu / recv / 1000)
	if (secs > 0) add(k SUBSEP "busy", cpu / 1e9 / secs * 100)
	if (sent > 0) add(k SUBSEP "loss", (sent - recv) / sent * 100)
	if (secs > 0) add(k SUBSEP "sent", sent / secs)
	add(k SUBSEP "qdrop", get($0, "stream_dropped") + 0)
	if (get(s, "lat_n") + 0 > 0) {
		add(k SUBSEP "p50", get(s, "lat_p50_us")); add(k SUBSEP "p99", get(s, "lat_p99_us"))
	}
}
END {
	n = split("udp tcp tls ws wss", order, " ")
	md = out "/streams.md"; js = out "/streams.json"
	print "### Stream transports" > md
	print "" > md
	printf "Relay pinned to one core, both members on the other; %d-byte WireGuard-shaped datagrams (filed under 1420), one sealed session, median of %d run(s) of %d s each. *max*: A unpaced (over a stream as fast as the relay reads it); *fixed*: A offers %d datagrams/s and B opens each one (one-way delay, the members%s seal and open included). Loss = datagrams A sent that B did not get; queue drops = DATA frames the relay dropped at a full stream output queue (`wgrelayd_stream_dropped_total`).\n\n", size, reps, dur, fixed, "\x27" > md
	print "| transport | offered | forwarded (kpps) | Gbit/s | relay CPU busy (%) | relay CPU per forwarded packet (µs) | × UDP sealed rate | × UDP sealed CPU per packet | loss (%) | relay queue drops | one-way delay p50 / p99 (µs) |" > md
	print "|---|---|---|---|---|---|---|---|---|---|---|" > md
	printf "{\n  \"size\": %d, \"reps\": %d, \"seconds\": %d, \"fixed_pps\": %d,\n  \"rows\": [", size, reps, dur, fixed > js
	first = 1
	for (kk = 1; kk <= 2; kk++) {
		kind = kk == 1 ? "max" : "fixed"
		for (i = 1; i <= n; i++) {
			y = order[i]; k = y SUBSEP kind
			off = kind == "max" ? "max" : sprintf("%.0f kpps (A sent %.1f)", fixed / 1000, med(k SUBSEP "sent") / 1000)
			if (!N[k SUBSEP "pps"]) {
				failed = 1
				printf "| %s | %s | nothing arrived (%d failed runs) | | | | | | | | |\n", y, off, N[k SUBSEP "fail"] > md
				continue
			}
			p = med(k SUBSEP "pps"); c = med(k SUBSEP "cpu"); b = med(k SUBSEP "busy")
			up = med("udp" SUBSEP kind SUBSEP "pps"); uc = med("udp" SUBSEP kind SUBSEP "cpu")
			l = med(k SUBSEP "loss"); q = med(k SUBSEP "qdrop")
			p50 = med(k SUBSEP "p50"); p99 = med(k SUBSEP "p99")
			printf "| %s | %s | %s%s | %s | %s | %s | %s | %s | %s | %s | %s |\n", y, off, f(p / 1000, 1), (kind == "max" && b != "" && b < 90) ? " (load-bound)" : "", f(p * size * 8 / 1e9, 2), f(b, 0), f(c, 2), f(ratio(p, up), 2), f(ratio(c, uc), 2), f(l, 1), y == "udp" ? "(UDP)" : f(q, 0), p50 == "" ? "" : fl(p50) " / " fl(p99) > md
			printf "%s\n    {\"transport\": \"%s\", \"kind\": \"%s\", \"pps\": %s, \"gbps\": %s, \"relay_cpu_busy_pct\": %s, \"relay_cpu_us_per_packet\": %s, \"x_udp_rate\": %s, \"x_udp_cpu\": %s, \"loss_pct\": %s, \"queue_drops\": %s, \"latency_us\": {\"p50\": %s, \"p99\": %s}}", first ? "" : ",", y, kind, jn(p), jn(p * size * 8 / 1e9), jn(b), jn(c), jn(ratio(p, up)), jn(ratio(c, uc)), jn(l), y == "udp" ? "null" : jn(q), jn(p50), jn(p99) > js
			first = 0
		}
	}
	print "\n  ]\n}" > js
	if (failed) print "some rows have no figure" > (out "/streams.failed")
	print "" > md
	print "A relay whose CPU was less than 90 % busy at max rate is marked *load-bound*: the members on the other core (sealing, TLS and WebSocket framing of both ends) were the limit, and the rate is a lower bound. At max rate over UDP, A offers more than the relay takes and the excess is lost at the sockets (as in the main table); over a stream A offers only what the relay reads, so loss there is the relay dropping." > md
}' "$D/runs.jsonl"
cat "$OUT/streams.md"

# A full run refreshes the streams block of docs/BENCHMARKS.md.
DOC=$SRC/docs/BENCHMARKS.md
if [ -f "$OUT/streams.failed" ]; then
	log "a system had no figure at all: docs/BENCHMARKS.md left as it was"
elif [ "$QUICK" = 0 ] && [ -z "${WGR_BENCH_NO_DOCS:-}" ] &&
	grep -q '<!-- bench:streams:begin -->' "$DOC"; then
	{
		echo "Run \`$(basename "$OUT")\` on $(nproc) cores, $(uname -sr)."
		echo
		sed '1,2d' "$OUT/streams.md"
	} >"$OUT/streams.gen.md"
	awk -v gen="$OUT/streams.gen.md" '
		/<!-- bench:streams:begin -->/ { print; while ((getline l < gen) > 0) print l; skip = 1; next }
		/<!-- bench:streams:end -->/ { skip = 0 }
		!skip { print }' "$DOC" >"$OUT/BENCHMARKS.md.streams"
	mv "$OUT/BENCHMARKS.md.streams" "$DOC"
	log "updated docs/BENCHMARKS.md (Stream transports)"
fi
