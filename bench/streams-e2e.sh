#!/bin/sh
# bench/streams-e2e.sh [--quick] BUILD_DIR OUT_DIR: two WireGuard peers (wireguard-go) relayed
# by wgrelayd over UDP sealed, over UDP in direct mode, then with all UDP from their networks
# dropped over tcp://, tls:// and wss:// (docs/BENCHMARKS.md "Stream transports"). Root and
# network namespaces (sim/world.sh); exits 77 (skipped) without them.
#
# World: relay r1 (UDP 51821, [Transport] Listen = 0.0.0.0:443), a and b behind symmetric
# NATs (so never direct), both helpers in sealed mode (direct mode on the leg "direct"). Per
# leg, helpers started afresh with r1's bootstrap line (and, for a stream leg, that one URL),
# the routers' filter dropping UDP for stream legs. Measured per leg: ping a->b RTT unloaded
# (100 pings, 0.1 s apart), iperf3 a->b -t 5 three times (median; one with --quick) with pings
# every 0.05 s meanwhile (loaded RTT, all runs pooled), r1's CPU time over the iperf3 runs.
# Goals: stream/UDP-sealed iperf3 >= 0.7x; UDP sealed/direct iperf3 >= 0.9x; loaded p99 <=
# unloaded p99 + 50 ms. WGR_BENCH_LEGS="udp direct" runs only the legs named. Writes
# OUT/streams-e2e.md and OUT/streams-e2e.json; a full run (every leg) without
# WGR_BENCH_NO_DOCS refreshes the block of docs/BENCHMARKS.md between the bench:streams-e2e
# markers.


QUICK=0
if [ "${1:-}" = --quick ]; then
	QUICK=1
	shift
fi
[ $# -eq 2 ] || {
	sed -n '2,18p' "$0" >&2
	exit 2
}
WGR_SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)
WGR_BINARY_DIR=$(cd "$1" && pwd)
export WGR_SOURCE_DIR WGR_BINARY_DIR
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
LOG=$OUT/log.txt
REPS=3
[ "$QUICK" = 1 ] && REPS=1
SECS=5
ALL_LEGS="udp direct tcp tls wss"
LEGS=${WGR_BENCH_LEGS:-$ALL_LEGS}
HMODE=sealed # the helpers' mode for the next leg

log() {
	echo "bench: streams-e2e: $*" | tee -a "$LOG" >&2
}

for t in "$WGR_BINARY_DIR/relayd/wgrelayd" "$WGR_BINARY_DIR/relay-client/wgrelay"; do
	[ -x "$t" ] || {
		log "skipped: $t not built"
		exit 77
	}
done
for t in iperf3 ping curl; do
	command -v $t >/dev/null 2>&1 || {
		log "skipped: $t not installed"
		exit 77
	}
done

# shellcheck disable=SC1091 # sourced from the source tree found at run time
. "$WGR_SOURCE_DIR/sim/world.sh"
# shellcheck disable=SC1091
. "$WGR_SOURCE_DIR/sim/transports.sh"
world_skip_unless_able
# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
world_init || exit 1
trap 'tw_cleanup; world_cleanup' EXIT
trap 'tw_cleanup; world_cleanup; exit 1' INT TERM

cat >"$WS/geo.txt" <<T
203.0.113.10/32 50.11 8.68 Frankfurt DE
198.51.100.10/32 48.86 2.35 Paris FR
198.51.100.11/32 52.52 13.40 Berlin DE
T
world_geoip "$WS/geo.txt" || exit 1
cat >"$WS/r1.conf" <<EOF
[Limits]
CircuitBytes = 0
CircuitDuration = 0
[Transport]
Listen = 0.0.0.0:443
EOF
world_relay_net r1 203.0.113.10 "$WS/r1.conf" || exit 1
# shellcheck disable=SC2317 # run by world_wait
relay_up() { world_x r1 curl -s --max-time 1 -o /dev/null http://127.0.0.1:9821/metrics; }
world_wait 10 relay_up || {
	log "wgrelayd on r1 does not answer"
	world_dumplogs
	exit 1
}
world_natted a ra 198.51.100.10 1 symmetric || exit 1
world_natted b rb 198.51.100.11 2 symmetric || exit 1
world_wg a 192.0.2.1 && world_wg b 192.0.2.2 || exit 1
world_wg_peer a b && world_wg_peer b a || exit 1
RPID=$(cat "$WS/r1.relaydpid")
log "world $W: a, b behind symmetric NATs, r1 (UDP 51821, streams on 443), $REPS x iperf3 -t $SECS per leg"

stop_helper() { # NAME: leave clean (SIGUSR1), kill -9 after 10 s
	[ -s "$WS/$1.watchpid" ] || return 0
	p=$(cat "$WS/$1.watchpid")
	kill -USR1 "$p" 2>/dev/null
	i=0
	while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	kill -9 "$p" 2>/dev/null
	rm -f "$WS/$1.watchpid"
}

start_helper() { # NAME [URL]: a fresh helper on NAME, r1 bootstrapped (with URL), in HMODE
	n=$1
	shift
	rm -rf "$WS/$n.d"
	mkdir -p "$WS/$n.d"
	printf '[Relay]\nBootstrap = %s:51821 %s%s\n' "$(world_ip r1)" "$(cat "$WS/r1.rpub")" "${1:+ $*}" \
		>"$WS/$n.d/wgrelay.conf"
	# Sealed on every leg but "direct": the data mode over streams, and the UDP baseline.
	wgrelay_in "$n" configure-relay --enable --mode "$HMODE" "$W$n" >>"$WS/$n.cli.log" 2>&1 ||
		return 1
	world_watch "$n"
}

# shellcheck disable=SC2317 # run by world_wait
relayed_both() { world_ping a b 1 1 && world_ping b a 1 1; }

cpu_s() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' \
		"/proc/$1/stat" 2>/dev/null || echo 0
}

# helpers_cpu_s: the CPU time (s) of the helpers on a and b together.
helpers_cpu_s() {
	t=0
	for h in a b; do
		[ -s "$WS/$h.watchpid" ] || continue
		t=$(awk -v t="$t" -v c="$(cpu_s "$(cat "$WS/$h.watchpid")")" 'BEGIN { printf "%.2f", t + c }')
	done
	echo "$t"
}

# rtts FILE: the RTTs (ms) of a ping output, one a line.
rtts() {
	sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' "$1"
}

# pct Q: the nearest-rank Q-quantile of the numbers on stdin ("" when none).
pct() {
	sort -n | awk -v q="$1" '{ v[NR] = $1 } END { if (NR) { i = int(q * NR + 0.999999); if (i < 1) i = 1; print v[i] } }'
}

# leg LABEL FW [URL]: one leg (unless LEGS leaves it out), one runs line in $WS/e2e.jsonl.
leg() {
	label=$1 fw=$2
	shift 2
	case " $LEGS " in *" $label "*) ;; *) return 0 ;; esac
	HMODE=sealed
	[ "$label" = direct ] && HMODE=direct
	for h in a b; do stop_helper $h; done
	for r in ra rb; do tw_fw $r "$fw" || return 1; done
	t0=$(date +%s)
	for h in a b; do start_helper $h "$@" || {
		log "$label: helper on $h did not start ($(tail -1 "$WS/$h.cli.log"))"
		return 1
	}; done
	if ! world_wait 60 relayed_both; then
		log "$label: no ping through the tunnel within 60 s"
		printf '{"leg":"%s","ok":false}\n' "$label" >>"$WS/e2e.jsonl"
		return 1
	fi
	up=$(($(date +%s) - t0))
	wgrelay_in a status >"$WS/status-$label.txt" 2>&1
	# Settle (discarded): the first seconds still see WireGuard's handshake over the new path.
	world_x a ping -n -q -c 30 -i 0.2 -W 2 192.0.2.2 >/dev/null 2>&1
	world_x a ping -n -c 100 -i 0.1 -W 2 192.0.2.2 >"$WS/ping0-$label.txt" 2>&1
	: >"$WS/mbit-$label.txt"
	: >"$WS/rtt1-$label.txt"
	c0=$(cpu_s "$RPID")
	h0=$(helpers_cpu_s)
	rep=1
	while [ $rep -le $REPS ]; do
		world_x b iperf3 -s -1 -B 192.0.2.2 >/dev/null 2>&1 &
		world_pid $!
		world_wait 5 tw_listening b 5201 || true
		world_x a ping -n -i 0.05 -W 2 -w $((SECS + 1)) 192.0.2.2 >"$WS/ping1-$label-$rep.txt" 2>&1 &
		pp=$!
		world_x a timeout $((SECS + 20)) iperf3 -c 192.0.2.2 -t $SECS -f m >"$WS/iperf-$label-$rep.txt" 2>&1
		wait $pp
		awk '/receiver/ { print $(NF-2) }' "$WS/iperf-$label-$rep.txt" >>"$WS/mbit-$label.txt"
		rtts "$WS/ping1-$label-$rep.txt" >>"$WS/rtt1-$label.txt"
		rep=$((rep + 1))
	done
	c1=$(cpu_s "$RPID")
	h1=$(helpers_cpu_s)
	hcpu=$(awk -v a="$h0" -v b="$h1" 'BEGIN { printf "%.2f", b - a }')
	mbit=$(pct 0.5 <"$WS/mbit-$label.txt")
	u50=$(rtts "$WS/ping0-$label.txt" | pct 0.5)
	u99=$(rtts "$WS/ping0-$label.txt" | pct 0.99)
	l50=$(pct 0.5 <"$WS/rtt1-$label.txt")
	l99=$(pct 0.99 <"$WS/rtt1-$label.txt")
	ln=$(wc -l <"$WS/rtt1-$label.txt")
	lsent=$(cat "$WS"/ping1-"$label"-*.txt | awk '/packets transmitted/ { s += $1 } END { print s + 0 }')
	runs=$(tr '\n' ' ' <"$WS/mbit-$label.txt" | sed 's/ $//')
	printf '{"leg":"%s","ok":true,"relayed_s":%s,"mbit":%s,"mbit_runs":"%s","rtt_ms":{"unloaded_p50":%s,"unloaded_p99":%s,"loaded_p50":%s,"loaded_p99":%s},"loaded_pings":%s,"loaded_replies":%s,"relay_cpu_s":%s,"helpers_cpu_s":%s}\n' \
		"$label" "$up" "${mbit:-null}" "$runs" "${u50:-null}" "${u99:-null}" "${l50:-null}" \
		"${l99:-null}" "$lsent" "$ln" "$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')" "$hcpu" \
		>>"$WS/e2e.jsonl"
	log "$label: relayed after ${up} s; iperf3 $runs Mbit/s; rtt unloaded p50/p99 $u50/$u99 ms, loaded $l50/$l99 ms ($ln of $lsent replies); helpers' CPU $hcpu s"
	mkdir -p "$OUT/streams-e2e"
	cp "$WS/status-$label.txt" "$WS/ping0-$label.txt" "$WS"/ping1-"$label"-*.txt \
		"$WS"/iperf-"$label"-*.txt "$OUT/streams-e2e/" 2>/dev/null
	return 0
}

: >"$WS/e2e.jsonl"
world_traffic 900 # both ways, 1/s, so each side's WireGuard keeps initiating
leg udp open
leg direct open
leg tcp noudp tcp://203.0.113.10:443
leg tls noudp tls://203.0.113.10:443
leg wss noudp wss://203.0.113.10/wgrelay
for h in a b; do stop_helper $h; done
cp "$WS/e2e.jsonl" "$OUT/streams-e2e.jsonl"
tw_metric_lines r1 wgrelayd_stream_ >"$OUT/streams-e2e-metrics.txt"

awk -v out="$OUT" -v reps="$REPS" -v secs="$SECS" '
function get(s, k,    r) {
	if (!match(s, "\"" k "\":\"?[^,}\"]*"))
		return ""
	r = substr(s, RSTART + length(k) + 3, RLENGTH - length(k) - 3)
	sub(/^"/, "", r)
	return r
}
function f(x, d) { return (x == "" || x == "null") ? "n/a" : sprintf("%." d "f", x) }
{
	l = get($0, "leg"); legs[++n] = l; ok[l] = get($0, "ok") == "true"
	M[l] = get($0, "mbit"); R[l] = get($0, "mbit_runs"); U50[l] = get($0, "unloaded_p50")
	U99[l] = get($0, "unloaded_p99"); L50[l] = get($0, "loaded_p50"); L99[l] = get($0, "loaded_p99")
	C[l] = get($0, "relay_cpu_s"); T[l] = get($0, "relayed_s"); H[l] = get($0, "helpers_cpu_s")
	LN[l] = get($0, "loaded_replies"); LS[l] = get($0, "loaded_pings")
}
END {
	md = out "/streams-e2e.md"; js = out "/streams-e2e.json"
	print "### Stream transports end to end" > md
	print "" > md
	printf "Two wireguard-go peers behind symmetric NATs relayed sealed by one wgrelayd in network namespaces (everything on the same 2 cores; on the leg *direct* the helpers use direct mode); for the stream legs the NAT routers drop all UDP and the helpers know the one URL. iperf3 a->b -t %d, median of %d run(s); ping a->b RTT unloaded (100 pings) and while iperf3 runs (every 0.05 s, all runs pooled).\n\n", secs, reps > md
	print "| leg | iperf3 (Mbit/s) | runs | × UDP sealed | RTT unloaded p50 / p99 (ms) | RTT under iperf3 p50 / p99 (ms) | p99 loaded − unloaded (ms) | replies under load | relay CPU (s) over the iperf3 runs | relayed after (s) |" > md
	print "|---|---|---|---|---|---|---|---|---|---|" > md
	printf "{\n  \"reps\": %d, \"seconds\": %d,\n  \"legs\": [", reps, secs > js
	for (i = 1; i <= n; i++) {
		l = legs[i]
		if (!ok[l]) { printf "| %s | not relayed within 60 s | | | | | | | | |\n", l > md; continue }
		x = (M["udp"] != "" && M["udp"] > 0 && M[l] != "") ? M[l] / M["udp"] : ""
		d = (L99[l] != "" && U99[l] != "") ? L99[l] - U99[l] : ""
		X[l] = x; D[l] = d
		printf "| %s | %s | %s | %s | %s / %s | %s / %s | %s | %s of %s | %s | %s |\n", l, f(M[l], 0), R[l], f(x, 2), f(U50[l], 2), f(U99[l], 2), f(L50[l], 1), f(L99[l], 1), f(d, 1), LN[l], LS[l], f(C[l], 2), T[l] > md
		printf "%s\n    {\"leg\": \"%s\", \"mbit\": %s, \"x_udp_sealed\": %s, \"rtt_ms\": {\"unloaded_p50\": %s, \"unloaded_p99\": %s, \"loaded_p50\": %s, \"loaded_p99\": %s}, \"p99_added_ms\": %s, \"relay_cpu_s\": %s, \"helpers_cpu_s\": %s}", (i > 1 ? "," : ""), l, (M[l] == "" ? "null" : M[l]), (x == "" ? "null" : x), U50[l], U99[l], L50[l], L99[l], (d == "" ? "null" : d), C[l], (H[l] == "" ? "null" : H[l]) > js
	}
	sd = (ok["udp"] && ok["direct"] && M["udp"] != "" && M["direct"] != "" && M["direct"] > 0) ? M["udp"] / M["direct"] : ""
	printf "\n  ],\n  \"udp_sealed_x_direct\": %s\n}\n", (sd == "" ? "null" : sd) > js
	print "" > md
	print "| goal | target | measured | verdict |" > md
	print "|---|---|---|---|" > md
	if (ok["udp"] && ok["direct"] && M["udp"] != "" && M["direct"] != "" && M["direct"] > 0) {
		v = M["udp"] / M["direct"]
		printf "| iperf3 over UDP sealed vs direct mode | >= 0.90x | %.2fx | %s |\n", v, (v >= 0.9 ? "met" : "missed") > md
	}
	for (i = 1; i <= n; i++) {
		l = legs[i]
		if (l == "udp" || l == "direct") continue
		v = X[l]; printf "| iperf3 over %s vs UDP sealed | >= 0.70x | %s | %s |\n", l, (v == "" ? "n/a" : sprintf("%.2fx", v)), (v == "" ? "not measured" : (v >= 0.7 ? "met" : "missed")) > md
	}
	for (i = 1; i <= n; i++) {
		l = legs[i]; v = D[l]
		printf "| p99 RTT under iperf3 over %s, added to unloaded | <= 50 ms | %s | %s |\n", l, (v == "" ? "n/a" : sprintf("%.1f ms", v)), (v == "" ? "not measured" : v < 0 ? "inconclusive (the unloaded p99 was the larger)" : (v <= 50 ? "met" : "missed")) > md
	}
}' "$OUT/streams-e2e.jsonl"
cat "$OUT/streams-e2e.md"

DOC=$WGR_SOURCE_DIR/docs/BENCHMARKS.md
if [ "$QUICK" = 0 ] && [ "$LEGS" = "$ALL_LEGS" ] && [ -z "${WGR_BENCH_NO_DOCS:-}" ] && grep -q '<!-- bench:streams-e2e:begin -->' "$DOC"; then
	{
		echo "Run \`$(basename "$OUT")\` on $(nproc) cores, $(uname -sr)."
		echo
		sed '1,2d' "$OUT/streams-e2e.md"
	} >"$OUT/streams-e2e.gen.md"
	awk -v gen="$OUT/streams-e2e.gen.md" '
		/<!-- bench:streams-e2e:begin -->/ { print; while ((getline l < gen) > 0) print l; skip = 1; next }
		/<!-- bench:streams-e2e:end -->/ { skip = 0 }
		!skip { print }' "$DOC" >"$OUT/BENCHMARKS.md.e2e"
	mv "$OUT/BENCHMARKS.md.e2e" "$DOC"
	log "updated docs/BENCHMARKS.md (Stream transports end to end)"
fi
exit 0
