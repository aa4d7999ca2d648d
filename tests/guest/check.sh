#!/bin/sh
# The selftests, in the guest. Prints TAP lines that tests/check.sh counts.
set -u
rc=0
if insmod ./dfu.ko; then
	echo "ok - insmod dfu.ko"
else
	echo "not ok - insmod dfu.ko"
	exit 1
fi
for t in ./dfu_flash_test ./dfu_fault_test ./dfu_suffix_test ./dfu_stress_test; do
	"$t" || rc=1
done
# every device is gone, so the module must unload
if rmmod dfu; then
	echo "ok - rmmod dfu"
else
	echo "not ok - rmmod dfu"
	rc=1
fi
exit $rc
