# libp2p.sh: js-libp2p nodes and libp2p relays in a world (sourced after sim/world.sh).
# shellcheck shell=sh
#
# For scenario 22 and bench/libp2p.sh. The js scripts are tests/libp2p/*.mjs (js-libp2p at the
# versions tests/libp2p/package-lock.json pins, installed by `make deps`).

LP_DIR="$WGR_SOURCE_DIR/tests/libp2p"

# lp_skip_unless_able: exit 77 (skip) without node or without tests/libp2p/node_modules.
lp_skip_unless_able()
{
	if ! command -v node >/dev/null 2>&1; then
		echo "SKIP: node not installed (make deps)"
		exit 77
	fi
	if [ ! -d "$LP_DIR/node_modules/libp2p" ]; then
		echo "SKIP: js-libp2p not installed in tests/libp2p (make deps runs npm ci there)"
		exit 77
	fi
}

# lp_js NAME TAG SCRIPT ARGS...: run tests/libp2p/SCRIPT in host NAME's namespace in the
# background; output in $WS/TAG.log, its pid (node's own: ip netns exec execs it) in
# $WS/TAG.pid. Each script ends by itself at its --timeout.
lp_js()
{
	_n=$1 _t=$2 _s=$3
	shift 3
	ip netns exec "$W-$_n" node --import "$LP_DIR/polyfill.mjs" "$LP_DIR/$_s" "$@" \
		>"$WS/$_t.log" 2>&1 &
	world_pid $!
	echo $! >"$WS/$_t.pid"
}

# lp_run NAME SCRIPT ARGS...: the same in the foreground, output on stdout; its exit code.
lp_run()
{
	_n=$1 _s=$2
	shift 2
	ip netns exec "$W-$_n" node --import "$LP_DIR/polyfill.mjs" "$LP_DIR/$_s" "$@" 2>&1
}

lp_has() # TAG REGEX: 0 once $WS/TAG.log has a line matching REGEX
{
	grep -q "$2" "$WS/$1.log" 2>/dev/null
}

lp_field() # TAG WORD: the second field of TAG's first line that starts with WORD
{
	awk -v w="$2" '$1 == w { print $2; exit }' "$WS/$1.log" 2>/dev/null
}

# lp_relay NAME KIND ADDR PORT [RELAY_MJS_FLAGS...]: a libp2p Circuit Relay v2 server on host
# NAME (already on the core) at ADDR:PORT. KIND wgrelayd: wgrelayd with the config file
# $WS/NAME.p2p.conf the caller wrote (its [Libp2p] Listen = ADDR:PORT), options
# $LP_RELAYD_OPTS (default -d), log $WS/NAME.relayd.log; KIND js: tests/libp2p/relay.mjs with the flags, log $WS/NAME.relay.log.
# Waits until it listens; then $WS/NAME.maddr holds /ip4/ADDR/tcp/PORT/p2p/ID and
# $WS/NAME.relaypid its pid. 1 when it does not come up.
lp_relay()
{
	_n=$1 _k=$2 _a=$3 _p=$4
	shift 4
	case $_k in
	wgrelayd)
		_id=$("$WGR_BINARY_DIR/relayd/wgrelayd" -c "$WS/$_n.p2p.conf" --key-file "$WS/$_n.rkey" \
			--show-peer-id 2>&1 | awk 'END { print $NF }')
		case $_id in
		12D3KooW*) ;;
		*)
			echo "wgrelayd --show-peer-id: '$_id'"
			return 1
			;;
		esac
		# shellcheck disable=SC2086 # LP_RELAYD_OPTS: options, one word each
		ip netns exec "$W-$_n" "$WGR_BINARY_DIR/relayd/wgrelayd" -f ${LP_RELAYD_OPTS--d} \
			-c "$WS/$_n.p2p.conf" --key-file "$WS/$_n.rkey" --listen 0.0.0.0:51821 \
			>>"$WS/$_n.relayd.log" 2>&1 &
		world_pid $!
		echo $! >"$WS/$_n.relaypid"
		echo "/ip4/$_a/tcp/$_p/p2p/$_id" >"$WS/$_n.maddr"
		;;
	js)
		lp_js "$_n" "$_n.relay" relay.mjs "$_a:$_p" "$@"
		cp "$WS/$_n.relay.pid" "$WS/$_n.relaypid"
		world_wait 20 lp_has "$_n.relay" '^relay ' || {
			echo "relay.mjs on $_n did not start: $(tail -3 "$WS/$_n.relay.log")"
			return 1
		}
		lp_field "$_n.relay" relay >"$WS/$_n.maddr"
		;;
	*)
		echo "lp_relay: KIND $_k: use wgrelayd or js"
		return 1
		;;
	esac
	world_wait 10 lp_listening "$_n" "$_p" || {
		echo "no libp2p relay listening on $_n port $_p"
		return 1
	}
}

lp_listening() # NAME PORT: 0 when a TCP socket listens on PORT in NAME's namespace
{
	[ -n "$(ip netns exec "$W-$1" ss -Hltn "sport = :$2" 2>/dev/null)" ]
}

# lp_cpu_ticks PID: user+system clock ticks of PID so far (all its threads), from
# /proc/PID/stat (fields 14 and 15, counted after the parenthesised command name).
lp_cpu_ticks()
{
	sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
