#!/bin/sh
# make fuzz, in the guest: the USB fuzzer on the seeds of DFU_FUZZ_SEEDS
# (tests/fuzz.sh), between guest/check.sh's insmod and rmmod.
set -u
sh ./guest/check.sh "./dfu_fuzz_test --ko ./dfu.ko"
rc=$?
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
