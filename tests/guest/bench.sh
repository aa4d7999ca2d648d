#!/bin/sh
# The benchmark, in the guest: the same emulated device, the same image,
# flashed and read back by dfu.ko (cat), by dfu-util (libusb, usbfs) and by
# the floor (tests/bench/dfu-floor.c: the bare DFU requests on usbfs, no
# waiting), then the hrtimer probe, the driver's memory, the DfuSe half
# (guest/bench-dfuse.sh), and the scripts guest/bench-many.sh and
# guest/soak.sh when the payload has them. Prints, one per run:
#   bench: TOOL OP TRANSFER_SIZE POLL_MS MS           (TOOL dfu-util, dfu.ko)
#   bench: cpu TOOL OP TRANSFER_SIZE POLL_MS wall_us=W user_us=U sys_us=S
#          (getrusage of the tool and its children: cat and its sh for dfu.ko)
#   bench: floor OP TRANSFER_SIZE POLL_MS total_us=T requests=R blocks=B
#          busy=N early=E poll_ms=P slept_us=S bytes=N   (no waiting)
#   bench: floor-wait download ...  (the same, sleeping each bwPollTimeout;
#          only for POLL_MS > 0)
# and once: "bench: hrtimer MS median_us=..." for each POLL_MS > 0,
# "bench: mem-device ..." and "bench: mem-big ..." lines (see mem_part),
# "bench: image SIZE bytes, N runs each".
# DFU_BENCH_ONLY: the parts to run, of "dfu floor mem dfuse many soak"
# (space or comma separated; default all): dfu = the rows with all three
# tools and the hrtimer probe, floor = the floor alone, mem = the memory
# part. DFU_BENCH_ROWS: the rows, "XFER POLL" comma separated (default
# "4096 0,4096 1,1024 1,64 0"). DFU_BENCH_RUNS: runs of each row (3).
# DFU_BENCH_BIG_SIZE (1073741824) and DFU_BENCH_BIG_XFER (16384): the
# image streamed from /dev/zero into /dev/dfuN by the memory part.
set -eu
image=/payload/images/u-boot.bin
runs=${DFU_BENCH_RUNS:-3}
rows=${DFU_BENCH_ROWS:-4096 0,4096 1,1024 1,64 0}
big=${DFU_BENCH_BIG_SIZE:-1073741824}
big_xfer=${DFU_BENCH_BIG_XFER:-16384}
size=$(stat -c %s "$image")
only=$(echo "${DFU_BENCH_ONLY:-dfu mem dfuse many soak}" | tr , ' ')
want() { case " $only " in *" $1 "*) return 0 ;; esac; return 1; }
die() { echo "bench: $*" >&2; exit 1; }
emu=

# start_emu XFER POLL [ARGS]: an emulated device, serial BENCH, holding
# $image (or as ARGS say)
start_emu() {
	xfer=$1 poll=$2
	shift 2
	rm -f /tmp/ready
	if [ $# = 0 ]; then
		set -- --image "$image" --out /tmp/device-image
	fi
	./dfu-emu --serial BENCH --transfer-size "$xfer" --poll-ms "$poll" \
		--ready /tmp/ready "$@" &
	emu=$!
	n=0
	until [ -e /tmp/ready ]; do
		n=$((n + 1))
		[ $n -lt 1000 ] || die "the emulated device did not appear"
		sleep 0.01
	done
}
stop_emu() {
	kill "$emu"
	wait "$emu" || true
	emu=
}
# check_image: the device got the image, byte for byte
check_image() {
	cmp -s "$image" /tmp/device-image || die "$1: the device's image differs"
	rm -f /tmp/device-image
}
# usb_node: the usbfs node of the emulated device
usb_node() {
	for d in /sys/bus/usb/devices/*; do
		[ -f "$d/serial" ] && [ "$(cat "$d/serial")" = BENCH ] || continue
		printf '/dev/bus/usb/%03d/%03d\n' "$(cat "$d/busnum")" "$(cat "$d/devnum")"
		return 0
	done
	die "no usbfs node for the emulated device"
}
# dfu_node: /dev/dfuN once dfu.ko's probe made it
dfu_node() {
	n=0
	until node=/dev/$(ls /sys/bus/usb/drivers/dfu/*/dfu 2>/dev/null) &&
	      [ -c "$node" ]; do
		n=$((n + 1))
		[ $n -lt 1000 ] || die "no /dev/dfuN"
		sleep 0.01
	done
}
# cpu TOOL OP: the line of /tmp/ru, and its wall time in ms as $ms
cpu() {
	ru=$(cat /tmp/ru)
	echo "bench: cpu $1 $2 $xfer $poll $ru"
	w=${ru#wall_us=}
	ms=$(( ${w%% *} / 1000 ))
}
# floor [--wait] download|upload: the bare requests, on the device now up
floor() {
	name=floor file=/tmp/floor.bin
	[ "$1" != --wait ] || name=floor-wait
	case $* in *download*) file=$image ;; esac
	out=$(./dfu-floor "$@" "$(usb_node)" 0 "$xfer" "$file") || die "dfu-floor $* failed"
	echo "bench: $name $(echo "$out" | sed 's/^floor //; s/ / '"$xfer $poll"' /')"
	case $out in
	*download*) check_image "$name" ;;
	*) cmp -s "$image" /tmp/floor.bin || die "$name upload differs" ;;
	esac
	rm -f /tmp/floor.bin
}

row() {
	xfer=$1 poll=$2
	i=0
	while [ $i -lt "$runs" ]; do
		i=$((i + 1))
		if want dfu; then
			# dfu-util with the interface free: dfu.ko is not loaded
			start_emu "$xfer" "$poll"
			./rusage /tmp/ru ./dfu-util -d 1209:df00 -a 0 -D "$image" \
				>/tmp/dfu-util.out 2>&1 || { cat /tmp/dfu-util.out; exit 1; }
			cpu dfu-util download
			echo "bench: dfu-util download $xfer $poll $ms"
			check_image dfu-util
			rm -f /tmp/up.bin
			./rusage /tmp/ru ./dfu-util -d 1209:df00 -a 0 -U /tmp/up.bin \
				>/tmp/dfu-util.out 2>&1 || { cat /tmp/dfu-util.out; exit 1; }
			cpu dfu-util upload
			echo "bench: dfu-util upload $xfer $poll $ms"
			cmp -s "$image" /tmp/up.bin || die "dfu-util upload differs"
			stop_emu
		fi

		# the floor, on a fresh device too
		start_emu "$xfer" "$poll"
		floor download
		floor upload
		[ "$poll" = 0 ] || floor --wait download
		stop_emu
		want dfu || continue

		insmod ./dfu.ko
		start_emu "$xfer" "$poll"
		# the device is configured; dfu.ko's probe may still be running
		dfu_node
		./rusage /tmp/ru sh -c 'exec cat "$1" >"$2"' sh "$image" "$node"
		cpu dfu.ko download
		echo "bench: dfu.ko download $xfer $poll $ms"
		check_image dfu.ko
		./rusage /tmp/ru sh -c 'exec cat "$1" >/tmp/up.bin' sh "$node"
		cpu dfu.ko upload
		echo "bench: dfu.ko upload $xfer $poll $ms"
		cmp -s "$image" /tmp/up.bin || die "dfu.ko upload differs"
		stop_emu
		rmmod dfu
	done
}

# slab_bytes: the bytes of all slab objects in use; slab_caches: per cache
slab_caches() { awk 'NR > 2 { print $1, $2 * $4 }' /proc/slabinfo; }
slab_bytes() { awk 'NR > 2 { s += $2 * $4 } END { print s }' /proc/slabinfo; }
meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

# kmem_trace on|off|read PID: the kernel's kmalloc and kmem_cache
# allocations and frees (tracefs, kmem events); read: those process PID
# made and did not free, summed by the function that made them, and those
# of dfu.ko (its own and its URB)
T=/sys/kernel/tracing
kmem_trace() {
	case $1 in
	on)
		[ -d $T/events/kmem ] || mount -t tracefs tracefs $T
		echo 0 >$T/tracing_on
		echo 4096 >$T/buffer_size_kb
		# the pointers as they are, to pair each free with its allocation
		echo 0 >$T/options/hash-ptr
		echo >$T/trace
		for e in kmalloc kfree kmem_cache_alloc kmem_cache_free; do
			echo 1 >$T/events/kmem/$e/enable
		done
		echo 1 >$T/tracing_on
		;;
	off)
		echo 0 >$T/tracing_on
		for e in kmalloc kfree kmem_cache_alloc kmem_cache_free; do
			echo 0 >$T/events/kmem/$e/enable
		done
		;;
	read)
		# read PID: only what process PID allocated and did not free
		awk -v pid="$2" '
		function val(k,   i) { for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) return substr($i, length(k) + 2); return "" }
		/^#/ { next }
		{ task = $1; sub(/.*-/, "", task); if (pid != "" && task != pid) next }
		/ (kmalloc|kmem_cache_alloc): / {
			p = val("ptr"); live[p] = val("bytes_alloc"); site[p] = val("call_site")
			sub(/\+.*/, "", site[p])
			# the driver: dfu.ko itself, and the URB it asks usbcore for
			drv[p] = / \[dfu\] ptr=/ || site[p] == "usb_alloc_urb"
		}
		/ (kfree|kmem_cache_free): / { delete live[val("ptr")] }
		END {
			for (p in live) { s += live[p]; d += drv[p] * live[p]; by[site[p]] += live[p]; n[site[p]]++ }
			printf "live_bytes=%d driver_bytes=%d sites=", s, d
			for (f in by) { printf "%s%s:%dx%d", sep, f, n[f], by[f] / n[f]; sep = "," }
			print ""
		}' $T/trace
		;;
	esac
}

# The memory part: what one device costs: the kernel allocations that
# binding dfu.ko to the interface leaves (its probe, in the write to bind:
# traced kmem events, three times, after an unbind; dfu.ko's own and all,
# with the device and its sysfs files), and a $big-byte image streamed from
# /dev/zero into /dev/dfuN, with the slab (/proc/slabinfo, every object in
# use, and Slab of /proc/meminfo) sampled every second: it must not grow
# with the image.
mem_part() {
	insmod ./dfu.ko
	start_emu 4096 0
	dfu_node
	intf=$(basename "$(dirname "$(ls -d /sys/bus/usb/drivers/dfu/*/dfu)")")
	k=0
	while [ $k -lt 3 ]; do
		k=$((k + 1))
		echo "$intf" >/sys/bus/usb/drivers/dfu/unbind
		sleep 0.5
		# the probe runs in this shell's write (echo is built in)
		kmem_trace on
		echo "$intf" >/sys/bus/usb/drivers/dfu/bind
		kmem_trace off
		dfu_node
		echo "bench: mem-device bind=$k xfer=4096 $(kmem_trace read $$)"
	done
	stop_emu
	# the big image: the emulator keeps it in memory (--mem-size), no --out
	start_emu "$big_xfer" 0 --mem-size "$big" --stats /tmp/big-stats
	dfu_node
	s0=$(slab_bytes) m0=$(meminfo Slab)
	t0=$(date +%s%N)
	head -c "$big" /dev/zero >"$node" &
	writer=$!
	max=$s0 maxm=$m0 samples=0
	while kill -0 "$writer" 2>/dev/null; do
		sleep 1
		s=$(slab_bytes) m=$(meminfo Slab)
		[ "$s" -le "$max" ] || max=$s
		[ "$m" -le "$maxm" ] || maxm=$m
		samples=$((samples + 1))
		[ $((samples % 30)) != 0 ] ||
			echo "bench: mem-big-sample t=${samples}s slab_bytes=$s slab_kb=$m"
	done
	wait "$writer" || die "the $big-byte image failed"
	t1=$(date +%s%N)
	s1=$(slab_bytes) m1=$(meminfo Slab)
	got=$(sed -n 's/^image_bytes=//p' /tmp/big-stats)
	[ "$got" = "$big" ] || die "the device got $got bytes of the $big-byte image"
	echo "bench: mem-big bytes=$big xfer=$big_xfer ms=$(( (t1 - t0) / 1000000 )) samples=$samples slab_before=$s0 slab_max=$max slab_after=$s1 slab_kb_before=$m0 slab_kb_max=$maxm slab_kb_after=$m1"
	stop_emu
	rmmod dfu
}

if want dfu || want floor; then
	IFS=,
	# shellcheck disable=SC2086 # the rows, comma separated
	set -- $rows
	unset IFS
	for cfg; do
		# shellcheck disable=SC2086 # two words: wTransferSize, poll ms
		row $cfg
	done
	echo "bench: image $size bytes, $runs runs each"
fi
if want dfu; then
	# what starting cat costs (part of every dfu.ko figure, not of the floor's)
	for i in 1 2 3 4 5; do
		./rusage /tmp/ru sh -c 'exec cat /dev/null >/dev/null'
		echo "bench: cpu cat-start none 0 0 $(cat /tmp/ru)"
	done
fi
if want dfu; then
	for p in $(echo "$rows" | tr , '\n' | awk '$2 > 0 { print $2 }' | sort -un); do
		echo "bench: $(./hrsleep "$p" 500)"
	done
fi
want mem && mem_part
want dfuse && sh ./guest/bench-dfuse.sh
# H3's parts: each prints its own "bench: many ..." / "bench: soak ..." lines
want many && [ -f ./guest/bench-many.sh ] && sh ./guest/bench-many.sh
want soak && [ -f ./guest/soak.sh ] && sh ./guest/soak.sh
exit 0
