#!/bin/busybox sh
# shellcheck shell=dash # busybox ash, checked as the closest shell shellcheck knows
# PID 1 of the test VM: mount the basics, load WireGuard and veth, run the test, print one
# line the host reads, power off.
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /run/netns
ok=1
# shellcheck disable=SC2013 # one module file name a line, no spaces
for m in $(cat /modules.order); do
	insmod "/modules/$m" || { echo "insmod $m failed"; ok=0; }
done
echo "WGI-KVM: boot-to-test $(cut -d' ' -f1 /proc/uptime) s"
if [ $ok = 1 ] && /bin/sh /vm-test.sh; then
	echo "WGI-KVM: PASS ($(cut -d' ' -f1 /proc/uptime) s)"
else
	echo "WGI-KVM: FAIL ($(cut -d' ' -f1 /proc/uptime) s)"
fi
sync
poweroff -f
