#!/bin/sh
# Live test of libwgi's UAPI backend: two wireguard-go devices in two network namespaces joined
# by a veth (documentation addresses only), configured with wg(8). Our reading must equal
# `wg show IFACE dump`; endpoints and keepalives we set (update-only) must show in wg(8); a
# ping must cross the tunnel; the link watcher must see a device come and go.
# Usage: wgi_uapi_live.sh path/to/wgi_live.   Exit 77 (skip) only without root or namespaces.
# shellcheck disable=SC2015 # "A && B || fail": fail when A or B fails, as meant
set -u
TOOL=${1:?usage: $0 wgi_live}
case $TOOL in /*) ;; *) TOOL=$(pwd)/$TOOL ;; esac

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: wgi_uapi_live needs root to create network namespaces"
	exit 77
fi

id=$$
NS1=wgrt-$id-a
NS2=wgrt-$id-b
# Interface names must fit IFNAMSIZ (15 characters); the pid keeps them unique per run.
IF1=$(printf 'wgt%sa' "$id" | cut -c1-15)
IF2=$(printf 'wgt%sb' "$id" | cut -c1-15)
IF3=$(printf 'wgt%sc' "$id" | cut -c1-15)
VE1=$(printf 'vt%sa' "$id" | cut -c1-15)
VE2=$(printf 'vt%sb' "$id" | cut -c1-15)
SOCKDIR=/var/run/wireguard
TMP=$(mktemp -d)
PIDS=""
FAILED=0

# shellcheck disable=SC2317 # run by the trap
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ "$i" -lt 20 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$p" 2>/dev/null
	done
	ip netns del "$NS1" 2>/dev/null
	ip netns del "$NS2" 2>/dev/null
	rm -f "$SOCKDIR/$IF1.sock" "$SOCKDIR/$IF2.sock" "$SOCKDIR/$IF3.sock"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*"
	FAILED=1
}
n1() { timeout 10 ip netns exec "$NS1" "$@"; }
n2() { timeout 10 ip netns exec "$NS2" "$@"; }

if ! ip netns add "$NS1" 2>/dev/null; then
	echo "SKIP: cannot create network namespaces here"
	exit 77
fi
ip netns add "$NS2" || { echo "FAIL: second namespace"; exit 1; }
for c in wireguard-go wg ping; do
	command -v $c >/dev/null || { echo "FAIL: $c is not installed"; exit 1; }
done

ip link add "$VE1" netns "$NS1" type veth peer name "$VE2" netns "$NS2" || exit 1
n1 ip addr add 192.0.2.1/24 dev "$VE1"
n2 ip addr add 192.0.2.2/24 dev "$VE2"
n1 ip link set "$VE1" up
n2 ip link set "$VE2" up
n1 ip link set lo up
n2 ip link set lo up

start_wggo() { # NS IFACE
	WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 LOG_LEVEL=error \
		ip netns exec "$1" wireguard-go -f "$2" >"$TMP/$2.log" 2>&1 &
	PIDS="$PIDS $!"
	i=0
	while [ ! -S "$SOCKDIR/$2.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	[ -S "$SOCKDIR/$2.sock" ] || { echo "FAIL: wireguard-go $2 did not start"; cat "$TMP/$2.log"; exit 1; }
}
start_wggo "$NS1" "$IF1"
start_wggo "$NS2" "$IF2"

umask 077
for k in 1 2 3 4; do
	wg genkey >"$TMP/priv$k"
	wg pubkey <"$TMP/priv$k" >"$TMP/pub$k"
done
wg genpsk >"$TMP/psk"
PUB1=$(cat "$TMP/pub1")
PUB2=$(cat "$TMP/pub2")
PUB3=$(cat "$TMP/pub3")
PUB4=$(cat "$TMP/pub4") # never configured anywhere

# Device 1 has a second, richer peer (psk, keepalive, IPv6, an endpoint) for the comparison.
n1 wg set "$IF1" private-key "$TMP/priv1" listen-port 51820 fwmark 0x2a \
	peer "$PUB2" allowed-ips 198.51.100.2/32 \
	peer "$PUB3" preshared-key "$TMP/psk" persistent-keepalive 17 endpoint 203.0.113.9:4000 \
	allowed-ips 10.9.0.0/16,2001:db8:9::/48 || fail "wg set $IF1"
n2 wg set "$IF2" private-key "$TMP/priv2" listen-port 51821 \
	peer "$PUB1" allowed-ips 198.51.100.1/32 || fail "wg set $IF2"
n1 ip addr add 198.51.100.1/32 dev "$IF1"
n2 ip addr add 198.51.100.2/32 dev "$IF2"
n1 ip link set "$IF1" up
n2 ip link set "$IF2" up
n1 ip route add 198.51.100.2/32 dev "$IF1"
n2 ip route add 198.51.100.1/32 dev "$IF2"

compare() { # NS IFACE WHAT
	timeout 10 ip netns exec "$1" "$TOOL" dump "$2" >"$TMP/ours" 2>&1
	WG_COLOR_MODE=never timeout 10 ip netns exec "$1" wg show "$2" dump >"$TMP/theirs" 2>&1
	# Peer order is not an API property (wireguard-go walks a Go map): compare line sets.
	sort "$TMP/ours" >"$TMP/ours.s"
	sort "$TMP/theirs" >"$TMP/theirs.s"
	if cmp -s "$TMP/ours.s" "$TMP/theirs.s"; then
		echo "ok: $3: dump of $2 equals wg show dump ($(wc -l <"$TMP/ours") lines)"
	else
		fail "$3: dump of $2 differs from wg show dump"
		diff "$TMP/theirs" "$TMP/ours"
	fi
}
compare "$NS1" "$IF1" "configured"
compare "$NS2" "$IF2" "configured"

n1 "$TOOL" list >"$TMP/list"
grep -qx "$IF1" "$TMP/list" && grep -qx "$IF2" "$TMP/list" || fail "list lacks $IF1/$IF2: $(cat "$TMP/list")"

# Endpoints through our API, update-only.
r=$(n1 "$TOOL" set-endpoint "$IF1" "$PUB2" 192.0.2.2:51821)
[ "$r" = "rc=0" ] || fail "set-endpoint $IF1: $r"
r=$(n2 "$TOOL" set-endpoint "$IF2" "$PUB1" 192.0.2.1:51820)
[ "$r" = "rc=0" ] || fail "set-endpoint $IF2: $r"
ep=$(n1 wg show "$IF1" endpoints | awk -v k="$PUB2" '$1 == k { print $2 }')
[ "$ep" = "192.0.2.2:51821" ] || fail "wg show endpoints says '$ep'"
echo "ok: endpoint set through UAPI shows in wg show: $ep"

r=$(n1 "$TOOL" set-endpoint "$IF1" "$PUB4" 192.0.2.99:1)
[ "$r" = "rc=-2" ] || fail "unknown peer: expected rc=-2 (ENOENT), got $r"
n1 wg show "$IF1" peers | grep -q "$PUB4" && fail "update-only created a peer"
[ "$(n1 wg show "$IF1" peers | wc -l)" = 2 ] || fail "peer count changed"
echo "ok: unknown peer gives ENOENT and is not created"

r=$(n1 "$TOOL" set-endpoint nosuchwg0 "$PUB2" 192.0.2.2:1)
[ "$r" = "rc=-19" ] || fail "missing interface: expected rc=-19 (ENODEV), got $r"

r=$(n1 "$TOOL" keepalive "$IF1" "$PUB2" 25)
ka=$(n1 wg show "$IF1" persistent-keepalive | awk -v k="$PUB2" '$1 == k { print $2 }')
[ "$r" = "rc=0" ] && [ "$ka" = 25 ] || fail "keepalive 25: $r, wg says '$ka'"
r=$(n1 "$TOOL" keepalive "$IF1" "$PUB2" 0)
ka=$(n1 wg show "$IF1" persistent-keepalive | awk -v k="$PUB2" '$1 == k { print $2 }')
[ "$r" = "rc=0" ] && [ "$ka" = off ] || fail "keepalive restore: $r, wg says '$ka'"
echo "ok: keepalive set and restored"

r=$(n1 "$TOOL" mtu "$IF1" 1380)
n1 ip link show "$IF1" | grep -q "mtu 1380" || fail "mtu: $r, $(n1 ip link show "$IF1")"
r=$(n1 "$TOOL" getmtu "$IF1")
echo "$r" | grep -q "^mtu 1380" || fail "getmtu: $r"
echo "ok: mtu set and read back"

if n1 ping -c 3 -i 0.3 -W 3 198.51.100.2 >"$TMP/ping" 2>&1; then
	echo "ok: ping across the tunnel: $(grep -c 'bytes from' "$TMP/ping") replies"
else
	fail "no ping across the tunnel"
	cat "$TMP/ping"
fi
compare "$NS1" "$IF1" "after traffic"
compare "$NS2" "$IF2" "after traffic"
hs=$(n1 wg show "$IF1" latest-handshakes | awk -v k="$PUB2" '$1 == k { print $2 }')
[ "${hs:-0}" -gt 0 ] || fail "no handshake recorded"

# Re-adding a peer keeps its whole configuration (psk, keepalive, endpoint, allowed IPs in
# order) and, the session gone, makes a new handshake: at once with a keepalive, else with the
# next packet (wgi_live sends one). The wait (8 s) stays inside n1's 10 s timeout.
readd() { # PUB WAIT WHAT
	r=$(n1 "$TOOL" readd "$IF1" "$1" ${2:+"$2"})
	case $r in
	*"same configuration"*"rc=0") echo "ok: readd $3: $(echo "$r" | grep -v '^rc=' | tr '\n' ' ')" ;;
	*) fail "readd $3: $r" ;;
	esac
}
readd "$PUB3" "" "peer with psk, keepalive, endpoint, two allowed IPs"
compare "$NS1" "$IF1" "after readd"
readd "$PUB2" 8 "live peer without keepalive"
r=$(n1 "$TOOL" keepalive "$IF1" "$PUB2" 25)
readd "$PUB2" 8 "live peer with keepalive"
r=$(n1 "$TOOL" keepalive "$IF1" "$PUB2" 0)
n1 ping -c 1 -W 3 198.51.100.2 >/dev/null 2>&1 || fail "no ping after readd"
compare "$NS1" "$IF1" "after readd and traffic"
r=$(n1 "$TOOL" readd "$IF1" "$PUB4")
[ "$r" = "rc=-2" ] || fail "readd of an unknown peer: $r"
n1 wg show "$IF1" peers | grep -q "$PUB4" && fail "readd created a peer"
echo "ok: readd of an unknown peer gives ENOENT and creates nothing"

# Link watch: a third device appears (tun + UAPI socket, then up), changes MTU, is deleted.
watch() { # EVENTS COMMAND
	n1 "$TOOL" watch 8 "$IF3" "$1" "$2" >"$TMP/watch" 2>&1
	if grep -q ": seen" "$TMP/watch"; then
		echo "ok: link watch saw $IF3 $1"
	else
		fail "link watch $1"
		cat "$TMP/watch"
	fi
}
watch added "
	WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 LOG_LEVEL=error wireguard-go -f $IF3 >/dev/null 2>&1 &
	echo \$! >$TMP/pid3
	i=0; while [ ! -S $SOCKDIR/$IF3.sock ] && [ \$i -lt 50 ]; do sleep 0.1; i=\$((i+1)); done
	ip link set $IF3 up"
[ -s "$TMP/pid3" ] && PIDS="$PIDS $(cat "$TMP/pid3")"
watch changed "ip link set $IF3 down"
watch removed "ip link del $IF3"
# wireguard-go exits once its tun is gone; the trap ends it by PID if it did not.
sleep 0.2

r=$(timeout 10 "$TOOL" dump "$IF3")
case $r in "error -19"*) echo "ok: vanished device gives ENODEV" ;; *) fail "vanished $IF3: $r" ;; esac

if [ $FAILED = 0 ]; then
	echo "PASS: wgi_uapi_live"
	exit 0
fi
echo "FAIL: wgi_uapi_live"
exit 1
