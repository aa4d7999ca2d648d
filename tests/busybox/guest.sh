#!/bin/sh
# The busybox/mdev lane, in a guest of busybox alone (tests/busybox.sh,
# tests/vm/run.sh with DFU_VM_USERLAND=busybox): /bin/sh, cat, dd, cmp,
# stat and mdev are busybox applets; there is no udev. Runs as
# /payload/run with dfu.ko, dfu-emu (static), mdev.conf and images/ in
# /payload.
#
# mdev gives the nodes their mode, group and /dev/dfu/by-serial/ link from
# the README's /etc/mdev.conf lines (mdev -s for a node that exists, then
# mdev -d for every node that comes and goes); busybox cat, dd bs=1 and dd
# conv=fsync flash the emulated device, which must hold the image each
# time; last_result in sysfs and the kernel log tell each outcome, also the
# failure at close() that busybox cat does not see.
# Prints TAP-like lines ("ok N - ...", plan first); exit status 1 when a
# check failed.
set -u
cd /payload
plan=24
echo "1..$plan"
n=0 failed=0
check() {	# check STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}
say() { echo "# $*"; }

# wait_node SERIAL: $node becomes the dfuN of the device with SERIAL
wait_node() {
	local i=0 f
	node=""
	while [ $i -lt 500 ]; do
		for f in /sys/class/dfu/dfu*/device/../serial; do
			[ "$(cat "$f" 2>/dev/null)" = "$1" ] || continue
			node=${f#/sys/class/dfu/}
			node=${node%%/*}
			return 0
		done
		i=$((i + 1))
		sleep 0.02
	done
	say "no /sys/class/dfu node with serial $1 after 10 s"
	return 1
}
# wait_until SECONDS COMMAND...: until COMMAND succeeds, polled every 20 ms
wait_until() {
	local i=0 max=$(($1 * 50))
	shift
	while ! "$@"; do
		i=$((i + 1))
		[ $i -lt $max ] || return 1
		sleep 0.02
	done
}
link_is() { [ "$(readlink "/dev/dfu/by-serial/$1")" = "../../$2" ]; }
no_link() { [ ! -e "/dev/dfu/by-serial/$1" ] && [ ! -L "/dev/dfu/by-serial/$1" ]; }
gone() { [ ! -e "/sys/class/dfu/$1" ]; }

# emu_start SERIAL [OPTIONS...]: the emulated device, its images in
# /tmp/device.img; sets $emu and $node
emu_start() {
	local serial=$1
	shift
	rm -f /tmp/device.img
	./dfu-emu --serial "$serial" --out /tmp/device.img "$@" >/tmp/emu.log 2>&1 &
	emu=$!
	wait_node "$serial"
}
emu_stop() {
	kill "$emu" 2>/dev/null
	wait "$emu" 2>/dev/null
	wait_until 10 gone "$node" || say "$node is still there after 10 s"
}
# result_is NODE TEXT: last_result says TEXT
result_is() {
	local got
	got=$(cat "/sys/class/dfu/$1/last_result")
	[ "$got" = "$2" ] && return 0
	say "$1/last_result: '$got', expected '$2'"
	return 1
}
# logged TEXT: a kernel log line has TEXT (grep -F); the log is kept in
# /tmp/dmesg for the next checks
logged() {
	dmesg >/tmp/dmesg
	grep -qF "$1" /tmp/dmesg && return 0
	say "no kernel log line with '$1'; its last dfu lines:"
	grep ' dfu' /tmp/dmesg | tail -n 5 | sed 's/^/#   /'
	return 1
}
# mode_is NODE MODE GID: the node's permissions and group, numeric
mode_is() {
	local got
	got=$(stat -L -c '%a %u %g' "/dev/$1")
	[ "$got" = "$2 0 $3" ] && return 0
	say "/dev/$1: mode, owner and group '$got', expected '$2 0 $3'"
	return 1
}

say "dfu.ko sha256 $(sha256sum <dfu.ko | cut -d' ' -f1)"
say "$(busybox | head -n1)"

# nothing but busybox: every command is a link to it, and there is no
# shell, C library or udev besides it
st=0
for f in /bin/* /sbin/*; do
	[ "$(readlink -f "$f")" = /usr/bin/busybox ] && continue
	[ "$f" = /usr/bin/busybox ] || [ "$f" = /bin/busybox ] && continue
	say "not busybox: $f -> $(readlink -f "$f")"
	st=1
done
for f in /lib/x86_64-linux-gnu/libc.so.6 /lib64/ld-linux-x86-64.so.2 /bin/dash \
	/bin/bash /bin/udevadm /lib/systemd/systemd-udevd; do
	[ ! -e "$f" ] || { say "found $f"; st=1; }
done
[ "$(readlink -f /bin/sh)" = /usr/bin/busybox ] || st=1
check $st "the userland is busybox alone: sh, cat, dd, cmp, stat, mdev are its applets; no dash, bash, glibc or udev"

# The group dfu (alice in it, bob not), as "addgroup -S dfu" and
# "addgroup alice dfu" make it; the README's mdev.conf lines.
dfu_gid=990
echo "dfu:x:$dfu_gid:alice" >>/etc/group
cp mdev.conf /etc/mdev.conf
say "/etc/mdev.conf:"
sed 's/^/#   /' /etc/mdev.conf
insmod ./dfu.ko || { echo "Bail out! insmod dfu.ko failed"; exit 1; }

# mdev -s on a node that exists: devtmpfs made it 0600 root:root
emu_start BB-SCAN
st=$?
check $st "the emulated device appears as /sys/class/dfu/$node"
mdev -s
mode_is "$node" 660 $dfu_gid
check $? "mdev -s: /dev/$node is 0660 root:dfu"
link_is BB-SCAN "$node"
check $? "mdev -s: /dev/dfu/by-serial/BB-SCAN -> ../../$node"
emu_stop

# mdev -d (the kernel has no uevent helper: no /proc/sys/kernel/hotplug)
[ -e /proc/sys/kernel/hotplug ] && say "this kernel has /proc/sys/kernel/hotplug: $(cat /proc/sys/kernel/hotplug)" ||
	say "no /proc/sys/kernel/hotplug (CONFIG_UEVENT_HELPER is off): mdev -d listens to the kernel's uevents instead"
mdev -d
check $? "mdev -d starts"
emu_start BB01
wait_until 5 link_is BB01 "$node"
check $? "mdev -d: a new device gets /dev/dfu/by-serial/BB01 -> ../../$node"
mode_is "$node" 660 $dfu_gid
check $? "mdev -d: /dev/$node is 0660 root:dfu"
# who may open it for writing (an open and close with nothing written
# sends nothing)
st=0
su -s /bin/sh alice -c "echo -n >/dev/$node" || { say "alice (in dfu) cannot open /dev/$node"; st=1; }
! su -s /bin/sh bob -c "echo -n >/dev/$node" 2>/dev/null || { say "bob (not in dfu) opened /dev/$node"; st=1; }
check $st "alice (group dfu) may open /dev/$node for writing, bob may not"

# busybox cat, through the link
img=images/cat.bin
size=$(stat -c %s $img)
cat $img >/dev/dfu/by-serial/BB01
st=$?
cmp $img /tmp/device.img && [ $st = 0 ]
check $? "cat $img > /dev/dfu/by-serial/BB01: exit 0 and the device holds the image ($size bytes)"
result_is "$node" "ok $size"
check $? "sysfs: $node/last_result is 'ok $size'"
logged "$node: download of $size bytes done"
check $? "kernel log: '$node: download of $size bytes done in ... ms'"

# dd bs=1, one byte per write()
img=images/dd1.bin
size=$(stat -c %s $img)
rm -f /tmp/device.img
dd if=$img of=/dev/$node bs=1 2>/tmp/dd.err
st=$?
cmp $img /tmp/device.img && [ $st = 0 ]
check $? "dd if=$img of=/dev/$node bs=1: exit 0 and the device holds the image ($size bytes)"
result_is "$node" "ok $size" && logged "$node: download of $size bytes done"
check $? "sysfs and kernel log: ok $size"

# dd conv=fsync
img=images/fsync.bin
size=$(stat -c %s $img)
rm -f /tmp/device.img
dd if=$img of=/dev/$node bs=4096 conv=fsync 2>/tmp/dd.err
st=$?
cmp $img /tmp/device.img && [ $st = 0 ]
check $? "dd if=$img of=/dev/$node bs=4096 conv=fsync: exit 0 and the device holds the image ($size bytes)"
result_is "$node" "ok $size" && logged "$node: download of $size bytes done"
check $? "sysfs and kernel log: ok $size"
old=$node
emu_stop
wait_until 5 no_link BB01
check $? "mdev -d: the link goes with the device"

# an error that only the commit sees: the device fails the last,
# short block (sent by close() or fsync()). busybox cat exits 0; sysfs and
# the kernel log have the failure; dd conv=fsync reports it.
img=images/fail.bin
emu_start BB02 --transfer-size 64 --fail-status 6@3
wait_until 5 link_is BB02 "$node"
check $? "mdev -d: /dev/dfu/by-serial/BB02 -> ../../$node (was $old)"
cat $img >/dev/dfu/by-serial/BB02
check $? "cat $img > /dev/dfu/by-serial/BB02 exits 0 although the device failed the image: busybox cat ignores close()"
result_is "$node" "-EIO 192 dfuERROR errPROG"
check $? "sysfs: $node/last_result is '-EIO 192 dfuERROR errPROG'"
logged "$node: download failed at block 3 after 192 bytes"
check $? "kernel log: '$node: download failed at block 3 after 192 bytes: ...'"
emu_stop
emu_start BB03 --transfer-size 64 --fail-status 6@3
dd if=$img of=/dev/$node bs=4096 conv=fsync 2>/tmp/dd.err
st=$?
say "dd: $(tail -n1 /tmp/dd.err)"
[ $st != 0 ] && [ ! -s /tmp/device.img ]
check $? "dd conv=fsync exits non-zero ($st) when the device fails the image's last block; nothing manifested"
result_is "$node" "-EIO 192 dfuERROR errPROG"
check $? "sysfs: $node/last_result is '-EIO 192 dfuERROR errPROG'"
emu_stop
wait_until 5 no_link BB03 || say "/dev/dfu/by-serial/BB03 is still there"
# mdev -d read mdev.conf once; the next lines need a fresh mdev
kill "$(pidof mdev)" 2>/dev/null

# mdev's own "move and link" (>dfu/) does not do on devtmpfs: the kernel's
# /dev/dfuN stays, 0600 root, and mdev makes a second node
echo 'dfu[0-9]+ root:dfu 0660 >dfu/' >/etc/mdev.conf
emu_start BB04
mdev -s
test -c "/dev/dfu/$node"
check $? "mdev.conf '>dfu/': mdev makes a second node /dev/dfu/$node"
mode_is "$node" 600 0 2>/dev/null
check $? "mdev.conf '>dfu/': /dev/$node stays devtmpfs's node, 0600 root:root (so the README does not use '>')"
emu_stop
rmmod dfu
[ $n = $plan ] || { echo "# ran $n checks, plan $plan"; failed=$((failed + 1)); }
echo "# $((n - failed)) passed, $failed failed"
[ $failed = 0 ]
