#!/bin/bash
# client_dht.sh: a helper that knows no relay finds relays in the DHT (PROTOCOL.md §11).
# Three real wgrelayd on loopback with [Network] Dht = on and no Peer line, in a private DHT
# whose bootstrap node is the first relay's DHT port. The helper's database holds no relay at
# all; its config file says Dht = on and DhtBootstrap = the second relay's DHT port. Checks:
#  - the control: with Dht off (the default) list-relays --refresh finds nothing, and a
#    DhtBootstrap line that is not HOST:PORT is refused with the file and line;
#  - with Dht on, list-relays --refresh looks in the DHT (get_peers, DESC_REQ to each address)
#    and lists every relay with source dht, identity and expiry;
#  - a second refresh asks again and changes nothing (all unchanged);
#  - `watch` on an empty database, its DHT node entered with add-dht-bootstrap (the config
#    file only says Dht = on), looks in the DHT at start and adds the relays found.
# Loopback only, no root, processes stopped by PID; exits 77 (skip) without the binaries.
set -u
# shellcheck source=tests/integration/client_lib.sh
. "$(dirname "$0")/client_lib.sh"
export WGRELAY_GEOIP=$T/none
w() { "$WGRELAY" --db "$T/h/wgrelay.db" --config "$T/helper.conf" "$@"; }

B=$((30000 + RANDOM % 25000))
# relay N: control port B+10N, DHT port B+10N+1, bootstrap at relay 1's DHT port (not for 1).
relay() {
	local p=$((B + 10 * $1)) boot=""
	[ "$1" = 1 ] || boot="DhtBootstrap = 127.0.0.1:$((B + 11))"
	cat >"$T/r$1.conf" <<-EOF
	[Relay]
	IdentityFile = $T/r$1.identity
	[Network]
	Advertise = 127.0.0.1:$p
	Dht = on
	DhtListen = 127.0.0.1:$((p + 1))
	$boot
	EOF
	relayd_start "$1" "$p" "$((B + 1000 + 100 * $1))-$((B + 1050 + 100 * $1))" "dht: on" ||
		fail "relay $1: no DHT"
	eval "K$1=\$(cat \"$T/r$1.pub\")"
}
relay 1; relay 2; relay 3

# The control: Dht off (the default), no relay known: nothing is found, nothing is asked.
printf '[Relay]\nDhtBootstrap = 127.0.0.1:%d\n' $((B + 21)) >"$T/helper.conf"
out=$(w list-relays --refresh --no-probe 2>&1); rc=$?
[ $rc = 1 ] || fail "refresh with the DHT off exited $rc: $out"
echo "$out" | grep -q "DHT" && fail "the DHT was used while off: $out"
echo "$out" | grep -q "no relay known" || fail "with the DHT off a relay was found: $out"
printf '[Relay]\nDht = on\nDhtBootstrap = 127.0.0.1\n' >"$T/helper.conf"
out=$(w list-relays --no-probe 2>&1) && fail "a DhtBootstrap line without a port taken"
echo "$out" | grep -q "helper.conf:3: DhtBootstrap: " || fail "bad line not named: $out"

# Dht on: every relay found through the DHT. The relays announce within seconds of meeting;
# until every one has, a refresh finds fewer.
printf '[Relay]\nDht = on\nDhtBootstrap = 127.0.0.1:%d\n' $((B + 21)) >"$T/helper.conf"
for _ in $(seq 15); do
	out=$(w -v list-relays --refresh --no-probe 2>"$T/refresh.log")
	n=$(echo "$out" | grep -cE "^127\.0\.0\.1:[0-9]+ .* dht ")
	[ "$n" = 3 ] && break
	sleep 1
done
echo "$out"
echo "$out" | grep -qE "^refresh: DHT: [1-9][0-9]* DHT node\(s\), [3-9][0-9]* address\(es\), 3 asked, 3 answered: 3 new, 0 updated, 0 unchanged, 0 refused$" ||
	fail "DHT summary: $out"
for i in 1 2 3; do
	k=K$i; k=${!k}
	echo "$out" | grep -qE "^127\.0\.0\.1:$((B + 10 * i)) +$(k8 "$k") .* dht +[0-9]+[smh] +[0-9]+[mhd] " ||
		fail "relay $i not listed with source dht"
done
json=$(w list-relays --json --no-probe) || fail "json"
[ "$(echo "$json" | grep -c '"source": "dht"')" = 3 ] || fail "JSON sources: $json"

# Asked again (a new process, a new hour's table): all known, nothing replaced.
out=$(w list-relays --refresh --no-probe) || fail "second refresh"
echo "$out" | grep -qE "^refresh: DHT: .* 0 asked, 0 answered: 0 new" || fail "known relays asked again: $out"
echo "$out" | grep -qE "^refresh: 3 of 3 relays answered \(3 linked\): 0 new, 0 updated, [1-9][0-9]* unchanged, 0 refused$" ||
	fail "second refresh changed something: $out"
# watch knows no relay: it looks in the DHT at start and uses what it finds.
printf '[Relay]\nDht = on\n' >"$T/watch.conf"
ww() { "$WGRELAY" --db "$T/hw/wgrelay.db" --config "$T/watch.conf" "$@"; }
ww add-dht-bootstrap 127.0.0.1:$((B + 31)) 2>&1 | grep -q "loopback" || fail "loopback node taken without --allow-loopback"
out=$(ww add-dht-bootstrap --allow-loopback 127.0.0.1:$((B + 31)) 2>&1) || fail "add-dht-bootstrap: $out"
[ "$out" = "added DHT bootstrap node 127.0.0.1:$((B + 31))" ] || fail "add-dht-bootstrap said: $out"
: >"$T/watch.log"
# Started directly, not through ww: $! of a backgrounded function is its subshell, and
# killing that would leave the helper running.
"$WGRELAY" --db "$T/hw/wgrelay.db" --config "$T/watch.conf" -v watch >"$T/watch.log" 2>&1 &
HW=$!; PIDS+=("$HW")
for _ in $(seq 100); do [ "$(grep -c ") added" "$T/watch.log")" -ge 3 ] && break; sleep 0.1; done
grep -qE "discovery via the DHT: .* 3 asked, 3 answered: 3 new" "$T/watch.log" || fail "watch did not look in the DHT"
for i in 1 2 3; do
	k=K$i; k=${!k}
	grep -q "relay 127.0.0.1:$((B + 10 * i)) (${k:0:8}...) added" "$T/watch.log" || fail "watch did not add relay $i"
done
kill -TERM "$HW"; wait "$HW" 2>/dev/null
echo "client_dht: ok"
