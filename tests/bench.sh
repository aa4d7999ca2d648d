#!/bin/bash
# make bench: dfu.ko (cat) against dfu-util on the same emulated device in
# the test VM, in one boot.
# 1. DFU 1.1: both flash U-Boot's image (download, manifestation) and read
#    it back (upload), for four settings of wTransferSize and bwPollTimeout,
#    DFU_BENCH_RUNS times each (default 3) (tests/guest/bench.sh).
# 2. ST DfuSe, on the emulated STM32F4 ROM (dfu-emu --dfuse stm32f4), a
#    fresh one for each run: random images of 256 KiB and 1 MiB flashed
#    from 0x08000000 by `cat IMAGE > /dev/dfuN` (until close returns, after
#    the leave) and by `dfu-util -a 0 -s 0x08000000:leave -D IMAGE` (dfu.ko
#    not loaded), then all 1 MiB read back by `cat /dev/dfuN` and
#    `dfu-util -a 0 -s 0x08000000:1048576 -U`; DFU_BENCH_DFUSE_RUNS times
#    each (default DFU_BENCH_RUNS, else 5) (tests/guest/bench-dfuse.sh).
#    Each run is checked: flash content, the erase list (the sectors the
#    image touches, so the same for both tools), the upload. The goal: the
#    driver at least 2x faster than dfu-util on DfuSe download (PASS/FAIL
#    printed; it does not fail the run).
# 3. The floor, in the same boot, on the same device as 1: the same DFU
#    requests with no waiting, sent back to back by the simplest host, a
#    raw usbfs loop (tests/bench/dfu-floor.c); for rows with a poll time
#    the floor's requests plus the sum of the bwPollTimeouts the device
#    asked for. dfu.ko's ratio to it (goal >= 0.97), its overhead per block
#    beyond bwPollTimeout against an hrtimer sleep's overshoot in the same
#    guest (tests/bench/hrsleep.c; goal within 0.1 ms), the CPU per MiB
#    of cat + dfu.ko and of dfu-util (getrusage of the tool and its
#    children, tests/bench/rusage.c; goal dfu.ko at most half), what one
#    device costs the kernel (the allocations binding dfu.ko leaves, kmem
#    trace events) and a 1 GiB image streamed from /dev/zero, with the slab
#    sampled: it must not grow (tests/bench/summary.awk explains each
#    figure). PASS/FAIL printed; they do not fail the run.
# 4. guest/bench-many.sh (many devices at once) and guest/soak.sh (long
#    runs), which print their own "bench: many ..." / "bench: soak ..."
#    lines and a "bench: many-json {...}" / "bench: soak-json {...}" line.
# Prints the median of each in ms, and the emulator's counts of one run.
# Writes build/bench/bench.json (every figure; "many" and "soak" are the
# objects of those two lines) and build/bench/bench.svg (time per MiB by
# row for floor, dfu.ko and dfu-util; gnuplot). BASELINE=OLD.json (also
# `make bench BASELINE=OLD.json`): prints each figure's change against
# OLD.json and flags dfu.ko's regressions over 10 % (tests/bench/compare.sh).
# DFU_BENCH_ONLY: the parts, of "dfu floor mem dfuse many soak" (default
# all; dfu: 1 and 3 but mem, floor: the floor alone); DFU_BENCH_ROWS,
# DFU_BENCH_BIG_SIZE, DFU_BENCH_BIG_XFER: see tests/guest/bench.sh.
# DFU_BENCH_DFUSE_ERASE_MS (default 40), DFU_BENCH_DFUSE_WRITE_MS (4): the
# emulated ROM's busy time per sector erase and per 2048-byte block.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
tests/vm/setup.sh
tests/debian-packages.sh bench dfu-util gnuplot-nox jq
p=build/payload-bench
tests/payload.sh --out "$p" >/dev/null
cp "$(command -v dfu-util)" "$p/"
export DFU_BENCH_DFUSE_SIZES="262144 1048576"
for s in $DFU_BENCH_DFUSE_SIZES; do
	head -c "$s" /dev/urandom >"$p/images/dfuse-bench-$s.bin"
done
mkdir -p build/bench
log=build/bench/vm.log
echo "bench: booting the test VM (QEMU, Debian's 6.12 kernel)..."
rm -f build/bench/start
rc=0
# many devices at once: one dummy_hcd port each (guest/bench-many.sh)
export DUMMY_HCD_NUM=${DUMMY_HCD_NUM:-16}
# --mem 3072: the emulated device keeps the 1 GiB image in its memory
flock build/.vm.lock sh -c 'date +%s >build/bench/start; exec "$@"' sh \
	tests/vm/run.sh --mem 3072 --timeout 3600 --log "$log" "$p" bench >/dev/null || rc=$?
if [ "$rc" != 0 ]; then
	tr -d '\r' <"$log" | grep -E '^bench|dfu' | tail -20 >&2
	echo "bench: the VM run failed (exit $rc); see $log" >&2
	exit "$rc"
fi
median='
	function median(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++)
			for (j = i + 1; j <= n; j++)
				if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return a[int((n + 1) / 2)]
	}'
tr -d '\r' <"$log" >build/bench/vm.txt
if grep -q '^bench: dfu.ko ' build/bench/vm.txt; then
	grep '^bench: image' build/bench/vm.txt
	awk "$median"'
	/^bench: (dfu-util|dfu.ko) / { k = $3 " " $4 " " $5; v[$2, k] = v[$2, k] " " $6; keys[k] = 1 }
	END {
		printf "%-9s %14s %8s %13s %11s %8s\n", "op", "wTransferSize", "poll ms",
			"dfu-util ms", "dfu.ko ms", "ratio"
		for (k in keys) {
			split(k, f, " ")
			u = median(v["dfu-util", k]); d = median(v["dfu.ko", k])
			printf "%-9s %14s %8s %13d %11d %7.1fx\n", f[1], f[2], f[3], u, d,
				(d > 0 ? u / d : 0)
		}
	}' build/bench/vm.txt | (read -r h; echo "$h"; sort -k1,1 -k2,2nr -k3,3n)
	echo
fi
awk -v json=build/bench/rows.json -v git="$(git rev-parse --short HEAD)" \
	-v date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" -f tests/bench/summary.awk build/bench/vm.txt
echo
if grep -q '^bench: dfuse ' build/bench/vm.txt; then
	sed -n 's/^bench: dfuse image/bench: DfuSe (STM32F4 ROM), image/p' build/bench/vm.txt
	# the emulator's counts, of the last run of each (they are the same in each)
	awk '/^bench: dfuse-stats / { k = $3 " " $4 " " $5; s[k] = $0; if (!(k in seen)) { seen[k] = 1; o[++n] = k } }
	END { for (i = 1; i <= n; i++) { sub(/^bench: dfuse-stats /, "", s[o[i]]); print "  " s[o[i]] } }' \
		build/bench/vm.txt
	# busy: the emulated ROM's busy time (erases, blocks), the same for both
	# tools; beyond: the ratio of the times beyond it (host and USB)
	awk "$median"'
	/^bench: dfuse-stats / { for (i = 6; i <= NF; i++) if ($i ~ /^busy_ms=/) busy[$4 " " $5] = substr($i, 9) }
	/^bench: dfuse (dfu-util|dfu.ko) / { k = $4 " " $5; v[$3, k] = v[$3, k] " " $6; keys[k] = 1 }
	END {
		printf "%-9s %8s %12s %10s %7s %8s %7s  %s\n", "DfuSe op", "bytes",
			"dfu-util ms", "dfu.ko ms", "ratio", "busy ms", "beyond",
			"goal: dfu.ko 2x faster on download"
		for (k in keys) {
			split(k, f, " ")
			u = median(v["dfu-util", k]); d = median(v["dfu.ko", k]); b = busy[k] + 0
			r = d > 0 ? u / d : 0
			g = f[1] != "download" ? "" : (r >= 2 ? "PASS" : "FAIL")
			printf "%-9s %8s %12d %10d %6.2fx %8d %6.2fx  %s\n", f[1], f[2], u, d, r, b,
				(d > b ? (u - b) / (d - b) : 0), g
		}
	}' build/bench/vm.txt | (read -r h; echo "$h"; sort -k1,1 -k2,2n)
fi
# their summaries (not each run's or each sample's line)
grep -E '^bench: (many|soak) ' build/bench/vm.txt |
	grep -vE '^bench: many (solo|round) |^bench: soak [a-z]+ after ' || true
# bench.json: the rows, and the objects of H3's many-json and soak-json lines
for k in many soak; do
	sed -n "s/^bench: $k-json //p" build/bench/vm.txt | tail -1 >"build/bench/$k.json"
	[ -s "build/bench/$k.json" ] || echo null >"build/bench/$k.json"
done
jq --slurpfile many build/bench/many.json --slurpfile soak build/bench/soak.json \
	'. + {many: $many[0], soak: $soak[0]}' build/bench/rows.json >build/bench/bench.json ||
	{ echo "bench: build/bench/rows.json or a many/soak JSON line is not valid JSON" >&2; exit 1; }
for op in download upload; do
	jq -r --arg op "$op" '.rows[] | select(.op == $op and .dfu_ko_ms > 0) |
		"\(.xfer)/\(.poll_ms) \(.ms_per_mib.floor) \(.ms_per_mib.dfu_ko) \(.ms_per_mib.dfu_util)"' \
		build/bench/bench.json >"build/bench/$op.dat"
done
if [ -s build/bench/download.dat ]; then
	gnuplot -e "dl='build/bench/download.dat'; ul='build/bench/upload.dat'; out='build/bench/bench.svg'" \
		tests/bench/chart.gp
	echo "bench: wrote build/bench/bench.json and build/bench/bench.svg"
else
	echo "bench: wrote build/bench/bench.json"
fi
if [ -n "${BASELINE:-}" ]; then
	echo
	sh tests/bench/compare.sh "$BASELINE" build/bench/bench.json
fi
echo "bench: the VM run took $(($(date +%s) - $(cat build/bench/start))) s"
