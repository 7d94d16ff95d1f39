#!/bin/bash
# client_relay.sh: wgrelay against a real wgrelayd and real wireguard-go interfaces.
# In a network namespace of its own (loopback only): one relay, two wireguard-go interfaces
# whose configured endpoints lead nowhere (the direct path is "blocked"), one helper each.
# Checks: list-relays shows the relay ok with an RTT; configure-relay and status show the
# interface; both helpers move their peer onto the relay and WireGuard's handshake completes
# through it; a second helper on a database refuses; SIGTERM leaves the peers on the relay and
# the next run adopts them; SIGUSR1 (or SIGTERM with --restore-on-exit) puts the original
# endpoints back.
# Needs root, wireguard-go, wg; exits 77 (skip) without them.
set -u
BIN=${WGR_BINARY_DIR:?}
WGRELAY=$BIN/relay-client/wgrelay
WGRELAYD=$BIN/relayd/wgrelayd
[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 77; }
# shellcheck disable=SC2015 # skip unless both are there
command -v wireguard-go >/dev/null && command -v wg >/dev/null || { echo "skip: no wireguard-go"; exit 77; }
[ -x "$WGRELAYD" ] || { echo "skip: no wgrelayd built"; exit 77; }

NS=wgrc$$
A=wgrca$$
B=wgrcb$$
T=$(mktemp -d /tmp/wgrc-it.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -f "/var/run/wireguard/$A.sock" "/var/run/wireguard/$B.sock"
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$T"/*.log; do echo "== $f"; tail -n 30 "$f"; done; exit 1; }
nx() { ip netns exec "$NS" "$@"; }

ip netns add "$NS" || fail "netns"
nx ip link set lo up
# wireguard-go daemonizes; WG_PROCESS_FOREGROUND keeps it a child we can kill by PID.
WG_PROCESS_FOREGROUND=1 nx wireguard-go "$A" >"$T/wga.log" 2>&1 & PIDS+=($!)
WG_PROCESS_FOREGROUND=1 nx wireguard-go "$B" >"$T/wgb.log" 2>&1 & PIDS+=($!)
for _ in $(seq 50); do [ -S "/var/run/wireguard/$A.sock" ] && [ -S "/var/run/wireguard/$B.sock" ] && break; sleep 0.1; done
(umask 077; wg genkey >"$T/a.key"; wg genkey >"$T/b.key")
PA=$(wg pubkey <"$T/a.key"); PB=$(wg pubkey <"$T/b.key")
# Each side's configured endpoint is a closed port: direct handshakes go nowhere.
nx wg set "$A" private-key "$T/a.key" listen-port 41001 peer "$PB" endpoint 127.0.0.1:41009 \
	allowed-ips 10.99.0.2/32 persistent-keepalive 5 || fail "wg set A"
nx wg set "$B" private-key "$T/b.key" listen-port 41002 peer "$PA" endpoint 127.0.0.1:41008 \
	allowed-ips 10.99.0.1/32 persistent-keepalive 5 || fail "wg set B"
nx ip link set "$A" up; nx ip link set "$B" up

: >"$T/r.conf"
(umask 077; wg genkey >"$T/r.key")
chmod 600 "$T/a.key" "$T/b.key"
RK=$("$WGRELAYD" -c "$T/r.conf" --key-file "$T/r.key" --show-public-key) || fail "relay key"
nx "$WGRELAYD" -c "$T/r.conf" --key-file "$T/r.key" --listen 127.0.0.1:41821 \
	--port-range 42000-42100 --allow-loopback --allow-private >"$T/relay.log" 2>&1 & PIDS+=($!)
sleep 0.5

mkdir -p "$T/ha" "$T/hb"
wa() { WGRELAY_DB=$T/ha/wgrelay.db WGRELAY_GEOIP=$T/none nx "$WGRELAY" "$@"; }
wb() { WGRELAY_DB=$T/hb/wgrelay.db WGRELAY_GEOIP=$T/none nx "$WGRELAY" "$@"; }
wa add-bootstrap-relay --allow-loopback 127.0.0.1:41821 "$RK" || fail "add-bootstrap A"
wb add-bootstrap-relay --allow-loopback 127.0.0.1:41821 "$RK" || fail "add-bootstrap B"
out=$(wa list-relays) || fail "list-relays"
echo "$out"
echo "$out" | grep -E "127.0.0.1:41821 .* ok .* [0-9]+ ms" >/dev/null || fail "relay not ok with RTT"
wa list-relays --json --no-probe | grep '"status": "ok"' >/dev/null || fail "json"
wa configure-relay --enable "$A" --threshold-windows 2 | grep "interface $A: relay fallback enabled" >/dev/null || fail "configure A"
wb configure-relay --enable "$B" | grep enabled >/dev/null || fail "configure B"

# Started directly (not through a function) so $! is the helper itself.
ip netns exec "$NS" env WGRELAY_DB="$T/ha/wgrelay.db" WGRELAY_GEOIP="$T/none" "$WGRELAY" -v watch \
	>"$T/helper-a.log" 2>&1 & HA=$!; PIDS+=("$HA")
ip netns exec "$NS" env WGRELAY_DB="$T/hb/wgrelay.db" WGRELAY_GEOIP="$T/none" "$WGRELAY" -v watch \
	>"$T/helper-b.log" 2>&1 & HB=$!; PIDS+=("$HB")

# Two failed 5 s windows, then the switch; WireGuard retries every 5 s: allow 60 s.
ok=0
for _ in $(seq 60); do
	sa=$(wa status "$A" dump 2>/dev/null); sb=$(wb status "$B" dump 2>/dev/null)
	hs=$(nx wg show "$A" latest-handshakes | awk '{print $2}')
	if echo "$sa" | grep -q relayed && echo "$sb" | grep -q relayed && [ "${hs:-0}" != 0 ]; then ok=1; break; fi
	sleep 1
done
wa status
wb status --json
[ $ok = 1 ] || fail "peers not relayed with a completed handshake"
wa status "$A" | grep -E "why: .*(handshake attempts unanswered on 127.0.0.1:41009|peer became active on relay 127.0.0.1:41821 \(direct 127.0.0.1:41009)" >/dev/null || fail "why"
nx wg show "$A" endpoints | grep -q "127.0.0.1:420" || fail "A endpoint is not a relay port"

# wg syncconf / a wg-quick reload puts the configured endpoint back: the helper re-applies.
nx wg set "$B" peer "$PA" endpoint 127.0.0.1:41008
for _ in $(seq 30); do nx wg show "$B" endpoints | grep -q "127.0.0.1:420" && break; sleep 0.2; done
nx wg show "$B" endpoints | grep -q "127.0.0.1:420" || fail "reset endpoint not re-applied"
# The helper says so when it was the one that put it back; A's traffic through the relay can
# roam B's WireGuard back first, between two of the helper's reads.
grep -q "endpoint was reset, re-applying" "$T/helper-b.log" ||
	echo "client_relay: WireGuard roamed back to the relay before the helper's next read"

# The daemon shares what its links learned with the other commands (every 10 s).
for _ in $(seq 30); do
	wa list-relays --no-probe | grep -qE "127.0.0.1:41821 .* ok .* [0-9]+ ms" && break
	sleep 0.5
done
wa list-relays --no-probe | grep -E "127.0.0.1:41821 .* ok .* [0-9]+ ms" >/dev/null || fail "relay state from watch"

# A crash leaves the peer on the relay; the next run adopts it from relay_sessions.
kill -KILL "$HA"; wait "$HA" 2>/dev/null
nx wg show "$A" endpoints | grep -q "127.0.0.1:420" || fail "endpoint changed by a crash"
ip netns exec "$NS" env WGRELAY_DB="$T/ha/wgrelay.db" WGRELAY_GEOIP="$T/none" "$WGRELAY" -v watch \
	>"$T/helper-a2.log" 2>&1 & HA=$!; PIDS+=("$HA")
for _ in $(seq 50); do grep -q "adopted on relay" "$T/helper-a2.log" && break; sleep 0.2; done
grep -q "adopted on relay 127.0.0.1:41821" "$T/helper-a2.log" || fail "not adopted after a crash"
sleep 6
wa status "$A" dump | grep -q "	relayed	" || fail "adopted peer not relayed"

# One helper per database: a second one on A's refuses, naming the first.
out=$(WGRELAY_DB=$T/ha/wgrelay.db WGRELAY_GEOIP=$T/none timeout 10 ip netns exec "$NS" "$WGRELAY" watch 2>&1); rc=$?
[ $rc = 1 ] || fail "a second helper on A's database exited $rc, not 1: $out"
echo "$out" | grep -q "another wgrelay watch (pid $HA) is running on $T/ha/wgrelay.db" ||
	fail "a second helper does not name the first: $out"
kill -0 "$HA" || fail "the first helper is gone"

# SIGTERM is a restart: both peers stay on the relay for the next run.
kill -TERM "$HA" "$HB"; wait "$HA" "$HB"
grep -q "SIGTERM: relayed peers stay on their relays" "$T/helper-a2.log" || fail "no SIGTERM line"
nx wg show "$A" endpoints | grep -q "127.0.0.1:420" || fail "A left the relay on SIGTERM"
nx wg show "$B" endpoints | grep -q "127.0.0.1:420" || fail "B left the relay on SIGTERM"
ip netns exec "$NS" env WGRELAY_DB="$T/ha/wgrelay.db" WGRELAY_GEOIP="$T/none" "$WGRELAY" -v watch \
	>"$T/helper-a3.log" 2>&1 & HA=$!; PIDS+=("$HA")
ip netns exec "$NS" env WGRELAY_DB="$T/hb/wgrelay.db" WGRELAY_GEOIP="$T/none" "$WGRELAY" -v watch \
	--restore-on-exit >"$T/helper-b2.log" 2>&1 & HB=$!; PIDS+=("$HB")
for _ in $(seq 50); do
	grep -q "adopted on relay" "$T/helper-a3.log" && grep -q "adopted on relay" "$T/helper-b2.log" && break
	sleep 0.2
done
grep -q "adopted on relay" "$T/helper-a3.log" || fail "A not adopted after SIGTERM"
grep -q "adopted on relay" "$T/helper-b2.log" || fail "B not adopted after SIGTERM"

# Leaving clean: SIGUSR1, or SIGTERM under --restore-on-exit.
kill -USR1 "$HA"; kill -TERM "$HB"; wait "$HA" "$HB"
nx wg show "$A" endpoints | grep -q "127.0.0.1:41009" || fail "A endpoint not restored"
nx wg show "$B" endpoints | grep -q "127.0.0.1:41008" || fail "B endpoint not restored"
nx wg show "$A" persistent-keepalive | grep -q 5 || fail "A keepalive not restored"
wa status "$A" dump | grep -q "	direct	" || fail "status after exit"
echo PASS
