#!/bin/sh
# Scenario 20: stream transports (PROTOCOL.md §12). Both peers sit behind NATs that drop every
# UDP datagram, so neither direct WireGuard nor UDP to a relay passes; r1 serves TCP records,
# TLS and WebSocket on one port, 443 ([Transport] Listen), beside its UDP control port. The
# pair is relayed, one leg after the other, with the helpers started afresh on each leg's
# bootstrap line (and proxy):
#   0. the baseline: UDP to the relays passes (peer-to-peer UDP still dropped): relayed
#      sealed over UDP although r1's bootstrap line names tcp:// too (no stream opened);
#   a. tcp://   b. tls://   c. wss://  straight to r1;
#   g. bad input at r1's 443 from a third host while the pair is relayed there: garbage, a
#      silent and a half-open TLS handshake, an over-long record, a WebSocket frame announcing
#      2^63 bytes after a valid upgrade (also inside TLS), an upgrade with 10,000 header
#      lines, 1,000 idle connections from one address: each refused and counted under
#      wgrelayd_stream_refused_total, and the pair still pings (also during the 1,000);
#   d. the NATs let nothing out but TCP to a proxy host: tls:// through tinyproxy (HTTP
#      CONNECT);  e. tcp://relay.wgr.test through microsocks (SOCKS5): a name only the proxy
#      host can resolve, so it went through unresolved;
#   f. r2 behind a real nginx terminating TLS on 443 (self-signed, made now) and passing
#      /wgrelay to r2's Listen on 127.0.0.1:8080: wss:// to nginx, plain ws at the relay.
# The interfaces are in direct mode, the default, on the stream legs: the helpers go sealed
# there by themselves (direct mode needs UDP); the baseline is sealed mode over UDP.
# Each leg checks `wgrelay status` names the transport, pings, runs iperf3 for 3 s, and reads
# on the relay's /metrics that the connections were accepted on that transport (and, through
# a proxy, that they came from the proxy's address). A leg whose program (tinyproxy,
# microsocks, nginx) is not installed is skipped with a message. Figures are printed as
# "figure: LEG relay_s=.. rtt_ms=.. mbit=.." lines: seconds from the helpers' start (on a
# fresh WireGuard session) to a ping answered both ways, the mean of 10 pings, iperf3 a->b.
# shellcheck disable=SC2015 # "A && B || C": C when A or B fails, as meant
# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
. "$WGR_SOURCE_DIR/sim/world.sh"
. "$WGR_SOURCE_DIR/sim/transports.sh"
world_skip_unless_able
for t in curl openssl python3 ss; do
	command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
done
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
POKE="$WGR_SOURCE_DIR/sim/streampoke.py"
world_init || exit 1
trap 'tw_cleanup; world_cleanup' EXIT
trap 'tw_cleanup; world_cleanup; exit 1' INT TERM
fail=0
step() { echo "check: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
t_world=$(date +%s.%N)

# ---- the world
cat >"$WS/geo.txt" <<T
203.0.113.10/32 50.11 8.68 Frankfurt DE
203.0.113.11/32 52.37 4.90 Amsterdam NL
198.51.100.10/32 48.86 2.35 Paris FR
198.51.100.11/32 52.52 13.40 Berlin DE
T
world_geoip "$WS/geo.txt" || exit 1
# The world's relays are the operator's own: no circuit caps (limits have their own tests).
# r1's handshake timeout is short so the half-open probes end within the scenario's time.
cat >"$WS/r1.conf" <<EOF
[Limits]
CircuitBytes = 0
CircuitDuration = 0
[Transport]
Listen = 0.0.0.0:443
HandshakeTimeout = 3s
EOF
cat >"$WS/r2.conf" <<EOF
[Limits]
CircuitBytes = 0
CircuitDuration = 0
[Transport]
Listen = 127.0.0.1:8080
EOF
# shellcheck disable=SC2317 # run by world_wait
relay_up() { world_x "$1" curl -s --max-time 1 -o /dev/null http://127.0.0.1:9821/metrics; }
for r in r1 r2; do
	ip=203.0.113.10
	[ $r = r2 ] && ip=203.0.113.11
	world_relay_net $r $ip "$WS/$r.conf" || exit 1
	world_wait 10 relay_up $r || { echo "FAIL: wgrelayd on $r does not answer"; world_dumplogs; exit 1; }
done
world_natted a ra 198.51.100.10 1 restricted || exit 1
world_natted b rb 198.51.100.11 2 restricted || exit 1
world_public x 198.51.100.30/24 || exit 1 # the prober of leg g
for r in ra rb; do tw_fw $r noudp || exit 1; done
world_wg a 192.0.2.1 && world_wg b 192.0.2.2 || exit 1
world_wg_peer a b && world_wg_peer b a || exit 1
tw_proxies || exit 1
have_nginx=0
if tw_has nginx; then
	tw_nginx r2 127.0.0.1:8080 || exit 1
	have_nginx=1
fi
echo "world $W: a, b behind NATs dropping all UDP; r1 (UDP 51821, streams on 443), r2 (streams on"
echo "  127.0.0.1:8080 behind nginx on 443), proxy host px ($TW_PROXY_IP: tinyproxy :$TW_HTTP_PORT,"
echo "  microsocks :$TW_SOCKS_PORT), prober x"

step "the world: UDP leaving the peers' networks is dropped, TCP passes"
u0=$(tw_fw_udp_dropped ra)
world_x a "$PY" -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3): s.sendto(b"x", ("203.0.113.10", 51821))'
u1=$(tw_fw_udp_dropped ra)
echo "  ra dropped UDP datagrams: $u0 -> $u1"
[ "${u1:-0}" -ge $((${u0:-0} + 3)) ] || bad "ra's filter did not drop a's 3 UDP datagrams"
world_ping a b 2 1 && bad "a pings b directly although UDP is dropped"
[ "$(world_handshake a b)" = 0 ] || bad "a WireGuard handshake a-b passed although UDP is dropped"
if [ $have_nginx = 1 ]; then
	o=$(world_x a curl -sk --max-time 5 https://203.0.113.11/)
	[ "$o" = wgrelay-nginx ] && echo "  TCP 443 from a to r2's nginx: ok" ||
		bad "a cannot reach r2's nginx over TCP: '$o'"
fi

# ---- the legs
mtu() { ip -n "$W-$1" link show "$W$1" | sed -n 's/.* mtu \([0-9]*\).*/\1/p'; }
stop_helper() # NAME: leave clean (SIGUSR1), kill -9 after 10 s
{
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
# start_helper NAME HOW PROXY RELAY URL...: a fresh helper database and config on NAME,
# RELAY's UDP endpoint and key with the URLs entered by `add-bootstrap-relay` (HOW cli) or
# as a [Relay] Bootstrap line (HOW conf), [Relay] Proxy = PROXY unless it is "-".
start_helper()
{
	n=$1 how=$2 px=$3 rl=$4
	shift 4
	rm -rf "$WS/$n.d"
	mkdir -p "$WS/$n.d"
	boot="$(world_ip "$rl"):51821 $(cat "$WS/$rl.rpub")"
	{
		echo "[Relay]"
		[ "$px" != - ] && echo "Proxy = $px"
		[ "$how" = conf ] && echo "Bootstrap = $boot $*"
	} >"$WS/$n.d/wgrelay.conf"
	if [ "$how" = cli ]; then
		# shellcheck disable=SC2086 # boot: the endpoint and the key, two words
		wgrelay_in "$n" add-bootstrap-relay $boot "$@" >>"$WS/$n.cli.log" 2>&1 ||
			{ bad "$n: add-bootstrap-relay $boot $*: $(tail -1 "$WS/$n.cli.log")"; return 1; }
	fi
	# The baseline leg is sealed over UDP, what the stream legs are compared with. The stream
	# legs leave the interfaces in direct mode, the default: over a stream only sealed mode
	# carries a peer, and the helpers bind sealed there by themselves (PROTOCOL.md §5.2).
	# WORLD_MODE (world.sh's knob) overrides both.
	mode=direct
	[ "$kind" = udp ] && mode=sealed
	wgrelay_in "$n" configure-relay --enable --mode "${WORLD_MODE:-$mode}" "$W$n" \
		>>"$WS/$n.cli.log" 2>&1 || { bad "$n: configure-relay: $(tail -1 "$WS/$n.cli.log")"; return 1; }
	world_watch "$n"
}
# shellcheck disable=SC2317 # run by world_wait
relayed_both() { world_ping a b 1 1 && world_ping b a 1 1; }
# shellcheck disable=SC2317 # run by world_wait
# shellcheck disable=SC2317 # run by world_wait
status_relayed() # NAME: NAME's status shows the peer relayed sealed
{
	wgrelay_in "$1" status "$W$1" >"$WS/$1.status.txt" 2>&1
	grep -q 'path: relayed via .* sealed mode' "$WS/$1.status.txt"
}
# shellcheck disable=SC2317 # run by world_wait
status_says() # NAME SCHEME [PROXY]: NAME's status shows its relay linked by SCHEME:// (through
{              # PROXY) and the peer relayed sealed
	wgrelay_in "$1" status "$W$1" >"$WS/$1.status.txt" 2>&1
	grep -q ": $2://[^ ]*${3:+ via $3}, " "$WS/$1.status.txt" &&
		grep -q 'path: relayed via .* sealed mode' "$WS/$1.status.txt"
}
iperf_mbit() # a -> b, 3 s: receiver Mbit/s, empty when it failed
{
	world_x b iperf3 -s -1 -B 192.0.2.2 >/dev/null 2>&1 &
	world_pid $!
	world_wait 5 tw_listening b 5201 || return 0
	world_x a timeout -k 5 20 iperf3 -c 192.0.2.2 -t 3 -f m >"$WS/iperf.txt" 2>&1
	awk '/receiver/ { print $(NF-2) }' "$WS/iperf.txt"
}

# leg LABEL KIND RELAY FW HOW PROXY URL...: run one leg (see the header). KIND is the transport
# the relay counts (ws behind nginx), FW the NATs' filter (noudp, proxyonly).
leg()
{
	label=$1 kind=$2 rl=$3 fw=$4 how=$5 px=$6
	shift 6
	echo "---- leg $label: $* ${px#-}"
	for h in a b; do stop_helper $h; done
	for h in a b; do [ -f "$WS/$h.watch.log" ] && mv "$WS/$h.watch.log" "$WS/$h.watch-$prev.log"; done
	prev=$label
	for r in ra rb; do tw_fw $r "$fw" || { bad "$label: firewall"; return 1; }; done
	# A fresh WireGuard session each leg: the last leg's keys would otherwise keep WireGuard
	# sending to the direct endpoint without a new handshake for 15 s (its own rule), and
	# that, not the transport, would be the time to relay.
	world_x a wg set "${W}a" peer "$(cat "$WS/b.pub")" remove
	world_x b wg set "${W}b" peer "$(cat "$WS/a.pub")" remove
	world_wg_peer a b && world_wg_peer b a || { bad "$label: WireGuard peers"; return 1; }
	acc="wgrelayd_stream_accepted_total{transport=\"$kind\"}"
	n0=$(tw_metric_sum "$rl" "$acc")
	t0=$(date +%s.%N)
	for h in a b; do start_helper $h "$how" "$px" "$rl" "$@" || return 1; done
	step "$label: the pair pings through $rl within 60 s"
	if ! world_wait 60 relayed_both; then
		bad "$label: no ping through the tunnel within 60 s"
		tw_metric_lines "$rl" wgrelayd_stream_ | sed 's/^/  /'
		return 1
	fi
	t_relay=$(since "$t0")
	echo "  relayed after $t_relay s; a's endpoint for b: $(world_endpoint a b), mtu $(mtu a)"
	want=${1%%://*}
	step "$label: wgrelay status shows the link over $want${px#-} and the peer relayed sealed"
	pxs=
	[ "$px" != - ] && pxs=$px
	for h in a b; do
		if [ "$kind" = udp ]; then
			world_wait 10 status_relayed $h ||
				bad "$label: $h's status: $(grep -E 'path' "$WS/$h.status.txt" | head -2)"
		else
			world_wait 10 status_says $h "$want" "$pxs" ||
				bad "$label: $h's status: $(grep -E 'relay|path' "$WS/$h.status.txt" | head -4)"
		fi
	done
	grep -E "://|path:" "$WS/a.status.txt" | sed 's/^ */  a: /'
	world_x a ping -n -q -c 10 -i 0.2 -W 2 192.0.2.2 >"$WS/ping-$label.txt" 2>&1
	rtt=$(awk -F/ '/^rtt/ { print $5 }' "$WS/ping-$label.txt")
	lost=$(world_pings_lost "$WS/ping-$label.txt")
	echo "  ping: 10 sent, ${lost:-?} lost, avg rtt ${rtt:-?} ms"
	[ "${lost:-10}" -le 2 ] || bad "$label: ${lost:-all} of 10 pings lost"
	mbit=$(iperf_mbit)
	if [ -n "$mbit" ]; then
		echo "  iperf3 a->b 3 s: $mbit Mbit/s"
	else
		bad "$label: iperf3 failed: $(tail -2 "$WS/iperf.txt")"
	fi
	if [ "$kind" = udp ]; then
		[ "$(tw_metric_sum "$rl" wgrelayd_stream_connections)" = 0 ] ||
			bad "$label: $rl has stream connections although UDP passes"
		echo "figure: $label relay_s=$t_relay rtt_ms=${rtt:-none} mbit=${mbit:-none}"
		return 0
	fi
	step "$label: $rl's /metrics counted the connections as $kind"
	n1=$(tw_metric_sum "$rl" "$acc")
	g=$(tw_metric_sum "$rl" "wgrelayd_stream_connections{transport=\"$kind\"}")
	echo "  $acc: $n0 -> $n1; open now: $g"
	[ "$n1" -ge $((n0 + 2)) ] || bad "$label: $rl accepted fewer than 2 $kind connections"
	[ "$g" -ge 2 ] || bad "$label: $rl has $g open $kind connections, not 2"
	echo "figure: $label relay_s=$t_relay rtt_ms=${rtt:-none} mbit=${mbit:-none}"
	return 0
}
skip_leg() { echo "---- leg $1: SKIP: $2 not installed"; }

prev=start
world_traffic 400 # both ways, 1/s, so each side's WireGuard keeps initiating
# the baseline: UDP to the relays passes (only peer-to-peer UDP is dropped), so the pair is
# relayed sealed over UDP, the figures to hold the streams' against
leg 0_udp udp r1 relayudp cli - tcp://203.0.113.10:443
leg a_tcp tcp r1 noudp cli - tcp://203.0.113.10:443
leg b_tls tls r1 noudp cli - tls://203.0.113.10:443
leg c_wss wss r1 noudp cli - wss://203.0.113.10/wgrelay

# ---- g: bad input at r1's stream port while the pair is relayed there (over wss)
echo "---- leg g_bad_input: probes from x ($(world_ip x)) at 203.0.113.10:443"
ref=wgrelayd_stream_refused_total
refused() { tw_metric_sum r1 $ref; }
# shellcheck disable=SC2317 # run by world_wait
moved() { [ "$(refused)" -ge "$1" ]; }
# probe REASONS NAME [ARGS...]: run the probe, then wait up to 8 s for the refused counter
# of one of REASONS ("a|b") to move; prints the probe's line and the reasons that moved.
probe()
{
	want=$1
	shift
	tw_metric_lines r1 $ref >"$WS/ref0.txt"
	before=$(refused)
	world_x x "$PY" "$POKE" 203.0.113.10 443 "$@" >"$WS/probe.txt" 2>&1 || bad "g: $(cat "$WS/probe.txt")"
	sed 's/^/  /' "$WS/probe.txt"
	world_wait 8 moved $((before + 1)) || { bad "g: probe $*: no refusal counted"; return; }
	# shellcheck disable=SC2016 # $1, $2 are awk's
	tw_metric_lines r1 $ref | awk 'NR == FNR { b[$1] = $2; next } $2 != b[$1] { print $1 " +" $2 - b[$1] }' \
		"$WS/ref0.txt" - >"$WS/moved.txt"
	sed 's/^/    /' "$WS/moved.txt"
	grep -Eq "reason=\"($want)\"" "$WS/moved.txt" || bad "g: probe $*: not counted as $want"
}
step "g: each probe is refused and counted under $ref"
probe preface garbage
probe 'preface|tls' garbage --tls # inside TLS: either layer may be named
probe timeout silent --wait 10
probe timeout partial --wait 10
probe 'preface|record' bigrecord # a bad length as the first record: nothing opened yet
probe record ws-huge # opened and cut in one read: still the open connection's
probe record ws-huge --tls
probe upgrade headers
step "g: 1,000 idle connections from one address: the per-source cap refuses most"
before=$(refused)
world_x x "$PY" "$POKE" 203.0.113.10 443 idle --count 1000 --hold 5 >"$WS/probe.txt" 2>&1 &
idlepid=$!
world_pid $idlepid
sleep 2
world_ping a b 3 2 && echo "  the pair pings while the 1,000 are held" || bad "g: no ping while 1,000 connections are held"
wait $idlepid || bad "g: idle probe"
sed 's/^/  /' "$WS/probe.txt"
after=$(refused)
echo "  refused: $before -> $after"
[ "$after" -ge $((before + 950)) ] || bad "g: fewer than 950 of 1,000 idle connections refused"
tw_metric_lines r1 "$ref{reason=\"source\"}" | sed 's/^/  /'

step "g: the relay still forwards the pair's traffic (ping) and kept its connections"
world_ping a b 5 2 || bad "g: the pair does not ping after the probes"
g=$(tw_metric_sum r1 'wgrelayd_stream_connections{transport="wss"}')
[ "$g" -ge 2 ] || bad "g: r1 has $g open wss connections after the probes, not the pair's 2"
tw_metric_lines r1 wgrelayd_stream_ | sed 's/^/  /'

# ---- d, e: nothing out but TCP to the proxy host
if tw_has tinyproxy; then
	leg d_http_proxy tls r1 proxyonly conf "http://$TW_PROXY_IP:$TW_HTTP_PORT" tls://203.0.113.10:443 &&
		{
			p=$(tw_stream_peers r1 443 | sort -u | tr '\n' ' ')
			echo "  r1's connections on 443 come from: $p"
			[ "$p" = "$TW_PROXY_IP " ] || bad "d: r1's stream connections are not all from the proxy: $p"
		}
else
	skip_leg d_http_proxy tinyproxy
fi
if tw_has microsocks; then
	leg e_socks5 tcp r1 proxyonly conf "socks5://$TW_PROXY_IP:$TW_SOCKS_PORT" "tcp://$TW_NAME:443" &&
		{
			p=$(tw_stream_peers r1 443 | sort -u | tr '\n' ' ')
			echo "  r1's connections on 443 come from: $p"
			[ "$p" = "$TW_PROXY_IP " ] || bad "e: r1's stream connections are not all from the proxy: $p"
		}
else
	skip_leg e_socks5 microsocks
fi

# ---- f: r2 behind nginx (wss at nginx, ws at the relay)
if [ $have_nginx = 1 ]; then
	if leg f_nginx ws r2 noudp conf - wss://203.0.113.11/wgrelay; then
		# nginx logs a request when its connection ends: after the helpers left
		for h in a b; do stop_helper $h; done
		# shellcheck disable=SC2317 # run by world_wait
		upgrades() { [ "$(grep -c '"GET /wgrelay HTTP/1.1" 101' "$WS/nginx-r2/access.log")" -ge 2 ]; }
		world_wait 10 upgrades || bad "f: nginx's log does not have 2 WebSocket upgrades"
		grep '"GET /wgrelay HTTP/1.1" 101' "$WS/nginx-r2/access.log" | sed 's/^/  nginx: /'
	fi
else
	skip_leg f_nginx nginx
fi

for h in a b; do stop_helper $h; done
echo "figure: total_s $(since "$t_world")"
if [ $fail = 0 ]; then
	echo PASS
else
	for r in r1 r2; do
		echo "---- $r: stream metrics"
		tw_metric_lines $r wgrelayd_stream_ | sed 's/^/  /'
	done
	world_dumplogs
fi
exit $fail
