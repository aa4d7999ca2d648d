#!/bin/bash
# make fuzz [SEEDS=A-B] [FUZZ_MS=N]: the USB fuzzer on the debug kernel.
# The emulated device answers at random from each seed (dfu-emu --fuzz)
# while dfu_fuzz_test drives /dev/dfuN, sysfs and rmmod from several threads
# and processes; a seed fails on any kernel report or hang, and prints the
# command that replays it. make check runs a fixed block (tests/check.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
seeds=${1:-1-100}
ms=${2:-4000}
case $seeds in
*-*) first=${seeds%-*} last=${seeds#*-} ;;
*) first=$seeds last=$seeds ;;
esac
[[ $first =~ ^[0-9]+$ && $last =~ ^[0-9]+$ && $first -le $last ]] ||
	{ echo "fuzz: SEEDS=$seeds: want A-B or N" >&2; exit 2; }
[[ $ms =~ ^[0-9]+$ ]] || { echo "fuzz: FUZZ_MS=$ms: want milliseconds" >&2; exit 2; }

tests/kernel/build.sh
# shellcheck source=/dev/null
. build/kernel.env
DFU_VM_KERNEL=debug tests/payload.sh --ko "$DEBUG_DFU_KO" --out build/fuzz-payload

# Coverage: the same sources built once more against the debug tree, as an
# external module with GCOV_PROFILE, replace the in-tree dfu.ko in this run.
# The guest sends the counters back after rmmod (gcov keeps an unloaded
# module's data), and gcov tells which lines of dfu.ko the seeds reached.
cov=build/fuzz-gcov
rm -rf "$cov"
mkdir -p "$cov/driver"
cp driver/Kbuild driver/*.[ch] "$cov/driver/"
rm -f "$cov/driver/dfu.mod.c"
cp -r include VERSION "$cov/"
echo 'GCOV_PROFILE := y' >>"$cov/driver/Kbuild"
make -s -C "$DEBUG_TREE" M="$top/$cov/driver" modules >"$cov/build.log" 2>&1 ||
	{ cat "$cov/build.log"; exit 1; }
cp "$cov/driver/dfu.ko" build/fuzz-payload/dfu.ko
# a generous bound per seed: the seed's time, the debug kernel's slowness,
# the end-of-seed checks
timeout=$((300 + (last - first + 1) * (ms * 4 / 1000 + 30)))
log=build/fuzz.log
set +e
DFU_VM_KERNEL=debug DFU_FUZZ_SEEDS=$seeds DFU_FUZZ_MS=$ms DUMMY_HCD_NUM=4 \
	tests/vm/run.sh --timeout "$timeout" --log "$log" build/fuzz-payload fuzz >/dev/null
rc=$?
set -e
tr -d '\r' <"$log" | grep -E '^(not )?ok [0-9-]|^# ' | sed -n '/=== dmesg/q;p'
tr -d '\r' <"$log" | sed -n '/kernel log problems =====$/,/end of kernel log problems/p'

# the counters, from the console, into the build directory of the module
tr -d '\r' <"$log" | sed -n '/^=== gcov begin/,/^=== gcov end/p' | sed '1d;$d' |
	base64 -d 2>/dev/null | tar -xzf - -C "$cov" 2>/dev/null || true
gcda=$(find "$cov" -name '*.gcda' | wc -l)
if [ "$gcda" -gt 0 ]; then
	# the tar holds the module's directory under its build path
	find "$cov" -name '*.gcda' ! -path "$cov/driver/*" -exec mv -f {} "$cov/driver/" \;
	(cd "$cov/driver" && gcov -n -o . $(ls ./*.c | grep -v '\.mod\.c$')) >"$cov/gcov.txt" 2>/dev/null
	awk -F"'" '/^File/ { f = $2; sub(/.*\//, "", f); ours = $2 ~ /\/driver\/[a-z]+\.c$/ }
		/^Lines executed/ && ours {
		ours = 0	# (a last line without a File is the total)
		split($0, a, /[:% ]+/); pct = a[3]; n = a[5]
		hit += pct * n / 100; all += n
		printf "fuzz: coverage %-10s %s\n", f, substr($0, 16) }
		END { if (all) printf "fuzz: coverage of dfu.ko: %d of %d lines (%.1f%%)\n", hit + 0.5, all, 100 * hit / all }' \
		"$cov/gcov.txt"
else
	echo "fuzz: no coverage counters came back from the guest"
fi
echo "fuzz: seeds $seeds, exit status $rc (log: $log)"
exit $rc
