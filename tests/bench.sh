#!/bin/bash
# make bench: dfu.ko (cat) against dfu-util on the same emulated device in
# the test VM. Both flash U-Boot's image (download, manifestation) and read
# it back (upload), for four settings of wTransferSize and bwPollTimeout,
# DFU_BENCH_RUNS times each (default 3). Prints the median of each in ms.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
tests/vm/setup.sh
tests/debian-packages.sh bench dfu-util
tests/payload.sh >/dev/null
cp "$(command -v dfu-util)" build/payload/
mkdir -p build/bench
log=build/bench/vm.log
echo "bench: booting the test VM (QEMU, Debian's 6.12 kernel)..."
tests/vm/run.sh --timeout 1800 --log "$log" build/payload bench >/dev/null
tr -d '\r' <"$log" | grep '^bench: image'
tr -d '\r' <"$log" | awk '
	/^bench: (dfu-util|dfu.ko) / { k = $3 " " $4 " " $5; v[$2, k] = v[$2, k] " " $6; keys[k] = 1 }
	function median(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++)
			for (j = i + 1; j <= n; j++)
				if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return a[int((n + 1) / 2)]
	}
	END {
		printf "%-9s %14s %8s %13s %11s %8s\n", "op", "wTransferSize", "poll ms",
			"dfu-util ms", "dfu.ko ms", "ratio"
		for (k in keys) {
			split(k, f, " ")
			u = median(v["dfu-util", k]); d = median(v["dfu.ko", k])
			printf "%-9s %14s %8s %13d %11d %7.1fx\n", f[1], f[2], f[3], u, d,
				(d > 0 ? u / d : 0)
		}
	}' | (read -r h; echo "$h"; sort -k1,1 -k2,2nr -k3,3n)
