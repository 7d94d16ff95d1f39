#!/bin/sh
# Runs inside the VM (busybox sh as PID 1's child): libwgi's kernel backend against real kernel
# WireGuard in two namespaces joined by a veth. Absolute paths for ip and wg: busybox prefers
# its own applets. Prints "ok:"/"FAIL:" lines; exit status 0 only when everything passed.
# shellcheck disable=SC2015 # "A && B || fail": fail when A or B fails, as meant
IP=/usr/sbin/ip
WG=/usr/bin/wg
T=/wgi_live
export WG_COLOR_MODE=never
export WG_UAPI_DIR=/run/wireguard-none # no sockets: every device is the kernel's
FAILED=0
fail() {
	echo "FAIL: $*"
	FAILED=1
}
a() { timeout 10 $IP netns exec a "$@"; }
b() { timeout 10 $IP netns exec b "$@"; }

$IP netns add a && $IP netns add b || { echo "FAIL: netns"; exit 1; }
$IP link add va netns a type veth peer name vb netns b || { echo "FAIL: veth"; exit 1; }
a $IP addr add 192.0.2.1/24 dev va
b $IP addr add 192.0.2.2/24 dev vb
a $IP link set va up
b $IP link set vb up
a $IP link set lo up
b $IP link set lo up
a $IP link add wga type wireguard || { echo "FAIL: no kernel wireguard"; exit 1; }
b $IP link add wgb type wireguard

umask 077
for k in 1 2 3 4; do
	$WG genkey >/tmp/priv$k
	$WG pubkey </tmp/priv$k >/tmp/pub$k
done
$WG genpsk >/tmp/psk
PUB1=$(cat /tmp/pub1)
PUB2=$(cat /tmp/pub2)
PUB3=$(cat /tmp/pub3)
PUB4=$(cat /tmp/pub4)

a $WG set wga private-key /tmp/priv1 listen-port 51820 fwmark 0x2a \
	peer "$PUB2" allowed-ips 198.51.100.2/32 \
	peer "$PUB3" preshared-key /tmp/psk persistent-keepalive 17 endpoint 203.0.113.9:4000 \
	allowed-ips 10.9.0.0/16,2001:db8:9::/48 || fail "wg set wga"
b $WG set wgb private-key /tmp/priv2 listen-port 51821 peer "$PUB1" allowed-ips 198.51.100.1/32 ||
	fail "wg set wgb"
a $IP addr add 198.51.100.1/32 dev wga
b $IP addr add 198.51.100.2/32 dev wgb
a $IP link set wga up
b $IP link set wgb up
a $IP route add 198.51.100.2/32 dev wga
b $IP route add 198.51.100.1/32 dev wgb

compare() { # ns iface what
	$1 $T dump "$2" >/tmp/ours 2>&1
	$1 $WG show "$2" dump >/tmp/theirs 2>&1
	# Peer order is not an API property: compare line sets.
	sort /tmp/ours >/tmp/ours.s
	sort /tmp/theirs >/tmp/theirs.s
	if cmp -s /tmp/ours.s /tmp/theirs.s; then
		echo "ok: $3: dump of $2 equals wg show dump ($(wc -l </tmp/ours) lines)"
	else
		fail "$3: dump of $2 differs from wg show dump"
		diff /tmp/theirs /tmp/ours
	fi
}
compare a wga configured
compare b wgb configured

a $T list >/tmp/list
grep -qx wga /tmp/list && ! grep -qx va /tmp/list || fail "list: $(cat /tmp/list)"

r=$(a $T set-endpoint wga "$PUB2" 192.0.2.2:51821)
[ "$r" = "rc=0" ] || fail "set-endpoint wga: $r"
r=$(b $T set-endpoint wgb "$PUB1" 192.0.2.1:51820)
[ "$r" = "rc=0" ] || fail "set-endpoint wgb: $r"
ep=$(a $WG show wga endpoints | awk -v k="$PUB2" '$1 == k { print $2 }')
[ "$ep" = "192.0.2.2:51821" ] || fail "wg show endpoints says '$ep'"
echo "ok: endpoint set through netlink shows in wg show: $ep"

r=$(a $T set-endpoint wga "$PUB4" 192.0.2.99:1)
[ "$r" = "rc=-2" ] || fail "unknown peer: expected rc=-2, got $r"
a $WG show wga peers | grep -q "$PUB4" && fail "update-only created a peer"
echo "ok: unknown peer gives ENOENT and is not created"

r=$(a $T keepalive wga "$PUB2" 25)
ka=$(a $WG show wga persistent-keepalive | awk -v k="$PUB2" '$1 == k { print $2 }')
[ "$r" = "rc=0" ] && [ "$ka" = 25 ] || fail "keepalive 25: $r, wg says '$ka'"
r=$(a $T keepalive wga "$PUB2" 0)
ka=$(a $WG show wga persistent-keepalive | awk -v k="$PUB2" '$1 == k { print $2 }')
[ "$r" = "rc=0" ] && [ "$ka" = off ] || fail "keepalive restore: $r, wg says '$ka'"
echo "ok: keepalive set and restored"

r=$(a $T mtu wga 1380)
a $IP link show wga | grep -q "mtu 1380" && echo "ok: mtu 1380 set" || fail "mtu: $r"

if a ping -c 3 -W 3 198.51.100.2 >/tmp/ping 2>&1; then
	echo "ok: ping across the kernel tunnel"
else
	fail "no ping across the tunnel"
	cat /tmp/ping
fi
compare a wga "after traffic"
compare b wgb "after traffic"

# Re-adding a peer keeps its whole configuration and, the session gone, makes a new handshake:
# at once with a keepalive, else with the next packet (wgi_live sends one).
readd() { # pub wait what
	r=$(a $T readd wga "$1" ${2:+"$2"})
	case $r in
	*"same configuration"*"rc=0") echo "ok: readd $3" ;;
	*) fail "readd $3: $r" ;;
	esac
}
readd "$PUB3" "" "peer with psk, keepalive, endpoint, two allowed IPs"
compare a wga "after readd"
readd "$PUB2" 8 "live peer without keepalive"
r=$(a $T keepalive wga "$PUB2" 25)
readd "$PUB2" 8 "live peer with keepalive"
r=$(a $T keepalive wga "$PUB2" 0)
r=$(a $T readd wga "$PUB4")
[ "$r" = "rc=-2" ] || fail "readd of an unknown peer: $r"

watch() { # events command
	a $T watch 8 wgc "$1" "$2" >/tmp/watch 2>&1
	if grep -q ": seen" /tmp/watch; then
		echo "ok: link watch saw wgc $1"
	else
		fail "link watch $1"
		cat /tmp/watch
	fi
}
watch added "$IP link add wgc type wireguard"
watch changed "$IP link set wgc up"
watch removed "$IP link del wgc"
r=$(a $T dump wgc)
case $r in "error -19"*) echo "ok: deleted device gives ENODEV" ;; *) fail "deleted wgc: $r" ;; esac
r=$(a $T set-endpoint wgc "$PUB2" 192.0.2.2:1)
[ "$r" = "rc=-19" ] || fail "set-endpoint on deleted device: $r"

exit $FAILED
