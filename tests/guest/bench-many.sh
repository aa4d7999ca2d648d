#!/bin/sh
# Many devices at once, in the guest (make bench; tests/guest/bench.sh runs
# it): DFU_BENCH_MANY_DEVICES emulated DFU 1.1 devices (default 16), one on
# each dummy_hcd port (the VM must boot with DUMMY_HCD_NUM at least that
# many: dfu-emu --udc-device dummy_udc.K), serials MANY00, MANY01..., all
# bound by dfu.ko. Each device answers every block with dfuDNBUSY and a
# bwPollTimeout of DFU_BENCH_MANY_POLL_MS (default 20) for
# DFU_BENCH_MANY_TRANSFER_SIZE bytes (default 4096), about what a flash
# chip takes to program 4 KiB, so that a device's time is mostly its own
# busy time and not the host's: under TCG a block costs the guest about
# 2 ms of CPU (emulator, dummy_hcd, driver) besides the wait, so with 2
# vCPUs a poll time of 5 ms makes the guest's CPU, not the devices, the
# limit at 8 devices (80 % busy, 4.7x one device). The same random image of
# DFU_BENCH_MANY_BYTES (default 262144: 64 blocks) goes to each.
# For each run (DFU_BENCH_MANY_RUNS, default 3): every device alone (its
# solo time), then N = 1 2 4 8 16 (those up to the device count) devices
# at once, each `cat IMAGE > /dev/dfuK` a background job timed on its own,
# the round's wall time from the first cat's start to the last one's end. Every flash is
# verified: the device's --out (rewritten at each manifestation; removed
# before each flash) equals the image byte for byte; a wrong or missing
# image, or a failed cat, fails the script (exit 1). The guest's CPU use
# (/proc/stat, all CPUs, busy / (busy + idle)) is taken over each round.
# Prints, per run: "bench: many solo RUN DEV MS", "bench: many round RUN N
# WALL_MS CPU_PCT MS0 MS1 ..."; then one device's throughput (the image
# over the median of all solo flashes) and per N, from the medians over runs:
#   bench: many N devices: WALL ms, B bytes/s, Rx one device, worst device
#          K at T ms = Q x its solo S ms (PASS/FAIL), CPU C %
# the goals (printed PASS/FAIL; they do not fail the run): 8 devices at
# least 7x the throughput of one, and no device slower than 1.2x its solo
# time (for every N up to 8; 16 is reported), and a JSON object with every
# figure, written to /tmp/bench-many.json and printed as one line
# "bench: many-json {...}" for the host to take from the serial log.
# Needs in /payload: dfu-emu, dfu.ko (loaded and unloaded here).
set -eu
cd /payload
devices=${DFU_BENCH_MANY_DEVICES:-16}
poll=${DFU_BENCH_MANY_POLL_MS:-20}
xfer=${DFU_BENCH_MANY_TRANSFER_SIZE:-4096}
size=${DFU_BENCH_MANY_BYTES:-262144}
runs=${DFU_BENCH_MANY_RUNS:-3}
counts=${DFU_BENCH_MANY_COUNTS:-1 2 4 8 16}
d=/tmp/many
image=$d/image
emus=
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
die() { echo "bench: many: $*" >&2; exit 1; }
# cpu_ticks: "busy idle" jiffies of all CPUs since boot
cpu_ticks() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6; exit }' /proc/stat
}
cleanup() {
	for p in $emus; do kill "$p" 2>/dev/null || true; done
	for p in $emus; do wait "$p" 2>/dev/null || true; done
	emus=
}
trap cleanup EXIT

udcs=0
for u in /sys/class/udc/dummy_udc.*; do [ ! -e "$u" ] || udcs=$((udcs + 1)); done
[ "$udcs" -ge "$devices" ] ||
	die "$devices devices need $devices dummy_hcd ports, the guest has $udcs (boot with DUMMY_HCD_NUM=$devices)"
rm -rf $d
mkdir -p $d
head -c "$size" /dev/urandom >$image

# the devices, each on its own port, configured by the host
k=0
while [ $k -lt "$devices" ]; do
	s=$(printf 'MANY%02d' $k)
	./dfu-emu --udc-device dummy_udc.$k --serial "$s" --transfer-size "$xfer" \
		--poll-ms "$poll" --mem-size $((size > 1048576 ? size : 1048576)) \
		--out $d/out.$k --ready $d/ready.$k 2>$d/emu.$k.err &
	emus="$emus $!"
	k=$((k + 1))
done
n=0
# ready: how many emulated devices the host has configured
ready() { set -- $d/ready.*; [ -e "$1" ] && echo $# || echo 0; }
until [ "$(ready)" -ge "$devices" ]; do
	n=$((n + 1))
	[ $n -lt 3000 ] || die "only $(ready) of $devices emulated devices appeared"
	sleep 0.01
done
insmod ./dfu.ko
# node.K: /dev/dfuN of the device with serial MANY<K>
n=0
while :; do
	found=0
	for i in /sys/bus/usb/drivers/dfu/*:*; do
		[ -d "$i/dfu" ] || continue
		s=$(cat "$i/../serial" 2>/dev/null) || continue
		case $s in MANY[0-9][0-9]) ;; *) continue ;; esac
		node=/dev/$(ls "$i/dfu")
		[ -c "$node" ] || continue
		echo "$node" >$d/node.$((1${s#MANY} - 100))
		found=$((found + 1))
	done
	[ $found -lt "$devices" ] || break
	n=$((n + 1))
	[ $n -lt 3000 ] || die "dfu.ko bound $found of $devices devices"
	sleep 0.01
done

# flash K: flash device K, write "T0 T1 STATUS" to $d/t.K
flash() {
	rm -f "$d/out.$1" "$d/t.$1"
	node=$(cat "$d/node.$1")
	t0=$(now_ms)
	if cat $image >"$node"; then rc=0; else rc=$?; fi
	t1=$(now_ms)
	echo "$t0 $t1 $rc" >"$d/t.$1"
}
# verify K: the flash succeeded and the device holds the image
verify() {
	read -r t0 t1 rc <"$d/t.$1" || die "device $1: no time recorded"
	[ "$rc" = 0 ] || die "device $1 ($(cat "$d/node.$1")): cat failed (status $rc)"
	[ -e "$d/out.$1" ] || die "device $1: no image manifested (no --out)"
	cmp -s $image "$d/out.$1" || die "device $1 ($(cat "$d/node.$1")): its image differs from the one sent"
	echo $((t1 - t0))
}

say() { echo "$*"; echo "$*" >>$d/log; }
: >$d/log
r=0
while [ $r -lt "$runs" ]; do
	r=$((r + 1))
	k=0
	while [ $k -lt "$devices" ]; do
		flash $k
		ms=$(verify $k)
		say "bench: many solo $r $k $ms"
		k=$((k + 1))
	done
	for c in $counts; do
		[ "$c" -le "$devices" ] || continue
		# shellcheck disable=SC2046 # two numbers
		set -- $(cpu_ticks)
		b0=$1 i0=$2
		rm -f $d/t.*
		pids=
		k=0
		while [ $k -lt "$c" ]; do
			flash $k &
			pids="$pids $!"
			k=$((k + 1))
		done
		for p in $pids; do wait "$p"; done
		# shellcheck disable=SC2046 # two numbers
		set -- $(cpu_ticks)
		cpu=$(( (($1 - b0) * 100) / ($1 - b0 + $2 - i0 + 1) ))
		times=
		k=0
		while [ $k -lt "$c" ]; do
			ms=$(verify $k)
			times="$times $ms"
			k=$((k + 1))
		done
		# the wall time: the first start to the last end
		wall=$(cat $d/t.* | awk 'NR == 1 || $1 < a { a = $1 } $2 > b { b = $2 } END { print b - a }')
		say "bench: many round $r $c $wall $cpu$times"
	done
done
cleanup
rmmod dfu

awk -v devices="$devices" -v size="$size" -v poll="$poll" -v xfer="$xfer" \
    -v runs="$runs" -v ncpu="$(grep -c '^processor' /proc/cpuinfo)" -v json=$d/json '
function median(s,   a, n, i, j, t) {
	n = split(s, a, " ")
	for (i = 1; i <= n; i++)
		for (j = i + 1; j <= n; j++)
			if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	return a[int((n + 1) / 2)] + 0
}
$3 == "solo" { solo[$5] = solo[$5] " " $6; all = all " " $6; ns++ }
$3 == "round" {
	c = $5; if (!(c in wall)) order[++nc] = c
	wall[c] = wall[c] " " $6; cpu[c] = cpu[c] " " $7
	for (i = 8; i <= NF; i++) t[c, i - 8] = t[c, i - 8] " " $i
}
END {
	for (k = 0; k < devices; k++) s[k] = median(solo[k])
	# one device: the median of every solo flash (each device, each run)
	m1 = median(all); one = m1 > 0 ? size * 1000 / m1 : 0
	printf "bench: many one device alone: %d ms (median of %d solo flashes), %d bytes/s\n", m1, ns, one
	for (x = 1; x <= nc; x++) {
		c = order[x]; w = median(wall[c]); bps[c] = w > 0 ? size * c * 1000 / w : 0
	}
	js = sprintf("{\"devices\":%d,\"image_bytes\":%d,\"transfer_size\":%d,\"poll_ms\":%d,\"runs\":%d,\"cpus\":%d,\"one_device_ms\":%d,\"one_device_bytes_per_s\":%d,\"solo_ms\":[", devices, size, xfer, poll, runs, ncpu, m1, one)
	for (k = 0; k < devices; k++) js = js (k ? "," : "") s[k]
	js = js "],\"rows\":["
	g8 = "n/a"; gs = "PASS"; gsw = 0
	for (x = 1; x <= nc; x++) {
		c = order[x]; w = median(wall[c]); cp = median(cpu[c])
		ratio = one > 0 ? bps[c] / one : 0
		worst = 0; wk = 0; devs = ""
		for (k = 0; k < c; k++) {
			m = median(t[c, k]); q = s[k] > 0 ? m / s[k] : 0
			devs = devs (k ? "," : "") m
			if (q > worst) { worst = q; wk = k; wm = m }
		}
		slow = worst <= 1.2 ? "PASS" : "FAIL"
		if (c <= 8 && worst > gsw) gsw = worst
		if (c <= 8 && worst > 1.2) gs = "FAIL"
		if (c == 8) { g8 = ratio >= 7 ? "PASS" : "FAIL"; r8 = ratio }
		printf "bench: many %d devices: %d ms, %d bytes/s, %.2fx one device, worst device %d at %d ms = %.2fx its solo %d ms (%s), CPU %d %%\n",
			c, w, bps[c], ratio, wk, wm, worst, s[wk], slow, cp
		js = js sprintf("%s{\"n\":%d,\"wall_ms\":%d,\"bytes_per_s\":%d,\"ratio\":%.3f,\"device_ms\":[%s],\"worst_device\":%d,\"worst_vs_solo\":%.3f,\"cpu_busy_pct\":%d}",
			x > 1 ? "," : "", c, w, bps[c], ratio, devs, wk, worst, cp)
	}
	js = js "]"
	if (g8 != "n/a") {
		printf "bench: many goal: 8 devices %.2fx one device (want >= 7): %s\n", r8, g8
		js = js sprintf(",\"goal_8_ratio\":{\"value\":%.3f,\"pass\":%s}", r8, g8 == "PASS" ? "true" : "false")
	}
	printf "bench: many goal: worst device %.2fx its solo time, up to 8 devices (want <= 1.2): %s\n", gsw, gs
	js = js sprintf(",\"goal_worst_vs_solo\":{\"value\":%.3f,\"pass\":%s}}", gsw, gs == "PASS" ? "true" : "false")
	print js >json
}' $d/log
cp $d/json /tmp/bench-many.json
echo "bench: many config: $devices devices, image $size bytes, wTransferSize $xfer, bwPollTimeout $poll ms, $runs runs, $(grep -c '^processor' /proc/cpuinfo) CPUs"
echo "bench: many-json $(cat /tmp/bench-many.json)"
