# tornet.sh: a private Tor network, offline, in network namespaces (sourced, or run directly).
# shellcheck shell=sh
#
# Built from Debian's `tor` and `tor-gencert` alone: three directory authorities (each with a
# v3 identity made by tor-gencert), three more relays, and as many clients and onion services
# as a test asks for. Every tor started here runs with `TestingTorNetwork 1`, names only this
# network's authorities (DirAuthority lines; the built-in public ones are then not used), keeps
# its DataDirectory under $TN_DIR, and runs inside a namespace the caller made, which has no
# route out of this machine: nothing here can reach the public Tor network. No relay is an
# exit: the network carries onion-service circuits only. The authorities vote every 20 s, so
# a consensus exists within a minute and an onion service is reachable soon after.
#
# Sourced (after sim/world.sh when inside a world; world_pid is then told of every tor):
#   tornet_init DIR                  state dir; every tor's directory and PID go under it
#   tornet_net NS IP                 authorities a1..a3 and relays r4..r6 in namespace NS, all
#                                    on IP (ORPort 5101.., DirPort 7101..)
#   tornet_client NAME NS ADDR:PORT  a client with its SocksPort on ADDR:PORT
#   tornet_onion NAME NS VPORT TARGET  an onion service: VPORT of the onion -> TARGET (ADDR:PORT);
#                                    its name in $TN_DIR/NAME/hs/hostname (tornet_onion_name)
#   tornet_wait_bootstrap NAME SECS  wait for "Bootstrapped 100%" in NAME's log
#   tornet_wait_published NAME SECS  wait until onion service NAME uploaded its descriptor
#   tornet_stop                      stop every tor of $TN_DIR (by PID: TERM, then KILL)
# Run directly: `sh sim/tornet.sh selftest` builds a network in a namespace of its own, puts
# an echo server behind an onion service and sends 1400 bytes through a client's SocksPort to
# it; `sh sim/tornet.sh stop DIR` stops what a killed run left.

TN_OR=5100  # ORPort base: node i listens on TN_OR + i
TN_DIRP=7100 # DirPort base

tornet_init() # DIR
{
	TN_DIR=$1
	mkdir -p "$TN_DIR" || return 1
	chmod 700 "$TN_DIR"
	: >>"$TN_DIR/pids"
	: >"$TN_DIR/defaults"
	: >"$TN_DIR/authorities"
}

tornet_log() { echo "tornet: $*" >&2; }

# tornet_common NAME: the lines every tor of the network shares.
tornet_common()
{
	cat <<EOF
TestingTorNetwork 1
DataDirectory $TN_DIR/$1
Nickname $1
RunAsDaemon 0
ShutdownWaitLength 0
Log notice file $TN_DIR/$1/notice.log
Log [rend]info file $TN_DIR/$1/rend.log
SafeLogging 0
AvoidDiskWrites 1
GeoIPFile $TN_DIR/defaults
GeoIPv6File $TN_DIR/defaults
ClientUseIPv6 0
AssumeReachable 1
PathsNeededToBuildCircuits 0.25
TestingDirAuthVoteGuard *
TestingDirAuthVoteHSDir *
V3AuthNIntervalsValid 2
EOF
	cat "$TN_DIR/authorities"
}

# tornet_run NAME NS: start tor on $TN_DIR/NAME/torrc in namespace NS, in the background.
tornet_run()
{
	ip netns exec "$2" tor -f "$TN_DIR/$1/torrc" --defaults-torrc "$TN_DIR/defaults" \
		>"$TN_DIR/$1/stdout.log" 2>&1 &
	echo $! >"$TN_DIR/$1/pid"
	echo $! >>"$TN_DIR/pids"
	command -v world_pid >/dev/null 2>&1 && world_pid $!
	return 0
}

# tornet_authkeys NAME IP I NS: the v3 identity (tor-gencert) and relay identity of authority
# NAME; appends its DirAuthority line. `tor --list-fingerprint` only makes keys and exits; it
# runs in NS all the same, as every tor here does.
tornet_authkeys()
{
	d="$TN_DIR/$1"
	mkdir -p "$d/keys" && chmod 700 "$d" || return 1
	# an empty passphrase on stdin: the identity key stays unencrypted
	echo "" | tor-gencert --create-identity-key --passphrase-fd 0 -m 12 \
		-a "$2:$((TN_DIRP + $3))" -i "$d/keys/authority_identity_key" \
		-s "$d/keys/authority_signing_key" -c "$d/keys/authority_certificate" \
		>"$d/gencert.log" 2>&1 ||
		{ tornet_log "tor-gencert failed: $(tail -2 "$d/gencert.log")"; return 1; }
	v3=$(awk '$1 == "fingerprint" { print $2 }' "$d/keys/authority_certificate")
	ip netns exec "$4" tor --ignore-missing-torrc -f "$TN_DIR/defaults" \
		--defaults-torrc "$TN_DIR/defaults" --list-fingerprint --DataDirectory "$d" --ORPort 1 \
		--Nickname "$1" \
		--Log "err stderr" >"$d/fpr.txt" 2>&1
	fpr=$(awk -v n="$1" '$1 == n { $1 = ""; gsub(/ /, ""); print; exit }' "$d/fpr.txt")
	if [ -z "$v3" ] || [ -z "$fpr" ]; then
		tornet_log "no fingerprint for $1: $(cat "$d/fpr.txt")"
		return 1
	fi
	echo "DirAuthority $1 orport=$((TN_OR + $3)) no-v2 v3ident=$v3 $2:$((TN_DIRP + $3)) $fpr" \
		>>"$TN_DIR/authorities"
}

# tornet_relay_conf NAME IP I: a relay's lines. No relay is an exit: the network carries
# onion-service circuits only, so no stream ever leaves it (and no exit looks for a resolver).
tornet_relay_conf()
{
	cat <<EOF
SocksPort 0
Address $2
ORPort $2:$((TN_OR + $3)) IPv4Only
DirPort $2:$((TN_DIRP + $3))
ExitRelay 0
ExitPolicy reject *:*
EOF
}

tornet_net() # NS IP: the authorities and relays
{
	for i in 1 2 3; do tornet_authkeys "a$i" "$2" $i "$1" || return 1; done
	for i in 1 2 3; do
		{
			tornet_common "a$i"
			tornet_relay_conf "a$i" "$2" $i
			cat <<EOF
AuthoritativeDirectory 1
V3AuthoritativeDirectory 1
ContactInfo a$i@tornet.test
TestingV3AuthInitialVotingInterval 20
TestingV3AuthInitialVoteDelay 4
TestingV3AuthInitialDistDelay 4
V3AuthVotingInterval 20
V3AuthVoteDelay 4
V3AuthDistDelay 4
EOF
		} >"$TN_DIR/a$i/torrc"
		tornet_run "a$i" "$1"
	done
	for i in 4 5 6; do
		mkdir -p "$TN_DIR/r$i" && chmod 700 "$TN_DIR/r$i" || return 1
		{
			tornet_common "r$i"
			tornet_relay_conf "r$i" "$2" $i
			# fetch the consensus at once and again within seconds while none exists yet
			echo "TestingServerDownloadInitialDelay 0"
			echo "TestingServerConsensusDownloadInitialDelay 0"
		} >"$TN_DIR/r$i/torrc"
		tornet_run "r$i" "$1"
	done
}

tornet_client() # NAME NS ADDR:PORT
{
	mkdir -p "$TN_DIR/$1" && chmod 700 "$TN_DIR/$1" || return 1
	{
		tornet_common "$1"
		echo "SocksPort $3"
		echo "ClientBootstrapConsensusAuthorityDownloadInitialDelay 0"
	} >"$TN_DIR/$1/torrc"
	tornet_run "$1" "$2"
}

# tornet_onion NAME NS VPORT TARGET: waits (10 s at most) for the onion's name to be made.
tornet_onion()
{
	mkdir -p "$TN_DIR/$1" && chmod 700 "$TN_DIR/$1" || return 1
	{
		tornet_common "$1"
		echo "SocksPort 0"
		echo "HiddenServiceDir $TN_DIR/$1/hs"
		echo "HiddenServicePort $3 $4"
	} >"$TN_DIR/$1/torrc"
	tornet_run "$1" "$2"
	i=0
	while [ $i -lt 100 ] && [ ! -s "$TN_DIR/$1/hs/hostname" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -s "$TN_DIR/$1/hs/hostname" ] || { tornet_log "$1 made no onion name"; return 1; }
}

tornet_onion_name() { cat "$TN_DIR/$1/hs/hostname"; } # NAME

tornet_alive() # NAME: 0 while NAME's tor runs
{
	kill -0 "$(cat "$TN_DIR/$1/pid" 2>/dev/null)" 2>/dev/null
}

# tornet_wait_log NAME SECS PATTERN FILE: wait for an extended regex in NAME's log FILE; 1 on
# timeout or when NAME's tor has exited.
tornet_wait_log()
{
	end=$(($(date +%s) + $2))
	while :; do
		grep -Eq "$3" "$TN_DIR/$1/$4" 2>/dev/null && return 0
		if ! tornet_alive "$1"; then
			tornet_log "$1's tor exited: $(tail -3 "$TN_DIR/$1/notice.log" 2>/dev/null)"
			return 1
		fi
		[ "$(date +%s)" -ge $end ] && return 1
		sleep 1
	done
}

tornet_wait_bootstrap() { tornet_wait_log "$1" "$2" 'Bootstrapped 100%' notice.log; } # NAME SECS

# tornet_wait_published NAME SECS: an HSDir answered 200 to the service's descriptor upload.
tornet_wait_published()
{
	tornet_wait_log "$1" "$2" 'Uploading hidden service descriptor: finished with status 200' rend.log
}

tornet_stop() # stop every tor of $TN_DIR, by the PIDs it recorded
{
	[ -n "${TN_DIR:-}" ] && [ -s "$TN_DIR/pids" ] || return 0
	# shellcheck disable=SC2013 # one PID a line
	for p in $(cat "$TN_DIR/pids"); do kill "$p" 2>/dev/null; done
	i=0
	while [ $i -lt 30 ]; do
		alive=0
		# shellcheck disable=SC2013
		for p in $(cat "$TN_DIR/pids"); do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
		i=$((i + 1))
	done
	# shellcheck disable=SC2013
	for p in $(cat "$TN_DIR/pids"); do kill -9 "$p" 2>/dev/null; done
	: >"$TN_DIR/pids"
}

# A 1400-byte echo through a SOCKS5 proxy (the name sent unresolved, ATYP 3); prints the
# connect time and the echo's round trip in ms, exits 1 on any failure.
TN_SOCKS_ECHO='
import socket, struct, sys, time
proxy, port, host, hport = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
t0 = time.time()
s = socket.create_connection((proxy, port), timeout=60)
s.sendall(b"\x05\x01\x00")
assert s.recv(2) == b"\x05\x00", "socks greeting refused"
h = host.encode()
s.sendall(b"\x05\x01\x00\x03" + bytes([len(h)]) + h + struct.pack(">H", hport))
r = s.recv(4)
if len(r) < 2 or r[1] != 0:
    sys.exit("socks connect refused: reply %s" % (r[1] if len(r) > 1 else "none"))
s.recv(6)  # the rest of the reply: an IPv4 address and a port
t1 = time.time()
msg = bytes(range(256)) * 5 + bytes(120)
t2 = time.time()
s.sendall(msg)
got = b""
while len(got) < len(msg):
    b = s.recv(65536)
    if not b:
        break
    got += b
t3 = time.time()
if got != msg:
    sys.exit("echo mismatch: %d bytes back" % len(got))
print("connect_ms=%.0f echo_ms=%.1f" % ((t1 - t0) * 1000, (t3 - t2) * 1000))
'

# An echo server on argv[1]:argv[2] (one thread a connection).
TN_ECHO_SERVER='
import socket, sys, threading
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], int(sys.argv[2])))
srv.listen(16)
def serve(c):
    while True:
        b = c.recv(65536)
        if not b:
            break
        c.sendall(b)
    c.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
'

tornet_socks_echo() # NS PROXY PORT HOST HPORT
{
	ip netns exec "$1" python3 -c "$TN_SOCKS_ECHO" "$2" "$3" "$4" "$5"
}

tornet_selftest()
{
	for t in tor tor-gencert python3 ip; do
		command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not installed"; return 77; }
	done
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for network namespaces"; return 77; }
	ns=t21tn$$
	ip netns add $ns 2>/dev/null || { echo "SKIP: cannot create network namespaces here"; return 77; }
	TN_NS=$ns
	trap 'tornet_stop; ip netns del "$TN_NS" 2>/dev/null; rm -rf "$TN_DIR"' EXIT
	trap 'exit 1' INT TERM
	# One documentation address on loopback, no other device: no route leaves the namespace.
	ip -n $ns link set lo up
	ip -n $ns addr add 198.51.100.40/32 dev lo || return 1
	tornet_init "/tmp/wgrtornet-$$" || return 1
	t0=$(date +%s)
	tornet_net $ns 198.51.100.40 || return 1
	tornet_client c1 $ns 127.0.0.1:9050 || return 1
	ip netns exec $ns python3 -c "$TN_ECHO_SERVER" 127.0.0.1 7777 >"$TN_DIR/echo.log" 2>&1 &
	echo $! >>"$TN_DIR/pids"
	tornet_onion hs $ns 443 127.0.0.1:7777 || return 1
	onion=$(tornet_onion_name hs)
	echo "tornet: network up in $ns, onion $onion"
	if ! tornet_wait_bootstrap c1 360; then
		echo "FAIL: the client did not bootstrap in 360 s"
		tail -5 "$TN_DIR/c1/notice.log" "$TN_DIR/a1/notice.log"
		return 1
	fi
	echo "tornet: client bootstrapped after $(($(date +%s) - t0)) s"
	if ! tornet_wait_published hs 240; then
		echo "FAIL: the onion service published no descriptor"
		tail -5 "$TN_DIR/hs/notice.log" "$TN_DIR/hs/rend.log"
		return 1
	fi
	echo "tornet: descriptor published after $(($(date +%s) - t0)) s"
	n=0
	while [ $n -lt 5 ]; do
		tornet_socks_echo $ns 127.0.0.1 9050 "$onion" 443 && break
		n=$((n + 1))
		sleep 3
	done
	[ $n -lt 5 ] || { echo "FAIL: no echo through the onion service"; return 1; }
	tornet_socks_echo $ns 127.0.0.1 9050 "$onion" 443 || return 1
	echo "tornet: echo through the onion service after $(($(date +%s) - t0)) s: PASS"
	return 0
}

case ${0##*/} in
tornet.sh)
	case ${1:-} in
	selftest) tornet_selftest; exit $? ;;
	stop)
		TN_DIR=$2
		tornet_stop
		;;
	*) echo "usage: sh tornet.sh selftest | stop DIR" >&2; exit 2 ;;
	esac
	;;
esac
