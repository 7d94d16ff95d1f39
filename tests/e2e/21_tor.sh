#!/bin/sh
# Scenario 21: the pair relays through a private Tor network, to a relay reachable only as an
# onion service (PROTOCOL.md §12; issue 16, "Tor"). The Tor network (sim/tornet.sh: three
# directory authorities and three relays on host "tor", 203.0.113.40) is made here, offline,
# from Debian's tor: every tor runs with TestingTorNetwork and this network's authorities only,
# inside the world's namespaces, which have no route out of the machine. The relay r1 sits
# behind a NAT that lets nothing in and no UDP out; its stream port listens on 127.0.0.1:443,
# and a tor beside it publishes that port as an onion service. Peers a and b sit behind NATs
# that drop every UDP datagram; each runs its own tor client (SocksPort 127.0.0.1:9050) and a
# helper with `[Relay] Proxy = socks5://127.0.0.1:9050` and a bootstrap line naming the relay's
# (unanswered) UDP endpoint and tcp://ONION:443: the helper falls back to the stream, the name
# goes to tor unresolved, and the pair is relayed (sealed mode, the data mode over streams)
# through two onion circuits. Then the same
# with tls://ONION:443. Each leg checks `wgrelay status` names the transport, pings, runs
# iperf3 for 5 s and reads on the relay's /metrics that the connections were accepted (all
# from 127.0.0.1: the onion service's tor). Figures are printed as "figure: ..." lines.
# Exits 77 when tor or tor-gencert is not installed or namespaces are unavailable. Takes about
# a minute and a half (two with a slow first consensus); every wait is bounded so the whole
# stays under ten minutes.
# shellcheck disable=SC2015 # "A && B || C": C when A or B fails, as meant
. "$WGR_SOURCE_DIR/sim/world.sh"
. "$WGR_SOURCE_DIR/sim/tornet.sh"
world_skip_unless_able
for t in tor tor-gencert curl ss iperf3; do
	command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
done
world_init "t21$(printf '%04x' $(($$ % 65536)))" || exit 1
trap 'tornet_stop; world_cleanup' EXIT
trap 'tornet_stop; world_cleanup; exit 1' INT TERM
fail=0
step() { echo "check: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
tor_logs()
{
	for n in a1 ta tb hs; do
		echo "---- tor $n"
		tail -n 8 "$TN_DIR/$n/notice.log" 2>/dev/null
	done
}
die() { bad "$*"; tor_logs; world_dumplogs; exit 1; }
t_world=$(date +%s.%N)
TOR_IP=203.0.113.40
# The whole scenario's bound, whatever hangs: past 590 s it is stopped (the trap cleans up).
(
	end=$(($(date +%s) + 590))
	while [ "$(date +%s)" -lt $end ]; do
		sleep 2
		kill -0 $$ 2>/dev/null || exit 0
	done
	echo "FAIL: scenario 21 stopped at its 590 s bound"
	kill -TERM $$
) &
world_pid $!

# ---- the world
cat >"$WS/geo.txt" <<T
203.0.113.40/32 50.11 8.68 Frankfurt DE
198.51.100.12/32 52.37 4.90 Amsterdam NL
198.51.100.10/32 48.86 2.35 Paris FR
198.51.100.11/32 52.52 13.40 Berlin DE
T
world_geoip "$WS/geo.txt" || exit 1
world_public tor "$TOR_IP/24" || exit 1
world_natted r1 rr 198.51.100.12 3 udpblock || exit 1
world_natted a ra 198.51.100.10 1 udpblock || exit 1
world_natted b rb 198.51.100.11 2 udpblock || exit 1
world_wg a 192.0.2.1 && world_wg b 192.0.2.2 || exit 1
world_wg_peer a b && world_wg_peer b a || exit 1
# The relay: streams on its loopback only (the onion service's tor is the one way in).
cat >"$WS/r1.conf" <<EOF
[Limits]
CircuitBytes = 0
CircuitDuration = 0
[Transport]
Listen = 127.0.0.1:443
EOF
echo "$WS/r1.conf" >"$WS/r1.relaydconf"
world_relay_net_start r1 || exit 1
# shellcheck disable=SC2317 # run by world_wait
relay_up() { world_x r1 curl -s --max-time 1 -o /dev/null http://127.0.0.1:9821/metrics; }
world_wait 10 relay_up || die "wgrelayd on r1 does not answer"

# ---- the Tor network, its clients on a and b, the onion service beside the relay
tornet_init "$WS/tor" || exit 1
t_tor=$(date +%s.%N)
tornet_net "$W-tor" $TOR_IP || die "the Tor network did not start"
tornet_client ta "$W-a" 127.0.0.1:9050 || exit 1
tornet_client tb "$W-b" 127.0.0.1:9050 || exit 1
tornet_onion hs "$W-r1" 443 127.0.0.1:443 || die "no onion service"
ONION=$(tornet_onion_name hs)
echo "world $W: a, b, r1 behind NATs dropping all UDP (r1's lets nothing in); Tor network on"
echo "  $TOR_IP (3 authorities, 3 relays); tor clients on a, b; r1 = $ONION"

step "the world: confined (no route out), UDP dropped, r1 unreachable but through Tor"
if world_x inet ip route get 8.8.8.8 >/dev/null 2>&1; then
	bad "the world's core has a route out of the machine"
fi
# shellcheck disable=SC2013 # one PID a line
for p in $(cat "$TN_DIR/pids"); do
	ns=$(ip netns identify "$p" 2>/dev/null)
	case $ns in
	"$W"-*) ;;
	*) bad "tor $p runs outside the world's namespaces ('$ns')" ;;
	esac
done
world_ping a b 2 1 && bad "a pings b directly although UDP is dropped"
[ "$(world_handshake a b)" = 0 ] || bad "a WireGuard handshake a-b passed although UDP is dropped"
# curl: 7 refused or unreachable, 28 timed out; anything else means it connected
world_x a curl -s --max-time 3 -o /dev/null "http://$(world_ip r1):443/" 2>/dev/null
case $? in
7 | 28) ;;
*) bad "a reaches r1's router on TCP 443" ;;
esac
world_x r1 curl -s --max-time 3 -o /dev/null "http://$TOR_IP:$((TN_DIRP + 1))/tor/" 2>/dev/null ||
	bad "r1 cannot reach the Tor network's authority by TCP"

step "the Tor clients bootstrap to 100 % (240 s at most), the onion service publishes (90 s)"
# both started together: the second has little left to wait once the first is done
tornet_wait_bootstrap ta 240 || die "tor client ta did not bootstrap"
tornet_wait_bootstrap tb 60 || die "tor client tb did not bootstrap"
t_boot=$(since "$t_tor")
echo "  clients bootstrapped after $t_boot s"
tornet_wait_published hs 90 || die "the onion service did not publish its descriptor"
t_pub=$(since "$t_tor")
echo "  descriptor uploaded after $t_pub s"

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
# start_helper NAME URL...: a fresh helper database and config on NAME: the proxy, and r1's
# UDP endpoint (which no UDP reaches) and key with the URLs as a bootstrap line.
start_helper()
{
	n=$1
	shift
	rm -rf "$WS/$n.d"
	mkdir -p "$WS/$n.d"
	printf '[Relay]\nProxy = socks5://127.0.0.1:9050\nBootstrap = %s:51821 %s %s\n' \
		"$(world_ip r1)" "$(cat "$WS/r1.rpub")" "$*" >"$WS/$n.d/wgrelay.conf"
	# The interfaces stay in direct mode, the default: over a stream only sealed mode carries a
	# peer, and the helpers bind sealed there by themselves (PROTOCOL.md §5.2).
	wgrelay_in "$n" configure-relay --enable "$W$n" >>"$WS/$n.cli.log" 2>&1 ||
		{ bad "$n: configure-relay: $(tail -1 "$WS/$n.cli.log")"; return 1; }
	world_watch "$n"
}
# shellcheck disable=SC2317 # run by world_wait
relayed_both() { world_ping a b 1 2 && world_ping b a 1 2; }
# shellcheck disable=SC2317 # run by world_wait
status_says() # NAME KIND: the helper's status names the transport KIND for its relay
{
	wgrelay_in "$1" status >"$WS/$1.status.txt" 2>&1
	grep -Eq "(^|[^a-z])$2([^a-z]|$)" "$WS/$1.status.txt"
}
metric_sum() # PREFIX: the sum of r1's /metrics lines whose name (labels included) starts so
{
	world_x r1 curl -s --max-time 2 http://127.0.0.1:9821/metrics 2>/dev/null |
		awk -v p="$1" 'index($1, p) == 1 { s += $2 } END { printf "%d\n", s }'
}
# shellcheck disable=SC2317 # run by world_wait
listening() { world_x b ss -Hltn "sport = :5201" 2>/dev/null | grep -q LISTEN; }
iperf_mbit() # a -> b, 5 s: receiver Mbit/s, empty when it failed
{
	world_x b iperf3 -s -1 -B 192.0.2.2 >/dev/null 2>&1 &
	world_pid $!
	world_wait 5 listening || return 0
	world_x a timeout -k 5 30 iperf3 -c 192.0.2.2 -t 5 -f m >"$WS/iperf.txt" 2>&1
	awk '/receiver/ { print $(NF-2) }' "$WS/iperf.txt"
}

# leg LABEL KIND URL: run one leg (see the header); KIND is the transport r1 counts.
leg()
{
	label=$1 kind=$2
	shift 2
	echo "---- leg $label: $* through socks5://127.0.0.1:9050 (tor)"
	for h in a b; do stop_helper $h; done
	for h in a b; do [ -f "$WS/$h.watch.log" ] && mv "$WS/$h.watch.log" "$WS/$h.watch-$prev.log"; done
	prev=$label
	acc="wgrelayd_stream_accepted_total{transport=\"$kind\"}"
	n0=$(metric_sum "$acc")
	t0=$(date +%s.%N)
	for h in a b; do start_helper $h "$@" || return 1; done
	step "$label: the pair pings through the onion service within 60 s"
	if ! world_wait 60 relayed_both; then
		bad "$label: no ping through the tunnel within 60 s"
		world_x r1 curl -s --max-time 2 http://127.0.0.1:9821/metrics | grep stream_ | sed 's/^/  /'
		return 1
	fi
	t_relay=$(since "$t0")
	echo "  relayed after $t_relay s; a's endpoint for b: $(world_endpoint a b), mtu $(mtu a)"
	step "$label: wgrelay status names $kind"
	for h in a b; do
		world_wait 10 status_says $h "$kind" ||
			bad "$label: $h's status does not name $kind: $(grep -i relay "$WS/$h.status.txt" | head -3)"
	done
	grep -iE "relay|$kind" "$WS/a.status.txt" | head -4 | sed 's/^/  a: /'
	world_x a ping -n -q -c 20 -i 0.2 -W 3 192.0.2.2 >"$WS/ping-$label.txt" 2>&1
	rtt=$(awk -F/ '/^rtt/ { print $5 }' "$WS/ping-$label.txt")
	lost=$(world_pings_lost "$WS/ping-$label.txt")
	echo "  ping: 20 sent, ${lost:-?} lost, avg rtt ${rtt:-?} ms"
	[ "${lost:-20}" -le 4 ] || bad "$label: ${lost:-all} of 20 pings lost"
	d0=$(metric_sum wgrelayd_stream_dropped_total)
	mbit=$(iperf_mbit)
	if [ -n "$mbit" ]; then
		d1=$(metric_sum wgrelayd_stream_dropped_total)
		echo "  iperf3 a->b 5 s: $mbit Mbit/s, $(awk '/sender/ { print $(NF-1) }' "$WS/iperf.txt")" \
			"retransmits; frames r1 dropped at full queues: $((d1 - d0))"
	else
		bad "$label: iperf3 failed: $(tail -2 "$WS/iperf.txt")"
	fi
	step "$label: r1's /metrics counted the connections as $kind, all from its onion service's tor"
	n1=$(metric_sum "$acc")
	g=$(metric_sum "wgrelayd_stream_connections{transport=\"$kind\"}")
	echo "  $acc: $n0 -> $n1; open now: $g"
	[ "$n1" -ge $((n0 + 2)) ] || bad "$label: r1 accepted fewer than 2 $kind connections"
	[ "$g" -ge 2 ] || bad "$label: r1 has $g open $kind connections, not 2"
	p=$(world_x r1 ss -Htn state established "sport = :443" 2>/dev/null |
		awk '{ a = $NF; sub(/:[0-9]+$/, "", a); print a }' | sort -u | tr '\n' ' ')
	echo "  r1's connections on 443 come from: $p"
	[ "$p" = "127.0.0.1 " ] || bad "$label: r1's stream connections are not all from its tor: '$p'"
	echo "figure: $label relay_s=$t_relay rtt_ms=${rtt:-none} mbit=${mbit:-none}"
	return 0
}

prev=start
leg a_onion_tcp tcp "tcp://$ONION:443"
leg b_onion_tls tls "tls://$ONION:443"

for h in a b; do stop_helper $h; done
echo "figure: tor bootstrap_s=$t_boot published_s=$t_pub total_s=$(since "$t_world")"
if [ $fail = 0 ]; then
	echo PASS
else
	tor_logs
	world_dumplogs
fi
exit $fail
