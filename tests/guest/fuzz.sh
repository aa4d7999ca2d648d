#!/bin/sh
# make fuzz, in the guest: the USB fuzzer on the seeds of DFU_FUZZ_SEEDS
# (tests/fuzz.sh), with the module loaded as tests/guest/check.sh loads it.
set -u
echo "# dfu.ko sha256 $(sha256sum <./dfu.ko | cut -d' ' -f1)"
insmod ./dfu.ko quirks=1209:df01:p,1209:df02:i,1209:df03:d || exit 1
rc=0
./dfu_fuzz_test --ko ./dfu.ko || rc=1
rmmod dfu || rc=1
# the coverage counters of a GCOV_PROFILE build (tests/fuzz.sh), kept by the
# kernel after rmmod, sent over the console
gcov=/sys/kernel/debug/gcov
if [ -d $gcov ] && [ -n "$(find $gcov -name 'chardev.gcda')" ]; then
	# debugfs reports size 0: copy the data out before tar reads it
	for f in $(cd $gcov && find . -name '*.gcda'); do
		mkdir -p "/tmp/gcov/${f%/*}"
		cat "$gcov/$f" >"/tmp/gcov/$f"
	done
	echo "=== gcov begin"
	(cd /tmp/gcov && tar -czf - .) | base64
	echo "=== gcov end"
fi
exit $rc
