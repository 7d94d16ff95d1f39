# bench/lib.sh: the small pieces the bench scripts share (sourced, not run on its own).
# shellcheck shell=sh
#
# Sourced by bench/veth.sh, bench/streams.sh, bench/libp2p.sh, bench/wgrelayd.sh and
# bench/sealed-workers.sh once they know SRC, the source tree. Definitions only: sourcing it starts nothing, sets no variable and
# traps nothing, so a script may source it twice (itself and through bench/wgrelayd.sh).
#
# Names start with bench_; variables a function needs of its own start with _b, since sh has
# no locals. Variables read from the caller: SRC, BUILD, BIN (where tools go), LOG, CC, CFLAGS.

# --- arguments -----------------------------------------------------------------------------------
# bench_usage: the calling script's header comment (line 2 up to the first line that is not a
# comment), which is its usage text.
bench_usage() {
	awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"
}

# bench_args "$@": the options every bench script takes: --quick (QUICK=1), -h/--help (the
# usage text, exit 0), and a build directory (BUILD, empty when none is given).
# shellcheck disable=SC2034 # QUICK and BUILD are the caller's
bench_args() {
	QUICK=0
	BUILD=""
	for arg in "$@"; do
		case "$arg" in
		--quick) QUICK=1 ;;
		-h | --help)
			bench_usage
			exit 0
			;;
		*) BUILD=$arg ;;
		esac
	done
}

# bench_limits_lifted: a wgrelayd.conf [Limits] section that lets one load generator (every link
# from one address) hold as many sessions and circuits as a run needs.
bench_limits_lifted() {
	cat <<-EOF
		[Limits]
		MaxReservations = 200000
		MaxReservationsPerClient = 200000
		MaxReservationsPerSource = 200000
		MaxCircuits = 100000
		MaxCircuitsPerClient = 100000
		MaxCircuitsPerSource = 100000
		MaxLinksPerSource = 100000
		CircuitBytes = 0
		CircuitDuration = 1d
		SourceRate = 100000
		SourceBurst = 100000
	EOF
}

# bench_build_dir TAG DIR: DIR as an absolute path on stdout. When DIR does not exist: a line
# "TAG: build dir 'DIR' missing" on stderr, and 1.
bench_build_dir() {
	cd "$2" 2>/dev/null && pwd && return 0
	echo "$1: build dir '$2' missing (run make build)" >&2
	return 1
}

# bench_durations QUICK SECONDS: DUR and REPS of each measurement: QUICK 1 (--quick) one run of
# 1 s, else three runs of SECONDS.
bench_durations() {
	# shellcheck disable=SC2034 # DUR and REPS are the caller's
	if [ "$1" = 1 ]; then
		DUR=1
		REPS=1
	else
		DUR=$2
		REPS=3
	fi
}

# --- processes -----------------------------------------------------------------------------------
# bench_on_exit FUNC: FUNC runs at every exit; INT and TERM exit 130 (so through FUNC too).
bench_on_exit() {
	# shellcheck disable=SC2064 # FUNC's name is meant to be expanded now
	trap "$1" EXIT
	trap 'exit 130' INT TERM
}

# bench_stop "PID...": every process of the list asked to end (TERM), then every one waited for,
# so they end together rather than one after another. Empty and ended PIDs are fine; always 0,
# also under set -e (a process ended by the signal is no failure of the script).
bench_stop() {
	for _bs_pid in $1; do
		kill "$_bs_pid" 2>/dev/null || true
	done
	for _bs_pid in $1; do
		wait "$_bs_pid" 2>/dev/null || true
	done
	return 0
}

# bench_wait_file FILE [PID [TRIES]]: 0 once FILE exists. 1 after TRIES x 50 ms (default 100:
# 5 s), or as soon as process PID, when given, has ended without making it.
bench_wait_file() {
	_bw_i=0
	while [ ! -e "$1" ] && [ "$_bw_i" -lt "${3:-100}" ]; do
		[ -z "${2:-}" ] || kill -0 "$2" 2>/dev/null || break
		sleep 0.05
		_bw_i=$((_bw_i + 1))
	done
	[ -e "$1" ]
}

# bench_cpu_ns PID: the user + system CPU time of PID's whole thread group so far, in ns
# (/proc/PID/stat); 0 for no PID (empty or 0) or a process that is gone.
bench_cpu_ns() {
	if [ -z "${1:-}" ] || [ "$1" = 0 ]; then
		echo 0
		return 0
	fi
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.0f", ($12 + $13) * 1e9 / hz }' \
		"/proc/$1/stat" 2>/dev/null || echo 0
}

# --- results -------------------------------------------------------------------------------------
# bench_jget KEY < json-line: the value of a flat JSON key (numbers and plain strings), the
# first if it occurs twice; nothing when absent.
bench_jget() {
	sed -n "s/.*\"$1\":\"\{0,1\}\([^,}\"]*\).*/\1/p" | head -n 1
}

# bench_median: the median of the numbers on stdin, one a line (for an even count the mean of
# the middle two; 0 for none).
bench_median() {
	sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bench_gso_segs SIZE: datagrams of SIZE bytes per GSO bundle (64 KiB per send at most, 64
# segments at most).
bench_gso_segs() {
	_bg_n=$((64000 / $1))
	[ $_bg_n -gt 64 ] && _bg_n=64
	echo $_bg_n
}

# --- building the tools --------------------------------------------------------------------------
# bench_cc: CC (the caller's, else cc) and CFLAGS, the flags every bench tool is built with.
bench_cc() {
	CC=${CC:-cc}
	CFLAGS="-O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes
	-Wmissing-prototypes -Wpointer-arith -Wcast-qual"
}

# bench_build_tools: the load tools into BIN: generator, sink, reference forwarder and
# WireGuard-shaped pairing (bench/*.c, libc only). Stops at the first that does not build, with
# the compiler's status and its messages on stderr.
bench_build_tools() {
	# shellcheck disable=SC2086 # CFLAGS is a word list
	$CC $CFLAGS -o "$BIN/wgr-bench-gen" "$SRC/bench/gen.c" "$SRC/bench/turn.c" \
		"$SRC/bench/rx.c" "$SRC/bench/util.c" &&
		$CC $CFLAGS -o "$BIN/wgr-bench-sink" "$SRC/bench/sink.c" "$SRC/bench/rx.c" \
			"$SRC/bench/util.c" &&
		$CC $CFLAGS -o "$BIN/wgr-bench-fwd" "$SRC/bench/fwd.c" "$SRC/bench/util.c" &&
		$CC $CFLAGS -o "$BIN/wgr-bench-wgpair" "$SRC/bench/wgpair.c" "$SRC/bench/util.c"
}

# bench_build_member: wgr-bench-member (bench/member.c, the wgrelayd bench client) into BIN,
# linked with BUILD's libwgrcommon and libsodium; the compiler's messages to LOG. 1 when it does
# not build.
bench_build_member() {
	# shellcheck disable=SC2086,SC2046 # CFLAGS and pkg-config's flags are word lists
	$CC $CFLAGS -I"$SRC/common" -o "$BIN/wgr-bench-member" "$SRC/bench/member.c" \
		"$SRC/bench/util.c" "$BUILD/common/libwgrcommon.a" \
		$(pkg-config --cflags --libs libsodium) 2>>"$LOG"
}
