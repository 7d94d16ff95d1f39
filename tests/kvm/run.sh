#!/bin/sh
# Kernel WireGuard test in a qemu VM (TCG; this host's kernel has no WireGuard). Fetches the
# Debian kernel package at test time into a cache in the build tree, builds an initramfs
# (busybox-static, wireguard + deps, veth, wgi_live, ip, wg and their libraries), boots the
# uncompressed vmlinux and reads one PASS/FAIL line from the serial console.
# Usage: run.sh path/to/wgi_live. Exit 77 (skip) only when qemu cannot run or the kernel package
# cannot be downloaded.
# shellcheck disable=SC2015 # "A && B || die": die when A or B fails, as meant
set -u
TOOL=${1:?usage: $0 wgi_live}
SRC=${WGR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WGR_BINARY_DIR:-$(dirname "$TOOL")/..}
CACHE=$BIN/kvm-cache
HERE=$SRC/tests/kvm
QEMU=qemu-system-x86_64
skip() {
	echo "SKIP: $*"
	exit 77
}
die() {
	echo "FAIL: $*"
	exit 1
}

command -v $QEMU >/dev/null || skip "$QEMU is not installed"
$QEMU -accel help 2>/dev/null | grep -qx tcg || skip "$QEMU has no TCG accelerator"
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 ||
	die "busybox-static is not installed (a static /bin/busybox)"
for c in wg ip cpio gzip xz depmod modprobe dpkg-deb apt-get; do
	command -v $c >/dev/null || die "$c is not installed"
done

mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/run.XXXXXX")
QPID=""
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	[ -n "$QPID" ] && kill "$QPID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

t0=$(date +%s.%N)
# Resolve the ABI package linux-image-amd64 points at, e.g. linux-image-6.1.0-56-amd64.
PKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$PKG" ] || skip "cannot resolve linux-image-amd64 (apt lists missing?)"
VER=${PKG#linux-image-}
KDIR=$CACHE/$VER
if [ ! -s "$KDIR/vmlinux" ] || [ ! -s "$KDIR/modules.order" ]; then
	rm -rf "$KDIR" && mkdir -p "$KDIR/x" || die "cache dir"
	(cd "$KDIR" && timeout 300 apt-get download "$PKG" >/dev/null 2>&1) ||
		skip "cannot download $PKG"
	dpkg-deb -x "$KDIR"/*.deb "$KDIR/x" || die "dpkg-deb -x"
	# PVH boots the uncompressed vmlinux directly: find the XZ stream in vmlinuz and unpack.
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$KDIR/x/boot/vmlinuz-$VER" | head -1 | cut -d: -f1)
	[ -n "$off" ] || die "no XZ stream in vmlinuz-$VER"
	tail -c +$((off + 1)) "$KDIR/x/boot/vmlinuz-$VER" | xz -dc >"$KDIR/vmlinux" 2>/dev/null
	[ "$(head -c 4 "$KDIR/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ] ||
		die "vmlinux extraction failed"
	# Load order of wireguard's dependencies, then veth, as modprobe would resolve them.
	mkdir -p "$KDIR/modules"
	depmod -b "$KDIR/x" "$VER" || die "depmod"
	modprobe -d "$KDIR/x" -S "$VER" --show-depends wireguard >"$KDIR/deps" || die "modprobe"
	modprobe -d "$KDIR/x" -S "$VER" --show-depends veth >>"$KDIR/deps" || die "modprobe veth"
	: >"$KDIR/modules.order.tmp"
	awk '$1 == "insmod" { print $2 }' "$KDIR/deps" | while read -r ko; do
		n=$(basename "$ko")
		grep -qx "$n" "$KDIR/modules.order.tmp" && continue
		cp "$ko" "$KDIR/modules/$n" && echo "$n" >>"$KDIR/modules.order.tmp"
	done
	mv "$KDIR/modules.order.tmp" "$KDIR/modules.order"
	rm -rf "$KDIR/x" "$KDIR"/*.deb "$KDIR/deps"
fi
t1=$(date +%s.%N)

# The initramfs.
R=$WORK/root
mkdir -p "$R/bin" "$R/usr/bin" "$R/usr/sbin" "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/run" \
	"$R/var" "$R/modules"
ln -s ../run "$R/var/run"
cp /bin/busybox "$R/bin/busybox"
cp "$HERE/init.sh" "$R/init"
cp "$HERE/vm-test.sh" "$R/vm-test.sh"
cp "$KDIR/modules/"*.ko "$R/modules/"
cp "$KDIR/modules.order" "$R/modules.order"
cp -L "$(command -v ip)" "$R/usr/sbin/ip"
cp -L "$(command -v wg)" "$R/usr/bin/wg"
cp -L "$TOOL" "$R/wgi_live"
for f in "$R/usr/sbin/ip" "$R/usr/bin/wg" "$R/wgi_live"; do
	ldd "$f" | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }'
done | sort -u | while read -r lib; do
	mkdir -p "$R$(dirname "$lib")"
	cp -L "$lib" "$R$lib"
done
chmod +x "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) >"$WORK/initrd" || die "cpio"
t2=$(date +%s.%N)

LOG=$WORK/console.log
# TCG on a loaded 2-core machine: ~15 s idle, up to ~90 s under heavy load; 240 s is the bound.
timeout 240 $QEMU -M pc -accel tcg -cpu max -m 512 -smp 1 -no-reboot -display none \
	-nodefaults -monitor none -serial "file:$LOG" -nic none -kernel "$KDIR/vmlinux" \
	-initrd "$WORK/initrd" -append "console=ttyS0 panic=-1 loglevel=4" </dev/null &
QPID=$!
wait $QPID
qrc=$?
QPID=""
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
die "kernel WireGuard VM test"
