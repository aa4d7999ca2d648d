#!/bin/bash
# tests/unit.sh [unit] [cli] [fuzz [suffix|dfuse|image]...]
#
# Host tests of the image library in userspace/ (suffix.c, dfuse.c,
# image.c) and of "dfuctl suffix"; installs the Debian packages they need.
#   unit   cmocka unit tests, with ASan and UBSan (tests/unit)
#   cli    dfuctl suffix and dfuse pack: exit codes, and bytes against
#          dfu-util's dfu-suffix and dfuse-pack
#   fuzz   libFuzzer on each parser for DFU_FUZZ_SECONDS (20) seconds, seeded
#          from tests/vectors; only the fuzzers named after it, if any
# With no argument: all three. Exit status 0 when everything passed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

say() { echo "unit.sh: $*"; }

# --- Debian packages ---------------------------------------------------------------
# libclang-rt-dev holds libFuzzer for Debian's default clang (clang-14 on
# Debian 12); dfu-util brings dfu-suffix and dfuse-pack, the references for
# "dfuctl suffix add" and "dfuctl dfuse pack".
pkgs="build-essential pkg-config zlib1g-dev libcmocka-dev clang libclang-rt-dev dfu-util"
# shellcheck disable=SC2086
"$top/tests/debian-packages.sh" unit.sh $pkgs

# --- steps ---------------------------------------------------------------------------
run_unit() {
	# (set -e is off in a function called with ||: check each build)
	make -s -C tests/unit all || return 1
	local t st=0 start
	start=$(date +%s%N)
	for t in test_suffix test_dfuse test_dfuse_pack test_image test_progress test_apple test_recovery_conf test_text; do
		tests/unit/$t || st=1
	done
	say "unit tests ran in $((($(date +%s%N) - start) / 1000000)) ms"
	return $st
}

run_cli() {
	make -s -C userspace dfuctl || return 1
	make -s -C tests/unit mkdfuse || return 1
	local st=0
	tests/unit/cli.sh userspace/dfuctl || st=1
	# dfuctl dfuse pack against dfu-util's dfuse-pack and dfu-suffix -c
	tests/unit/cli_dfuse.sh userspace/dfuctl || st=1
	return $st
}

run_fuzz() {
	local secs=${DFU_FUZZ_SECONDS:-20} dir=build/fuzz f st=0 log runs
	make -s -C tests/fuzz all || return 1
	rm -rf "$dir/seeds"
	mkdir -p "$dir/seeds"
	cp tests/vectors/*.dfu "$dir/seeds/" || return 1
	tests/fuzz/mkdfuse "$dir/seeds/dfuse-st.dfu" || return 1
	[ $# -gt 0 ] || set -- suffix dfuse image
	for f in "$@"; do
		rm -rf "$dir/corpus-$f"
		mkdir -p "$dir/corpus-$f"
		log=$dir/$f.log
		say "fuzzing $f for $secs s (log $log)"
		# one process, bounded in time; new inputs go to corpus-$f,
		# a crashing one to $dir/$f-crash-*
		if ! "tests/fuzz/fuzz_$f" -max_total_time="$secs" -timeout=10 \
			-rss_limit_mb=2048 -print_final_stats=1 \
			-dict=tests/fuzz/dfu.dict -artifact_prefix="$dir/$f-" \
			"$dir/corpus-$f" "$dir/seeds" >"$log" 2>&1; then
			st=1
			say "fuzz_$f FAILED:"
			grep -m1 -E 'ERROR: |property broken' "$log"
			grep -E '^SUMMARY|Test unit written' "$log"
			tail -n 40 "$log"
			continue
		fi
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		say "fuzz_$f: ${runs:-?} executions in $secs s, no crash;" \
			"$(grep -E '^#[0-9]+.*DONE' "$log" | sed 's/^#[0-9]*[[:space:]]*DONE[[:space:]]*//' | tail -n 1)"
	done
	return $st
}

[ $# -gt 0 ] || set -- unit cli fuzz
st=0
while [ $# -gt 0 ]; do
	step=$1
	shift
	case $step in
	unit) run_unit || st=1 ;;
	cli) run_cli || st=1 ;;
	fuzz)
		names=""
		while [ $# -gt 0 ] && [[ $1 =~ ^(suffix|dfuse|image)$ ]]; do
			names="$names $1"
			shift
		done
		# shellcheck disable=SC2086
		run_fuzz $names || st=1
		;;
	*) echo "usage: tests/unit.sh [unit] [cli] [fuzz [suffix|dfuse|image]...]" >&2; exit 64 ;;
	esac
done
exit $st
