#!/bin/bash
# tests/appliance.sh - the appliance as it ships: a Debian 12 image built
# with mmdebstrap (Debian's 6.12 kernel, systemd, udev), the project
# installed into it by the commands of README.md's "Debian appliance image"
# section, run here as they are written there, booted in QEMU with systemd as
# PID 1. Inside (tests/appliance/guest.sh, run by a test unit after
# multi-user.target), emulated DFU-mode devices are plugged in and the real
# 61-dfu-recovery.rules starts the real dfu-recovery@dfuN.service: it
# flashes and verifies the image /etc/dfu/recovery.conf lists, refuses a
# damaged image and one for another device, leaves an unlisted device alone,
# flashes a device at most three times per boot, and logs to the journal,
# which the guest reads back with journalctl -u 'dfu-recovery@*'.
#
# The image's root file system (mmdebstrap's tarball, 370 MB) is cached
# outside the clone, in $DFU_CACHE/appliance/ (default
# ~/.cache/dfu-tests/appliance/), keyed by the versions of the packages it
# holds; everything else is made again each run under build/appliance/ (the
# root directory, the project installed into it, a 1 GiB ext4 image made
# with mkfs.ext4 -d, no loop device).
#
# Usage: tests/appliance.sh   (as root: mmdebstrap --mode=root, and file
# owners in the image). Prints "ok N - ..." per check, then 1..N; exits 0
# when every check passed.
# DFU_APPLIANCE_README: take the install commands from this file instead of
# README.md (to see the lane fail on a wrong step).
set -uo pipefail
export LC_ALL=C
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

out=build/appliance
cache=${DFU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dfu-tests}/appliance
readme=${DFU_APPLIANCE_README:-README.md}
mkdir -p "$out" "$cache"

# shellcheck source=tests/tap.sh
. tests/tap.sh

if [ "$(id -u)" != 0 ]; then
	result "tests/appliance.sh runs as root (mmdebstrap --mode=root, file owners in the image)" 1
	finish
fi

# --- Debian packages ---------------------------------------------------------
t0=$SECONDS
log=$out/setup.log
{ tests/vm/setup.sh && tests/debian-packages.sh appliance mmdebstrap e2fsprogs; } >"$log" 2>&1
result "Debian packages and the VM rig ($((SECONDS - t0)) s)" $? "$log"
# shellcheck source=/dev/null
. build/vm.env

# --- the image, as README.md says ----------------------------------------------
# The first code block of README.md's "Debian appliance image" section, each
# line as it is written there, run by bash with $ROOT set. sudo is a no-op
# (this runs as root). mmdebstrap is a function that runs the real
# mmdebstrap with the README's arguments, plus --mode=root and the
# machine's own apt sources and the options that make them work here (a
# snapshot archive's Valid-Until, a proxy; mmdebstrap reads no /etc/apt),
# into a tarball cached in $cache, which it then unpacks into the README's
# target directory.
steps=$(awk '/^### Debian appliance image/ { s = 1; next }
	s && /^##/ { exit }
	s && /^    / { b = 1; print substr($0, 5); next }
	s && b && !/^$/ { exit }' "$readme")
printf '%s\n' "$steps" >"$out/steps.sh"
echo "# $readme's appliance steps, as run:"
sed 's/^/#   /' "$out/steps.sh"
grep -q '^sudo mmdebstrap ' "$out/steps.sh" && grep -q 'make install DESTDIR=' "$out/steps.sh"
result "$readme's appliance section has the steps: mmdebstrap, then make install DESTDIR=" $? "$out/steps.sh"

sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] && grep -qE '^[[:space:]]*(deb|Types:)' "$f" && sources+=("$f")
done
aptopts=()
while IFS= read -r opt; do
	aptopts+=("--aptopt=$opt")
done < <(apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy) ')

# mmdebstrap OPTIONS... SUITE TARGET, the README's call. The cache key: its
# arguments but TARGET, and the versions its packages would have now.
# shellcheck disable=SC2317 # called by the README's steps
mmdebstrap() {
	local args=("${@:1:$#-1}") target=${!#} include key base t0=$SECONDS
	include=$(printf '%s\n' "${args[@]}" | sed -n 's/^--include=//p' | tr ',' ' ')
	key=$( { printf '%s\n' "${args[@]}" "${aptopts[@]}"
		 # shellcheck disable=SC2086 # a list of package names
		 apt-cache policy $include systemd 2>/dev/null | grep -E '^[^ ]|Candidate:'
		 apt-cache depends linux-image-6.12-amd64 2>/dev/null | grep Depends; } |
		sha256sum | cut -c1-16)
	base=$cache/base-$key.tar
	if [ -s "$base" ]; then
		echo "appliance: mmdebstrap: the cached $base" >&2
	else
		rm -f "$cache"/base-*.tar
		command mmdebstrap --mode=root "${aptopts[@]}" "${args[@]}" "$cache/new.tar" \
			"${sources[@]}" >&2 || return 1
		mv "$cache/new.tar" "$base"
		echo "appliance: mmdebstrap: built $base in $((SECONDS - t0)) s" >&2
	fi
	mkdir -p "$target" && tar -xpf "$base" -C "$target"
}
log=$out/steps.log
ROOT=$top/$out/root
rm -rf "$ROOT"
t0=$SECONDS
# shellcheck disable=SC2317 # sudo and apt-get: called by the README's steps
(
	set -e
	sudo() { "$@"; }
	# the headers of the image's kernel first, so that the README's
	# apt-get install has nothing to ask
	apt-get() { "$top/tests/debian-packages.sh" appliance "${@:2}"; }
	# shellcheck source=/dev/null
	. "$out/steps.sh"
) >"$log" 2>&1
result "$readme's appliance steps ran ($((SECONDS - t0)) s; $(sed -n 's/^appliance: mmdebstrap: //p' "$log"))" $? "$log"
kver=$(ls "$ROOT/lib/modules" 2>/dev/null)
test -n "$kver" && test -f "$ROOT/lib/modules/$kver/updates/dfu.ko" &&
	grep -q 'updates/dfu.ko:' "$ROOT/lib/modules/$kver/modules.dep"
result "they put dfu.ko in the image's /lib/modules/$kver/updates/ and its modules.dep" $?

# --- what the checks need (not part of the appliance) ------------------------
# The emulator, raw_gadget for the image's kernel, the recovery images and
# /etc/dfu/recovery.conf, the test unit; no getty on the console.
log=$out/prepare.log
prepare() {
	local t=$ROOT/opt/dfu-test fw=$ROOT/usr/lib/firmware/dfu-test good other
	[ "$KREL" = "$kver" ] || { echo "raw_gadget is built for $KREL, the image has $kver"; return 1; }
	make -s -C tests/emulator || return 1
	mkdir -p "$t" "$fw" "$ROOT/etc/dfu"
	cp tests/emulator/dfu-emu "$RAW_GADGET_KO" tests/appliance/guest.sh "$t/" || return 1
	printf 'KVER=%s\nSRCVERSION=%s\n' "$kver" \
		"$(modinfo -F srcversion "$ROOT/lib/modules/$kver/updates/dfu.ko")" >"$t/expect.env"
	head -c 100000 /dev/urandom >"$t/good.bin"
	cp "$t/good.bin" "$fw/good.dfu"
	userspace/dfuctl suffix add "$fw/good.dfu" --vid 1209 --pid df11 >/dev/null || return 1
	head -c 30000 /dev/urandom >"$fw/other.dfu"
	userspace/dfuctl suffix add "$fw/other.dfu" --vid 1209 --pid df12 >/dev/null || return 1
	good=$(sha256sum <"$fw/good.dfu" | cut -d' ' -f1)
	other=$(sha256sum <"$fw/other.dfu" | cut -d' ' -f1)
	cat >"$ROOT/etc/dfu/recovery.conf" <<-EOF
	# written by tests/appliance.sh
	commit = suffix
	1209:df11 image=/usr/lib/firmware/dfu-test/good.dfu sha256=$good serial=GOOD verify=yes
	1209:df11 image=/usr/lib/firmware/dfu-test/good.dfu sha256=$other serial=DAMAGED
	1209:df11 image=/usr/lib/firmware/dfu-test/other.dfu sha256=$other serial=FOREIGN
	1209:df11 image=/usr/lib/firmware/dfu-test/good.dfu sha256=$good serial=LOOP
	EOF
	install -D -m 644 tests/appliance/dfu-appliance-test.service \
		"$ROOT/etc/systemd/system/dfu-appliance-test.service" || return 1
	mkdir -p "$ROOT/etc/systemd/system/multi-user.target.wants"
	ln -sf ../dfu-appliance-test.service \
		"$ROOT/etc/systemd/system/multi-user.target.wants/dfu-appliance-test.service"
	ln -sf /dev/null "$ROOT/etc/systemd/system/serial-getty@ttyS0.service"
	ln -sf /dev/null "$ROOT/etc/systemd/system/getty@tty1.service"
	echo dfu-appliance >"$ROOT/etc/hostname"
}
prepare >"$log" 2>&1
result "the emulator, raw_gadget, recovery.conf and the test unit in the image" $? "$log"

t0=$SECONDS
img=$out/root.img
rm -f "$img"
mkfs.ext4 -q -F -L dfu-root -d "$ROOT" "$img" 1G >"$out/mkfs.log" 2>&1
result "mkfs.ext4 -d made the disk image ($((SECONDS - t0)) s)" $? "$out/mkfs.log"

# --- boot ----------------------------------------------------------------------
case ${DFU_VM_ACCEL:-tcg} in
kvm) accel="-accel kvm -cpu host" ;;
*) accel="-accel ${DFU_VM_ACCEL:-tcg}" ;;
esac
vmlog=$out/console.log
exec 8>build/.vm.lock	# one VM at a time: the time counts from the lock
flock 8
t0=$SECONDS
# shellcheck disable=SC2086
timeout -k 5 900 qemu-system-x86_64 -machine q35 $accel -m 2048 -smp 2 \
	-nographic -no-reboot -nic none \
	-kernel "$ROOT/boot/vmlinuz-$kver" -initrd "$ROOT/boot/initrd.img-$kver" \
	-drive "file=$img,format=raw,if=virtio" \
	-append "console=ttyS0 root=/dev/vda rw panic=-1 quiet" \
	</dev/null 2>&1 | sed -u -e 's/\r$//' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' >"$vmlog"
qrc=${PIPESTATUS[0]}
flock -u 8
boot_s=$((SECONDS - t0))
rm -rf "$out/result"
mkdir -p "$out/result"
debugfs -R "rdump /var/lib/dfu-test $out/result" "$img" >"$out/debugfs.log" 2>&1
res=$out/result/dfu-test
test "$qrc" = 0 && test -f "$res/finished"
result "the appliance booted, ran its checks and powered off ($boot_s s, qemu status $qrc)" $? "$vmlog"

# --- the guest's checks --------------------------------------------------------
if [ -f "$res/result.tap" ]; then
	while IFS= read -r line; do
		case $line in
		"ok - "*) result "appliance: ${line#ok - }" 0 ;;
		"not ok - "*) result "appliance: ${line#not ok - }" 1 ;;
		*) echo "$line" ;;
		esac
	done <"$res/result.tap"
fi
finish
