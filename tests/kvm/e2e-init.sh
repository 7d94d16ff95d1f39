#!/bin/busybox sh
# shellcheck shell=dash # busybox ash, checked as the closest shell shellcheck knows
# PID 1 of the end-to-end VM (run-e2e.sh): mount the basics, load the modules, run each scenario
# named in /e2e.list (tests/e2e/NAME.sh) under dash with WORLD_WG=kernel, each bounded by the
# seconds in /e2e.timeout, print one "E2E-KVM: PASS NAME" or "E2E-KVM: FAIL NAME" line for each,
# power off. The scenarios run under dash, not busybox sh: busybox's shell would run its own `ip`
# and `ping` applets instead of iproute2's and iputils'. For the same reason this script calls
# iproute2 by its path.
/bin/busybox --install -s /bin
# iproute2, iputils, nft and the rest in /usr/*bin come before busybox's applets in /bin
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
IP=/usr/sbin/ip
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /run/netns
$IP link set lo up
ok=1
# shellcheck disable=SC2013 # one module file name a line, no spaces
for m in $(cat /modules.order); do
	insmod "/modules/$m" || { echo "E2E-KVM: insmod $m failed"; ok=0; }
done
echo "E2E-KVM: boot-to-test $(cut -d' ' -f1 /proc/uptime) s, $(nproc) CPUs, kernel $(uname -r)"
export WORLD_WG=kernel WGR_SOURCE_DIR=/wgr/src WGR_BINARY_DIR=/wgr/build WG_COLOR_MODE=never
limit=$(cat /e2e.timeout)
# sweep NAME: end what scenario NAME left behind, say what: processes (but this one and the
# kernel's threads) and worlds (its own cleanup does not run when timeout has to kill it).
sweep()
{
	left=
	sleep 1 # busybox timeout's watcher notices the end of its command within a second
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		c=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)
		[ "$p" = 1 ] || [ -z "$c" ] && continue
		kill -9 "$p" 2>/dev/null && left="$left ${c%% *}"
	done
	w=$(/usr/bin/dash "$WGR_SOURCE_DIR/sim/world.sh" list)
	for id in $w; do
		/usr/bin/dash "$WGR_SOURCE_DIR/sim/world.sh" cleanup "${id%-}"
	done
	[ -n "$left" ] && echo "E2E-KVM: after $1: ended leftover processes:$left"
	[ -n "$w" ] && echo "E2E-KVM: after $1: removed leftover worlds: $(echo "$w" | tr '\n' ' ')"
	return 0
}
# shellcheck disable=SC2013 # one scenario name a line, no spaces
for s in $(cat /e2e.list); do
	echo "E2E-KVM: RUN $s"
	t0=$(date +%s)
	rc=1
	if [ $ok = 1 ]; then
		timeout -k 10 "$limit" /usr/bin/dash "$WGR_SOURCE_DIR/tests/e2e/$s.sh" </dev/null
		rc=$?
	fi
	dt=$(($(date +%s) - t0))
	if [ $rc = 0 ]; then
		echo "E2E-KVM: PASS $s ($dt s)"
	else
		why="exit status $rc"
		[ $rc = 77 ] && why="skipped inside the VM"
		[ $dt -ge "$limit" ] && why="timed out after $limit s"
		[ $ok = 1 ] || why="modules missing"
		echo "E2E-KVM: FAIL $s ($why, $dt s)"
	fi
	sweep "$s"
done
echo "E2E-KVM: DONE ($(cut -d' ' -f1 /proc/uptime) s)"
sync
poweroff -f
