#!/bin/sh
# The short lane on Debian's own 6.12 kernel: the DKMS-built module loads,
# flashes and reads back (dfu_flash_test), and unloads. The whole suite runs
# on the debug kernel (tests/guest/check.sh). Prints TAP lines that
# tests/check.sh counts.
set -u
rc=0
# which dfu.ko runs: tests/check.sh compares this with the DKMS-built module
echo "# dfu.ko sha256 $(sha256sum <./dfu.ko | cut -d' ' -f1)"
if insmod ./dfu.ko; then
	echo "ok - insmod dfu.ko"
else
	echo "not ok - insmod dfu.ko"
	exit 1
fi
./dfu_flash_test || rc=1
if rmmod dfu; then
	echo "ok - rmmod dfu"
else
	echo "not ok - rmmod dfu"
	rc=1
fi
exit $rc
