#!/bin/sh
# Scenario 22: wgrelayd as a libp2p Circuit Relay v2 relay for real js-libp2p nodes
# (docs/LIBP2P.md). r1 runs wgrelayd with a config holding only a [Libp2p] section
# (MaxReservations 2, MaxCircuitsPerPeer 5, ReservationTTL 45 s); the libp2p nodes are
# js-libp2p from tests/libp2p (listener.mjs, dialer.mjs):
#   1. node A behind a NAT reserves on r1 and gets its relayed address;
#   2. node B, behind another NAT, dials A through r1: ping, then 10 MiB over an echo protocol
#      arrive back byte-identical;
#   3. with A's reservation and a second peer's held, a third peer's reservation is refused
#      with RESERVATION_REFUSED (MaxReservations; circuit-v2.md names that status for too
#      many reservations, RESOURCE_LIMIT_EXCEEDED for too many relayed connections);
#   4. six peers dial A at once: five circuits open, the sixth is refused with
#      RESOURCE_LIMIT_EXCEEDED (MaxCircuitsPerPeer counts A's end);
#   5. 5000 random bytes at r1's libp2p port: the connection is closed, while B's circuit
#      opened before it still pings and echoes afterwards;
#   6. A's reservation renews (js renews 30 s after reserving when the TTL is that short):
#      A sees the renewal and r1 logs it;
#   7. r1's log has the events of each step and, at exit, a stats line with the libp2p fields.
# Steps 2 to 5 also read r1's counters on /metrics (relayed bytes, denials by request and
# status, refused connections).
# RELAY=js runs the same against js-libp2p's own relay (tests/libp2p/relay.mjs), which has no
# per-peer circuit limit: step 4 then only reports; /metrics and step 7 are wgrelayd's alone.
# Skips (77) without node or without js-libp2p in tests/libp2p (make deps).
# shellcheck disable=SC2015 # "A && B || C": C when A or B fails, as meant
# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
. "$WGR_SOURCE_DIR/sim/world.sh"
. "$WGR_SOURCE_DIR/sim/libp2p.sh"
world_skip_unless_able
lp_skip_unless_able
for t in curl python3 ss; do
	command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
done
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
RELAY=${RELAY:-wgrelayd}
TTL=45
world_init || exit 1
fail=0
step() { echo "check: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
# msum REGEX: the sum of r1's /metrics values whose name{labels} matches REGEX (0: none)
msum()
{
	world_x r1 curl -s --max-time 2 http://127.0.0.1:9821/metrics 2>/dev/null |
		awk -v re="$1" '$1 ~ re { s += $2 } END { print s + 0 }'
}
wg=0
[ "$RELAY" = wgrelayd ] && wg=1
finish()
{
	if [ $fail = 0 ]; then
		echo PASS
	else
		world_dumplogs
	fi
	exit $fail
}

# ---- the world: r1 on the core, a and b behind NATs
world_public r1 203.0.113.10/24 || exit 1
world_natted a ra 198.51.100.10 1 restricted || exit 1
world_natted b rb 198.51.100.11 2 restricted || exit 1
cat >"$WS/r1.p2p.conf" <<EOF
[Libp2p]
Listen = 203.0.113.10:4001
MaxReservations = 2
MaxCircuitsPerPeer = 5
ReservationTTL = $TTL
EOF
lp_relay r1 "$RELAY" 203.0.113.10 4001 --max-reservations 2 --reservation-ttl $TTL \
	--timeout 230 || { bad "relay: $RELAY on r1 did not start"; finish; }
R=$(cat "$WS/r1.maddr")
echo "world $W: relay r1 ($RELAY) $R; a and b behind NATs (198.51.100.10, .11)"
rlog=$WS/r1.relayd.log
[ "$RELAY" = js ] && rlog=$WS/r1.relay.log

# ---- 1. A reserves
step "1. node A (behind ra) reserves on r1"
lp_js a a listener.mjs "$R" --timeout 220
world_wait 30 lp_has a '^relayed \|^refused \|^failed ' || true
A=$(lp_field a relayed)
t_resv=$(date +%s)
case $A in
"$R/p2p-circuit/p2p/"*) echo "  A: relayed $A" ;;
*)
	bad "A has no relayed address: $(tail -3 "$WS/a.log")"
	finish
	;;
esac
conns=$(world_x r1 ss -Htn state established "sport = :4001" | awk '{ print $4 }')
echo "  r1's libp2p connections come from: $conns"
case $conns in
*198.51.100.10:*) ;;
*) bad "A's connection does not come from its NAT's address 198.51.100.10" ;;
esac

# ---- 2. B dials A: ping and 10 MiB echo
step "2. node B (behind rb) dials A through r1: ping and a 10 MiB echo"
lp_run b dialer.mjs "$A" --bytes 10485760 --timeout 90 >"$WS/b.log"
sed 's/^/  B: /' "$WS/b.log" | grep -v 'js error'
lp_has b '^ping OK ' || bad "B: no ping answer"
lp_has b '^echo OK 10485760 bytes' || bad "B: the 10 MiB echo did not come back byte-identical"
lp_has a '^echo 10485760 bytes' || bad "A: did not echo 10 MiB"
if [ $wg = 1 ]; then
	n=$(msum '^wgrelayd_libp2p_relayed_bytes_total')
	echo "  r1: relayed $n bytes"
	[ "$n" -ge $((2 * 10485760)) ] || bad "r1 counted $n relayed bytes, fewer than 2 x 10 MiB"
fi

# ---- 3. reservations beyond MaxReservations
want=RESERVATION_REFUSED
step "3. a second peer reserves (2 of MaxReservations 2), a third is refused with $want"
lp_js b c1 listener.mjs "$R" --timeout 60
world_wait 30 lp_has c1 '^relayed \|^refused \|^failed ' || true
lp_has c1 '^relayed ' && echo "  peer 2: reserved" || bad "peer 2: $(grep -v 'js error' "$WS/c1.log" | tail -1)"
lp_run b listener.mjs "$R" --timeout 30 >"$WS/c2.log"
echo "  peer 3: $(grep -v 'js error' "$WS/c2.log")"
lp_has c2 "^refused $want\$" || bad "peer 3: not refused with $want"
grep 'js error' "$WS/c2.log" | sed 's/^/    /' | cut -c1-300
if [ $wg = 1 ]; then
	n=$(msum "^wgrelayd_libp2p_denied_total.*request=\"reserve\".*status=\"$want\"")
	echo "  r1: reservations denied with $want: $n"
	[ "$n" -ge 1 ] || bad "r1 did not count the refused reservation"
fi
# peer 2 leaves: its connection closes and its reservation goes with it (on wgrelayd)
kill "$(cat "$WS/c1.pid")" 2>/dev/null

# ---- 4. circuits beyond MaxCircuitsPerPeer
step "4. six peers each open a circuit to A: five open, the sixth refused ($RELAY)"
lp_run b dialer.mjs "$A" --circuits 6 --timeout 90 >"$WS/c6.log"
grep '^circuit ' "$WS/c6.log" | sed 's/^/  /'
grep 'js error' "$WS/c6.log" | sed 's/^/    /' | cut -c1-300
nok=$(grep -c '^circuit [0-9]* OK$' "$WS/c6.log")
if [ "$RELAY" = js ]; then
	echo "  js-libp2p's relay has no per-peer circuit limit: $nok of 6 opened"
	[ "$nok" = 6 ] || bad "js relay: only $nok of 6 circuits opened"
else
	[ "$nok" = 5 ] || bad "$nok circuits opened, want 5"
	grep -q '^circuit 6 refused RESOURCE_LIMIT_EXCEEDED$' "$WS/c6.log" ||
		bad "the sixth circuit was not refused with RESOURCE_LIMIT_EXCEEDED"
	n=$(msum '^wgrelayd_libp2p_denied_total.*request="connect".*status="RESOURCE_LIMIT_EXCEEDED"')
	echo "  r1: circuits denied with RESOURCE_LIMIT_EXCEEDED: $n"
	[ "$n" -ge 1 ] || bad "r1 did not count the refused circuit"
fi

# ---- 5. garbage at the port while a circuit is open
step "5. garbage at r1's libp2p port is refused; a circuit opened before keeps working"
rm -f "$WS/again"
lp_js b b2 dialer.mjs "$A" --bytes 1048576 --again "$WS/again" --timeout 90
world_wait 30 lp_has b2 '^echo OK \|^failed \|^refused ' || true
lp_has b2 '^echo OK ' || bad "B's second circuit: $(tail -2 "$WS/b2.log")"
ref0=$(msum '^wgrelayd_libp2p_refused_total')
# shellcheck disable=SC2016 # python, not shell
g=$(world_x b "$PY" -c '
import os, socket, time
s = socket.create_connection(("203.0.113.10", 4001), timeout=5)
t = time.time()
try:
    s.sendall(os.urandom(5000))
    s.settimeout(15)
    while s.recv(4096):
        pass
    print("closed after %.1f s" % (time.time() - t))
except socket.timeout:
    print("still open after 15 s")
except OSError as e:
    print("closed after %.1f s (%s)" % (time.time() - t, os.strerror(e.errno or 0)))
')
echo "  garbage: the connection was $g"
case $g in
closed*) ;;
*) bad "garbage: the relay did not close the connection" ;;
esac
if [ $wg = 1 ]; then
	# shellcheck disable=SC2317 # run by world_wait
	counted() { [ "$(msum '^wgrelayd_libp2p_refused_total')" -gt "$ref0" ]; }
	world_wait 5 counted && echo "  r1: refused connections $ref0 -> $(msum '^wgrelayd_libp2p_refused_total')" ||
		bad "r1 did not count the garbage connection as refused"
fi
touch "$WS/again"
# shellcheck disable=SC2317 # run by world_wait
second_echo() { [ "$(grep -c '^echo OK ' "$WS/b2.log")" -ge 2 ] || lp_has b2 '^failed '; }
world_wait 30 second_echo || true
sed 's/^/  B: /' "$WS/b2.log" | grep -v 'js error'
[ "$(grep -c '^echo OK ' "$WS/b2.log")" = 2 ] ||
	bad "the circuit opened before the garbage does not echo afterwards"
[ "$(grep -c '^ping OK ' "$WS/b2.log")" = 2 ] ||
	bad "the circuit opened before the garbage does not ping afterwards"

# ---- 6. renewal
step "6. A's reservation renews (js renews 30 s after reserving; TTL $TTL s)"
world_wait $((t_resv + TTL + 10 - $(date +%s))) lp_has a '^renewed ' || true
if lp_has a '^renewed '; then
	echo "  A: $(grep -m1 '^renewed ' "$WS/a.log") after $(($(date +%s) - t_resv)) s"
else
	bad "A never renewed its reservation"
fi
if [ $wg = 1 ]; then
	world_wait 5 grep -q 'reservation renewed' "$rlog" || true
	grep -q 'reservation renewed' "$rlog" && echo "  r1: $(grep -m1 'reservation renewed' "$rlog")" ||
		bad "r1 did not log the renewal"
fi
# the renewed reservation still carries circuits
lp_run b dialer.mjs "$A" --bytes 65536 --timeout 60 >"$WS/b3.log"
lp_has b3 '^echo OK 65536 bytes' && echo "  B dials A again after the renewal: ok" ||
	bad "B cannot reach A after the renewal: $(tail -1 "$WS/b3.log")"

# ---- 7. events and stats
if [ $wg = 1 ]; then
	step "7. r1's log: events of each step, and the stats line with libp2p fields at exit"
	p=$(cat "$WS/r1.relaypid")
	kill "$p"
	i=0
	while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	for ev in 'reservation accepted' 'reservation renewed' 'circuit accepted' 'circuit closed' \
		'denied.*RESERVATION_REFUSED' 'denied.*RESOURCE_LIMIT_EXCEEDED'; do
		l=$(grep 'event: ' "$rlog" | grep -m1 "$ev")
		[ -n "$l" ] && echo "  r1: ${l#*event: }" || bad "r1 logged no event with '$ev'"
	done
	l=$(grep 'stats: ' "$rlog" | grep 'libp2p' | tail -1)
	[ -n "$l" ] && echo "  r1: ${l#*stats: }" || bad "r1's stats line has no libp2p fields"
fi
finish
