#!/bin/sh
# Scenario 24: multi-hop circuits (PROTOCOL.md §13) carrying real WireGuard. Six relays r1..r6
# with [Relay] Circuits = on in a full mesh (a relay extends a circuit over the relay link it
# has up, or dials one); a and b behind symmetric NATs run wireguard-go, each WireGuard's
# endpoint for the other being a local wgr-circ (sim/wgr-circ.c), which stands in for the
# helper on fixed paths: one link to the entry relay and one circuit to a rendezvous cookie, so
# this is a test of the relays and of common/circbuild.c with WireGuard (scenario 25 is the
# helper's). The world's set-up is shared with bench/circuits.sh (sim/circworld.sh).
#   1. two hops each: a r1 -> r3, b r2 -> r3 (rendezvous r3). Ping both ways (RTTs printed),
#      a full-size ping at the MTU computed from circ_mtu, a datagram over it dropped by
#      wgr-circ and counted, iperf3 a -> b for 5 s (rate printed, no threshold);
#   2. from tcpdump captures on every relay (not from logs): each relay saw a peer's (NAT)
#      address only if it is that peer's entry (r1 a's, r2 b's, r3 none), and every CELL frame
#      (UDP payload F1 0A) on the wire, between relays or not, is 1445 bytes;
#   3. wgr-circ stopped: its DESTROY frees every relay's hops;
#   4. three hops for a (r1 -> r4 -> r5), two for b (r2 -> r5): ping both ways; the captures
#      show the middle relay r4 and the rendezvous r5 saw relays only;
#   5. r4 killed (kill -9): r1 and r5 drop their links to it (LinkTimeout 6 s), a's wgr-circ
#      is sent DESTROY within 30 s; b's circuit, spliced with a's, goes too and is built again,
#      so r5 holds b's hop alone; a's rebuild through r4 ends (r1 refuses the EXTEND, or dials
#      r4 for it and sends DESTROY after its 10 s extend timeout, or a's 10 s step timeout).
# WGR_CIRC_SOAK=SECONDS holds the 2-hop circuits that long with pings (past the client links'
# rekey at 120 s); the gate leaves it out. With tc netem, WGR_CIRC_DELAY_MS (default 5) per
# relay link makes the RTTs show the hop counts.
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
# shellcheck source=sim/circworld.sh
. "$WGR_SOURCE_DIR/sim/circworld.sh"
[ -x "$CIRC" ] || { echo "FAIL: $CIRC not built"; exit 1; }
T0=$(date +%s)
fail=0
bad() { echo "FAIL: $*"; fail=1; }
figure() { echo "figure: $1 $2"; }
circ_relays || { bad "the relays did not start"; exit 1; }
# With tc netem, each relay's link gains DELAY ms a round trip, so the RTTs show the hop
# counts (2 hops each: three relays on the path, 6 x DELAY; 3 + 2: four, 8 x DELAY). Without
# it (the NFQUEUE delay line would hold every cell of iperf3 in user space) there is none.
DELAY=0
if world_has_netem; then
	DELAY=${WGR_CIRC_DELAY_MS:-5}
	for _r in r1 r2 r3 r4 r5 r6; do world_netem $_r "$DELAY" 0 || exit 1; done
fi
echo "  relay links delayed ${DELAY} ms a round trip each"
show_relays() # the circuit metrics of every relay that answers, one line each
{
	for _r in r1 r2 r3 r4 r5 r6; do
		_m=$(world_x $_r curl -s --max-time 2 http://127.0.0.1:9821/metrics 2>/dev/null |
			awk '/^wgrelayd_(circuit_(hops|events_total|drops_total)|network_links)/ && $2 != "0" {
				sub("wgrelayd_", "", $1); printf " %s=%s", $1, $2 }')
		echo "  $_r:${_m:- (no answer)}"
	done
}
t0=$(date +%s)
if world_wait 40 circ_mesh_up; then
	echo "  the full mesh is up after $(($(date +%s) - t0)) s (5 relay links on each relay)"
else
	bad "the mesh did not come up"
	for _r in r1 r2 r3 r4 r5 r6; do echo "  $_r: $(links $_r) links"; done
	world_dumplogs
	exit 1
fi

circ_peers || exit 1

RELAYS='src net 203.0.113.0/24 and dst net 203.0.113.0/24'
# cap_check TAG RELAY PEER...: RELAY's capture shows, outside the relays, the public addresses
# of exactly the named peers (the peers whose entry it is); every CELL frame is 1445 bytes
cap_check()
{
	_f="$WS/$2.$1.pcap"
	_r=$2
	shift 2
	_want=
	for _p in "$@"; do _want="$_want $(world_ip "$_p")"; done
	_seen=$(cap_hosts "$_f" | grep -v '^203\.0\.113\.' | tr '\n' ' ' | sed 's/ $//')
	_want=$(echo "$_want" | tr ' ' '\n' | grep . | sort -u | tr '\n' ' ' | sed 's/ $//')
	_cells=$(cap_count "$_f" "$CELL")
	_rcells=$(cap_count "$_f" "$CELL and $RELAYS")
	_odd=$(cap_count "$_f" "$CELL and udp[4:2] != $((1445 + 8))")
	_all=$(cap_count "$_f" udp) # the positive control: heartbeats at least, once a second
	echo "  $_r: $_all datagrams; non-relay addresses seen: ${_seen:-none}; CELL frames" \
		"$_cells ($_rcells between relays), of another size than 1445: $_odd"
	[ "$_all" -gt 0 ] || bad "$_r's capture is empty"
	[ "$_seen" = "$_want" ] || bad "$_r saw '${_seen}', expected '${_want}'"
	[ "$_odd" = 0 ] || bad "$_r: $_odd CELL frame(s) not 1445 bytes long"
}
rtt() # FROM TO: ten pings, print "avg_ms lost"
{
	world_x "$1" ping -n -c 10 -i 0.2 -W 2 "$(cat "$WS/$2.tun")" 2>&1 |
		awk -F'[/ ]' '/packets transmitted/ { lost = $1 - $4 } /^rtt|^round-trip/ { avg = $8 }
			END { printf "%s %s\n", avg == "" ? "-" : avg, lost == "" ? 10 : lost }'
}
pings() # LABEL: RTTs both ways; a full-size ping both ways at MTU
{
	for _d in "a b" "b a"; do
		# shellcheck disable=SC2086 # two words
		set -- $_d
		_r=$(rtt "$1" "$2")
		echo "  ping $1->$2 over $LABEL: avg ${_r% *} ms, ${_r#* } of 10 lost"
		figure "ping_${1}${2}_${LABEL}_ms" "${_r% *}"
		[ "${_r#* }" -le 2 ] || bad "ping $1->$2 over $LABEL: ${_r#* } of 10 lost"
		world_x "$1" ping -n -q -c 3 -i 0.3 -W 2 -M "do" -s $((MTU - 28)) "$(cat "$WS/$2.tun")" \
			>/dev/null 2>&1 || bad "a full-size ping $1->$2 (MTU $MTU) over $LABEL failed"
	done
}
first_ping() # SECONDS
{
	_t=$(date +%s)
	if world_wait "$1" world_ping a b 1 1; then
		echo "  first ping a->b after $(($(date +%s) - _t)) s"
	else
		bad "no ping a->b through the circuits within $1 s"
		show_relays
		return 1
	fi
}

# 1. Two hops each, meeting at r3.
MTU=$(wg_mtu 2 2)
echo "step 1: a r1->r3, b r2->r3; WireGuard MTU $MTU (circ_mtu $((MTU + 32)), less 32 for WireGuard)"
figure wg_mtu_2hop "$MTU"
set_mtu "$MTU" || exit 1
cap_start 2hop
CK=$(cookie)
t0=$(date +%s)
circ_start a 2hop "$CK" r1 r3
circ_start b 2hop "$CK" r2 r3
if world_wait 20 spliced 2hop; then
	echo "  both circuits spliced at r3 after $(($(date +%s) - t0)) s"
else
	bad "the 2-hop circuits did not meet (a: $(status a 2hop state), b: $(status b 2hop state))"
	show_relays
fi
LABEL=2hop
first_ping 30 && pings
cap_stop
# A datagram over circ_mtu: WireGuard's MTU raised for one ping, wgr-circ drops and counts it.
ip -n "$W-a" link set "${W}a" mtu 1420
world_x a ping -n -q -c 1 -W 1 -M "do" -s 1392 192.0.2.2 >/dev/null 2>&1 &&
	bad "a 1420-byte ping crossed a circuit whose MTU is $((MTU + 32))"
ip -n "$W-a" link set "${W}a" mtu "$MTU"
sleep 1.2 # the status file is written once a second
over=$(status a 2hop oversize)
echo "  a datagram over the circuit MTU: dropped by wgr-circ, oversize count ${over:-?}"
[ "${over:-0}" -ge 1 ] || bad "wgr-circ did not count the oversize datagram"
if command -v iperf3 >/dev/null 2>&1; then
	if world_iperf 5; then
		rate=$(awk '/receiver/ { print $7, $8 }' "$WS/iperf.txt")
		echo "  iperf3 a->b over 2 hops each: $rate"
		figure iperf_2hop "$rate"
	else
		bad "iperf3 a->b over the circuits failed"
		tail -n 5 "$WS/iperf.txt"
	fi
else
	echo "  (iperf3 not installed: no rate)"
fi

sleep 1.2
for _p in a b; do
	echo "  $_p's wgr-circ: $(status $_p 2hop to_circ) datagrams into the circuit," \
		"$(status $_p 2hop from_circ) out of it, $(status $_p 2hop dropped) dropped," \
		"$(status $_p 2hop builds) build(s)"
done

# WGR_CIRC_SOAK=SECONDS (not in the gate): hold the circuits that long with a ping a second,
# past the client link's rekey (PROTOCOL.md §4.4: 120 s); the relays move the circuits onto
# the new links, so no ping may be lost to it.
if [ -n "${WGR_CIRC_SOAK:-}" ]; then
	echo "  soak: pings both ways for $WGR_CIRC_SOAK s"
	world_pings a b "$WGR_CIRC_SOAK" "$WS/soak.ab"
	world_pings b a "$WGR_CIRC_SOAK" "$WS/soak.ba"
	world_pings_wait "$WS/soak.ab"
	world_pings_wait "$WS/soak.ba"
	sleep 1.2
	echo "  soak: lost a->b $(world_pings_lost "$WS/soak.ab"), b->a $(world_pings_lost "$WS/soak.ba");" \
		"rekeys a $(status a 2hop rekeys), b $(status b 2hop rekeys); a's circuit $(status a 2hop state)," \
		"builds $(status a 2hop builds)"
	[ "$(status a 2hop builds)" = 1 ] && [ "$(status b 2hop builds)" = 1 ] ||
		bad "a circuit was built again during the soak"
	[ "$(world_pings_lost "$WS/soak.ab")" -le 2 ] && [ "$(world_pings_lost "$WS/soak.ba")" -le 2 ] ||
		bad "pings lost during the soak"
fi

# 2. What each relay saw, from the captures.
echo "step 2: the captures of the 2-hop run"
cap_check 2hop r1 a
cap_check 2hop r2 b
cap_check 2hop r3
for _r in r4 r5 r6; do cap_check 2hop $_r; done
[ "$(cap_count "$WS/r1.2hop.pcap" "$CELL and host $(rip 1) and host $(rip 3)")" -gt 0 ] ||
	bad "no CELL frame between r1 and r3 in r1's capture"

# 3. wgr-circ stops: its DESTROY frees the hops on every relay.
echo "step 3: both wgr-circ stopped"
circ_stop a
circ_stop b
no_hops() { for _r in r1 r2 r3; do [ "$(hops "$_r")" = 0 ] || return 1; done; }
if world_wait 10 no_hops; then
	echo "  r1, r2, r3 hold no circuit hop"
else
	bad "hops left after DESTROY"
	show_relays
fi

# 4. Three hops for a, two for b, meeting at r5.
MTU=$(wg_mtu 3 2)
echo "step 4: a r1->r4->r5, b r2->r5; WireGuard MTU $MTU"
figure wg_mtu_3hop "$MTU"
set_mtu "$MTU" || exit 1
cap_start 3hop
CK=$(cookie)
t0=$(date +%s)
circ_start a 3hop "$CK" r1 r4 r5
circ_start b 3hop "$CK" r2 r5
if world_wait 20 spliced 3hop; then
	echo "  both circuits spliced at r5 after $(($(date +%s) - t0)) s"
else
	bad "the 3-hop circuit did not meet (a: $(status a 3hop state), b: $(status b 3hop state))"
	show_relays
fi
LABEL=3hop
first_ping 30 && pings
cap_stop
cap_check 3hop r1 a
cap_check 3hop r2 b
cap_check 3hop r4
cap_check 3hop r5
[ "$(cap_count "$WS/r4.3hop.pcap" "$CELL and host $(rip 4) and host $(rip 5)")" -gt 0 ] &&
	[ "$(cap_count "$WS/r4.3hop.pcap" "$CELL and host $(rip 1) and host $(rip 4)")" -gt 0 ] ||
	bad "r4's capture lacks CELL frames from r1 or to r5"

# 5. The middle relay dies.
echo "step 5: r4 killed"
d0=$(status a 3hop destroyed)
t0=$(date +%s)
world_kill r4.relaydpid
a_destroyed() { [ "$(status a 3hop destroyed)" -gt "${d0:-0}" ] 2>/dev/null; }
if world_wait 30 a_destroyed; then
	echo "  DESTROY reached a's wgr-circ $(($(date +%s) - t0)) s after the kill"
	figure destroy_after_kill_s $(($(date +%s) - t0))
else
	bad "a's wgr-circ got no DESTROY within 30 s of r4's death"
fi
# b's circuit was spliced with a's at r5, so it went too; b builds again and waits there.
b_waits() { [ "$(status b 3hop builds)" -ge 2 ] 2>/dev/null && [ "$(status b 3hop state)" = meeting ]; }
world_wait 15 b_waits || bad "b did not build again to r5 (b: $(status b 3hop state))"
if [ "$(hops r5)" = 1 ]; then
	echo "  r5 holds 1 circuit hop: b's new circuit, waiting for a"
else
	bad "r5 holds $(hops r5) circuit hops, not b's alone"
fi
# a builds again too, but r4 is dead: r1 either refuses the EXTEND at once (no link, no
# descriptor to dial) or dials r4 for it and gives up at its extend timeout (10 s): DESTROY.
# wgr-circ's own step timeout is 10 s too, so either may end that build first.
a_refused()
{
	[ "$(status a 3hop destroyed)" -ge 2 ] 2>/dev/null || [ "$(status a 3hop failed)" -ge 1 ] 2>/dev/null
}
t0=$(date +%s)
if world_wait 20 a_refused; then
	echo "  a's rebuild through the dead r4 ended after $(($(date +%s) - t0)) s" \
		"($(status a 3hop destroyed) DESTROY(s), $(status a 3hop failed) timed out; r1:" \
		"$(world_metric r1 wgrelayd_circuit_dials_total) dial(s) for circuits," \
		"$(world_metric r1 'wgrelayd_circuit_drops_total{reason="connect"}') connect drop(s))"
else
	bad "a's rebuild through the dead r4 did not end within 20 s"
fi
show_relays
echo "  a: $(grep -c DESTROYED "$WS/a.3hop.circ.log") DESTROYED, b: $(grep -c DESTROYED "$WS/b.3hop.circ.log") in their logs"

if [ $fail != 0 ]; then
	for f in "$WS"/*.circ.log; do
		echo "---- ${f##*/}"
		tail -n 15 "$f"
	done
	world_dumplogs
fi
echo "scenario 24 took $(($(date +%s) - T0)) s"
exit $fail
