#!/bin/sh
# Scenario 23: the XDP fast path of direct mode with real WireGuard. Two wireguard-go peers
# behind symmetric NATs are relayed in direct mode by a wgrelayd with Xdp = native on its eth0:
# ping and iperf3 pass, and /metrics shows the kernel forwarding nearly all of it (one session
# installed, wgrelayd_xdp_packets_total grows by most of the packets, the forwarded totals
# include them). A member whose NAT mapping changes goes up to user space, is proven again and
# re-installed; a circuit byte limit still ends the session; the program is on the interface
# while wgrelayd runs and gone after it stops. Skipped (77) when the build has no XDP or the
# kernel refuses it (wgrelayd's refusal says why).
# shellcheck disable=SC2015 # "A && B || C": C when A or B fails, as meant
# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
. "$WGR_SOURCE_DIR/sim/world.sh"
world_skip_unless_able
for t in curl ethtool iperf3 clang; do
	command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
done
world_init || exit 1
fail=0
step() { echo "check: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
m() { world_metric r1 "$1"; } # a value of r1's /metrics, empty when there is none
# shellcheck disable=SC2317 # called by world_wait
installed() { [ "$(m wgrelayd_xdp_sessions)" = "$1" ]; } # sessions in the XDP map

# The circuit allowance: well above the first iperf3 run, well below the last one.
LIMIT=60000000
printf '[Relay]\nXdp = native\nXdpInterface = eth0\n[Limits]\nCircuitBytes = %s\nCircuitDuration = 0\n' \
	$LIMIT >"$WS/relayd.conf"

# refused: wgrelayd on r1 did not come up because XDP could not be had here -> skip.
refused() {
	sleep 0.5
	kill -0 "$(cat "$WS/r1.relaydpid" 2>/dev/null)" 2>/dev/null && return 1
	why=$(grep -m1 'Xdp = native' "$WS/r1.relayd.log" 2>/dev/null) || return 1
	echo "SKIP: wgrelayd refuses Xdp = native here: ${why#*: }"
	world_cleanup
	exit 77
}

if ! world_pair symmetric symmetric 1; then
	refused
	world_dumplogs
	exit 1
fi
refused || true
echo "world $W: a, b behind symmetric NATs, one relay r1 with Xdp = native, CircuitBytes = $LIMIT"
# bpf_fib_lookup answers only on an interface that forwards (the relay's own sockets do not
# need it): what an operator of the XDP path sets (docs/XDP.md).
world_sysctl r1 net.ipv4.conf.all.forwarding=1
world_sysctl r1 net.ipv4.conf.eth0.forwarding=1
# veth stands in for the wire. A frame the relay sends back out of its eth0 by XDP_TX is taken
# by the veth's peer (r1's port on the core bridge) only when that peer has an XDP program of
# its own (GRO on it is enough for a redirect, not for XDP_TX): one that passes everything...
printf '%s\n' '__attribute__((section("xdp"), used)) int pass(void *ctx) { return 2; /* XDP_PASS */ }' \
	'char lic[] __attribute__((section("license"), used)) = "GPL";' >"$WS/pass.c"
clang -O2 -target bpf -c "$WS/pass.c" -o "$WS/pass.o" >"$WS/pass.log" 2>&1 &&
	ip -n "$W-inet" link set dev "${W}r1" xdpdrv obj "$WS/pass.o" sec xdp >>"$WS/pass.log" 2>&1 ||
	{ bad "cannot attach a pass program to r1's bridge port: $(cat "$WS/pass.log")"; world_dumplogs; exit 1; }
# ...and datagrams on a wire carry complete UDP checksums: veth would hand the relay the
# partial ones of a local send (checksum offload), which no sender on a real network does.
# The NAT routers compute them on their way out.
for r in ra rb; do
	ip netns exec "$W-$r" ethtool -K eth0 tx off >/dev/null 2>&1 ||
		{ bad "cannot turn checksum offload off on $r"; world_dumplogs; exit 1; }
done

step "the XDP program is attached to r1's eth0 while wgrelayd runs"
if ip -n "$W-r1" link show eth0 | grep -q 'xdp'; then
	echo "  $(ip -n "$W-r1" link show eth0 | grep -o 'prog/xdp.*')"
else
	bad "ip link show eth0 on r1 shows no XDP program"
fi
[ "$(m wgrelayd_xdp_attached)" = 1 ] || bad "wgrelayd_xdp_attached is '$(m wgrelayd_xdp_attached)', not 1"

world_traffic 230
step "the pair ends up relayed by r1 and pings within 60 s"
world_first_ping 60 && world_relayed_via a b >/dev/null || {
	bad "never relayed (endpoint $(world_endpoint a b))"
	world_dumplogs
	exit 1
}
step "the session is installed in the XDP map (wgrelayd_xdp_sessions 1) within 10 s"
world_wait 10 installed 1 || bad "wgrelayd_xdp_sessions is '$(m wgrelayd_xdp_sessions)'"

# iperf_n BYTES SECONDS [OUT]: a TCP iperf3 run of BYTES from a to b through the tunnel, bounded
# by SECONDS; 0 when it moved data.
iperf_n() {
	world_x b iperf3 -s -1 -B 192.0.2.2 >/dev/null 2>&1 &
	world_pid $!
	sleep 0.5
	world_x a timeout -k 5 "$2" iperf3 -c 192.0.2.2 -n "$1" >"${3:-$WS/iperf.txt}" 2>&1 &&
		grep -q receiver "${3:-$WS/iperf.txt}"
}

x0=$(m wgrelayd_xdp_packets_total)
f0=$(m 'wgrelayd_packets_forwarded_total{mode="direct"}')
b0=$(m wgrelayd_xdp_bytes_total)
step "200 pings and a 20 MB iperf3 run through the tunnel"
world_x a ping -n -q -c 200 -i 0.01 -W 1 192.0.2.2 >"$WS/ping.txt" 2>&1 ||
	bad "pings lost: $(grep 'packets transmitted' "$WS/ping.txt")"
grep 'packets transmitted' "$WS/ping.txt" | sed 's/^/  /'
if iperf_n 20M 60; then
	grep receiver "$WS/iperf.txt" | sed 's/^/  /'
else
	bad "iperf3 failed: $(tail -n 2 "$WS/iperf.txt")"
fi
# The forwarded totals take what the kernel did at the next once-a-second read back.
sleep 2.5
x1=$(m wgrelayd_xdp_packets_total)
f1=$(m 'wgrelayd_packets_forwarded_total{mode="direct"}')
b1=$(m wgrelayd_xdp_bytes_total)
dx=$((${x1:-0} - ${x0:-0}))
df=$((${f1:-0} - ${f0:-0}))
echo "  forwarded $df datagrams; XDP $dx ($((${b1:-0} - ${b0:-0})) bytes)"
step "XDP forwarded most of the packets, user space few"
[ $dx -gt 10000 ] || bad "wgrelayd_xdp_packets_total grew by $dx (20 MB is over 14000 datagrams)"
[ $((dx * 100)) -ge $((df * 90)) ] || bad "only $dx of $df forwarded packets went by XDP"
# The background pings (world_traffic) go on meanwhile: the live XDP counter may be up to a
# read back (a second, a few datagrams) ahead of the totals.
step "wgrelayd_packets_forwarded_total includes the XDP packets"
[ $((df + 50)) -ge $dx ] || bad "forwarded total grew by $df, less than the $dx XDP forwarded"

# NAT rebinding: a's WireGuard moves to another port, so its NAT (masquerade, fully random)
# maps it anew and the relay sees member a at a new address. (Flushing the NAT's conntrack
# would do the same, but needs the conntrack tool.)
step "a's NAT mapping changes: a goes up to user space, is proven again and re-installed"
u0=$(m 'wgrelayd_xdp_passed_total{reason="unknown_source"}')
ep0=$(world_endpoint a b)
world_x a wg set "${W}a" listen-port 51999 || bad "cannot move a's WireGuard to port 51999"
t0=$(date +%s)
# shellcheck disable=SC2317 # run by world_wait
back() { world_ping a b 1 1 && world_ping b a 1 1; }
if world_wait 90 back; then
	echo "  pings both ways again after $(($(date +%s) - t0)) s via $(world_endpoint a b) (was $ep0)"
else
	bad "no ping both ways within 90 s of the NAT change"
fi
u1=$(m 'wgrelayd_xdp_passed_total{reason="unknown_source"}')
echo "  datagrams from an address not installed, passed up: $((${u1:-0} - ${u0:-0}))"
[ $((${u1:-0} - ${u0:-0})) -gt 0 ] || bad "nothing from a's new address went up to user space"
world_wait 10 installed 1 ||
	bad "after the roam wgrelayd_xdp_sessions is '$(m wgrelayd_xdp_sessions)'"
x2=$(m wgrelayd_xdp_packets_total)
world_x a ping -n -q -c 100 -i 0.01 -W 1 192.0.2.2 >"$WS/ping2.txt" 2>&1 ||
	bad "pings lost after the roam: $(grep 'packets transmitted' "$WS/ping2.txt")"
sleep 1.5
x3=$(m wgrelayd_xdp_packets_total)
echo "  100 pings after the roam: $((${x3:-0} - ${x2:-0})) datagrams by XDP"
[ $((${x3:-0} - ${x2:-0})) -ge 150 ] || bad "after the roam XDP forwarded $((${x3:-0} - ${x2:-0})) of 200 ping datagrams"

step "the circuit's byte limit ($LIMIT) still ends the session"
iperf_n 200M 40 "$WS/iperf2.txt" >/dev/null 2>&1 &
ipid=$!
if world_wait 45 grep -q "circuit closed.*byte limit" "$WS/r1.relayd.log"; then
	echo "  r1: $(grep -m1 "circuit closed.*byte limit" "$WS/r1.relayd.log" | sed 's/.*event: //')"
else
	bad "r1 never ended the circuit at its byte limit"
fi
wait $ipid 2>/dev/null
echo "  held back by the budget in XDP: $(m 'wgrelayd_xdp_passed_total{reason="budget"}') datagrams"

step "wgrelayd stops: the program is gone from eth0"
kill "$(cat "$WS/r1.relaydpid")"
world_wait 10 sh -c "! kill -0 $(cat "$WS/r1.relaydpid") 2>/dev/null" || bad "wgrelayd did not stop"
if ip -n "$W-r1" link show eth0 | grep -q 'xdp'; then
	bad "an XDP program is still attached after wgrelayd stopped"
else
	echo "  ok"
fi
[ $fail = 0 ] && echo PASS || world_dumplogs
exit $fail
