#!/bin/bash
# The busybox/mdev lane: an embedded host as it is, in the test VM. Debian's
# 6.12 kernel boots with a userland of busybox alone (tests/vm/run.sh with
# DFU_VM_USERLAND=busybox: Debian's busybox-static, no udev, dash, bash or
# GNU binaries); mdev gives /dev/dfuN its mode, group and link from the
# mdev.conf lines the README documents (tests/busybox/mdev.conf, which
# must appear in README.md verbatim); busybox cat, dd bs=1 and dd
# conv=fsync flash the emulated device (dfu-emu, linked statically by its
# Makefile), and sysfs and the kernel log tell the outcome
# (tests/busybox/guest.sh has the checks).
# Usage: tests/busybox.sh   Prints TAP-like lines, plan first; exit status
# 0 when every check passed.
# DFU_BUSYBOX_LOG: the VM's console log (default build/busybox/vm.log).
# DFU_BUSYBOX_PAYLOAD: the payload directory (default build/payload-busybox).
# DFU_BUSYBOX_MDEV_CONF: test this mdev.conf instead of tests/busybox/mdev.conf
# (to see a check fail).
# DFU_BUSYBOX_RUN_SH: boot with this copy of tests/vm/run.sh (one that
# knows DFU_VM_USERLAND, next to a setup.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
tests/vm/setup.sh
tests/debian-packages.sh busybox busybox-static
# shellcheck source=/dev/null
. build/vm.env
p=${DFU_BUSYBOX_PAYLOAD:-build/payload-busybox}
log=${DFU_BUSYBOX_LOG:-build/busybox/vm.log}
conf=${DFU_BUSYBOX_MDEV_CONF:-tests/busybox/mdev.conf}
runsh=${DFU_BUSYBOX_RUN_SH:-tests/vm/run.sh}
if ! grep -q DFU_VM_USERLAND "$runsh"; then
	echo "busybox: $runsh cannot boot a busybox-only guest (no DFU_VM_USERLAND)" >&2
	exit 1
fi
mkdir -p "$(dirname "$log")"

# What the guest needs and nothing more: dfu.ko, the static emulator, the
# checks, mdev.conf and the images (random each run).
make -s -C "$KDIR_612" M="$top/driver" modules
make -s -C tests/emulator
if ! file -L tests/emulator/dfu-emu | grep -q 'statically linked'; then
	echo "busybox: tests/emulator/dfu-emu is not linked statically" >&2
	exit 1
fi
rm -rf "$p"
mkdir -p "$p/images"
cp driver/dfu.ko tests/emulator/dfu-emu "$p/"
cp tests/busybox/guest.sh "$p/run"
cp "$conf" "$p/mdev.conf"
head -c 65636 /dev/urandom >"$p/images/cat.bin"
head -c 5000 /dev/urandom >"$p/images/dd1.bin"
head -c 100000 /dev/urandom >"$p/images/fsync.bin"
head -c 202 /dev/urandom >"$p/images/fail.bin"

# The README documents these mdev.conf lines, each as it is.
readme_st=0
while IFS= read -r line; do
	grep -qxF "    $line" README.md || { readme_st=1; echo "# README.md lacks: $line"; }
done <tests/busybox/mdev.conf

rc=0
start=$(date +%s)
: >"$log.locked"
# shellcheck disable=SC2016 # expanded by that sh
DFU_VM_USERLAND=busybox flock build/.vm.lock sh -c 'date +%s >"$1"; shift; exec "$@"' sh \
	"$log.locked" "$runsh" --timeout 300 --log "$log" "$p" >/dev/null || rc=$?
locked=$(cat "$log.locked")
locked=${locked:-$start}
out=$(tr -d '\r' <"$log" | sed -n '/=== dmesg begin/q;p' | grep -E '^(ok|not ok|#|1\.\.)' || true)
plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' <<<"$out" | head -n1)
guest_ran=$(grep -cE '^(not )?ok [0-9]+ - ' <<<"$out" || true)
echo "1..$(( ${plan:-0} + 2 ))"
printf '%s\n' "$out" | grep -v '^1\.\.'
n=${plan:-0}
n=$((n + 1))
if [ "$readme_st" = 0 ]; then
	echo "ok $n - README.md documents the mdev.conf lines the guest ran (tests/busybox/mdev.conf)"
else
	echo "not ok $n - README.md documents the mdev.conf lines the guest ran (tests/busybox/mdev.conf)"
fi
n=$((n + 1))
if [ "$rc" = 0 ] && [ -n "$plan" ] && [ "$guest_ran" = "$plan" ]; then
	echo "ok $n - the VM ran all ${plan} checks and its kernel log is clean"
else
	echo "not ok $n - the VM ran ${guest_ran} checks of ${plan:-no plan}, exit status $rc (log: $log)"
	[ "$rc" = 0 ] && rc=1
fi
echo "# VM run: $(($(date +%s) - locked)) s, after $((locked - start)) s waiting for build/.vm.lock"
[ "$readme_st" = 0 ] || [ "$rc" != 0 ] || rc=1
exit "$rc"
