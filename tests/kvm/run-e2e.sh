#!/bin/sh
# End-to-end scenarios on kernel WireGuard: tests/e2e scripts, unchanged, run one after another
# inside one qemu VM booted from Debian's stock kernel, with WORLD_WG=kernel so that the peers of
# their worlds (sim/world.sh) are kernel WireGuard devices instead of wireguard-go. The initramfs
# holds busybox-static, dash, iproute2's ip and tc, nft, iputils' ping, wg, perl with the modules
# tests/data/mkmmdb.pl loads, iperf3, curl, jq, openssl and conntrack where installed and named by
# the scenarios, wgrelayd and wgrelay from the build tree, their libraries, and the kernel
# modules (wireguard, veth, bridge, nftables NAT, netem) from the same kernel package (lib.sh
# fetches it once into a cache in the build tree).
# Usage: run-e2e.sh [SCENARIO...], names of tests/e2e scripts without .sh (default:
# 01_symmetric_relay 07_helper_kill9); KVM_E2E_SECONDS bounds each scenario (default 150).
# The VM prints "E2E-KVM: PASS NAME" or "E2E-KVM: FAIL NAME" for each. Exit 0 when every
# scenario passed, 1 otherwise, 77 (skip) only when qemu cannot run or the kernel package cannot
# be downloaded.
# shellcheck disable=SC2015 # "A && B || die": die when A or B fails, as meant
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${WGR_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
BIN=$(cd "${WGR_BINARY_DIR:?set WGR_BINARY_DIR to the build tree}" && pwd) || exit 1
CACHE=$BIN/kvm-cache
SCENARIOS=${*:-01_symmetric_relay 07_helper_kill9}
PER=${KVM_E2E_SECONDS:-150}
# shellcheck source=tests/kvm/lib.sh
. "$HERE/lib.sh"

kvm_check dash ip tc nft wg ping perl
for f in relayd/wgrelayd relay-client/wgrelay; do
	[ -x "$BIN/$f" ] || kvm_die "$BIN/$f is not built"
done
n=0
for s in $SCENARIOS; do
	[ -f "$SRC/tests/e2e/$s.sh" ] || kvm_die "no scenario tests/e2e/$s.sh"
	n=$((n + 1))
done
mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/e2e.XXXXXX")
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	[ -n "$KVM_QPID" ] && kill "$KVM_QPID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

t0=$(date +%s.%N)
kvm_kernel "$CACHE"
t1=$(date +%s.%N)

R=$WORK/root
mkdir -p "$R/bin" "$R/sbin" "$R/usr/bin" "$R/usr/sbin" "$R/proc" "$R/sys" "$R/dev" "$R/tmp" \
	"$R/run" "$R/var" "$R/etc" "$R/root" "$R/wgr/src/sim" "$R/wgr/src/tests/e2e" \
	"$R/wgr/src/tests/data" || kvm_die "initramfs tree"
ln -s ../run "$R/var/run"
cp /bin/busybox "$R/bin/busybox"
cp "$HERE/e2e-init.sh" "$R/init" && chmod +x "$R/init" || kvm_die "init"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\n' >"$R/etc/group"
kvm_modules "$R" wireguard veth bridge nf_tables nft_chain_nat nft_masq nft_nat sch_netem
for t in dash:/usr/bin/dash ip:/usr/sbin/ip tc:/usr/sbin/tc nft:/usr/sbin/nft wg:/usr/bin/wg \
	ping:/usr/bin/ping perl:/usr/bin/perl; do
	kvm_copy "$R" "$(command -v "${t%%:*}")" "${t#*:}"
done
# Tools some scenarios use, or skip a check without: where installed and named by the scenarios.
used=
for s in $SCENARIOS; do
	used="$used $SRC/tests/e2e/$s.sh"
done
for t in iperf3 curl jq openssl conntrack; do
	p=$(command -v $t) || continue
	# shellcheck disable=SC2086 # used: a list of files
	grep -qw $t $used "$SRC/sim/world.sh" && kvm_copy "$R" "$p" "/usr/bin/$t"
done
# The worlds' GeoIP database comes from tests/data/mkmmdb.pl: copy what perl loads to run it.
printf '203.0.113.10/32 50.11 8.68 Frankfurt DE\n198.51.100.10/32 48.86 2.35 Paris FR\n' \
	>"$WORK/geo.txt"
# shellcheck disable=SC2016 # perl's variables
perl -e 'my $out = shift; my $script = shift;
	END { open(my $f, ">", $out) or die "$out: $!";
		print $f "$_\n" for grep { m{^/usr/} && -f } (values %INC, @DynaLoader::dl_shared_objects) }
	do $script; die $@ if $@' "$WORK/perl.list" "$SRC/tests/data/mkmmdb.pl" "$WORK/geo.mmdb" \
	"$WORK/geo.txt" && [ -s "$WORK/geo.mmdb" ] || kvm_die "tests/data/mkmmdb.pl does not run here"
while read -r f; do
	case $f in
	*.so) kvm_copy "$R" "$f" ;;
	*) mkdir -p "$R${f%/*}" && cp "$f" "$R$f" || kvm_die "copy $f" ;;
	esac
done <"$WORK/perl.list"
# Proof that the worlds run on kernel WireGuard: wireguard-go is not there to start.
printf '#!/bin/sh\necho "wireguard-go: not in the kernel WireGuard VM" >&2\nexit 1\n' \
	>"$R/usr/bin/wireguard-go"
chmod +x "$R/usr/bin/wireguard-go"
mkdir -p "$R/wgr/build/relayd" "$R/wgr/build/relay-client"
kvm_copy "$R" "$BIN/relayd/wgrelayd" /wgr/build/relayd/wgrelayd
kvm_copy "$R" "$BIN/relay-client/wgrelay" /wgr/build/relay-client/wgrelay
cp "$SRC/sim/world.sh" "$R/wgr/src/sim/" &&
	cp "$SRC"/tests/e2e/*.sh "$R/wgr/src/tests/e2e/" &&
	cp "$SRC/tests/data/mkmmdb.pl" "$R/wgr/src/tests/data/" || kvm_die "copy the scripts"
echo "$SCENARIOS" | tr ' ' '\n' | grep . >"$R/e2e.list"
echo "$PER" >"$R/e2e.timeout"
kvm_initrd "$R" "$WORK/initrd"
t2=$(date +%s.%N)

LOG=$WORK/console.log
# Boot and module loading take 10-30 s under TCG; each scenario gets PER seconds on top.
kvm_boot "$WORK/initrd" "$LOG" $((60 + n * PER)) 1024 2
qrc=$?
t3=$(date +%s.%N)

tr -d '\r' <"$LOG"
awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v s="$(wc -c <"$WORK/initrd")" 'BEGIN {
	printf "times: kernel fetch/cache %.1f s, initramfs %.1f s (%.0f MB), VM %.1f s\n",
		b - a, c - b, s / 1048576, d - c
}'
[ $qrc = 124 ] && echo "VM timed out after $((60 + n * PER)) s"
failed=0
for s in $SCENARIOS; do
	if tr -d '\r' <"$LOG" | grep -q "^E2E-KVM: PASS $s "; then
		echo "PASS: $s on kernel WireGuard"
	else
		echo "FAIL: $s on kernel WireGuard"
		failed=1
	fi
done
exit $failed
