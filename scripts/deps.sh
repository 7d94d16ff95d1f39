#!/bin/sh
# Install what wgrelay needs to build and test on Debian 12. Checks first and installs only
# what is missing, so a second run is quick and does not need the network.
set -eu
PKGS="cmake make gcc pkg-config libmnl-dev libsodium-dev libmaxminddb-dev libsqlite3-dev
libcmocka-dev clang libclang-rt-14-dev clang-format wireguard-tools wireguard-go nftables iptables
iproute2 iputils-ping iperf3 qemu-system-x86 busybox-static coturn libmaxmind-db-writer-perl
mmdb-bin sqlite3 gnuplot-nox groff-base mandoc kmod procps psmisc xz-utils cpio
systemd shellcheck curl lintian python3 jq openssl python3-libtorrent
libssl-dev libwslay-dev tinyproxy microsocks nginx tor"
missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && { echo "deps: all present"; exit 0; }
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
