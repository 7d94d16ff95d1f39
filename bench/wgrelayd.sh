# bench/wgrelayd.sh: the wgrelayd part of bench/run (sourced, not run on its own).
# shellcheck shell=sh
#
# wgrelayd runs pinned on the system CPU with loopback allowed for the test, one forwarding
# thread (Workers = 1: the goals are per core), in three instances: the shipped configuration
# (system direct-gro: UDP GRO in, UDP_SEGMENT out; also sealed and the session scale), one
# with Coalesce = no (system direct: recvmmsg/sendmmsg batches only) and one with Coalesce = no
# and BusyPoll = 50 (system direct-poll: the latency option, not a default). The bench client
# wgr-bench-member (bench/member.c, linked with BUILD_DIR/common/libwgrcommon.a) holds the
# control links: for direct mode it binds N sessions from two client identities, writes the
# session ports, and keeps the links alive; wgr-bench-wgpair then confirms both members of every
# session with WireGuard-shaped handshakes and wgr-bench-gen blasts type-4 packets. For sealed
# mode the member tool is itself the generator and receiver (only it has the per-hop keys).
# When wgrelayd or the client cannot be built, the wgrelayd systems are skipped and the reason
# goes to OUT/wgrelayd.status (the report prints it).

# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"

WGRELAYD=$BUILD/relayd/wgrelayd
WGR_STATUS=""
WGR_PID=""
WGR2_PID=""
WGR3_PID=""
MEMBER_PID=""
WGR_CTL_PORT=$((PB + 20))
WGR2_CTL_PORT=$((PB + 21))
WGR3_CTL_PORT=$((PB + 23))
WGR_LO=$((PB + 1000))
WGR2_LO=$((WGR_LO + 20000))
WGR3_LO=$((WGR2_LO + 200))
WGR_A=127.0.0.1:$((PB + 3))
WGR_B=127.0.0.1:$((PB + 4))
WGR_INDEX=1000

wgrelayd_build() {
	if [ ! -x "$WGRELAYD" ]; then
		WGR_STATUS="wgrelayd not built ($WGRELAYD missing)"
		return 0
	fi
	if [ ! -f "$SRC/bench/member.c" ]; then
		WGR_STATUS="bench client (bench/member.c) not written yet: waits for the protocol in common/"
		return 0
	fi
	if ! bench_build_member; then
		WGR_STATUS="bench client does not build against common/ (see log.txt)"
	fi
	return 0
}

# wgrelayd_conf COALESCE CTLPORT RANGE [BUSYPOLL_US]: a relay's config. Loopback is refused by default
# (AllowLoopback is the test allowance). The open-mode limits (3 bindings and 5 circuits per
# client, 100 MB per circuit, 20 handshakes a second per source) would stop a benchmark in its
# first second: lifted here.
wgrelayd_conf() {
	cat <<-EOF
		[Relay]
		Listen = 127.0.0.1:$2
		PortRange = $3
		KeyFile = $OUT/wgrelayd/key
		AllowLoopback = true
		Metrics = off
		Workers = 1
		Coalesce = $1
		BusyPoll = ${4:-0}
		[Limits]
		MaxReservations = 200000
		MaxReservationsPerClient = 200000
		MaxCircuits = 100000
		MaxCircuitsPerClient = 100000
		CircuitBytes = 0
		CircuitDuration = 1d
		SourceRate = 100000
		SourceBurst = 100000
	EOF
}

wgrelayd_start() {
	if [ -z "$WGR_STATUS" ]; then
		mkdir -p "$OUT/wgrelayd"
		umask 077
		wg genkey >"$OUT/wgrelayd/key"
		umask 022
		WGR_PUB=$(wg pubkey <"$OUT/wgrelayd/key")
		# Loopback is refused by default (AllowLoopback is the test allowance). The open-mode
		# limits (3 bindings and 5 circuits per client, 100 MB per circuit, 20 handshakes a
		# second per source) would stop a benchmark in its first second: lifted here.
		wgrelayd_conf yes "$WGR_CTL_PORT" "$WGR_LO-$((WGR_LO + 19999))" >"$OUT/wgrelayd/wgrelayd.conf"
		wgrelayd_conf no "$WGR2_CTL_PORT" "$WGR2_LO-$((WGR2_LO + 99))" >"$OUT/wgrelayd/batch.conf"
		wgrelayd_conf no "$WGR3_CTL_PORT" "$WGR3_LO-$((WGR3_LO + 99))" 50 >"$OUT/wgrelayd/poll.conf"
		taskset -c "$CPU_SYS" "$WGRELAYD" -f -c "$OUT/wgrelayd/wgrelayd.conf" \
			>>"$OUT/wgrelayd.log" 2>&1 &
		WGR_PID=$!
		taskset -c "$CPU_SYS" "$WGRELAYD" -f -c "$OUT/wgrelayd/batch.conf" \
			>>"$OUT/wgrelayd-batch.log" 2>&1 &
		WGR2_PID=$!
		taskset -c "$CPU_SYS" "$WGRELAYD" -f -c "$OUT/wgrelayd/poll.conf" \
			>>"$OUT/wgrelayd-poll.log" 2>&1 &
		WGR3_PID=$!
		PIDS="$PIDS $WGR_PID $WGR2_PID $WGR3_PID"
		sleep 0.5
		if ! kill -0 "$WGR_PID" 2>/dev/null || ! kill -0 "$WGR2_PID" 2>/dev/null ||
			! kill -0 "$WGR3_PID" 2>/dev/null; then
			WGR_STATUS="wgrelayd exited at start (see wgrelayd*.log)"
			WGR_PID=""
			WGR2_PID=""
			WGR3_PID=""
		fi
	fi
	[ -n "$WGR_STATUS" ] && echo "$WGR_STATUS" >"$OUT/wgrelayd.status"
	[ -n "$WGR_STATUS" ] && log "wgrelayd: $WGR_STATUS"
	return 0
}

wgrelayd_systems() {
	[ -z "$WGR_STATUS" ] && echo "direct direct-poll direct-gro sealed"
	return 0
}

# wgrelayd_pid SYSTEM: the relay instance that runs that system.
wgrelayd_pid() {
	case "$1" in
	direct) echo "${WGR2_PID:-0}" ;;
	direct-poll) echo "${WGR3_PID:-0}" ;;
	*) echo "${WGR_PID:-0}" ;;
	esac
}

# member_hold N FILE [CTLPORT]: bind N direct sessions, ports to FILE; the holder keeps the links.
member_hold() {
	rm -f "$OUT/member.ready"
	taskset -c "$CPU_LOAD" "$BIN/wgr-bench-member" --relay "127.0.0.1:${3:-$WGR_CTL_PORT}" \
		--relay-pub "$WGR_PUB" --mode direct --sessions "$1" --ports-out "$2" \
		--ready "$OUT/member.ready" --hold 600 >>"$OUT/member.log" 2>&1 &
	MEMBER_PID=$!
	PIDS="$PIDS $MEMBER_PID"
	bench_wait_file "$OUT/member.ready" "$MEMBER_PID" 1200
}

MEMBER_PIDS=""
member_release() {
	bench_stop "$MEMBER_PID $MEMBER_PIDS"
	MEMBER_PID=""
	MEMBER_PIDS=""
	return 0
}

# wgrelayd_prepare SYSTEM: before a run of that system (direct modes: one confirmed session on
# that system's relay, held by its own member process).
wgrelayd_prepare() {
	case "$1" in
	direct) port=$WGR2_CTL_PORT ;;
	direct-poll) port=$WGR3_CTL_PORT ;;
	direct-gro) port=$WGR_CTL_PORT ;;
	*) return 0 ;;
	esac
	[ -s "$OUT/$1.ports" ] && return 0
	member_hold 1 "$OUT/$1.ports" "$port" || {
		log "$1: binding a session failed (see member.log)"
		return 1
	}
	MEMBER_PIDS="$MEMBER_PIDS $MEMBER_PID"
	MEMBER_PID=""
	"$BIN/wgr-bench-wgpair" --a "$WGR_A" --b "$WGR_B" --ports "$OUT/$1.ports" \
		--index "$WGR_INDEX" >>"$LOG" 2>&1 || log "$1: WireGuard-shaped handshake not confirmed"
}

# wgrelayd_gen SYSTEM SIZE: the generator command for that system (after the common args).
wgrelayd_gen_args() {
	case "$1" in
	direct | direct-poll | direct-gro)
		echo "--mode wg --bind $WGR_A --dst-file $OUT/$1.ports --wg-index $WGR_INDEX"
		;;
	esac
}

# slab_bytes: bytes in the slab caches a session socket lives in (see bench/sockmem.c).
slab_bytes() {
	awk '$1 ~ /^(UDP|sock_inode_cache|filp|dentry|eventpoll_epi|eventpoll_pwq)$/ {
		t += $2 * $4 } END { printf "%.0f", t }' /proc/slabinfo 2>/dev/null || echo 0
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# wgrelayd_scale: RSS, kernel memory and forwarding rate with 1k, 10k, 50k direct sessions.
wgrelayd_scale() {
	{
		echo "### Session scale"
		echo
		"$BIN/wgr-bench-sockmem" --count 10000 >"$OUT/sockmem.json" 2>>"$LOG" || true
		echo "Kernel memory of one direct-mode session's socket (a bound UDP socket registered" \
			"with epoll, slab caches UDP, sock_inode_cache, filp, dentry, eventpoll):" \
			"$(bench_jget bytes_per_socket <"$OUT/sockmem.json") bytes (wgr-bench-sockmem, 10000 sockets)."
		echo
	} >"$OUT/scale.md"
	if [ -n "$WGR_STATUS" ]; then
		echo "wgrelayd session scale not run: $WGR_STATUS." >>"$OUT/scale.md"
		return 0
	fi
	member_release
	# shellcheck disable=SC3045 # dash, Debian's sh, has ulimit -H
	fdmax=$(ulimit -Hn)
	{
		echo "| sessions | wgrelayd RSS (MiB) | user memory per session (bytes) | kernel slab per session (bytes) | rate over all sessions, 1424 B (kpps) |"
		echo "|---|---|---|---|---|"
	} >>"$OUT/scale.md"
	for n in 1000 10000 50000; do
		if [ $((n + 100)) -gt "$fdmax" ]; then
			echo "| $n | not run: wgrelayd needs a socket per direct session and the open-file limit here is $fdmax (no CAP_SYS_RESOURCE to raise it) | | | |" >>"$OUT/scale.md"
			continue
		fi
		r0=$(rss_kb "$WGR_PID")
		k0=$(slab_bytes)
		member_hold $n "$OUT/scale-$n.ports" || {
			echo "| $n | binding failed (member.log) | | | |" >>"$OUT/scale.md"
			member_release
			continue
		}
		sleep 0.5
		r1=$(rss_kb "$WGR_PID")
		k1=$(slab_bytes)
		"$BIN/wgr-bench-wgpair" --a "$WGR_A" --b "$WGR_B" --ports "$OUT/scale-$n.ports" \
			--index "$WGR_INDEX" --timeout 30 >"$OUT/scale-$n.pair" 2>>"$LOG" || true
		# shellcheck disable=SC2034 # read by start_sink (bench/run)
		RX_ADDR=$WGR_B
		start_sink "scale-$n" --gro
		taskset -c "$CPU_LOAD" "$BIN/wgr-bench-gen" --mode wg --bind "$WGR_A" \
			--dst-file "$OUT/scale-$n.ports" --wg-index "$WGR_INDEX" --size 1424 \
			--duration "$DUR" --rate 0 >"$OUT/scale-$n.gen" 2>>"$LOG" || true
		wait "$SINK_PID" || true
		s=$(cat "$OUT/scale-$n.sink")
		printf '{"system":"scale-direct","size":1420,"kind":"sessions","sessions":%s,"rss_kb":%s,"rss_kb_before":%s,"slab_bytes":%s,"pair":%s,"sink":%s}\n' \
			"$n" "$r1" "$r0" "$((k1 - k0))" "$(cat "$OUT/scale-$n.pair")" "$s" >>"$OUT/runs.jsonl"
		awk -v n=$n -v r0="$r0" -v r1="$r1" -v k="$((k1 - k0))" -v pps="$(echo "$s" | bench_jget pps)" \
			'BEGIN { ks = k < 0 ? "n/a (the caches shrank meanwhile)" : sprintf("%.0f", k / n)
				printf "| %d | %.1f | %.0f | %s | %.0f |\n", n, r1 / 1024, (r1 - r0) * 1024 / n, ks, pps / 1000 }' \
			>>"$OUT/scale.md"
		member_release
	done
	echo >>"$OUT/scale.md"
	echo "User memory per session = growth of wgrelayd's VmRSS when the sessions were bound, divided by their number." >>"$OUT/scale.md"
}

# thread_cpu PID: "TID ticks" per thread of PID (utime + stime, in clock ticks).
thread_cpu() {
	for t in /proc/"$1"/task/*; do
		echo "${t##*/} $(awk '{ print $14 + $15 }' "$t/stat" 2>/dev/null || echo 0)"
	done
}

# wgrelayd_threads: Workers = 1 against Workers = 2, not pinned, 4 direct sessions loaded
# round-robin at max rate (Coalesce = no, 1424 B): the rate and each thread's CPU time. The
# generator and sink run on the same two cores, so this shows the split, not a clean speed-up.
wgrelayd_threads() {
	{
		echo "### Forwarding threads"
		echo
	} >"$OUT/threads.md"
	if [ -n "$WGR_STATUS" ]; then
		echo "Not run: $WGR_STATUS." >>"$OUT/threads.md"
		return 0
	fi
	member_release
	{
		echo "| Workers | rate over 4 sessions (kpps) | CPU seconds per thread (control first) |"
		echo "|---|---|---|"
	} >>"$OUT/threads.md"
	tport=$((PB + 22))
	for w in 1 2; do
		wgrelayd_conf no "$tport" "$((WGR2_LO + 100))-$((WGR2_LO + 199))" |
			sed "s/^Workers = 1/Workers = $w/" >"$OUT/wgrelayd/threads-$w.conf"
		"$WGRELAYD" -f -c "$OUT/wgrelayd/threads-$w.conf" >>"$OUT/wgrelayd-threads.log" 2>&1 &
		tpid=$!
		PIDS="$PIDS $tpid"
		sleep 0.5
		if ! member_hold 4 "$OUT/threads-$w.ports" "$tport"; then
			echo "| $w | binding failed (member.log) | |" >>"$OUT/threads.md"
		else
			"$BIN/wgr-bench-wgpair" --a "$WGR_A" --b "$WGR_B" --ports "$OUT/threads-$w.ports" \
				--index "$WGR_INDEX" >>"$LOG" 2>&1 || true
			# shellcheck disable=SC2034 # read by start_sink (bench/run)
			RX_ADDR=$WGR_B
			thread_cpu "$tpid" | sort >"$OUT/threads-$w.cpu0"
			start_sink "threads-$w" --gro
			"$BIN/wgr-bench-gen" --mode wg --bind "$WGR_A" --dst-file "$OUT/threads-$w.ports" \
				--wg-index "$WGR_INDEX" --size 1424 --duration "$DUR" --rate 0 \
				--gso "$(bench_gso_segs 1424)" >"$OUT/threads-$w.gen" 2>>"$LOG" || true
			wait "$SINK_PID" || true
			thread_cpu "$tpid" | sort >"$OUT/threads-$w.cpu1"
			s=$(cat "$OUT/threads-$w.sink")
			cpus=$(join "$OUT/threads-$w.cpu0" "$OUT/threads-$w.cpu1" |
				awk -v hz="$(getconf CLK_TCK)" '{ printf "%s%.2f", (NR > 1 ? ", " : ""), ($3 - $2) / hz }')
			printf '{"system":"threads-direct","size":1420,"kind":"threads","workers":%s,"sink":%s}\n' \
				"$w" "$s" >>"$OUT/runs.jsonl"
			awk -v w="$w" -v pps="$(echo "$s" | bench_jget pps)" -v c="$cpus" \
				'BEGIN { printf "| %d | %.0f | %s |\n", w, pps / 1000, c }' >>"$OUT/threads.md"
		fi
		member_release
		bench_stop "$tpid"
	done
	echo >>"$OUT/threads.md"
}

wgrelayd_stop() {
	member_release
	return 0
}

# wgrelayd_sealed_run KIND SIZE RATE NAME: one sealed session; the member tool seals at A and
# counts (max) or opens and times (half) at B, on the load CPU.
wgrelayd_sealed_run() {
	lat=""
	[ "$1" = half ] && lat="--open --hist $OUT/$4.cdf --warmup 0.2"
	# shellcheck disable=SC2086
	taskset -c "$CPU_LOAD" "$BIN/wgr-bench-member" --relay "127.0.0.1:$WGR_CTL_PORT" \
		--relay-pub "$WGR_PUB" --mode sealed --size "$2" --rate "$3" --duration "$DUR" \
		--sink-out "$OUT/$4.sink" $lat >"$OUT/$4.gen" 2>>"$OUT/member.log" || true
}
