#!/bin/sh
# bench/veth.sh [--quick] [BUILD_DIR]: the relay benchmark on real (virtual) devices, for what
# loopback cannot show: the XDP fast path needs a network device (docs/BENCHMARKS.md, "Veth
# topology and XDP", explains the method and holds the table). Run as root.
#
# Three network namespaces, generator -> relay -> sink, one veth pair between neighbours
# (192.0.2.0/24 on the generator's side, 198.51.100.0/24 on the sink's): the generator and the
# sink reach each other only through the relay namespace. Each system runs in the relay
# namespace pinned to CPU 1, the generator and the sink on CPU 0. The veths' receive runs in
# threaded NAPI, the relay side's pinned to CPU 1 and the sink's to CPU 0, so the relay's CPU
# is its process(es) plus its NAPI threads (where the kernel's forwarding and the XDP program
# run), the same way for every system; what CPU 1 did in all (/proc/stat) is reported beside.
# Systems: kernel (the relay namespace's own IP forwarding, no relay program: also the latency
# baseline), ref-batch and ref-gro (wgr-bench-fwd), coturn, wgrelayd direct (batches only),
# direct-gro (as shipped), xdp (direct-gro with Xdp = native) and xdp-generic. Each is run
# three times at max rate and three times paced at half its median max rate (each paced run
# followed by the same pacing through the kernel's forwarding: the latency baseline); the
# table holds medians. Then the XDP session scale (1k, 10k and as many sessions as the
# open-file limit allows).
# Writes bench/results/veth-<stamp>/ (runs.jsonl, table.md, scale.md, env.json, log.txt).
# --quick: one run each, 1 s, 1k sessions; about a minute. Environment: WGR_BENCH_PORT_BASE,
# WGR_BENCH_OUT (as bench/run), WGR_VETH_SYSTEMS (a subset, in order), WGR_VETH_PERF=1 (perf
# record of CPU 1 during each max-rate run, OUT/*.perf).
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$SRC/bench/lib.sh"
bench_args "$@"
BUILD=$(bench_build_dir veth "${BUILD:-$SRC/build}") || exit 1
if [ "$(id -u)" != 0 ]; then
	echo "veth: needs root (network namespaces)" >&2
	exit 77
fi
if [ "$(nproc)" -lt 2 ]; then
	echo "veth: needs two CPUs (the relay's and the load's)" >&2
	exit 77
fi
BIN=$BUILD/bench
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${WGR_BENCH_OUT:-$SRC/bench/results/veth-$STAMP}
mkdir -p "$BIN" "$OUT"
LOG=$OUT/log.txt
: >"$LOG"
: >"$OUT/runs.jsonl"

CPU_LOAD=0
CPU_SYS=1
SIZE=1420
bench_durations "$QUICK" 2

# Names: one id per run, so a leftover of a killed run never collides.
ID=wgrv$(printf '%04x' $(($$ % 65536)))
NS_G=$ID-gen
NS_R=$ID-relay
NS_S=$ID-sink
GEN_IP=192.0.2.2
RELAY_G=192.0.2.1
RELAY_S=198.51.100.1
SINK_IP=198.51.100.2

# Ports (bench/run's block: bench/wgrelayd.sh derives its own from PB). The namespaces' own
# ephemeral ports are 10000-30000, so PB must be above 30000 (and below 45000: the session
# scale takes 20,000 ports from PB + 1000).
PB=${WGR_BENCH_PORT_BASE:-42100}
if [ "$PB" -le 30000 ] || [ "$PB" -ge 45000 ]; then
	echo "veth: WGR_BENCH_PORT_BASE must be in 30001-44999" >&2
	exit 2
fi
GEN_ADDR=$GEN_IP:$PB
SYS_ADDR=$RELAY_G:$((PB + 1))
SINK_ADDR=$SINK_IP:$((PB + 2))
TURN_PORT=$((PB + 10))
METRICS_PORT=$((PB + 30))

log() {
	echo "veth: $*" | tee -a "$LOG" >&2
}

PIDS=""
# Every exit: the processes we started (by PID), then whatever still runs in our namespaces,
# then the namespaces.
cleanup() {
	bench_stop "$PIDS"
	PIDS=""
	for ns in $NS_G $NS_R $NS_S; do
		[ -e "/run/netns/$ns" ] || continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -9 "$p" 2>/dev/null || true
		done
		ip netns del "$ns" 2>/dev/null || true
	done
}
bench_on_exit cleanup

# (Not for background processes: "$!" of a function run with & is a subshell, not the process;
# those are started with ip netns exec itself, which becomes the process.)
in_g() { ip netns exec "$NS_G" "$@"; }
in_r() { ip netns exec "$NS_R" "$@"; }
in_s() { ip netns exec "$NS_S" "$@"; }

# --- build the tools (as bench/run does) -------------------------------------------------------
bench_cc
bench_build_tools
# wgrelayd_build (the member tool), wgrelayd_conf, slab helpers: shared with bench/run.
. "$SRC/bench/wgrelayd.sh"
wgrelayd_build

# --- the topology ------------------------------------------------------------------------------
NAPI_PIDS=""
# napi_pids: the PIDs of every threaded-NAPI kernel thread now.
napi_pids() {
	ps -e -o pid=,comm= | awk '$2 ~ /^napi\// { print $1 }' | sort
}

topology_up() {
	for ns in $NS_G $NS_R $NS_S; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
	ip link add g0 netns "$NS_G" type veth peer name rg netns "$NS_R"
	ip link add s0 netns "$NS_S" type veth peer name rs netns "$NS_R"
	ip -n "$NS_G" addr add $GEN_IP/24 dev g0
	ip -n "$NS_R" addr add $RELAY_G/24 dev rg
	ip -n "$NS_R" addr add $RELAY_S/24 dev rs
	ip -n "$NS_S" addr add $SINK_IP/24 dev s0
	# The relay namespace forwards (the kernel system; bpf_fib_lookup also answers "forwarding
	# disabled" without it) and never checks reverse paths or sends redirects.
	in_r sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.all.send_redirects=0
	# Ephemeral ports (the member tool's thousands of links) below the fixed ports of the run.
	for ns in $NS_G $NS_R $NS_S; do
		ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="10000 30000"
	done
	if command -v ethtool >/dev/null 2>&1; then
		# The generator's device segments and checksums in software, as a wire delivers
		# datagrams one by one with full checksums (a GSO bundle crossing whole to the relay
		# would be cheaper per datagram than any NIC). GRO on the relay's receiving side and
		# on the sink gives both veths NAPI (needed to take XDP_REDIRECT frames; a real
		# NIC has it), the same for every system.
		in_g ethtool -K g0 tx off tx-udp-segmentation off >>"$LOG" 2>&1 || true
		in_r ethtool -K rg gro on >>"$LOG" 2>&1 || true
		in_r ethtool -K rs gro on >>"$LOG" 2>&1 || true
		in_s ethtool -K s0 gro on >>"$LOG" 2>&1 || true
		OFFLOADS="generator tx checksum and UDP segmentation off, GRO on rg, rs and s0"
	else
		OFFLOADS="ethtool missing: offloads left at the veth defaults (GSO bundles cross whole)"
		log "$OFFLOADS"
	fi
	for dev in g0:$NS_G rg:$NS_R rs:$NS_R s0:$NS_S; do
		ip -n "${dev#*:}" link set "${dev%%:*}" up
	done
	ip -n "$NS_G" route add default via $RELAY_G
	ip -n "$NS_S" route add default via $RELAY_S
	# The relay side's receive runs in NAPI threads pinned to the relay's CPU: else veth
	# would do it in the generator's softirq on CPU 0 and the relay would look cheaper than it is.
	# The sink's receive, likewise, is the sink's: on the load CPU.
	before=$(napi_pids)
	in_r sh -c 'echo 1 >/sys/class/net/rg/threaded; echo 1 >/sys/class/net/rs/threaded' \
		2>>"$LOG" || true
	NAPI_PIDS=$(napi_pids | grep -vxF "$before" || true)
	for p in $NAPI_PIDS; do
		taskset -pc $CPU_SYS "$p" >/dev/null 2>&1 || true
	done
	before=$(napi_pids)
	in_s sh -c 'echo 1 >/sys/class/net/s0/threaded' 2>>"$LOG" || true
	SINK_NAPI=$(napi_pids | grep -vxF "$before" || true)
	for p in $SINK_NAPI; do
		taskset -pc $CPU_LOAD "$p" >/dev/null 2>&1 || true
	done
	if [ -z "$NAPI_PIDS" ] || [ -z "$SINK_NAPI" ]; then
		log "no threaded NAPI on this kernel: receive runs where softirq lands"
	fi
	# Neighbours resolved before the first run; and the path proven.
	in_g ping -c 1 -W 2 $SINK_IP >/dev/null 2>&1 || {
		log "topology: $GEN_IP cannot reach $SINK_IP through the relay namespace"
		exit 1
	}
}

# --- measuring ---------------------------------------------------------------------------------
HZ=$(getconf CLK_TCK)
# cpu_busy_ns: everything CPU_SYS did but idle and iowait (user nice system irq softirq steal).
cpu_busy_ns() {
	awk -v c="cpu$CPU_SYS" -v hz="$HZ" '$1 == c {
		printf "%.0f", ($2 + $3 + $4 + $7 + $8 + $9) * 1e9 / hz }' /proc/stat
}

# napi_cpu_ns: CPU time of the relay side's NAPI threads (the relay's receive; for xdp, the
# program itself), in ns.
napi_cpu_ns() {
	t=0
	for p in $NAPI_PIDS; do
		t=$((t + $(bench_cpu_ns "$p")))
	done
	echo $t
}

# relay_sent: datagrams the relay namespace put out towards the sink (rs: delivered to the
# sink's veth, by a send or an XDP redirect, plus those its ring had no room for).
relay_sent() {
	# shellcheck disable=SC2016 # expanded by the sh inside the relay namespace
	in_r sh -c 'echo $(($(cat /sys/class/net/rs/statistics/tx_packets) +
		$(cat /sys/class/net/rs/statistics/tx_dropped)))'
}

SINK_PID=""
# start_sink NAME BIND [args]: the sink in its namespace on the load CPU.
start_sink() {
	name=$1
	bind=$2
	shift 2
	rm -f "$OUT/ready"
	ip netns exec "$NS_S" taskset -c $CPU_LOAD "$BIN/wgr-bench-sink" --bind "$bind" --duration 60 --idle 0.4 \
		--ready "$OUT/ready" "$@" >"$OUT/$name.sink" 2>>"$LOG" &
	SINK_PID=$!
	bench_wait_file "$OUT/ready" || {
		log "sink did not start"
		exit 1
	}
}

# metric NAME: a value of the running wgrelayd's /metrics (empty when none).
metric() {
	in_r curl -s --max-time 2 "http://127.0.0.1:$METRICS_PORT/metrics" 2>/dev/null |
		awk -v m="$1" '$1 == m { print $2; exit }'
}

# --- systems -----------------------------------------------------------------------------------
SYS_PID=""
WGR_LO=$((PB + 1000))
WGR_A=$GEN_IP:$((PB + 3))
WGR_B=$SINK_IP:$((PB + 4))
WGR_INDEX=1000
WGR_CTL=$((PB + 20))

# wgrelayd_up SYSTEM PORTS: a wgrelayd for that system in the relay namespace (bench/wgrelayd.sh's
# configuration, listening on the generator side); 1 with the reason in $OUT/SYSTEM.status.
wgrelayd_up() {
	coal=yes
	[ "$1" = direct ] && coal=no
	mkdir -p "$OUT/wgrelayd"
	# A key per system: wgrelayd keeps its sessions beside its key (KEY.sessions) and would
	# restore another system's.
	key=$OUT/wgrelayd/$1.key
	[ -s "$key" ] || (umask 077 && wg genkey >"$key")
	rm -f "$key.sessions"
	WGR_PUB=$(wg pubkey <"$key")
	wgrelayd_conf $coal $WGR_CTL "$WGR_LO-$((WGR_LO + $2 - 1))" |
		sed -e "s/^Listen = .*/Listen = $RELAY_G:$WGR_CTL/" -e "s|^KeyFile = .*|KeyFile = $key|" \
			-e "s/^Metrics = .*/Metrics = 127.0.0.1:$METRICS_PORT/" \
			-e 's/^AllowLoopback = .*/AllowPrivate = true/' >"$OUT/wgrelayd/$1.conf"
	# The per-source limits (loopback is exempt from them in bench/run) would stop the session
	# scale: all links come from two addresses here.
	sed -i '/^\[Limits\]/a MaxLinks = 100000\nMaxLinksPerSource = 100000\nMaxReservationsPerSource = 200000\nMaxCircuitsPerSource = 100000' \
		"$OUT/wgrelayd/$1.conf"
	if [ "$1" = xdp ] || [ "$1" = xdp-generic ]; then
		xm=native
		[ "$1" = xdp-generic ] && xm=generic
		sed -i "/^\[Limits\]/i Xdp = $xm\nXdpInterface = rg\nXdpInterface = rs" \
			"$OUT/wgrelayd/$1.conf"
	fi
	ip netns exec "$NS_R" taskset -c $CPU_SYS "$WGRELAYD" -f -c "$OUT/wgrelayd/$1.conf" >>"$OUT/wgrelayd-$1.log" 2>&1 &
	SYS_PID=$!
	PIDS="$PIDS $SYS_PID"
	i=0
	while [ $i -lt 50 ] && kill -0 "$SYS_PID" 2>/dev/null && [ -z "$(metric wgrelayd_sessions)" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if ! kill -0 "$SYS_PID" 2>/dev/null; then
		echo "wgrelayd exited at start: $(tail -n 1 "$OUT/wgrelayd-$1.log")" >"$OUT/$1.status"
		SYS_PID=""
		return 1
	fi
	return 0
}

MEMBER_PID=""
# pair_up SYSTEM N: N direct sessions bound by the member tool (its member A's links from the
# generator's namespace, B's from the sink's) and confirmed by WireGuard-shaped handshakes.
pair_up() {
	rm -f "$OUT/member.ready" "$OUT/$1.ports"
	taskset -c $CPU_LOAD "$BIN/wgr-bench-member" --relay "$RELAY_G:$WGR_CTL" --relay-pub "$WGR_PUB" \
		--mode direct --sessions "$2" --ports-out "$OUT/$1.ports" --ready "$OUT/member.ready" \
		--hold 900 --netns-a "/run/netns/$NS_G" --netns-b "/run/netns/$NS_S" \
		>>"$OUT/member.log" 2>&1 &
	MEMBER_PID=$!
	PIDS="$PIDS $MEMBER_PID"
	bench_wait_file "$OUT/member.ready" "$MEMBER_PID" 2400 || {
		echo "binding $2 sessions failed (member.log)" >"$OUT/$1.status"
		return 1
	}
	taskset -c $CPU_LOAD "$BIN/wgr-bench-wgpair" --a "$WGR_A" --b "$WGR_B" --ports "$OUT/$1.ports" \
		--index $WGR_INDEX --timeout 60 --netns-a "/run/netns/$NS_G" --netns-b "/run/netns/$NS_S" \
		>"$OUT/$1.pair" 2>>"$LOG" || {
		echo "sessions not confirmed: $(cat "$OUT/$1.pair")" >"$OUT/$1.status"
		return 1
	}
}

# prime SYSTEM [N]: half a second of type-4 datagrams, four to each of N sessions (1), then
# time for a read back.
prime() {
	r=$((${2:-1} * 8))
	[ $r -lt 1000 ] && r=1000
	# shellcheck disable=SC2046 # gen_args: a word list
	in_g "$BIN/wgr-bench-gen" $(gen_args "$1") --size 1424 --duration 0.5 --rate $r \
		>/dev/null 2>>"$LOG" || true
	sleep 1.2
}

# system_up SYSTEM: start what serves SYSTEM (nothing for the kernel; the forwarder per run).
system_up() {
	SYS_PID=""
	rm -f "$OUT/$1.status"
	case "$1" in
	coturn)
		command -v turnserver >/dev/null 2>&1 || {
			echo "turnserver not installed (make deps)" >"$OUT/$1.status"
			return 1
		}
		ip netns exec "$NS_R" taskset -c $CPU_SYS turnserver -n --listening-ip=$RELAY_G --relay-ip=$RELAY_S \
			--listening-port=$TURN_PORT --no-auth --no-tls --no-dtls --no-tcp --no-tcp-relay \
			--no-cli --min-port=$((PB + 100)) --max-port=$((PB + 899)) --relay-threads=1 \
			--pidfile="$OUT/turnserver.pid" --log-file="$OUT/turnserver.log" --simple-log \
			>/dev/null 2>&1 &
		SYS_PID=$!
		PIDS="$PIDS $SYS_PID"
		sleep 1
		kill -0 "$SYS_PID" 2>/dev/null || {
			echo "turnserver exited at start (turnserver.log)" >"$OUT/$1.status"
			return 1
		}
		;;
	direct | direct-gro | xdp | xdp-generic)
		[ -z "$WGR_STATUS" ] || {
			echo "$WGR_STATUS" >"$OUT/$1.status"
			return 1
		}
		wgrelayd_up "$1" 100 && pair_up "$1" 1 || return 1
		# Member A is proven by its first transport datagram (PROTOCOL.md §5.5): a few, so
		# that the runs start on a confirmed (for xdp: installed) session.
		prime "$1"
		if [ "${1%-generic}" = xdp ] && [ "$(metric wgrelayd_xdp_sessions)" != 1 ]; then
			echo "the session was not installed in the XDP map (wgrelayd_xdp_sessions $(metric wgrelayd_xdp_sessions))" >"$OUT/$1.status"
			return 1
		fi
		;;
	esac
	return 0
}

system_down() {
	bench_stop "$MEMBER_PID $SYS_PID"
	MEMBER_PID=""
	SYS_PID=""
	return 0
}

# gen_args SYSTEM: how the generator addresses that system.
gen_args() {
	case "$1" in
	kernel) echo "--mode raw --bind $GEN_ADDR --dst $SINK_ADDR" ;;
	coturn) echo "--mode turn --dst $RELAY_G:$TURN_PORT --turn-peer $SINK_ADDR" ;;
	direct | direct-gro | xdp | xdp-generic | scale-*)
		echo "--mode wg --bind $WGR_A --dst-file $OUT/$1.ports --wg-index $WGR_INDEX"
		;;
	*) echo "--mode raw --bind $GEN_ADDR --dst $SYS_ADDR" ;;
	esac
}

# one_run SYSTEM KIND RATE REP: generator -> SYSTEM -> sink. KIND max (unpaced, GSO bundles
# segmented by the generator's device), half (paced, datagram by datagram, the sink timing
# each one) or base (the same pacing through the kernel's forwarding: the latency baseline).
one_run() {
	sys=$1 kind=$2 rate=$3 rep=$4
	path=$sys
	[ "$kind" = base ] && path=kernel
	name=$sys-$kind-$rep
	wsize=$SIZE
	case "$path" in direct | direct-gro | xdp | xdp-generic) wsize=$(((SIZE + 15) / 16 * 16)) ;; esac
	gso="--gso $(bench_gso_segs "$wsize")"
	[ "$kind" = max ] || gso=""
	rx=$SINK_ADDR
	sinkopt=""
	case "$path" in
	direct | direct-gro | xdp | xdp-generic)
		rx=$WGR_B
		sinkopt=--gro
		;;
	ref-gro) sinkopt=--gro ;;
	esac
	lat=""
	[ "$kind" = max ] || lat="--hist $OUT/$name.cdf --warmup 0.2"
	# shellcheck disable=SC2086
	start_sink "$name" "$rx" $sinkopt $lat
	fpid=""
	case "$path" in
	ref-batch | ref-gro)
		g=""
		[ "$path" = ref-gro ] && g=--gro
		# shellcheck disable=SC2086
		ip netns exec "$NS_R" taskset -c $CPU_SYS "$BIN/wgr-bench-fwd" --listen "$SYS_ADDR" --a "$GEN_ADDR" \
			--b "$SINK_ADDR" --duration $((DUR + 5)) --idle 0.3 $g >"$OUT/$name.fwd" 2>>"$LOG" &
		fpid=$!
		PIDS="$PIDS $fpid"
		sleep 0.1
		;;
	esac
	ppid=$SYS_PID
	[ -n "$fpid" ] && ppid=$fpid
	[ "$kind" = base ] && ppid=""
	x0=""
	[ "${path%-generic}" = xdp ] && x0=$(metric wgrelayd_xdp_packets_total)
	p0=$(bench_cpu_ns "$ppid")
	n0=$(napi_cpu_ns)
	t0=$(relay_sent)
	c0=$(cpu_busy_ns)
	perf=""
	if [ -n "${WGR_VETH_PERF:-}" ] && [ "$kind" = max ]; then
		perf record -q -g -C $CPU_SYS -o "$OUT/$name.perf" -- sleep "$DUR" >/dev/null 2>&1 &
		perf=$!
	fi
	# shellcheck disable=SC2046,SC2086
	in_g taskset -c $CPU_LOAD "$BIN/wgr-bench-gen" $(gen_args "$path") --size "$wsize" \
		--duration "$DUR" --rate "$rate" $gso >"$OUT/$name.gen" 2>>"$LOG" || true
	wait "$SINK_PID" || true
	c1=$(cpu_busy_ns)
	[ -z "$perf" ] || wait "$perf" || true
	t1=$(relay_sent)
	n1=$(napi_cpu_ns)
	p1=$(bench_cpu_ns "$ppid")
	if [ -n "$fpid" ]; then
		wait "$fpid" || true
		p1=$(bench_jget cpu_s <"$OUT/$name.fwd" | awk -v p0="$p0" '{ printf "%.0f", $1 * 1e9 + p0 }')
	fi
	xdp=null
	[ "${path%-generic}" = xdp ] && xdp=$(($(metric wgrelayd_xdp_packets_total) - ${x0:-0}))
	printf '{"system":"%s","size":%s,"kind":"%s","rep":%s,"rate":%s,"sent":%s,"cpu1_ns":%s,"proc_ns":%s,"napi_ns":%s,"xdp_pkts":%s,"gen":%s,"sink":%s}\n' \
		"$sys" "$SIZE" "$kind" "$rep" "$rate" "$((t1 - t0))" "$((c1 - c0))" "$((p1 - p0))" \
		"$((n1 - n0))" "$xdp" \
		"$(cat "$OUT/$name.gen" 2>/dev/null || echo '{}')" \
		"$(cat "$OUT/$name.sink" 2>/dev/null || echo '{}')" >>"$OUT/runs.jsonl"
	s=$(cat "$OUT/$name.sink")
	log "$sys $kind #$rep: $(echo "$s" | bench_jget pps) pps at the sink, p50 $(echo "$s" | bench_jget lat_p50_us) us," \
		"sent $((t1 - t0)), relay cpu $(((p1 - p0 + n1 - n0) / 1000000)) ms (napi $(((n1 - n0) / 1000000)))," \
		"cpu$CPU_SYS $(((c1 - c0) / 1000000)) ms${x0:+, in XDP $xdp}"
}

# median_pps SYSTEM: the median sink rate of that system's max runs (received + dropped).
median_pps() {
	grep "\"system\":\"$1\",\"size\":$SIZE,\"kind\":\"max\"" "$OUT/runs.jsonl" |
		sed 's/.*"sink":{//' | awk '{
			r = 0; d = 0; w = 0
			if (match($0, /"received":[0-9.]+/)) r = substr($0, RSTART + 11, RLENGTH - 11)
			if (match($0, /"dropped":[0-9.]+/)) d = substr($0, RSTART + 10, RLENGTH - 10)
			if (match($0, /"window_s":[0-9.]+/)) w = substr($0, RSTART + 11, RLENGTH - 11)
			if (w > 0) v[n++] = (r + d) / w
		} END {
			for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
			printf "%.0f", n ? v[int((n - 1) / 2)] : 0 }'
}

# --- the runs ----------------------------------------------------------------------------------
topology_up
# What CPU 1 does without us (the machine may be shared): reported beside the figures. A busy
# CPU 1 is waited out for up to a minute (the runs would share it).
i=0
while :; do
	b0=$(cpu_busy_ns)
	sleep 1
	b1=$(cpu_busy_ns)
	BACKGROUND=$(((b1 - b0) / 10000000))
	[ $BACKGROUND -le 25 ] || [ $i -ge 60 ] && break
	[ $i = 0 ] && log "cpu $CPU_SYS is ${BACKGROUND}% busy with other work: waiting up to a minute"
	i=$((i + 1))
done
log "results in $OUT; namespaces $NS_G, $NS_R, $NS_S; cpu $CPU_SYS busy ${BACKGROUND}% before the runs"
echo "{\"background_pct\":$BACKGROUND,\"offloads\":\"$OFFLOADS\",\"napi_threads\":\"$(echo "$NAPI_PIDS" | tr '\n' ' ')\",\"kernel\":\"$(uname -r)\"}" >"$OUT/env.json"

SYSTEMS=${WGR_VETH_SYSTEMS:-kernel ref-batch ref-gro coturn direct direct-gro xdp xdp-generic}
for sys in $SYSTEMS; do
	if ! system_up "$sys"; then
		log "$sys: not run: $(cat "$OUT/$sys.status" 2>/dev/null)"
		system_down
		continue
	fi
	rep=1
	while [ $rep -le $REPS ]; do
		one_run "$sys" max 0 $rep
		rep=$((rep + 1))
	done
	half=$(($(median_pps "$sys") / 2))
	rep=1
	while [ $half -gt 0 ] && [ $rep -le $REPS ]; do
		one_run "$sys" half $half $rep
		# The kernel's own half-rate runs are the baseline already.
		[ "$sys" = kernel ] || one_run "$sys" base $half "$rep"
		rep=$((rep + 1))
	done

	system_down
done

# --- XDP session scale -------------------------------------------------------------------------
slab_kb() { awk '$1 == "Slab:" { print $2 }' /proc/meminfo; }
# map_memlock PID: bytes of locked memory of the BPF maps PID holds (fdinfo "memlock").
map_memlock() {
	for f in /proc/"$1"/fdinfo/*; do
		grep -q '^map_type' "$f" 2>/dev/null && awk '$1 == "memlock:" { print $2 }' "$f"
	done | awk '{ t += $1 } END { printf "%.0f", t }'
}

xdp_scale() {
	{
		echo "### XDP session scale"
		echo
		echo "| sessions | forwarded over all sessions, 1424 B (kpps) | at the sink (kpps) | by XDP | relay CPU per packet (us) | kernel slab per session (bytes) | BPF maps' memlock, KiB (bytes per session) | wgrelayd RSS per session (bytes) |"
		echo "|---|---|---|---|---|---|---|---|"
	} >"$OUT/scale.md"
	# shellcheck disable=SC3045 # dash, Debian's sh, has ulimit -H
	fdmax=$(ulimit -Hn)
	if [ "$QUICK" = 1 ]; then
		counts=1000
	else
		# wgrelayd holds a socket per session, the member tool two links per 16: the most
		# that fits the open-file limit, less room for everything else.
		most=$(((fdmax - 200) / 1000 * 1000))
		counts="1000 10000"
		[ "$most" -gt 10000 ] && counts="$counts $most"
	fi
	for n in $counts; do
		if [ $((n + 100)) -gt "$fdmax" ]; then
			echo "| $n | not run: open-file limit $fdmax | | | | | | |" >>"$OUT/scale.md"
			continue
		fi
		k0=$(slab_kb)
		if ! wgrelayd_up xdp $((n + 100)); then
			echo "| $n | not run: $(cat "$OUT/xdp.status") | | | | | | |" >>"$OUT/scale.md"
			system_down
			break
		fi
		r0=$(rss_kb "$SYS_PID")
		if ! pair_up "scale-$n" "$n"; then
			echo "| $n | not run: $(cat "$OUT/scale-$n.status") | | | | | | |" >>"$OUT/scale.md"
			system_down
			continue
		fi
		prime "scale-$n" "$n"
		k1=$(slab_kb)
		r1=$(rss_kb "$SYS_PID")
		ml=$(map_memlock "$SYS_PID")
		inst=$(metric wgrelayd_xdp_sessions)
		x0=$(metric wgrelayd_xdp_packets_total)
		t0=$(relay_sent)
		n0=$(napi_cpu_ns)
		p0=$(bench_cpu_ns "$SYS_PID")
		start_sink "scale-$n" "$WGR_B" --gro
		in_g taskset -c $CPU_LOAD "$BIN/wgr-bench-gen" --mode wg --bind "$WGR_A" \
			--dst-file "$OUT/scale-$n.ports" --wg-index $WGR_INDEX --size 1424 \
			--duration "$DUR" --rate 0 --gso "$(bench_gso_segs 1424)" >"$OUT/scale-$n.gen" 2>>"$LOG" || true
		wait "$SINK_PID" || true
		x1=$(metric wgrelayd_xdp_packets_total)
		t1=$(relay_sent)
		n1=$(napi_cpu_ns)
		p1=$(bench_cpu_ns "$SYS_PID")
		s=$(cat "$OUT/scale-$n.sink")
		printf '{"system":"scale-xdp","size":1420,"kind":"sessions","sessions":%s,"installed":%s,"slab_kb":%s,"memlock":%s,"rss_kb":%s,"rss_kb_before":%s,"sent":%s,"napi_ns":%s,"proc_ns":%s,"xdp_pkts":%s,"pair":%s,"sink":%s}\n' \
			"$n" "${inst:-0}" "$((k1 - k0))" "${ml:-0}" "$r1" "$r0" "$((t1 - t0))" "$((n1 - n0))" \
			"$((p1 - p0))" "$((${x1:-0} - ${x0:-0}))" \
			"$(cat "$OUT/scale-$n.pair")" "$s" >>"$OUT/runs.jsonl"
		awk -v n="$n" -v inst="${inst:-0}" -v k="$((k1 - k0))" -v ml="${ml:-0}" -v r0="$r0" -v r1="$r1" \
			-v pps="$(echo "$s" | bench_jget pps)" -v x="$((${x1:-0} - ${x0:-0}))" -v sent="$((t1 - t0))" \
			-v win="$(echo "$s" | bench_jget window_s)" -v cpu="$((n1 - n0 + p1 - p0))" \
			'BEGIN { printf "| %d (%d in the map) | %.0f | %.0f | %.0f%% | %.2f | %.0f | %.0f (%.0f) | %.0f |\n", n, inst,
				(win > 0 ? sent / win / 1000 : 0), pps / 1000, (sent > 0 ? 100 * x / sent : 0),
				(sent > 0 ? cpu / sent / 1000 : 0),
				k * 1024 / n, ml / 1024, ml / n, (r1 - r0) * 1024 / n }' >>"$OUT/scale.md"
		log "scale $n: $(echo "$s" | bench_jget pps) pps, $inst installed"
		system_down
	done
	{
		echo
		echo "Kernel slab per session: growth of Slab in /proc/meminfo from before wgrelayd started to"
		echo "after the sessions were bound and confirmed (the session sockets, their epoll entries and"
		echo "everything else the kernel allocated meanwhile, other processes included), divided by"
		echo "their number. BPF maps' memlock: the memlock of every BPF map wgrelayd holds"
		echo "(/proc/PID/fdinfo), which the kernel charges at creation for the maps' full size."
	} >>"$OUT/scale.md"
}
case " $SYSTEMS " in *" xdp "*) [ -s "$OUT/xdp.status" ] || xdp_scale ;; esac

# --- the table ---------------------------------------------------------------------------------
awk -v background="$BACKGROUND" '
function get(s, k,    r) {
	if (!match(s, "\"" k "\":\"?[^,}\"]*"))
		return ""
	r = substr(s, RSTART + length(k) + 3, RLENGTH - length(k) - 3)
	sub(/^"/, "", r)
	return r
}
function part(s, k,    i) { i = index(s, "\"" k "\":{"); return i ? substr(s, i) : "" }
function med(key,    n, i, j, t, a) {
	n = split(V[key], a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n ? a[int((n + 1) / 2)] : ""
}
function add(key, v) { V[key] = V[key] " " v }
function f(x, d) { return x == "" ? "n/a" : sprintf("%." d "f", x) }
{
	sys = get($0, "system"); kind = get($0, "kind")
	if (sys ~ /^scale-/) next
	s = part($0, "sink")
	recv = get(s, "received") + get(s, "dropped"); win = get(s, "window_s") + 0
	sent = get($0, "sent") + 0
	if (kind == "max") {
		seen[sys] = 1
		# Both counts are lower bounds of what the relay forwarded: the sink misses what its
		# CPU could not take, the veth counts a GSO bundle as one.
		if (recv > sent) sent = recv
		if (win > 0) { add(sys SUBSEP "pps", recv / win); add(sys SUBSEP "fwd", sent / win) }
		if (sent > 0) {
			add(sys SUBSEP "cpu", (get($0, "proc_ns") + get($0, "napi_ns")) / sent / 1000)
			add(sys SUBSEP "cpu1", get($0, "cpu1_ns") / sent / 1000)
		}
		if (get($0, "xdp_pkts") != "null" && sent > 0) add(sys SUBSEP "xdp", 100 * get($0, "xdp_pkts") / sent)
	} else {
		add(sys SUBSEP kind "50", get(s, "lat_p50_us")); add(sys SUBSEP kind "99", get(s, "lat_p99_us"))
	}
}
END {
	ns = split("kernel ref-batch ref-gro coturn direct direct-gro xdp xdp-generic", order, " ")
	rb = med("ref-batch" SUBSEP "fwd"); rbc = med("ref-batch" SUBSEP "cpu")
	print "| system | at the sink (kpps) | Gbit/s | forwarded (kpps) | x ref-batch | relay CPU per packet (us) | per relay core (kpps) | x ref-batch per core | CPU 1 per packet (us) | added latency p50 / p99 (us) |"
	print "|---|---|---|---|---|---|---|---|---|---|"
	for (i = 1; i <= ns; i++) {
		k = order[i]
		if (!(k in seen)) continue
		p = med(k SUBSEP "pps"); fw = med(k SUBSEP "fwd"); c = med(k SUBSEP "cpu"); c1 = med(k SUBSEP "cpu1")
		l50 = med(k SUBSEP "half50"); l99 = med(k SUBSEP "half99")
		b50 = med(k SUBSEP "base50"); b99 = med(k SUBSEP "base99")
		lat = (l50 == "" || b50 == "") ? "n/a" : sprintf("%+.0f / %+.0f", l50 - b50, l99 - b99)
		if (k == "kernel") lat = sprintf("%.0f / %.0f one-way (the baseline)", l50, l99)
		name = k
		if (k ~ /^xdp/ && med(k SUBSEP "xdp") != "") name = sprintf("%s (%.0f%% in XDP)", k, med(k SUBSEP "xdp"))
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, f(p / 1000, 0),
			f(p * 1420 * 8 / 1e9, 2), f(fw / 1000, 0), (rb > 0 ? f(fw / rb, 2) : "n/a"), f(c, 2),
			(c > 0 ? f(1000 / c, 0) : "n/a"), (c > 0 && rbc > 0 ? f(rbc / c, 2) : "n/a"), f(c1, 2), lat
	}
	print ""
	print "Medians of each system'"'"'s runs, 1420-byte payloads (WireGuard-shaped systems: 1424 B datagrams)."
	print "At the sink: datagrams reaching the sink'"'"'s socket per second (Gbit/s of payload); forwarded: datagrams the"
	print "relay namespace put out towards the sink (its veth'"'"'s tx counters, or the sink'"'"'s count where higher: a GSO"
	print "bundle counts once on the veth). Relay CPU: the system'"'"'s process(es)"
	print "plus the relay side'"'"'s NAPI threads (receive, forwarding in the kernel, the XDP program), pinned to CPU 1,"
	print "per forwarded datagram; per relay core: its inverse. CPU 1 per packet: everything CPU 1 did (/proc/stat user,"
	printf "system, irq, softirq) per forwarded datagram, other load included: CPU 1 was %d%% busy just before the runs.\n", background
}' "$OUT/runs.jsonl" >"$OUT/table.md"
for f in "$OUT"/*.status; do
	[ -e "$f" ] || continue
	n=${f##*/}
	echo "- ${n%.status}: not run: $(cat "$f")" >>"$OUT/table.md"
done
[ -f "$OUT/scale.md" ] && {
	echo
	cat "$OUT/scale.md"
} >>"$OUT/table.md"
cat "$OUT/table.md"
log "done: $OUT/table.md"
