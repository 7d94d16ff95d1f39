#!/bin/sh
# Install what wgrelay needs to build and test on Debian 12. Checks first and installs only
# what is missing, so a second run is quick and does not need the network.
set -eu
PKGS="cmake make gcc pkg-config libmnl-dev libsodium-dev libmaxminddb-dev libsqlite3-dev
libcmocka-dev clang libclang-rt-14-dev clang-format wireguard-tools wireguard-go nftables iptables
iproute2 iputils-ping iperf3 qemu-system-x86 busybox-static coturn libmaxmind-db-writer-perl
mmdb-bin sqlite3 gnuplot-nox groff-base mandoc kmod procps psmisc xz-utils cpio
systemd shellcheck curl lintian python3 jq openssl python3-libtorrent"
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
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
# coturn's package enables a system service; tests and benchmarks start their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q coturn 2>/dev/null; then
	systemctl disable --now coturn >/dev/null 2>&1 || true
fi
