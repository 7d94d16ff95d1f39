# tests/kvm/lib.sh: sourced by the VM tests' host scripts.
# shellcheck shell=sh
# shellcheck disable=SC2015 # "A && B || die": die when A or B fails, as meant
#
# What they share: the checks for qemu and the host tools, Debian's kernel package fetched once
# into a cache (the uncompressed vmlinux and the modules the tests load), copying programs with
# their libraries into an initramfs, and booting it under qemu (TCG: this host's kernel has no
# WireGuard, and KVM does not run a stock guest there).

KVM_QEMU=qemu-system-x86_64
# Every module a VM test loads; the cache keeps these and whatever modprobe says they need.
KVM_MODULES="wireguard veth bridge nf_tables nft_chain_nat nft_masq nft_nat sch_netem"
KVM_QPID=

kvm_skip()
{
	echo "SKIP: $*"
	exit 77
}

kvm_die()
{
	echo "FAIL: $*"
	exit 1
}

# kvm_check TOOL...: exit 77 when qemu cannot run here, 1 when busybox-static or a tool the
# scripts need (the TOOLs too) is missing.
kvm_check()
{
	command -v $KVM_QEMU >/dev/null || kvm_skip "$KVM_QEMU is not installed"
	$KVM_QEMU -accel help 2>/dev/null | grep -qx tcg || kvm_skip "$KVM_QEMU has no TCG accelerator"
	if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
		kvm_die "busybox-static is not installed (a static /bin/busybox)"
	fi
	for _c in cpio gzip xz depmod modprobe dpkg-deb apt-get apt-cache flock "$@"; do
		command -v "$_c" >/dev/null || kvm_die "$_c is not installed"
	done
}

# kvm_kernel CACHE: set KDIR to CACHE/VERSION for the kernel package linux-image-amd64 points at:
# KDIR/vmlinux, KDIR/modules/*.ko and KDIR/order.MODULE (the .ko files MODULE needs, in insmod
# order, its own last) for every module of KVM_MODULES. Downloads and unpacks the package when
# the cache lacks any of it; exit 77 when it cannot be resolved or downloaded.
kvm_kernel()
{
	mkdir -p "$1" || kvm_die "cannot create $1"
	# The ABI package linux-image-amd64 points at, e.g. linux-image-6.1.0-56-amd64.
	_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	[ -n "$_pkg" ] || kvm_skip "cannot resolve linux-image-amd64 (apt lists missing?)"
	_ver=${_pkg#linux-image-}
	KDIR=$1/$_ver
	# The VM tests may run at the same time: one fills the cache, the others wait for it.
	exec 9>"$1/lock"
	flock -w 600 9 || kvm_die "kernel cache $1 stays locked"
	kvm_kernel_cached || kvm_kernel_fetch "$_pkg" "$_ver"
	exec 9>&-
}

kvm_kernel_cached() # 0 when KDIR has the vmlinux and every module of KVM_MODULES
{
	[ -s "$KDIR/vmlinux" ] || return 1
	for _m in $KVM_MODULES; do
		[ -s "$KDIR/order.$_m" ] || return 1
	done
}

kvm_kernel_fetch() # PACKAGE VERSION: (re)fill KDIR
{
	rm -rf "$KDIR"
	mkdir -p "$KDIR/x" "$KDIR/modules" || kvm_die "cannot create $KDIR"
	if ! (cd "$KDIR" && timeout 300 apt-get download "$1" >/dev/null 2>&1); then
		rm -rf "$KDIR"
		kvm_skip "cannot download $1"
	fi
	dpkg-deb -x "$KDIR"/*.deb "$KDIR/x" || kvm_die "dpkg-deb -x $1"
	# PVH boots the uncompressed vmlinux directly: find the XZ stream in vmlinuz and unpack it.
	_off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$KDIR/x/boot/vmlinuz-$2" | head -1 | cut -d: -f1)
	[ -n "$_off" ] || kvm_die "no XZ stream in vmlinuz-$2"
	tail -c +$((_off + 1)) "$KDIR/x/boot/vmlinuz-$2" | xz -dc >"$KDIR/vmlinux" 2>/dev/null
	[ "$(head -c 4 "$KDIR/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ] ||
		kvm_die "vmlinux extraction failed"
	# The package has no modules.dep: make one, then ask modprobe for each module's load order.
	depmod -b "$KDIR/x" "$2" || kvm_die "depmod"
	for _m in $KVM_MODULES; do
		modprobe -d "$KDIR/x" -S "$2" --show-depends "$_m" >"$KDIR/deps" ||
			kvm_die "modprobe --show-depends $_m"
		awk '$1 == "insmod" { print $2 }' "$KDIR/deps" | while read -r _ko; do
			cp "$_ko" "$KDIR/modules/" || exit 1
			basename "$_ko"
		done >"$KDIR/order.$_m.tmp" || kvm_die "copying the modules of $_m"
		mv "$KDIR/order.$_m.tmp" "$KDIR/order.$_m"
	done
	rm -rf "$KDIR/x" "$KDIR"/*.deb "$KDIR/deps"
}

# kvm_modules ROOT MODULE...: copy the modules into ROOT/modules and write ROOT/modules.order,
# each .ko once, dependencies first.
kvm_modules()
{
	_root=$1
	shift
	mkdir -p "$_root/modules" || kvm_die "cannot create $_root/modules"
	for _m in "$@"; do
		[ -s "$KDIR/order.$_m" ] || kvm_die "module $_m is not in the kernel cache"
	done
	for _m in "$@"; do
		cat "$KDIR/order.$_m"
	done | awk '!seen[$0]++' >"$_root/modules.order"
	while read -r _ko; do
		cp "$KDIR/modules/$_ko" "$_root/modules/" || kvm_die "copy $_ko"
	done <"$_root/modules.order"
}

# kvm_copy ROOT FILE [DEST]: copy FILE (links followed) to ROOT/DEST, by default to the same
# path as on the host, with the libraries it links.
kvm_copy()
{
	_dst=${3:-$2}
	mkdir -p "$1${_dst%/*}" && cp -L "$2" "$1$_dst" || kvm_die "cannot copy $2"
	kvm_libs "$1" "$2"
}

# kvm_libs ROOT FILE...: copy every library the FILEs link (ldd), and the loader, into ROOT at
# the paths they have on the host.
kvm_libs()
{
	_root=$1
	shift
	for _f in "$@"; do
		ldd "$_f" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }'
	done | sort -u | while read -r _lib; do
		[ -e "$_root$_lib" ] && continue
		mkdir -p "$_root${_lib%/*}" && cp -L "$_lib" "$_root$_lib" || exit 1
	done || kvm_die "cannot copy the libraries of $*"
}

# kvm_initrd ROOT OUT: pack ROOT as a gzip'd cpio initramfs.
kvm_initrd()
{
	(cd "$1" && find . | cpio -o -H newc --quiet | gzip -1) >"$2" || kvm_die "cpio"
}

# kvm_boot INITRD LOG SECONDS MEM_MB CPUS: boot KDIR/vmlinux with INITRD, the serial console
# written to LOG, under `timeout SECONDS`; returns qemu's (or timeout's, 124) status. The caller's
# EXIT trap should kill KVM_QPID, set while the VM runs.
kvm_boot()
{
	timeout "$3" $KVM_QEMU -M pc -accel tcg -cpu max -m "$4" -smp "$5" -no-reboot \
		-display none -nodefaults -monitor none -serial "file:$2" -nic none \
		-kernel "$KDIR/vmlinux" -initrd "$1" -append "console=ttyS0 panic=-1 loglevel=4" \
		</dev/null &
	KVM_QPID=$!
	wait $KVM_QPID
	_rc=$?
	KVM_QPID=
	return $_rc
}
