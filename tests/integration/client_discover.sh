#!/bin/bash
# client_discover.sh: the helper discovers relays from a relay it is linked to.
# Two real wgrelayd on loopback in the relay network: R2 links to R1 (Peer), so R1's store holds
# R2's descriptor. The helper knows only R1 (a bootstrap line). Checks:
#  - list-relays --refresh asks R1 (DISCOVER), stores R2 (source relay, with identity, sequence
#    number and expiry) and R1's own descriptor on R1's line (source stays bootstrap);
#  - a second refresh replaces nothing (equal sequence numbers): all unchanged;
#  - a bootstrap line naming another key at R2's endpoint gets R2's descriptor refused, counted;
#  - `watch` asks at start, stores R2 and adds it to its relays; stops using it when its
#    descriptor has expired (the cache's expiry set back with sqlite3, when there is one), and
#    uses it again with a current one;
#  - with both relays stopped, a refresh says no relay answered, and the cache keeps serving:
#    list-relays and a new `watch` still have R2.
# Loopback only, no root; exits 77 (skip) without the binaries.
set -u
# shellcheck source=tests/integration/client_lib.sh
. "$(dirname "$0")/client_lib.sh"
export WGRELAY_CONFIG=$T/none WGRELAY_GEOIP=$T/none
w() { "$WGRELAY" --db "$T/h/wgrelay.db" "$@"; }

P1=$((40000 + RANDOM % 20000)); P2=$((P1 + 1))
# relay N PORT [PEER-LINE]: start relay N in the network; its key is in $T/rN.pub after.
relay() {
	cat >"$T/r$1.conf" <<-EOF
	[Relay]
	IdentityFile = $T/r$1.identity
	[Network]
	Network = on
	Advertise = 127.0.0.1:$2
	${3:-}
	EOF
	relayd_start "$1" "$2" "$((P1 + 100 * $1))-$((P1 + 100 * $1 + 50))" "network: on"
}
relay 1 "$P1"; K1=$(cat "$T/r1.pub"); [ -n "$K1" ] || fail "relay 1"
relay 2 "$P2" "Peer = 127.0.0.1:$P1 $K1"; K2=$(cat "$T/r2.pub"); [ -n "$K2" ] || fail "relay 2"
E1=$(k8 "$K1") E2=$(k8 "$K2")
R1=127.0.0.1:$P1 R2=127.0.0.1:$P2

w add-bootstrap-relay --allow-loopback "$R1" "$K1" >/dev/null || fail "add-bootstrap"
# R1 learns R2 once their link is up (HELLO): until then a refresh brings R1's own descriptor.
for _ in $(seq 40); do
	out=$(w list-relays --refresh --no-probe 2>&1)
	echo "$out" | grep -qE "^$R2 .* relay " && break
	sleep 0.5
done
echo "$out"
echo "$out" | grep -qE "^refresh: 1 of 1 relays answered \(1 linked\): [01] new, [01] updated" || fail "refresh summary"
echo "$out" | grep -qE "^$R2 +$E2 .* relay +[0-9]+[smh] +[0-9]+[mhd] " || fail "R2 not stored as discovered, with age and expiry"
echo "$out" | grep -qE "^$R1 +$E1 .* bootstrap +[0-9]+[smh] +[0-9]+[mhd] " || fail "R1's line without its descriptor"
json=$(w list-relays --json --no-probe) || fail "json"
echo "$json" | grep "\"$R2\"" | grep '"source": "relay"' | grep -qE '"identity": "[A-Za-z0-9+/]{43}=", "seq": [0-9]+, "issued_at": [0-9]+, "expires_at": [0-9]+' ||
	fail "R2's descriptor fields in JSON: $json"

# Equal sequence numbers never replace what is stored.
out=$(w list-relays --refresh --no-probe) || fail "second refresh"
echo "$out" | grep -qE "^refresh: 2 of 2 relays answered \(2 linked\): 0 new, 0 updated, [1-9][0-9]* unchanged, 0 refused$" ||
	fail "second refresh changed something: $out"

# A bootstrap line names another key for R2's endpoint: R2's own descriptor is refused.
KX=$(head -c 32 /dev/urandom | base64)
w add-bootstrap-relay --allow-loopback "$R2" "$KX" >/dev/null || fail "add-bootstrap KX"
out=$(w list-relays --refresh --no-probe 2>"$T/refused.log")
echo "$out"
echo "$out" | grep -qE "refused \(1 bootstrap-key\)$" || fail "bootstrap-key refusal not counted: $out"
grep -q "descriptor refused: its key ${K2:0:8}" "$T/refused.log" || fail "refusal not logged"
echo "$out" | grep -qE "^$R2 +$(k8 "$KX") .* bootstrap " || fail "the line lost to the descriptor"
w remove-bootstrap-relay "$KX" >/dev/null || fail "remove KX"
out=$(w list-relays --refresh --no-probe) || fail "refresh after the line went"
echo "$out" | grep -qE "^refresh: .*: 1 new, 0 updated" || fail "R2 not back: $out"

# watch asks R1 at start and adds R2 to its relays.
"$WGRELAY" --db "$T/hw/wgrelay.db" add-bootstrap-relay --allow-loopback "$R1" "$K1" >/dev/null || fail "add-bootstrap watch"
: >"$T/watch.log"; : >"$T/watch2.log"
"$WGRELAY" --db "$T/hw/wgrelay.db" -v watch >"$T/watch.log" 2>&1 & HW=$!; PIDS+=("$HW")
for _ in $(seq 100); do grep -q "relay $R2 (${K2:0:8}...) added" "$T/watch.log" && break; sleep 0.2; done
grep -qE "discovery via relay $R1: 1 new, 1 updated" "$T/watch.log" || fail "watch did not discover"
grep -q "relay $R2 (${K2:0:8}...) added" "$T/watch.log" || fail "watch did not add the discovered relay"
# Its descriptor expires (as the cache says): the helper stops using it; a fresh one: back.
if command -v sqlite3 >/dev/null; then
	sq() { sqlite3 "$T/hw/wgrelay.db" "$1" || fail "sqlite3 $1"; }
	exp=$(sq "SELECT expires FROM relays WHERE pubkey = '$K2'")
	sq "UPDATE relays SET expires = 1 WHERE pubkey = '$K2'"
	kill -HUP "$HW"
	for _ in $(seq 50); do grep -q "${K2:0:8}...): no current descriptor" "$T/watch.log" && break; sleep 0.1; done
	grep -q "relay $R2 (${K2:0:8}...): no current descriptor any more: not used" "$T/watch.log" ||
		fail "expired relay still used"
	sq "UPDATE relays SET expires = $exp WHERE pubkey = '$K2'"
	kill -HUP "$HW"
	for _ in $(seq 50); do grep -q "${K2:0:8}...): current descriptor again" "$T/watch.log" && break; sleep 0.1; done
	grep -q "relay $R2 (${K2:0:8}...): current descriptor again: used" "$T/watch.log" ||
		fail "relay with a current descriptor again not used"
fi
kill -TERM "$HW"; wait "$HW" 2>/dev/null

# Nothing answers: the refresh says so; the cache keeps serving.
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
PIDS=()
out=$(w list-relays --refresh --no-probe 2>&1); rc=$?
[ $rc = 1 ] || fail "refresh with no relay up exited $rc"
echo "$out" | grep -q "refresh: 0 of 2 relays answered" || fail "no-answer summary: $out"
echo "$out" | grep -qE "^$R2 .* relay " || fail "R2 gone from the cache"
"$WGRELAY" --db "$T/hw/wgrelay.db" -v watch >"$T/watch2.log" 2>&1 & HW=$!; PIDS+=("$HW")
for _ in $(seq 50); do grep -q "helper running" "$T/watch2.log" && break; sleep 0.1; done
grep -q "helper running: 0 interface(s), 2 relay(s)" "$T/watch2.log" || fail "watch without answers lost the cached relay"
echo "client_discover: ok"
