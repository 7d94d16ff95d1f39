#!/bin/sh
# sessions-shared.sh: what a direct session costs the relay in memory with SessionSockets = each
# (a UDP socket per session) and = shared (one steered map entry per session, portshare.c), at
# 10000 sessions and at the most the port range holds. For each mode and count, a fresh wgrelayd
# (one worker, limits lifted) in a network namespace of its own, wgr-bench-member binds the
# sessions, and the growth of the relay's VmRSS, of the kernel's Slab (/proc/meminfo), of the
# slab caches a socket lives in (/proc/slabinfo) and of the relay's BPF maps (memlock in
# fdinfo) is divided by the sessions. No traffic: memory at rest.
#
# usage: sh bench/sessions-shared.sh BUILD_DIR [OUT_DIR]
# Needs root (namespace, BPF, raw sockets) and a build with BPF (WGR_XDP). Environment:
# WGR_BENCH_SESSIONS (default "10000 55536"), WGR_BENCH_MODES (default "each shared").
# Writes OUT_DIR/runs.jsonl (one line per run) and OUT_DIR/table.md. A count the open-file
# limit cannot hold in each mode is reported as not run (the relay needs a socket per session).
set -eu

usage() {
	echo "usage: sh bench/sessions-shared.sh BUILD_DIR [OUT_DIR]" >&2
	exit 2
}
[ $# -ge 1 ] || usage
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${2:-$SRC/bench/results/sessions-shared-$(date -u +%Y%m%dT%H%M%SZ)}
COUNTS=${WGR_BENCH_SESSIONS:-10000 55536}
MODES=${WGR_BENCH_MODES:-each shared}
# Session ports 10000-65535 (55536: the most the range holds here), the kernel's ephemeral ports
# (the bench client's links) below them: a session port must never be an ephemeral one.
PORT_LO=10000
PORT_HI=65535
EPHEMERAL="1024 9999"
CTL=5182 # the control port, out of the session range so that all of it can be sessions
# Sessions per member process: 1500 is 188 links, under the relay's 200 handshakes a second
# before it answers with cookies (relayd/control.c).
CHUNK=1500

# The steering program sees every UDP datagram of its namespace: run in one of our own.
if [ -z "${WGR_BENCH_IN_NETNS:-}" ]; then
	[ "$(id -u)" = 0 ] || {
		echo "sessions-shared.sh: needs root" >&2
		exit 77
	}
	WGR_BENCH_IN_NETNS=1 exec unshare -n sh "$0" "$BUILD" "$OUT"
fi
ip link set lo up
echo "$EPHEMERAL" >/proc/sys/net/ipv4/ip_local_port_range
mkdir -p "$OUT"
LOG=$OUT/log.txt
: >"$LOG"

# shellcheck disable=SC2046 # pkg-config's flags are a word list
cc -O2 -std=gnu11 -D_GNU_SOURCE -I"$SRC/common" -o "$OUT/wgr-bench-member" \
	"$SRC/bench/member.c" "$SRC/bench/util.c" "$BUILD/common/libwgrcommon.a" \
	$(pkg-config --cflags --libs libsodium) 2>>"$LOG"
MEMBER=$OUT/wgr-bench-member
WGRELAYD=$BUILD/relayd/wgrelayd

RELAY_PID=""
MEMBER_PID=""
cleanup() {
	for p in $MEMBER_PID $RELAY_PID; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	MEMBER_PID=""
	RELAY_PID=""
}
trap cleanup EXIT INT TERM

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
slab_kb() { awk '/^Slab:/ { print $2 }' /proc/meminfo; }
# bytes in the slab caches a bound, epoll-registered UDP socket lives in (bench/sockmem.c)
sock_slab() {
	awk '$1 ~ /^(UDP|UDPv6|sock_inode_cache|filp|dentry|eventpoll_epi|eventpoll_pwq)$/ {
		t += $2 * $4 } END { printf "%.0f", t }' /proc/slabinfo
}
# bytes the relay's BPF maps hold (fdinfo's memlock: the elements present, for a map that is
# not preallocated)
memlock() {
	cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '/^memlock:/ { t += $2 } END { printf "%.0f", t }'
}

# wait_for FILE PID SECONDS: FILE appears while PID lives; 1 otherwise.
wait_for() {
	t=0
	while [ ! -e "$1" ]; do
		kill -0 "$2" 2>/dev/null || return 1
		t=$((t + 1))
		[ $t -le $(($3 * 10)) ] || return 1
		sleep 0.1
	done
}

# run MODE N: one relay, N sessions bound; appends to runs.jsonl and table.md.
run() {
	mode=$1
	n=$2
	dir=$OUT/$mode-$n
	mkdir -p "$dir"
	# shellcheck disable=SC3045 # dash, Debian's sh, has ulimit -n
	fdmax=$(ulimit -n)
	if [ "$mode" = each ] && [ $((n + 300)) -gt "$fdmax" ]; then
		echo "| $mode | $n | not run: a socket per session and an open-file limit of $fdmax | | | | | |" >>"$OUT/table.md"
		return 0
	fi
	# Loopback is refused by default (AllowLoopback is the test allowance); the open-mode limits
	# (per client, per source, links) would stop the binding early: lifted.
	cat >"$dir/wgrelayd.conf" <<-EOF
		[Relay]
		Listen = 127.0.0.1:$CTL
		PortRange = $PORT_LO-$PORT_HI
		KeyFile = $dir/key
		AllowLoopback = true
		Metrics = off
		Workers = 1
		SessionSockets = $mode
		[Limits]
		MaxReservations = 1000000
		MaxReservationsPerClient = 1000000
		MaxReservationsPerSource = 1000000
		MaxCircuits = 1000000
		MaxCircuitsPerClient = 1000000
		MaxCircuitsPerSource = 1000000
		MaxLinks = 20000
		MaxLinksPerSource = 20000
		CircuitBytes = 0
		CircuitDuration = 1d
		SourceRate = 100000
		SourceBurst = 100000
	EOF
	"$WGRELAYD" -f -c "$dir/wgrelayd.conf" >>"$dir/wgrelayd.log" 2>&1 &
	RELAY_PID=$!
	sleep 1
	if ! kill -0 "$RELAY_PID" 2>/dev/null; then
		echo "| $mode | $n | wgrelayd did not start ($(tail -n 1 "$dir/wgrelayd.log")) | | | | | |" >>"$OUT/table.md"
		RELAY_PID=""
		return 0
	fi
	pub=$("$WGRELAYD" -c "$dir/wgrelayd.conf" --show-public-key 2>>"$LOG")
	r0=$(rss_kb "$RELAY_PID")
	s0=$(slab_kb)
	k0=$(sock_slab)
	m0=$(memlock "$RELAY_PID")
	# In chunks, one member process after the other, a second apart: a member opens all its
	# links at once, and past the relay's handshake rate it is sent cookies, which the bench
	# client does not take.
	left=$n
	i=0
	while [ "$left" -gt 0 ]; do
		k=$((left < CHUNK ? left : CHUNK))
		"$MEMBER" --relay "127.0.0.1:$CTL" --relay-pub "$pub" --mode direct --sessions "$k" \
			--ports-out "$dir/ports.$i" --ready "$dir/ready.$i" --hold 900 \
			>>"$dir/member.log" 2>&1 &
		MEMBER_PID="$MEMBER_PID $!"
		if ! wait_for "$dir/ready.$i" "$!" 600; then
			echo "| $mode | $n | binding failed (member.log) | | | | | |" >>"$OUT/table.md"
			cleanup
			return 0
		fi
		left=$((left - k))
		i=$((i + 1))
		sleep 1.1
	done
	sleep 1
	r1=$(rss_kb "$RELAY_PID")
	s1=$(slab_kb)
	k1=$(sock_slab)
	m1=$(memlock "$RELAY_PID")
	bound=$(cat "$dir"/ports.* | wc -l)
	printf '{"mode":"%s","sessions":%s,"rss_kb":[%s,%s],"slab_kb":[%s,%s],"sock_slab":[%s,%s],"memlock":[%s,%s]}\n' \
		"$mode" "$bound" "$r0" "$r1" "$s0" "$s1" "$k0" "$k1" "$m0" "$m1" >>"$OUT/runs.jsonl"
	awk -v m="$mode" -v n="$bound" -v r0="$r0" -v r1="$r1" -v s0="$s0" -v s1="$s1" \
		-v k0="$k0" -v k1="$k1" -v m0="$m0" -v m1="$m1" 'BEGIN {
		u = (r1 - r0) * 1024 / n; s = (s1 - s0) * 1024 / n; b = (m1 - m0) / n
		printf "| %s | %d | %.1f | %.0f | %.0f | %.0f | %.0f | %.0f |\n", m, n, r1 / 1024, u,
			s, (k1 - k0) / n, b, u + s }' >>"$OUT/table.md"
	cleanup
}

{
	echo "| SessionSockets | sessions | wgrelayd RSS (MiB) | user memory per session (B) | kernel Slab per session (B) | of it, socket caches (B) | of it, BPF maps (B) | total per session (B) |"
	echo "|---|---|---|---|---|---|---|---|"
} >"$OUT/table.md"
for n in $COUNTS; do
	for mode in $MODES; do
		run "$mode" "$n"
	done
done
cat "$OUT/table.md"
