# world.sh: build isolated network-namespace worlds for wgrelay (sourced by sh/bash scripts).
# shellcheck shell=sh
#
# A world is a set of namespaces whose names start with a per-world id ($W), so parallel or
# leftover worlds never collide and `world_cleanup` (or `sh sim/world.sh cleanup ID`) finds them.
# Nothing is ever linked to the root namespace: no veth leaves the world, no default route out.
#
# Address plan (documentation and benchmark ranges only):
#   203.0.113.0/24   "internet" addresses of relays (core gateway 203.0.113.1)
#   198.51.100.0/24  "internet" addresses of NAT routers and public peers (gateway 198.51.100.1)
#   198.18.N.0/24    the LAN behind NAT router N (router .1, peer .2); the relay never sees it
#   192.0.2.0/24     WireGuard tunnel addresses of the peers; a world that needs a third /16
#                    of relays puts 192.0.2.128/25 on the core too (world_core_192)
# Topology: namespace ${W}-inet holds bridge "core" with both gateway addresses and routes
# between the two public /24s; every public host has one veth into it (eth0 inside the host).
# tc netem on a host's eth0 and on its bridge port gives the link delay/loss both ways. On
# kernels without sch_netem, world_netem falls back to a delay line: iptables NFQUEUE rules on
# the host's eth0 (queue 0 leaving, queue 1 arriving, forwarded traffic included) and
# wgr-sim-delay ($WGR_BINARY_DIR/sim, sim/delayline.c) in the host's namespace holding each
# packet for half the delay each way; loss then comes from nftables.
#
# Needs: iproute2, nftables, tc (netem) or iptables (NFQUEUE), wireguard-go, wg. Run as root.

WORLD_TIMEOUT=${WORLD_TIMEOUT:-10}

# world_init [ID]: pick the world id, create its state dir and the teardown trap.
world_init()
{
	W=${1:-w$(printf '%04x' $((($$ + $(date +%s)) % 65536)))}
	world_cleanup_id "$W"
	WS=/tmp/wgrworld-$W
	rm -rf "$WS"
	mkdir -p "$WS" || return 1
	: >"$WS/pids"
	trap 'world_cleanup' EXIT
	trap 'world_cleanup; exit 1' INT TERM
	world_ns core inet || return 1
	ip -n "$W-inet" link add core type bridge || return 1
	ip -n "$W-inet" link set core up
	ip -n "$W-inet" addr add 203.0.113.1/24 dev core
	ip -n "$W-inet" addr add 198.51.100.1/24 dev core
	world_sysctl inet net.ipv4.ip_forward=1
	world_sysctl inet net.ipv4.conf.all.send_redirects=0
	world_sysctl inet net.ipv4.conf.core.send_redirects=0
}

# world_skip_unless_able: exit 77 (skip) when this machine cannot build worlds.
world_skip_unless_able()
{
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: needs root to create network namespaces"
		exit 77
	fi
	# kernel WireGuard (WORLD_WG=kernel) needs no wireguard-go
	_wgo=wireguard-go
	[ "${WORLD_WG:-}" = kernel ] && _wgo=
	for t in ip nft tc wg $_wgo; do
		command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
	done
	if ! ip netns add wgrprobe$$ 2>/dev/null; then
		echo "SKIP: cannot create network namespaces here"
		exit 77
	fi
	if ! ip netns exec wgrprobe$$ nft add table ip probe 2>/dev/null; then
		ip netns del wgrprobe$$
		echo "SKIP: nftables unavailable in namespaces"
		exit 77
	fi
	ip netns del wgrprobe$$
}

world_ns() # ROLE NAME: create namespace $W-NAME with lo up
{
	ip netns add "$W-$2" || return 1
	echo "$W-$2" >>"$WS/netns"
	ip -n "$W-$2" link set lo up
}

world_sysctl() # NAME KEY=VALUE
{
	ip netns exec "$W-$1" sysctl -qw "$2" >/dev/null
}

world_x() # NAME CMD...: run CMD in host NAME's namespace
{
	n=$1
	shift
	ip netns exec "$W-$n" "$@"
}

# world_public NAME IP/24 [DELAY_MS [LOSS_PCT]]: a host on the internet core.
world_public()
{
	world_ns host "$1" || return 1
	ip link add "$W$1" netns "$W-inet" type veth peer name eth0 netns "$W-$1" || return 1
	ip -n "$W-inet" link set "$W$1" master core up
	ip -n "$W-$1" addr add "$2" dev eth0
	ip -n "$W-$1" link set eth0 up
	case $2 in
	203.0.113.*) gw=203.0.113.1 ;;
	192.0.2.*) gw=192.0.2.129 ;; # world_core_192: the upper half, when a world adds it
	*) gw=198.51.100.1 ;;
	esac
	ip -n "$W-$1" route add default via $gw
	echo "${2%/*}" >"$WS/$1.ip"
	[ -n "$3" ] && world_netem "$1" "$3" "${4:-0}"
	return 0
}

# world_netem NAME DELAY_MS LOSS_PCT: delay/loss on NAME's internet link, half each way (a
# round trip through the link gains DELAY_MS). A second call replaces the first.
# world_core_192: 192.0.2.128/25 on the internet core too (gateway .129), for a world that needs
# a third IPv4 /16 of relays (circuits: no two hops in one /16). The peers' tunnels keep
# 192.0.2.0/24 for themselves, so each peer NAME behind router N is given the more specific
# route out with world_core_192_route NAME N.
world_core_192()
{
	ip -n "$W-inet" addr add 192.0.2.129/25 dev core
}
world_core_192_route() # NAME N: natted peer NAME (world_natted ... N) routes 192.0.2.128/25 out
{
	ip -n "$W-$1" route add 192.0.2.128/25 via "198.18.$2.1"
}

world_netem()
{
	half=$(($2 / 2))
	rest=$(($2 - half))
	if tc -n "$W-$1" qdisc replace dev eth0 root netem delay ${half}ms loss "${3}%" 2>/dev/null; then
		tc -n "$W-inet" qdisc replace dev "$W$1" root netem delay ${rest}ms loss "${3}%"
		return 0
	fi
	# kernels without sch_netem: delay by the NFQUEUE delay line, loss by nftables
	# shellcheck disable=SC2034 # a flag for the scripts that source this file
	WORLD_NO_NETEM=1
	world_delayline "$1" "$half" "$rest"
	_drc=$? # a delay that could not be set fails the call, after the loss is set
	ip netns exec "$W-$1" nft delete table inet wgrloss 2>/dev/null
	[ "${3:-0}" = 0 ] && return $_drc
	# on the host itself: every packet of this link crosses its eth0 once per direction
	p=$(($3 * 10))
	ip netns exec "$W-$1" nft -f - <<NFT || return 1
table inet wgrloss {
 chain lin { type filter hook input priority 0; iifname "eth0" numgen random mod 1000 < $p drop; }
 chain lout { type filter hook output priority 0; oifname "eth0" numgen random mod 1000 < $p drop; }
 chain lfw { type filter hook forward priority 0; iifname "eth0" numgen random mod 1000 < $p drop; oifname "eth0" numgen random mod 1000 < $p drop; }
}
NFT
	return $_drc
}

# world_delayline NAME OUT_MS IN_MS: hold packets leaving NAME by eth0 OUT_MS, arriving IN_MS
# (both 0: none). mangle PREROUTING/POSTROUTING see local and forwarded packets alike;
# --queue-bypass lets traffic through undelayed while no wgr-sim-delay listens.
world_delayline()
{
	if [ -s "$WS/$1.delaypid" ]; then
		ip netns exec "$W-$1" "$WORLD_IPT" -t mangle -D POSTROUTING -o eth0 -j NFQUEUE \
			--queue-num 0 --queue-bypass 2>/dev/null
		ip netns exec "$W-$1" "$WORLD_IPT" -t mangle -D PREROUTING -i eth0 -j NFQUEUE \
			--queue-num 1 --queue-bypass 2>/dev/null
		# SIGTERM: it accepts what it holds
		world_stop_pid "$(cat "$WS/$1.delaypid")" 20
		rm -f "$WS/$1.delaypid"
	fi
	[ $(($2 + $3)) = 0 ] && return 0
	world_ipt || { echo "world: no netem and no iptables NFQUEUE: no delay on $1" >&2; return 1; }
	ip netns exec "$W-$1" "$WGR_BINARY_DIR/sim/wgr-sim-delay" --queue "0:$2" --queue "1:$3" \
		>>"$WS/$1.delay.log" 2>&1 &
	_dp=$!
	world_pid $_dp
	echo $_dp >"$WS/$1.delaypid"
	i=0
	while [ $i -lt 50 ] && kill -0 $_dp 2>/dev/null && ! world_delay_bound "$1"; do
		sleep 0.1
		i=$((i + 1))
	done
	if ! world_delay_bound "$1"; then
		echo "world: wgr-sim-delay did not start on $1: $(cat "$WS/$1.delay.log")" >&2
		kill -9 $_dp 2>/dev/null
		rm -f "$WS/$1.delaypid"
		return 1
	fi
	ip netns exec "$W-$1" "$WORLD_IPT" -t mangle -A POSTROUTING -o eth0 -j NFQUEUE --queue-num 0 \
		--queue-bypass || return 1
	ip netns exec "$W-$1" "$WORLD_IPT" -t mangle -A PREROUTING -i eth0 -j NFQUEUE --queue-num 1 \
		--queue-bypass || return 1
	echo "world: no sch_netem: $1 delayed $2 ms out, $3 ms in by wgr-sim-delay" >&2
}

world_delay_bound() # NAME: 0 once NFQUEUE queues 0 and 1 of NAME's namespace have a listener
{
	# shellcheck disable=SC2016 # $1 is awk's
	[ "$(ip netns exec "$W-$1" awk '$1 == 0 || $1 == 1' /proc/net/netfilter/nfnetlink_queue \
		2>/dev/null | wc -l)" = 2 ]
}

# world_ipt: set WORLD_IPT to the iptables whose NFQUEUE target works (nft-compat or legacy,
# probed once in a scratch namespace); 1 if none does.
world_ipt()
{
	if [ -z "${WORLD_IPT+set}" ]; then
		WORLD_IPT=
		ip netns add "$W-ipt" 2>/dev/null || return 1
		for _t in iptables-nft iptables-legacy iptables; do
			command -v "$_t" >/dev/null 2>&1 || continue
			if ip netns exec "$W-ipt" "$_t" -t mangle -A POSTROUTING -o lo -j NFQUEUE \
				--queue-num 0 --queue-bypass 2>/dev/null; then
				WORLD_IPT=$_t
				break
			fi
		done
		ip netns del "$W-ipt"
	fi
	[ -n "$WORLD_IPT" ]
}

world_has_netem() # 0 if tc netem works on this kernel
{
	ip netns add "$W-netem" 2>/dev/null || return 1
	tc -n "$W-netem" qdisc add dev lo root netem delay 1ms 2>/dev/null
	r=$?
	ip netns del "$W-netem"
	return $r
}

world_has_delay() # 0 if world_netem can add delay: tc netem, or the NFQUEUE delay line
{
	world_has_netem && return 0
	[ -x "$WGR_BINARY_DIR/sim/wgr-sim-delay" ] && world_ipt
}

# world_natted PEER ROUTER PUBIP N TYPE: router on the core at PUBIP, PEER at 198.18.N.2 behind it.
world_natted()
{
	world_public "$2" "$3/24" || return 1
	world_ns host "$1" || return 1
	ip link add "$W${1}l" netns "$W-$2" type veth peer name eth0 netns "$W-$1" || return 1
	ip -n "$W-$2" addr add "198.18.$4.1/24" dev "$W${1}l"
	ip -n "$W-$2" link set "$W${1}l" up
	ip -n "$W-$1" addr add "198.18.$4.2/24" dev eth0
	ip -n "$W-$1" link set eth0 up
	ip -n "$W-$1" route add default via "198.18.$4.1"
	world_sysctl "$2" net.ipv4.ip_forward=1
	echo "$2" >"$WS/$1.router"
	echo "198.18.$4.2" >"$WS/$1.inner"
	echo "$3" >"$WS/$1.ip"
	world_nat "$2" "$5" "198.18.$4.2"
}

# world_nat ROUTER TYPE INNER_IP: (re)write the router's NAT. TYPE is one of
#   cone        endpoint-independent mapping and filtering: source port kept, and anything
#               arriving on the WireGuard port (51820) goes to the inner host
#   restricted  Linux default masquerade: port kept while free, filtering by address+port
#   symmetric   masquerade fully-random: every new destination gets a new random port
#   udpblock    no UDP at all leaves or enters (DNS excepted); everything else masqueraded
#   public      no NAT: inbound forwarded to the inner host on every port (a "healed" NAT)
world_nat()
{
	r=$1
	t=$2
	in=$3
	nft_rules=$(
		echo "table ip wgrnat {"
		echo " chain natpre { type nat hook prerouting priority -100;"
		case $t in
		cone) echo "  iifname eth0 udp dport 51820 dnat to $in" ;;
		public) echo "  iifname eth0 dnat to $in" ;;
		esac
		echo " }"
		echo " chain natpost { type nat hook postrouting priority 100;"
		case $t in
		cone) echo "  oifname eth0 ip saddr $in snat to $(cat "$WS/$r.ip")" ;;
		restricted | udpblock) echo "  oifname eth0 masquerade" ;;
		symmetric) echo "  oifname eth0 masquerade fully-random" ;;
		public) echo "  oifname eth0 masquerade persistent" ;;
		esac
		echo " }"
		echo " chain filt { type filter hook forward priority 0;"
		[ "$t" = udpblock ] && echo "  udp dport != 53 drop"
		echo " }"
		echo "}"
	)
	ip netns exec "$W-$r" nft delete table ip wgrnat 2>/dev/null
	# conntrack entries made under the old rules would keep the old mapping
	ip netns exec "$W-$r" sh -c 'echo f >/proc/net/nf_conntrack' 2>/dev/null
	echo "$nft_rules" | ip netns exec "$W-$r" nft -f - || return 1
	if command -v conntrack >/dev/null 2>&1; then
		ip netns exec "$W-$r" conntrack -F >/dev/null 2>&1
	fi
	return 0
}

# world_block ROUTER IP: the router forwards nothing to or from IP any more (a path that breaks
# while in use); relays and everything else stay reachable. world_nat does not undo it.
world_block()
{
	printf 'table ip wgrblock {\n chain blk { type filter hook forward priority -10;\n  ip daddr %s drop\n  ip saddr %s drop\n }\n}\n' "$2" "$2" |
		ip netns exec "$W-$1" nft -f -
}

# world_pings A B COUNT FILE: ping B's tunnel address from A once a second in the background,
# COUNT times, output in FILE; world_pings_wait FILE: wait until it is done (in the shell that
# started it, not in a $(...) subshell); world_pings_lost FILE: how many got no answer.
world_pings()
{
	world_x "$1" ping -n -c "$3" -i 1 -W 1 "$(cat "$WS/$2.tun")" >"$4" 2>&1 &
	world_pid $!
	echo $! >"$4.pid"
}

world_pings_wait()
{
	wait "$(cat "$1.pid")" 2>/dev/null
}

world_pings_lost()
{
	awk '/packets transmitted/ { print $1 - $4 }' "$1"
}

world_pid() # record a PID for teardown
{
	echo "$1" >>"$WS/pids"
}

world_ip() # NAME: the host's public address (NAT router's for natted peers)
{
	cat "$WS/$1.ip"
}

# world_wg NAME TUNNEL_IP: WireGuard interface ${W}NAME in NAME's namespace (the name is per
# world so wireguard-go's UAPI socket /var/run/wireguard/IFACE.sock never collides), key in
# $WS/NAME.key. WORLD_WG picks the implementation: wireguard-go (the default) or kernel (a
# kernel WireGuard device, `ip link add NAME type wireguard`).
world_wg()
{
	ifc="$W$1"
	(umask 077 && wg genkey >"$WS/$1.key")
	wg pubkey <"$WS/$1.key" >"$WS/$1.pub"
	case ${WORLD_WG:-wireguard-go} in
	kernel)
		ip -n "$W-$1" link add "$ifc" type wireguard ||
			{ echo "no kernel WireGuard device in $1"; return 1; }
		;;
	wireguard-go)
		WG_PROCESS_FOREGROUND=1 ip netns exec "$W-$1" wireguard-go -f "$ifc" >"$WS/$1.wg.log" 2>&1 &
		world_pid $!
		echo $! >"$WS/$1.wgpid"
		i=0
		while [ $i -lt 50 ] && ! ip -n "$W-$1" link show "$ifc" >/dev/null 2>&1; do
			sleep 0.1
			i=$((i + 1))
		done
		ip -n "$W-$1" link show "$ifc" >/dev/null 2>&1 ||
			{ echo "wireguard-go did not start in $1"; return 1; }
		;;
	*)
		echo "world: WORLD_WG=$WORLD_WG: use kernel or wireguard-go"
		return 1
		;;
	esac
	world_x "$1" wg set "$ifc" private-key "$WS/$1.key" listen-port 51820 || return 1
	ip -n "$W-$1" addr add "$2/24" dev "$ifc"
	ip -n "$W-$1" link set "$ifc" up
	echo "$2" >"$WS/$1.tun"
}

# world_wg_peer A B: configure B as a peer on A's interface, endpoint B's public address:51820.
world_wg_peer()
{
	world_x "$1" wg set "$W$1" peer "$(cat "$WS/$2.pub")" allowed-ips "$(cat "$WS/$2.tun")/32" \
		endpoint "$(world_ip "$2"):51820"
}

world_handshake() # A B: latest handshake time (0 = never) of B on A
{
	world_x "$1" wg show "$W$1" latest-handshakes | awk -v k="$(cat "$WS/$2.pub")" '$1 == k { print $2 }'
}

world_tx() # A B: bytes A sent to B
{
	world_x "$1" wg show "$W$1" transfer | awk -v k="$(cat "$WS/$2.pub")" '$1 == k { print $3 }'
}

world_endpoint() # A B: the endpoint A's WireGuard uses for B
{
	world_x "$1" wg show "$W$1" endpoints | awk -v k="$(cat "$WS/$2.pub")" '$1 == k { print $2 }'
}

# world_ping A B [COUNT] [WAIT]: ping B's tunnel address from A; 0 if any reply.
world_ping()
{
	world_x "$1" ping -n -q -c "${3:-3}" -i 0.3 -W "${4:-2}" "$(cat "$WS/$2.tun")" >/dev/null 2>&1
}

# world_relay NAME PUBIP [DELAY_MS [LOSS]]: a relay host running wgrelayd from $WGR_BINARY_DIR.
world_relay()
{
	world_public "$1" "$2/24" "$3" "$4" || return 1
	world_relay_start "$1"
}

world_relay_start() # NAME: (re)start wgrelayd on relay host NAME
{
	# The world's relays are the operator's own: no per-circuit byte or time cap (the open-mode
	# defaults of 100 MB and 1 h would end a long iperf3 run; limits have their own tests).
	# The worlds live on the documentation ranges, which a relay serves only with
	# --allow-private.
	[ -s "$WS/relayd.conf" ] ||
		printf '[Limits]\nCircuitBytes = 0\nCircuitDuration = 0\n' >"$WS/relayd.conf"
	ip netns exec "$W-$1" "$WGR_BINARY_DIR/relayd/wgrelayd" -f -d -c "$WS/relayd.conf" \
		--key-file "$WS/$1.rkey" --listen 0.0.0.0:51821 --port-range 50000-50999 \
		--auth "${WORLD_RELAY_AUTH:-open}" --allow-private >>"$WS/$1.relayd.log" 2>&1 &
	world_pid $!
	echo $! >"$WS/$1.relaydpid"
	i=0
	while [ $i -lt 50 ] && [ ! -s "$WS/$1.rkey" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	"$WGR_BINARY_DIR/relayd/wgrelayd" -c "$WS/relayd.conf" --key-file "$WS/$1.rkey" --show-public-key \
		>"$WS/$1.rpub" 2>/dev/null
	[ -s "$WS/$1.rpub" ] || { echo "wgrelayd on $1 has no key"; return 1; }
}

# world_relay_key NAME: the relay's Noise key $WS/NAME.rkey (made unless there) and its public
# half $WS/NAME.rpub, before the relay starts, so that other relays' Peer lines can name it.
world_relay_key()
{
	[ -s "$WS/$1.rkey" ] || (umask 077 && wg genkey >"$WS/$1.rkey") || return 1
	wg pubkey <"$WS/$1.rkey" >"$WS/$1.rpub"
}

# world_relay_net NAME PUBIP CONF: a relay host on the core at PUBIP running wgrelayd with its
# own config file CONF (e.g. a [Network] section: Advertise, Peer lines, short intervals), not
# the world's shared one. Keys as world_relay_key; the metrics are at 127.0.0.1:9821 inside
# the host (world_metric). It does not wait for the relay to answer.
world_relay_net()
{
	world_public "$1" "$2/24" || return 1
	echo "$3" >"$WS/$1.relaydconf"
	world_relay_net_start "$1"
}

world_relay_net_start() # NAME: (re)start wgrelayd on NAME with the config world_relay_net gave
{
	world_relay_key "$1" || return 1
	ip netns exec "$W-$1" "$WGR_BINARY_DIR/relayd/wgrelayd" -f -d -c "$(cat "$WS/$1.relaydconf")" \
		--key-file "$WS/$1.rkey" --listen 0.0.0.0:51821 --port-range 50000-50999 \
		--auth "${WORLD_RELAY_AUTH:-open}" --allow-private >>"$WS/$1.relayd.log" 2>&1 &
	world_pid $!
	echo $! >"$WS/$1.relaydpid"
}

# world_metric NAME METRIC: the value of METRIC (its name and labels as /metrics prints them,
# e.g. 'wgrelayd_network_refused_total{reason="stale"}') on relay NAME; empty when the relay
# does not answer or has no such line.
world_metric()
{
	world_x "$1" curl -s --max-time 2 http://127.0.0.1:9821/metrics 2>/dev/null |
		awk -v m="$2" '$1 == m { print $2; exit }'
}

world_kill() # FILE: kill -9 the process whose pid is in $WS/FILE
{
	[ -s "$WS/$1" ] && kill -9 "$(cat "$WS/$1")" 2>/dev/null
}

# world_geoip TABLE: build $WS/geo.mmdb from a "CIDR LAT LON CITY CC" table (tests/data/mkmmdb.pl).
world_geoip()
{
	perl "$WGR_SOURCE_DIR/tests/data/mkmmdb.pl" "$WS/geo.mmdb" "$1" || return 1
}

wgrelay_in() # NAME ARGS...: run the wgrelay CLI on peer NAME with its own db and config
{
	n=$1
	shift
	mkdir -p "$WS/$n.d"
	WGRELAY_DB="$WS/$n.d/wgrelay.db" WGRELAY_CONFIG="$WS/$n.d/wgrelay.conf" ip netns exec "$W-$n" \
		"$WGR_BINARY_DIR/relay-client/wgrelay" ${WS:+--geoip "$WS/geo.mmdb"} "$@"
}

# world_helper NAME RELAY...: enable relay fallback on NAME's interface, add bootstrap relays,
# and start `wgrelay watch` there. WORLD_BOOTSTRAP_OPTS_<NAME> (e.g. WORLD_BOOTSTRAP_OPTS_a):
# more add-bootstrap-relay options for NAME's relays, split on blanks.
world_helper()
{
	n=$1
	shift
	mkdir -p "$WS/$n.d"
	: >>"$WS/$n.d/wgrelay.conf"
	_bo=
	eval "_bo=\${WORLD_BOOTSTRAP_OPTS_$n:-}"
	for r in "$@"; do
		# shellcheck disable=SC2086 # _bo: options, one word each
		wgrelay_in "$n" add-bootstrap-relay "$(world_ip "$r"):51821" "$(cat "$WS/$r.rpub")" $_bo ||
			return 1
	done
	wgrelay_in "$n" configure-relay --enable "$W$n" || return 1
	world_watch "$n"
}

world_watch() # NAME: (re)start `wgrelay watch` on NAME
{
	WGRELAY_DB="$WS/$1.d/wgrelay.db" WGRELAY_CONFIG="$WS/$1.d/wgrelay.conf" ip netns exec "$W-$1" \
		"$WGR_BINARY_DIR/relay-client/wgrelay" --geoip "$WS/geo.mmdb" -v watch "$W$1" \
		>>"$WS/$1.watch.log" 2>&1 &
	world_pid $!
	echo $! >"$WS/$1.watchpid"
}

# world_wait SECONDS CMD...: run CMD every 0.5 s until it succeeds; 1 on timeout.
world_wait()
{
	end=$(($(date +%s) + $1))
	shift
	while :; do
		"$@" && return 0
		[ "$(date +%s)" -ge $end ] && return 1
		sleep 0.5
	done
}

# world_pair TYPE_A TYPE_B NRELAYS: the standard world of the scenarios: peers a (Paris) and b
# (Berlin) behind NATs of the given types ("none" = public), relays r1 (Frankfurt), r2
# (Amsterdam), r3 (Warsaw) as many as asked, wireguard-go on both peers, helpers watching.
# WORLD_MODE=sealed stores that data mode on both interfaces before the helpers start.
world_pair()
{
	cat >"$WS/geo.txt" <<T
203.0.113.10/32 50.11 8.68 Frankfurt DE
203.0.113.11/32 52.37 4.90 Amsterdam NL
203.0.113.12/32 52.23 21.01 Warsaw PL
198.51.100.10/32 48.86 2.35 Paris FR
198.51.100.11/32 52.52 13.40 Berlin DE
T
	world_geoip "$WS/geo.txt" || return 1
	rl=
	_pr=1 # POSIX sh has no locals: helpers below use i
	while [ $_pr -le "$3" ]; do
		world_relay r$_pr 203.0.113.$((9 + _pr)) || return 1
		rl="$rl r$_pr"
		_pr=$((_pr + 1))
	done
	if [ "$1" = none ]; then world_public a 198.51.100.10/24 || return 1
	else world_natted a ra 198.51.100.10 1 "$1" || return 1; fi
	if [ "$2" = none ]; then world_public b 198.51.100.11/24 || return 1
	else world_natted b rb 198.51.100.11 2 "$2" || return 1; fi
	world_wg a 192.0.2.1 && world_wg b 192.0.2.2 || return 1
	world_wg_peer a b && world_wg_peer b a || return 1
	if [ -n "${WORLD_MODE:-}" ]; then
		for _h in a b; do
			wgrelay_in "$_h" configure-relay --mode "$WORLD_MODE" "$W$_h" >/dev/null || return 1
		done
	fi
	# shellcheck disable=SC2086 # rl is the list of relays: one argument each
	world_helper a $rl && world_helper b $rl || return 1
}

world_traffic() # SECONDS: ping both ways in the background for that long
{
	world_x a ping -c "$1" -i 1 -W 1 192.0.2.2 >/dev/null 2>&1 &
	world_pid $!
	world_x b ping -c "$1" -i 1 -W 1 192.0.2.1 >/dev/null 2>&1 &
	world_pid $!
}

# world_first_ping SECONDS: wait up to SECONDS for a ping a -> b through the tunnel; says how
# long it took and where a's WireGuard sends to b; 1 if none came.
world_first_ping()
{
	_t0=$(date +%s)
	world_wait "$1" world_ping a b 1 1 || return 1
	echo "  ping a->b ok after $(($(date +%s) - _t0)) s; a's endpoint for b: $(world_endpoint a b)"
}

# world_iperf SECONDS: a TCP iperf3 run from a to b (192.0.2.2) through the tunnel. Its output
# goes to $WS/iperf.txt; 1 when it fails or moves nothing, 77 without iperf3.
world_iperf()
{
	command -v iperf3 >/dev/null || return 77
	world_x b iperf3 -s -1 -B 192.0.2.2 >/dev/null 2>&1 &
	world_pid $!
	sleep 0.5
	world_x a timeout -k 5 $(($1 + 17)) iperf3 -c 192.0.2.2 -t "$1" >"$WS/iperf.txt" 2>&1 &&
		grep -q receiver "$WS/iperf.txt" && ! grep receiver "$WS/iperf.txt" | grep -q ' 0.00 Bytes'
}

world_relayed_via() # A B: print the relay (203.0.113.x) A's WireGuard uses for B, 1 if direct
{
	e=$(world_endpoint "$1" "$2")
	case $e in
	203.0.113.*) echo "${e%:*}" ;;
	*) return 1 ;;
	esac
}

# world_stop_pid PID TENTHS: SIGTERM, up to TENTHS tenths of a second for PID to exit, then
# SIGKILL.
world_stop_pid()
{
	kill "$1" 2>/dev/null
	_sp=0
	while [ $_sp -lt "$2" ] && kill -0 "$1" 2>/dev/null; do
		sleep 0.1
		_sp=$((_sp + 1))
	done
	kill -9 "$1" 2>/dev/null
}

# world_cleanup: kill recorded processes, delete the namespaces, remove the state dir.
# shellcheck disable=SC2013 # pids holds one PID a line: words are lines
world_cleanup()
{
	[ -n "$W" ] && [ -d "$WS" ] || return 0
	if [ -s "$WS/pids" ]; then
		for p in $(cat "$WS/pids"); do kill "$p" 2>/dev/null; done
		i=0
		while [ $i -lt 20 ]; do
			alive=0
			for p in $(cat "$WS/pids"); do kill -0 "$p" 2>/dev/null && alive=1; done
			[ $alive = 0 ] && break
			sleep 0.1
			i=$((i + 1))
		done
		for p in $(cat "$WS/pids"); do kill -9 "$p" 2>/dev/null; done
	fi
	world_cleanup_id "$W"
	if [ -n "$WORLD_KEEP_LOGS" ]; then
		echo "world $W logs kept in $WS"
	else
		rm -rf "$WS"
	fi
	W=
}

world_cleanup_id() # ID: delete every namespace and UAPI socket of world ID (also leftovers)
{
	for ns in $(ip netns list | awk '{print $1}' | grep "^$1-"); do
		# whatever still runs inside (a ping started in a subshell outlives its recorded pid)
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	rm -f /var/run/wireguard/"$1"*.sock
}

world_dumplogs() # print the tail of every log of the world (on failure)
{
	for f in "$WS"/*.log; do
		[ -f "$f" ] || continue
		echo "---- ${f##*/}"
		tail -n 25 "$f"
	done
}

# Small commands when run directly: `sh sim/world.sh cleanup ID` removes a leftover world.
case ${0##*/} in
world.sh)
	case $1 in
	cleanup) world_cleanup_id "$2" ;;
	list) ip netns list | awk '{print $1}' | grep -o '^w[0-9a-f]*-' | sort -u ;;
	*) echo "usage: sh world.sh cleanup ID | list" >&2; exit 2 ;;
	esac
	;;
esac
