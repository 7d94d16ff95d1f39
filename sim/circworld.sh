# circworld.sh: the multi-hop circuit world (PROTOCOL.md §13), sourced after sim/world.sh.
# shellcheck shell=sh
#
# Shared by scenario 24 (tests/e2e/24_circuits.sh), its bench (bench/circuits.sh) and scenario
# 25 (the helper on circuits, which redefines rip and uses the relays and captures only);
# sourced after world_init. Definitions only, and the variables below.
# Six relays r1..r6 (203.0.113.10-15) with [Relay] Circuits = on in a full mesh; peers a and b
# behind symmetric NATs run wireguard-go, each WireGuard's endpoint for the other being a local
# wgr-circ (sim/wgr-circ.c) at 127.0.0.1:$CPORT: one link to the entry relay and one circuit
# on a fixed path to a rendezvous cookie, standing in for the helper.
# Variables read: W, WS (world.sh), WGR_BINARY_DIR. Set: NR, CPORT, CIRC, RELAYD.
# shellcheck disable=SC2034 # NR, CPORT, CIRC and RELAYD are read by the scripts sourcing this
NR=6
CPORT=51900 # wgr-circ's port on each peer, WireGuard's endpoint for the other peer
CIRC=$WGR_BINARY_DIR/sim/wgr-circ
RELAYD=$WGR_BINARY_DIR/relayd/wgrelayd
rip() { echo "203.0.113.$((9 + $1))"; } # relay I's address: r1 .10 ... r6 .15

# Keys and identities first, so that every Peer line names its relay and every wgr-circ its
# hops. --show-peer-id makes the identity file; --show-descriptor then prints it.
circ_relay_conf() # I: write relay I's config file, print its path
{
	{
		printf '[Relay]\nIdentityFile = %s\nWorkers = 0\nCircuits = on\n' "$WS/r$1.identity"
		printf '[Limits]\nCircuitBytes = 0\nCircuitDuration = 0\n'
		printf '[Network]\nAdvertise = %s:51821\nMinLinks = 5\nMaxLinks = 8\n' "$(rip "$1")"
		# A dead relay's links go within seconds (scenario 24, step 5), a live one's never on a
		# loaded box.
		printf 'HeartbeatInterval = 1s\nLinkTimeout = 6s\nReconnectInterval = 1s\n'
		# CIRC_RELAY_EXTRA_I: more [Network] lines for relay I (e.g. "Country = DE")
		eval "_x=\${CIRC_RELAY_EXTRA_$1:-}"
		[ -n "$_x" ] && printf '%s\n' "$_x"
		_j=1
		while [ $_j -le $NR ]; do
			[ $_j != "$1" ] &&
				printf 'Peer = %s:51821 %s\n' "$(rip $_j)" "$(cat "$WS/r$_j.rpub")"
			_j=$((_j + 1))
		done
	} >"$WS/r$1.conf"
	echo "$WS/r$1.conf"
}

# circ_relays: keys, configs and identities of r1..r$NR, then each started on the core
# (world_relay_net); it does not wait for the mesh (circ_mesh_up). 1 with a message on failure.
circ_relays()
{
	_i=1
	while [ $_i -le $NR ]; do
		world_relay_key r$_i || return 1
		_i=$((_i + 1))
	done
	_i=1
	while [ $_i -le $NR ]; do
		circ_relay_conf $_i >/dev/null
		(umask 077 && "$RELAYD" -c "$WS/r$_i.conf" --key-file "$WS/r$_i.rkey" --show-peer-id \
			>/dev/null) || { echo "no identity for r$_i"; return 1; }
		"$RELAYD" -c "$WS/r$_i.conf" --key-file "$WS/r$_i.rkey" --show-descriptor --json |
			sed -n 's/^{"identity":"\([^"]*\)".*/\1/p' >"$WS/r$_i.ident"
		[ -s "$WS/r$_i.ident" ] || { echo "no descriptor for r$_i"; return 1; }
		world_relay_net r$_i "$(rip $_i)" "$WS/r$_i.conf" || return 1
		_i=$((_i + 1))
	done
}

links() { world_metric "$1" wgrelayd_network_links; }
hops() { world_metric "$1" wgrelayd_circuit_hops; }
circ_mesh_up() # 0 once every relay has a link to each of the others
{
	_i=1
	while [ $_i -le $NR ]; do
		[ "$(links r$_i)" = $((NR - 1)) ] || return 1
		_i=$((_i + 1))
	done
}

# circ_peers: a and b behind symmetric NATs with wireguard-go (192.0.2.1, .2), each WireGuard
# sending to the other through its own wgr-circ, and to nothing else.
circ_peers()
{
	world_natted a ra 198.51.100.10 1 symmetric || return 1
	world_natted b rb 198.51.100.11 2 symmetric || return 1
	world_wg a 192.0.2.1 && world_wg b 192.0.2.2 || return 1
	world_wg_peer a b && world_wg_peer b a || return 1
	world_x a wg set "${W}a" peer "$(cat "$WS/b.pub")" endpoint 127.0.0.1:$CPORT || return 1
	world_x b wg set "${W}b" peer "$(cat "$WS/a.pub")" endpoint 127.0.0.1:$CPORT
}

# wg_mtu HOPS...: WireGuard's MTU over circuits of these hop counts (the rendezvous passes a
# datagram to the other circuit only within that one's room: the smaller circuit MTU counts).
wg_mtu()
{
	for _h in "$@"; do "$CIRC" --mtu "$_h"; done | awk 'NR == 1 || $4 < m { m = $4 } END { print m }'
}
set_mtu() # MTU: both WireGuard interfaces
{
	ip -n "$W-a" link set "${W}a" mtu "$1" && ip -n "$W-b" link set "${W}b" mtu "$1"
}
circ_start() # PEER TAG COOKIE RELAY...: wgr-circ on PEER through the relays (entry first)
{
	_p=$1
	_tag=$2
	_ck=$3
	shift 3
	_args=
	for _r in "$@"; do
		_ri=${_r#r}
		_args="$_args --relay $(rip "$_ri"):51821 $(cat "$WS/$_r.rpub") $(cat "$WS/$_r.ident")"
	done
	# ip netns exec, not world_x: $! is then wgr-circ itself (ip execs it), not a subshell
	# shellcheck disable=SC2086 # _args: one word each
	ip netns exec "$W-$_p" "$CIRC" $_args --cookie "$_ck" --listen 127.0.0.1:$CPORT \
		--wg 127.0.0.1:51820 --status "$WS/$_p.$_tag.status" 2>>"$WS/$_p.$_tag.circ.log" &
	world_pid $!
	echo $! >"$WS/$_p.circpid"
}
circ_stop() # PEER: SIGTERM (it sends DESTROY), then wait for it
{
	world_stop_pid "$(cat "$WS/$1.circpid")" 30
}
status() { awk -v k="$3" '$1 == k { print $2 }' "$WS/$1.$2.status" 2>/dev/null; } # PEER TAG KEY
spliced() { [ "$(status a "$1" state)" = spliced ] && [ "$(status b "$1" state)" = spliced ]; }
cookie() { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }

# Captures: tcpdump on every relay's namespace, UDP only, written as packets come. The caller
# defines bad (a failure, and goes on).
cap_start() # TAG
{
	for _r in r1 r2 r3 r4 r5 r6; do
		ip netns exec "$W-$_r" tcpdump -i any -n -U -w "$WS/$_r.$1.pcap" udp \
			2>"$WS/$_r.$1.tcpdump.txt" &
		world_pid $!
		echo $! >"$WS/$_r.cappid"
	done
	for _r in r1 r2 r3 r4 r5 r6; do
		world_wait 5 grep -q listening "$WS/$_r.$1.tcpdump.txt" ||
			bad "tcpdump did not start on $_r"
	done
}
cap_stop()
{
	for _r in r1 r2 r3 r4 r5 r6; do kill "$(cat "$WS/$_r.cappid")" 2>/dev/null; done
	for _r in r1 r2 r3 r4 r5 r6; do
		_k=0
		while [ $_k -lt 30 ] && kill -0 "$(cat "$WS/$_r.cappid")" 2>/dev/null; do
			sleep 0.1
			_k=$((_k + 1))
		done
	done
}
# cap_hosts FILE: every address a captured UDP datagram came from or went to, one a line
cap_hosts()
{
	tcpdump -r "$1" -n udp 2>/dev/null |
		awk '{ for (i = 1; i < NF; i++) if ($i == "IP") { print $(i + 1); print $(i + 3); break } }' |
		sed 's/:$//; s/\.[0-9]*$//' | sort -u
}
cap_count() { tcpdump -r "$1" -n "$2" 2>/dev/null | wc -l; } # FILE FILTER: datagrams matching
# shellcheck disable=SC2034 # read by the scripts sourcing this
CELL='udp[8:2] = 0xf10a' # a CELL frame: magic F1, type 0A
