#!/bin/sh
# compare.sh OLD.json NEW.json: the change of each figure of make bench
# (tests/bench/summary.awk's JSON) from OLD to NEW, per row. dfu.ko's time
# and CPU and its per-device memory are flagged REGRESSION when more than
# 10 % worse (DFU_BENCH_REGRESSION, in %); the floor's and dfu-util's
# changes are printed beside them: when they moved as much, the machine did.
# Prints "bench: N regressions over 10 % against OLD" last; exits 0, or 2
# when a file is not make bench's JSON.
set -eu
[ $# = 2 ] || { echo "usage: compare.sh OLD.json NEW.json" >&2; exit 2; }
limit=${DFU_BENCH_REGRESSION:-10}
# flat: one "ROW METRIC VALUE" line per figure, lower is better
flat() {
	jq -r '
	  (.rows[] | "\(.op) \(.xfer) \(.poll_ms)" as $r |
	     ["dfu.ko_ms", .dfu_ko_ms], ["dfu.ko_cpu_ms/MiB",
	       (.cpu_ms_per_mib.dfu_ko.user + .cpu_ms_per_mib.dfu_ko.sys)],
	     ["floor_ms", .floor_ms], ["dfu-util_ms", .dfu_util_ms] |
	     select(.[1] != null and .[1] >= 0) | "\($r) \(.[0]) \(.[1])"),
	  (.dfuse[]? | "dfuse-\(.op) \(.bytes) - " as $r |
	     ["dfu.ko_ms", .dfu_ko_ms], ["dfu-util_ms", .dfu_util_ms] |
	     select(.[1] != null and .[1] >= 0) | "\($r)\(.[0]) \(.[1])"),
	  (.memory.per_device_driver_bytes // empty | "memory per-device - dfu.ko_bytes \(.)")
	' "$1"
}
for f in "$1" "$2"; do
	jq -e '.version == 1 and (.rows | type) == "array"' "$f" >/dev/null 2>&1 ||
		{ echo "bench: $f is not make bench's JSON (version 1)" >&2; exit 2; }
done
flat "$1" >"${TMPDIR:-/tmp}/bench-old.$$"
flat "$2" | awk -v limit="$limit" -v old="$1" '
	NR == FNR { v[$1 " " $2 " " $3 " " $4] = $5; next }
	FNR == 1 {
		printf "%-10s %6s %5s %-18s %10s %10s %8s\n", "against", "xfer", "poll",
			"figure", "old", "new", "change"
	}
	{
		k = $1 " " $2 " " $3 " " $4
		if (!(k in v)) { printf "%-10s %6s %5s %-18s %10s %10.1f %8s\n", $1, $2, $3, $4, "-", $5, "new"; next }
		c = v[k] > 0 ? ($5 - v[k]) * 100 / v[k] : 0
		flag = ($4 ~ /^dfu\.ko/ && c > limit) ? "  REGRESSION" : ""
		n += flag != ""
		printf "%-10s %6s %5s %-18s %10.1f %10.1f %+7.1f%%%s\n", $1, $2, $3, $4, v[k], $5, c, flag
	}
	END { printf "bench: %d regressions over %s %% against %s\n", n, limit, old }
' "${TMPDIR:-/tmp}/bench-old.$$" -
rm -f "${TMPDIR:-/tmp}/bench-old.$$"
