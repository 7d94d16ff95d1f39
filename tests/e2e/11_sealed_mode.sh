#!/bin/sh
# Scenario 11: both peers behind symmetric NATs, both helpers in sealed mode. The pair is
# relayed through DATA frames on the relay's control port: each WireGuard's endpoint is its
# helper's local port 127.0.0.1:P, ping and iperf3 pass, the relay counts sealed packets, the
# MTU is lowered by 32 while relayed (--mtu auto). After kill -9 of a helper its sealed port is
# gone: the restarted helper adopts the peer on a new local port (the relay kept the
# membership). SIGUSR1 (leave clean) puts the direct endpoints and the MTU back. Last, a pair
# whose interfaces disagree on the mode (a sealed, b direct): sealed wins, the relay refuses
# the other mode and tells, b binds sealed by itself and says why a bounded number of times,
# and both are relayed sealed.
# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
. "$WGR_SOURCE_DIR/sim/world.sh"
world_skip_unless_able
world_init || exit 1
fail=0
step() { echo "check: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

WORLD_MODE=sealed
world_pair symmetric symmetric 2 || exit 1
echo "world $W: a (Paris) and b (Berlin) behind symmetric NATs, relays r1 r2, sealed mode"

world_traffic 200

# shellcheck disable=SC2317 # run by world_wait (both_sealed)
local_ep() { world_endpoint "$1" "$2" | grep -Eq '^127\.0\.0\.1:[0-9]+$'; }
mtu() { ip -n "$W-$1" link show "$W$1" | sed -n 's/.* mtu \([0-9]*\).*/\1/p'; }
# Sum of a metric over both relays (each serves /metrics on its own loopback).
metric() {
	t=0
	for r in r1 r2; do
		v=$(world_x $r curl -s --max-time 3 http://127.0.0.1:9821/metrics |
			awk -v m="$1" '$1 == m { print $2 }')
		t=$((t + ${v:-0}))
	done
	echo $t
}
sealed_pkts='wgrelayd_packets_forwarded_total{mode="sealed"}'

step "the pair ends up relayed sealed and pings within 60 s"
world_first_ping 60 || bad "no ping through the tunnel within 60 s"
step "both WireGuard endpoints are the helpers' local ports (127.0.0.1:P) within 20 s"
for h in a b; do
	o=b
	[ $h = b ] && o=a
	if world_wait 20 local_ep $h $o; then
		echo "  $h: $(world_endpoint $h $o)"
	else
		bad "$h's endpoint for $o is $(world_endpoint $h $o)"
	fi
done
step "wgrelay status says relayed, sealed mode"
wgrelay_in a status "$W"a | tee "$WS/status.txt" | sed 's/^/  /'
grep -q 'path: relayed via 203\.0\.113\.1[01]:51821 .*sealed mode' "$WS/status.txt" ||
	bad "status does not say relayed in sealed mode"
wgrelay_in a status "$W"a dump | grep -q '	sealed$' || bad "status dump has no sealed mode field"
step "the relays count sealed packets forwarded, increasing with traffic"
m1=$(metric "$sealed_pkts")
world_x a ping -n -q -c 10 -i 0.2 -W 2 192.0.2.2 >"$WS/ping.txt" 2>&1
m2=$(metric "$sealed_pkts")
echo "  sealed packets forwarded: $m1 -> $m2"
[ "$m2" -ge $((m1 + 20)) ] || bad "sealed counter did not grow by 20 for 10 pings both ways"
[ "$(metric 'wgrelayd_packets_forwarded_total{mode="direct"}')" = 0 ] || bad "direct-mode packets were forwarded"
grep -E 'rtt|packet loss' "$WS/ping.txt" | sed 's/^/  /'
step "--mtu auto: the interface MTU is 32 bytes lower while relayed sealed"
for h in a b; do
	m=$(mtu $h)
	echo "  $h: mtu $m"
	[ "$m" = 1388 ] || bad "$h's MTU is $m, not 1388"
done
step "full-size packets pass (ping -s 1360: a 1388-byte inner packet)"
world_x a ping -n -q -c 2 -W 2 -s 1360 192.0.2.2 >/dev/null 2>&1 || bad "ping -s 1360 fails"
step "iperf3 through the tunnel (3 s)"
world_iperf 3
case $? in
0) grep receiver "$WS/iperf.txt" | sed 's/^/  /' ;;
77) echo "  skipped: no iperf3" ;;
*) bad "iperf3 failed or moved no data: $(tail -2 "$WS/iperf.txt")" ;;
esac

step "kill -9 of a's helper: the restarted one adopts the sealed peer on a new local port"
e0=$(world_endpoint a b)
world_kill a.watchpid
sleep 1
world_watch a
t0=$(date +%s)
# shellcheck disable=SC2317 # run by world_wait
again() { local_ep a b && [ "$(world_endpoint a b)" != "$e0" ] && world_ping a b 1 1 && wgrelay_in a status | grep -q 'relayed via.*sealed'; }
if world_wait 30 again; then
	echo "  relayed sealed again after $(($(date +%s) - t0)) s: $(world_endpoint a b) (was $e0), mtu $(mtu a)"
	[ "$(mtu a)" = 1388 ] || bad "a's MTU is $(mtu a) after the restart, not 1388"
else
	bad "not relayed sealed again within 30 s (endpoint $(world_endpoint a b))"
fi
grep -q 'adopted on relay' "$WS/a.watch.log" || bad "the restarted helper did not adopt the sealed peer"

step "SIGUSR1 (leave clean): each helper puts the direct endpoint and the MTU back"
stop_helper() {
	p=$(cat "$WS/$1.watchpid")
	kill -USR1 "$p" 2>/dev/null
	i=0
	while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	! kill -0 "$p" 2>/dev/null
}
for h in a b; do
	o=b
	[ $h = b ] && o=a
	stop_helper $h || bad "$h's helper did not exit within 10 s"
	e=$(world_endpoint $h $o)
	echo "  $h: endpoint $e, mtu $(mtu $h)"
	[ "$e" = "$(world_ip $o):51820" ] || bad "$h's endpoint for $o is $e, not $(world_ip $o):51820"
	[ "$(mtu $h)" = 1420 ] || bad "$h's MTU is $(mtu $h), not 1420"
done
grep -h 'sealed port .* carried' "$WS/a.watch.log" "$WS/b.watch.log" | sed 's/^/  /'
for r in r1 r2; do
	world_x $r curl -s --max-time 3 http://127.0.0.1:9821/metrics |
		awk -v r=$r '/^wgrelayd_(drops|packets_forwarded)_total/ && $2 != 0 { print "  " r ": " $0 }'
done

step "modes differ: a sealed, b direct: sealed wins, both relayed sealed, b says why once"
wgrelay_in b configure-relay --mode direct "$W"b >/dev/null || bad "configure b direct"
for h in a b; do mv "$WS/$h.watch.log" "$WS/$h.watch-sealed.log"; done
world_watch a
world_watch b
# b's direct BIND meets a's sealed session (or a's sealed BIND meets b's waiting direct one,
# which the relay tells): either way b binds sealed there by itself (PROTOCOL.md §5.2).
switched() { grep -c 'binding sealed on relay .* (the far side binds sealed there)' "$WS/b.watch.log"; }
# shellcheck disable=SC2317 # run by world_wait
both_sealed() { local_ep a b && local_ep b a && world_ping a b 1 1; }
if world_wait 60 both_sealed; then
	echo "  a: $(world_endpoint a b), b: $(world_endpoint b a): both on the helpers' sealed ports"
	grep -h 'binding sealed on relay' "$WS/b.watch.log" | head -2 | sed 's/^/  /'
	n1=$(switched)
	[ "$n1" -ge 1 ] || bad "b did not say why it binds sealed"
	sleep 12
	n2=$(switched)
	echo "  b's switch logged: $n1, after 12 s more: $n2"
	[ "$n2" -le 2 ] || bad "b's switch logged $n2 times (once per relay expected)"
	[ "$(mtu b)" = 1388 ] || bad "b's MTU is $(mtu b), not 1388, while b is relayed sealed"
else
	bad "a (sealed) and b (direct) are not both relayed sealed within 60 s"
fi
if [ $fail = 0 ]; then
	echo PASS
else
	for h in a b; do
		echo "---- $h: status and wg"
		wgrelay_in $h status 2>&1 | sed 's/^/  /'
		world_x $h wg show "$W$h" | sed 's/^/  /'
	done
	world_dumplogs
fi
exit $fail
