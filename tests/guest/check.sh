#!/bin/sh
# The selftests, in the guest. Prints TAP lines that tests/check.sh counts.
# Usage: check.sh ["PROGRAM [ARGS]"...]
# Without PROGRAM: every selftest program, the USB fuzzer when
# DFU_FUZZ_SEEDS is set, and the udev test. With PROGRAMs (the short lane
# on Debian's kernel: "./dfu_flash_test -f own_device"): only those.
set -u
rc=0
all=yes
[ $# -gt 0 ] && all=no
[ $# -gt 0 ] || set -- ./dfu_flash_test ./dfu_fault_test ./dfu_suffix_test ./dfu_quirk_test \
	./dfu_device_test ./dfu_commit_test ./dfu_access_test ./dfu_stress_test ./dfuctl_test \
	./dfu_reset_test ./dfu_dfuse_test ./dfu_apple_test ./dfuctl_recover_test ./dfuctl_find_test \
	./dfuctl_safety_test ./dfuctl_fleet_test
# which dfu.ko runs: tests/check.sh compares this with the module it built
echo "# dfu.ko sha256 $(sha256sum <./dfu.ko | cut -d' ' -f1)"
# quirks= entries that dfu_quirk_test checks
if insmod ./dfu.ko quirks=1209:df01:p,1209:df02:i,1209:df03:d,1209:df04:e; then
	echo "ok - insmod dfu.ko"
else
	echo "not ok - insmod dfu.ko"
	exit 1
fi
for t in "$@"; do
	t0=$(date +%s)
	$t || rc=1	# (split: a program and its arguments)
	echo "# ${t#./}: $(($(date +%s) - t0)) s"
done
if [ $all = yes ]; then
	# the USB fuzzer, on the seeds tests/check.sh gives (DFU_FUZZ_SEEDS)
	if [ -n "${DFU_FUZZ_SEEDS:-}" ]; then
		./dfu_fuzz_test --ko ./dfu.ko || rc=1
	fi
	# udev rules under a real systemd-udevd (stops it again)
	sh ./guest/udev.sh || rc=1
fi
# every device is gone, so the module must unload
if rmmod dfu; then
	echo "ok - rmmod dfu"
else
	echo "not ok - rmmod dfu"
	rc=1
fi
exit $rc
