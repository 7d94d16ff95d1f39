#!/bin/sh
# Scenario 25: the helper carries WireGuard over multi-hop circuits (configure-relay --hops N;
# PROTOCOL.md §13.6). Six relays with [Relay] Circuits = on in a full mesh, two in each of three
# /16s (203.0.113, 198.51.100, 192.0.2.128/25: no two hops of a path in one /16), each stating a
# country. Peers a and b behind symmetric NATs run wireguard-go and `wgrelay watch`, which know
# two relays from add-bootstrap-relay and discover the rest; a is set to 3 hops, b to 2. No
# circuit is given by the test: each helper chooses its guards, the pair's rendezvous and its
# paths from the descriptors it verified.
#   1. ping both ways within 90 s; WireGuard's endpoint for the other peer is a local port;
#      status shows each hop (country, key prefix) ending at the same rendezvous on both
#      sides; the MTU is lowered (--mtu auto: 1314 for circuits of up to 3 hops) and a
#      full-size ping passes; iperf3 a -> b for 3 s (rate printed, no threshold);
#   2. from tcpdump captures on every relay while pings run: CELL frames between a relay and
#      a peer only at that peer's entry (so none at the rendezvous or a's middle hop, unless
#      it is b's entry: then with b only); every CELL frame 1445 bytes; once the helpers
#      settled, each peer's address is seen by at most its 3 guards (the only relays a helper
#      on circuits alone links to), so the rendezvous sees neither unless it is a guard;
#   3. rotation (WGRELAY_CIRCUIT_ROTATE_S=30 on both sides, instead of 10 min): with pings
#      every 0.2 s over two rotation periods, both sides rotate and no ping is lost;
#   4. a's middle relay killed (kill -9) while pings run: both sides switch to their prebuilt
#      circuits (heartbeats missed for 3 s) and the longest gap in the pings is printed and
#      bounded (the goal is 5 s);
#   4b. that relay started again, the rendezvous killed: both sides find builds stop at it and
#      move to the next relay of the pair's ranking; the gap is printed and bounded (60 s);
#   5. the helpers stop (SIGTERM): WireGuard stays on the closed local port (nothing goes
#      direct), a restarted helper carries the pair again; `--hops 0` puts a's original endpoint
#      back.
# The figures are printed as "figure: NAME VALUE" lines.
# shellcheck disable=SC2015 # "A && B || C": C when A or B fails, as meant
# shellcheck disable=SC2119 # world_init's argument (a world id) is optional
# shellcheck disable=SC2317 # the small predicates below are run by world_wait
. "$WGR_SOURCE_DIR/sim/world.sh"
world_skip_unless_able
for t in curl tcpdump; do
	command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
done
world_init || exit 1
world_core_192 || exit 1
# shellcheck source=sim/circworld.sh
. "$WGR_SOURCE_DIR/sim/circworld.sh"
T0=$(date +%s)
fail=0
bad() { echo "FAIL: $*"; fail=1; }
figure() { echo "figure: $1 $2"; }
rip() # relay I's address: two relays in each of three /16s
{
	case $1 in
	1) echo 203.0.113.10 ;;
	2) echo 203.0.113.11 ;;
	3) echo 198.51.100.20 ;;
	4) echo 198.51.100.21 ;;
	5) echo 192.0.2.130 ;;
	6) echo 192.0.2.131 ;;
	esac
}
# shellcheck disable=SC2034 # read by circ_relay_conf (circworld.sh)
{
	CIRC_RELAY_EXTRA_1='Country = DE'
	CIRC_RELAY_EXTRA_2='Country = NL'
	CIRC_RELAY_EXTRA_3='Country = FR'
	CIRC_RELAY_EXTRA_4='Country = BE'
	CIRC_RELAY_EXTRA_5='Country = PL'
	CIRC_RELAY_EXTRA_6='Country = CZ'
}
ROTATE=30
export WGRELAY_CIRCUIT_ROTATE_S=$ROTATE # read by the helpers world_watch starts

circ_relays || { bad "the relays did not start"; exit 1; }
t0=$(date +%s)
if world_wait 60 circ_mesh_up; then
	echo "  the full mesh is up after $(($(date +%s) - t0)) s"
else
	bad "the mesh did not come up"
	world_dumplogs
	exit 1
fi
{
	for _i in 1 2 3 4 5 6; do echo "$(rip $_i)/32 50.0 10.0 R$_i DE"; done
	echo "198.51.100.10/32 48.86 2.35 Paris FR"
	echo "198.51.100.11/32 52.52 13.40 Berlin DE"
} >"$WS/geo.txt"
world_geoip "$WS/geo.txt" || exit 1
world_natted a ra 198.51.100.10 1 symmetric || exit 1
world_natted b rb 198.51.100.11 2 symmetric || exit 1
world_core_192_route a 1 && world_core_192_route b 2 || exit 1
world_wg a 192.0.2.1 && world_wg b 192.0.2.2 || exit 1
world_wg_peer a b && world_wg_peer b a || exit 1
wgrelay_in a configure-relay "${W}a" --hops 3 >/dev/null || exit 1
wgrelay_in b configure-relay "${W}b" --hops 2 >/dev/null || exit 1
world_helper a r1 r3 && world_helper b r1 r3 || exit 1

name_of() # KEY-PREFIX: the relay rN whose Noise key starts so
{
	for _i in 1 2 3 4 5 6; do
		case $(cat "$WS/r$_i.rpub") in "$1"*)
			echo "r$_i"
			return 0
			;;
		esac
	done
	return 1
}
circuit() { wgrelay_in "$1" status "$W$1" --json 2>/dev/null | sed -n 's/.*"circuit": *"\([^"]*\)".*/\1/p' | head -n 1; }
# hops PEER: the relays of PEER's circuit in use, entry first, rendezvous last (rN words)
hops()
{
	circuit "$1" | sed 's/^[0-9]* hops*://; s/;.*//' | tr ',' '\n' |
		awk '{ print $2 }' | while read -r _k; do name_of "$_k"; done | tr '\n' ' ' | sed 's/ $//'
}
spliced() { circuit a | grep -q spliced && circuit b | grep -q spliced; }
local_ep() { world_endpoint "$1" "$2" | grep -Eq '^127\.0\.0\.1:[0-9]+$'; }
mtu() { ip -n "$W-$1" link show "$W$1" | sed -n 's/.* mtu \([0-9]*\).*/\1/p'; }
# gaps FILE: the longest run of unanswered pings in the output of pings_bg (one each 0.2 s),
# to the end of the run included, in ms
gaps()
{
	awk '/icmp_seq=/ { sub(/.*icmp_seq=/, ""); s = $1 + 0; if (s - p > m) m = s - p; p = s }
		/packets transmitted/ { if ($1 + 1 - p > m) m = $1 + 1 - p }
		END { printf "%d\n", m * 200 }' "$1"
}
lost() { awk '/packets transmitted/ { print $1 - $4 }' "$1"; }
pings_bg() # FROM TO COUNT FILE: pings every 0.2 s in the background, with timestamps
{
	world_x "$1" ping -D -n -c "$3" -i 0.2 -W 1 "$(cat "$WS/$2.tun")" >"$4" 2>&1 &
	world_pid $!
	echo $! >"$4.pid"
}

# 1. The pair meets over circuits the helpers chose.
echo "step 1: a --hops 3, b --hops 2; helpers know r1 and r3"
t0=$(date +%s)
if world_wait 90 world_ping a b 1 1; then
	echo "  first ping a->b after $(($(date +%s) - t0)) s"
	figure first_ping_s $(($(date +%s) - t0))
else
	bad "no ping a->b over circuits within 90 s"
fi
world_wait 10 spliced || bad "not spliced on both sides (a: '$(circuit a)', b: '$(circuit b)')"
for _p in a b; do
	_o=b
	[ $_p = b ] && _o=a
	echo "  $_p: endpoint for $_o $(world_endpoint $_p $_o); circuit: $(circuit $_p)"
	local_ep $_p $_o || bad "$_p's endpoint for $_o is not a local port"
done
HA=$(hops a)
HB=$(hops b)
echo "  a's path: $HA; b's path: $HB"
[ "$(echo "$HA" | wc -w)" = 3 ] || bad "a's circuit is not 3 hops: '$HA'"
[ "$(echo "$HB" | wc -w)" = 2 ] || bad "b's circuit is not 2 hops: '$HB'"
RDV=${HA##* }
[ "$RDV" = "${HB##* }" ] || bad "a and b name different rendezvous relays: '$HA' / '$HB'"
AENTRY=${HA%% *}
BENTRY=${HB%% *}
AMID=$(echo "$HA" | awk '{ print $2 }')
wgrelay_in a status "${W}a" | sed 's/^/  | /'
MTU=$(mtu a)
echo "  a's MTU $MTU, b's $(mtu b)"
figure wg_mtu "$MTU"
[ "$MTU" = 1314 ] && [ "$(mtu b)" = 1314 ] || bad "MTU not lowered to 1314 for circuits"
world_x a ping -n -q -c 3 -i 0.3 -W 2 -M "do" -s $((MTU - 28)) 192.0.2.2 >/dev/null 2>&1 ||
	bad "a full-size ping a->b (MTU $MTU) failed"
if command -v iperf3 >/dev/null 2>&1; then
	if world_iperf 3; then
		rate=$(awk '/receiver/ { print $7, $8 }' "$WS/iperf.txt")
		echo "  iperf3 a->b over 3 + 2 hops: $rate"
		figure iperf_3_2hops "$rate"
	else
		bad "iperf3 a->b over the circuits failed"
		tail -n 5 "$WS/iperf.txt"
	fi
fi

# 2. Captures while pings run, of paths that did not change meanwhile (a rotation every 30 s
# may fall in the window: then the capture is taken again, up to three times).
rot() { circuit "$1" | sed -n 's/.*; \([0-9]*\) rotations*,.*/\1/p'; }
paths_now() { echo "$(hops a)/$(hops b)/$(rot a)/$(rot b)"; }
try=0
while :; do
	try=$((try + 1))
	before=$(paths_now)
	HA=${before%%/*}
	HB=$(echo "$before" | cut -d/ -f2)
	RDV=${HA##* }
	AENTRY=${HA%% *}
	BENTRY=${HB%% *}
	AMID=$(echo "$HA" | awk '{ print $2 }')
	cap_start circ
	pings_bg a b 25 "$WS/cap.ab"
	wait "$(cat "$WS/cap.ab.pid")"
	cap_stop
	[ "$(paths_now)" = "$before" ] && break
	[ $try -lt 3 ] || { bad "the paths changed during each of 3 captures"; break; }
	echo "  (a rotation during the capture: again)"
done
echo "step 2: what each relay saw (entries a: $AENTRY, b: $BENTRY; a's middle $AMID; rendezvous $RDV)"
seen_a=0
seen_b=0
for _i in 1 2 3 4 5 6; do
	_r=r$_i
	_f="$WS/$_r.circ.pcap"
	_all=$(cap_count "$_f" udp)
	_odd=$(cap_count "$_f" "$CELL and udp[4:2] != $((1445 + 8))")
	_pa=$(cap_count "$_f" "$CELL and host $(world_ip a)")
	_pb=$(cap_count "$_f" "$CELL and host $(world_ip b)")
	_seen=$(cap_hosts "$_f" | grep -Fxv -e "$(rip 1)" -e "$(rip 2)" -e "$(rip 3)" -e "$(rip 4)" \
		-e "$(rip 5)" -e "$(rip 6)" | tr '\n' ' ')
	echo "  $_r: $_all datagrams; CELL frames with a $_pa, with b $_pb; of another size: $_odd;" \
		"other addresses seen: ${_seen:-none}"
	[ "$_all" -gt 0 ] || bad "$_r's capture is empty"
	[ "$_odd" = 0 ] || bad "$_r: $_odd CELL frame(s) not 1445 bytes long"
	if [ $_r = "$AENTRY" ]; then [ "$_pa" -gt 0 ] || bad "a's entry $_r carried no CELL of a"
	else [ "$_pa" = 0 ] || bad "$_r is not a's entry but exchanged $_pa CELL frames with a"; fi
	if [ $_r = "$BENTRY" ]; then [ "$_pb" -gt 0 ] || bad "b's entry $_r carried no CELL of b"
	else [ "$_pb" = 0 ] || bad "$_r is not b's entry but exchanged $_pb CELL frames with b"; fi
	case " $_seen " in *" $(world_ip a) "*) seen_a=$((seen_a + 1)) ;; esac
	case " $_seen " in *" $(world_ip b) "*) seen_b=$((seen_b + 1)) ;; esac
done
echo "  relays that saw a's address at all: $seen_a, b's: $seen_b (their guards, at most 3 each)"
[ $seen_a -le 3 ] && [ $seen_b -le 3 ] || bad "more relays than the 3 guards saw a peer's address"
[ "$(lost "$WS/cap.ab")" = 0 ] || bad "$(lost "$WS/cap.ab") ping(s) lost during the captures"

# 3. Rotation with pings running: nothing lost.
echo "step 3: rotation every $ROTATE s, pings every 0.2 s for $((2 * ROTATE + 5)) s"
ra0=$(rot a)
rb0=$(rot b)
pings_bg a b $(((2 * ROTATE + 5) * 5)) "$WS/rot.ab"
wait "$(cat "$WS/rot.ab.pid")"
ra1=$(rot a)
rb1=$(rot b)
echo "  rotations a ${ra0:-?} -> ${ra1:-?}, b ${rb0:-?} -> ${rb1:-?}; pings lost $(lost "$WS/rot.ab")," \
	"longest gap $(gaps "$WS/rot.ab") ms; a now: $(hops a)"
figure rotation_pings_lost "$(lost "$WS/rot.ab")"
[ "${ra1:-0}" -gt "${ra0:-0}" ] && [ "${rb1:-0}" -gt "${rb0:-0}" ] || bad "no rotation on both sides"
[ "$(lost "$WS/rot.ab")" = 0 ] || bad "$(lost "$WS/rot.ab") ping(s) lost over rotations"

# kill_while_pinging RELAY COUNT TAG BOUND_MS WHAT: pings a -> b (COUNT, 0.2 s apart), RELAY
# killed 4 s in; the longest gap printed as figure TAG_gap_ms and bounded; a's circuit no longer
# through RELAY; a ping passes after.
kill_while_pinging()
{
	pings_bg a b "$2" "$WS/$3.ab"
	sleep 4
	world_kill "$1.relaydpid"
	wait "$(cat "$WS/$3.ab.pid")"
	gap=$(gaps "$WS/$3.ab")
	echo "  longest gap in the pings: $gap ms ($(lost "$WS/$3.ab") of $2 lost); a now: $(hops a);" \
		"b now: $(hops b)"
	figure "$3_gap_ms" "$gap"
	[ "$gap" -le "$4" ] || bad "the tunnel was down ${gap} ms after $5 $1 died (bound $4 ms)"
	case " $(hops a) " in *" $1 "*) bad "a's circuit still goes through the dead $1" ;; esac
	world_ping a b 1 2 || bad "no ping after $5 $1 died"
}

# 4. a's middle relay dies: back within 10 s (the goal is 5 s).
HA=$(hops a)
AMID=$(echo "$HA" | awk '{ print $2 }')
echo "step 4: a's path $HA: its middle relay $AMID killed while pings run"
kill_while_pinging "$AMID" 100 kill 10000 "the middle relay"

# 4b. The rendezvous dies (the killed middle relay back first, so one relay is down at a time).
world_relay_net_start "$AMID" || bad "$AMID did not start again"
world_wait 30 circ_mesh_up || bad "the mesh did not come back with $AMID"
HA=$(hops a)
RDV=${HA##* }
echo "step 4b: the rendezvous $RDV killed while pings run (a: $HA, b: $(hops b))"
kill_while_pinging "$RDV" 450 rdv_kill 60000 "the rendezvous"

# 5. The helpers stop: fail closed; a restart carries the pair again; --hops 0 restores.
echo "step 5: helpers stopped (SIGTERM), started again, then a --hops 0"
for _p in a b; do world_stop_pid "$(cat "$WS/$_p.watchpid")" 50; done
echo "  a's endpoint for b with no helper: $(world_endpoint a b)"
local_ep a b || bad "a's WireGuard left the local port when the helper stopped"
world_watch a
world_watch b
t0=$(date +%s)
if world_wait 60 world_ping a b 1 1; then
	echo "  ping again $(($(date +%s) - t0)) s after the restart; a: $(circuit a)"
else
	bad "no ping within 60 s of the helpers' restart"
fi
wgrelay_in a configure-relay "${W}a" --hops 0 >/dev/null || bad "configure-relay --hops 0 failed"
direct_ep() { [ "$(world_endpoint a b)" = "$(world_ip b):51820" ]; }
if world_wait 30 direct_ep; then
	echo "  a's endpoint for b back to $(world_endpoint a b)"
else
	bad "a's endpoint for b is $(world_endpoint a b), not $(world_ip b):51820, after --hops 0"
fi

if [ $fail != 0 ]; then
	for _p in a b; do
		echo "---- $_p status"
		wgrelay_in $_p status "$W$_p"
	done
	world_dumplogs
fi
echo "scenario 25 took $(($(date +%s) - T0)) s"
exit $fail
