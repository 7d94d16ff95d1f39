#!/bin/sh
# Install what wgrelay needs to build and test on Debian 12. Checks first and installs only
# what is missing, so a second run is quick and does not need the network.
set -eu
PKGS="cmake make gcc pkg-config libmnl-dev libsodium-dev libmaxminddb-dev libsqlite3-dev
libcmocka-dev libbpf-dev clang libclang-rt-14-dev clang-format wireguard-tools wireguard-go nftables
iptables iproute2 iputils-ping iperf3 ethtool qemu-system-x86 busybox-static coturn libmaxmind-db-writer-perl
mmdb-bin sqlite3 gnuplot-nox groff-base mandoc kmod procps psmisc xz-utils cpio
systemd shellcheck curl lintian python3 jq openssl python3-libtorrent
libssl-dev libwslay-dev tinyproxy microsocks nginx tor nodejs tcpdump"
missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
# Debian's npm, unless an npm is there already: a Node.js from elsewhere (NodeSource's nodejs
# package) brings its own and conflicts with Debian's.
command -v npm >/dev/null 2>&1 || missing="$missing npm"
# tests/libp2p: the js-libp2p nodes of the interop scenario and bench, at the versions its
# package-lock.json pins. npm ci runs only when node_modules is missing or older than the lock
# file, and is skipped (those tests then skip) when the registry cannot be reached, so the
# rest works offline.
libp2p_npm() {
	dir=$(dirname "$0")/../tests/libp2p
	lock="$dir/package-lock.json"
	[ -f "$lock" ] || return 0
	if [ -d "$dir/node_modules" ] && [ -z "$(find "$lock" -newer "$dir/node_modules")" ]; then
		return 0
	fi
	if ! command -v npm >/dev/null 2>&1; then
		echo "deps: no npm; npm ci in tests/libp2p skipped (the libp2p tests skip without it)" >&2
		return 0
	fi
	if ! npm ping --fetch-timeout=10000 --fetch-retries=0 >/dev/null 2>&1; then
		echo "deps: npm registry unreachable; npm ci in tests/libp2p skipped (the libp2p tests skip without it)" >&2
		return 0
	fi
	echo "deps: npm ci in tests/libp2p"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || return 1
	# npm ci may leave the directory's time older than a lock file edited meanwhile
	touch "$dir/node_modules"
}
[ -z "$missing" ] && {
	echo "deps: all present"
	libp2p_npm || exit 1
	exit 0
}
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing:$missing (run 'make deps' as root)" >&2
	exit 1
fi
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# coturn, tinyproxy, nginx and tor ship system services; tests and benchmarks start their own,
# in their own namespaces. A policy-rc.d answering 101 keeps the packages from starting them
# (nginx would take port 80 of this machine, tor would contact the public network); one that
# was there already is set aside for the install and put back after it.
prc=/usr/sbin/policy-rc.d
saved=""
if [ -e "$prc" ]; then
	saved="$prc.wgrelay-deps.$$"
	mv "$prc" "$saved"
fi
printf '#!/bin/sh\nexit 101\n' >"$prc" && chmod 755 "$prc"
rc=0
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing || rc=$?
rm -f "$prc"
[ -n "$saved" ] && mv "$saved" "$prc"
[ $rc = 0 ] || exit $rc
if command -v systemctl >/dev/null 2>&1; then
	for s in coturn tinyproxy nginx tor; do
		systemctl disable --now "$s" >/dev/null 2>&1 || true
	done
fi
libp2p_npm || exit 1
