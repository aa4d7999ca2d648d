#!/bin/sh
# The benchmark, in the guest: the same emulated device, the same image,
# flashed and read back by dfu.ko (cat) and by dfu-util (libusb, usbfs).
# Prints "bench: TOOL OP TRANSFER_SIZE POLL_MS MS" lines, one per run.
# Then the DfuSe half, on the emulated STM32F4 ROM (guest/bench-dfuse.sh).
# DFU_BENCH_ONLY=dfuse: the DfuSe half alone; DFU_BENCH_ONLY=dfu: without it.
set -eu
image=/payload/images/u-boot.bin
runs=${DFU_BENCH_RUNS:-3}
size=$(stat -c %s "$image")
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# start_emu XFER POLL: an emulated device holding $image, serial BENCH
start_emu() {
	rm -f /tmp/ready
	./dfu-emu --serial BENCH --transfer-size "$1" --poll-ms "$2" \
		--image "$image" --out /tmp/device-image --ready /tmp/ready &
	emu=$!
	n=0
	until [ -e /tmp/ready ]; do
		n=$((n + 1))
		[ $n -lt 1000 ] || { echo "bench: the emulated device did not appear" >&2; exit 1; }
		sleep 0.01
	done
}
stop_emu() {
	kill "$emu"
	wait "$emu" || true
}
# check_image: the device got the image, byte for byte
check_image() {
	cmp -s "$image" /tmp/device-image || { echo "bench: $1: the device's image differs" >&2; exit 1; }
	rm -f /tmp/device-image
}

only=${DFU_BENCH_ONLY:-}
[ "$only" != dfuse ] || exec sh ./guest/bench-dfuse.sh
for cfg in "4096 0" "4096 1" "1024 1" "64 0"; do
	# shellcheck disable=SC2086 # two words: wTransferSize, poll ms
	set -- $cfg
	xfer=$1 poll=$2
	i=0
	while [ $i -lt "$runs" ]; do
		i=$((i + 1))
		# dfu-util with the interface free: dfu.ko is not loaded
		start_emu "$xfer" "$poll"
		t0=$(now_ms)
		./dfu-util -d 1209:df00 -a 0 -D "$image" >/tmp/dfu-util.out 2>&1 ||
			{ cat /tmp/dfu-util.out; exit 1; }
		t1=$(now_ms)
		check_image dfu-util
		rm -f /tmp/up.bin
		./dfu-util -d 1209:df00 -a 0 -U /tmp/up.bin >/tmp/dfu-util.out 2>&1 ||
			{ cat /tmp/dfu-util.out; exit 1; }
		t2=$(now_ms)
		cmp -s "$image" /tmp/up.bin || { echo "bench: dfu-util upload differs" >&2; exit 1; }
		stop_emu
		echo "bench: dfu-util download $xfer $poll $((t1 - t0))"
		echo "bench: dfu-util upload $xfer $poll $((t2 - t1))"

		insmod ./dfu.ko
		start_emu "$xfer" "$poll"
		# the device is configured; dfu.ko's probe may still be running
		n=0
		until node=/dev/$(ls /sys/bus/usb/drivers/dfu/*/dfu 2>/dev/null) &&
		      [ -c "$node" ]; do
			n=$((n + 1))
			[ $n -lt 1000 ] || { echo "bench: no /dev/dfuN" >&2; exit 1; }
			sleep 0.01
		done
		t0=$(now_ms)
		cat "$image" >"$node"
		t1=$(now_ms)
		check_image dfu.ko
		cat "$node" >/tmp/up.bin
		t2=$(now_ms)
		cmp -s "$image" /tmp/up.bin || { echo "bench: dfu.ko upload differs" >&2; exit 1; }
		stop_emu
		rmmod dfu
		echo "bench: dfu.ko download $xfer $poll $((t1 - t0))"
		echo "bench: dfu.ko upload $xfer $poll $((t2 - t1))"
	done
done
echo "bench: image $size bytes, $runs runs each"
[ "$only" = dfu ] || exec sh ./guest/bench-dfuse.sh
