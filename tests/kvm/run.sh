#!/bin/sh
# Kernel WireGuard test in a qemu VM (TCG; this host's kernel has no WireGuard). Fetches the
# Debian kernel package at test time into a cache in the build tree (lib.sh), builds an initramfs
# (busybox-static, wireguard + deps, veth, wgi_live, ip, wg and their libraries), boots the
# uncompressed vmlinux and reads one PASS/FAIL line from the serial console.
# Usage: run.sh path/to/wgi_live. Exit 77 (skip) only when qemu cannot run or the kernel package
# cannot be downloaded.
set -u
TOOL=${1:?usage: $0 wgi_live}
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${WGR_BINARY_DIR:-$(dirname "$TOOL")/..}
CACHE=$BIN/kvm-cache
# shellcheck source=tests/kvm/lib.sh
. "$HERE/lib.sh"

kvm_check wg ip
mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/run.XXXXXX")
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

# The initramfs.
R=$WORK/root
mkdir -p "$R/bin" "$R/usr/bin" "$R/usr/sbin" "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/run" \
	"$R/var"
ln -s ../run "$R/var/run"
cp /bin/busybox "$R/bin/busybox"
cp "$HERE/init.sh" "$R/init"
cp "$HERE/vm-test.sh" "$R/vm-test.sh"
kvm_modules "$R" wireguard veth
kvm_copy "$R" "$(command -v ip)" /usr/sbin/ip
kvm_copy "$R" "$(command -v wg)" /usr/bin/wg
kvm_copy "$R" "$TOOL" /wgi_live
chmod +x "$R/init"
kvm_initrd "$R" "$WORK/initrd"
t2=$(date +%s.%N)

LOG=$WORK/console.log
# TCG on a loaded 2-core machine: ~15 s idle, up to ~90 s under heavy load; 240 s is the bound.
kvm_boot "$WORK/initrd" "$LOG" 240 512 1
qrc=$?
t3=$(date +%s.%N)

grep -E "^(ok|FAIL|WGI-KVM|insmod)|^[<>+-]" "$LOG" | tr -d '\r'
awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN {
	printf "times: kernel fetch/cache %.1f s, initramfs %.1f s, VM boot+test %.1f s\n", b - a, c - b, d - c
}'
if grep -q "WGI-KVM: PASS" "$LOG"; then
	echo "PASS: kernel WireGuard VM test"
	exit 0
fi
[ $qrc = 124 ] && echo "VM timed out"
tail -n 30 "$LOG"
kvm_die "kernel WireGuard VM test"
