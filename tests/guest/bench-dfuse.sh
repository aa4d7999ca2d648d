#!/bin/sh
# The DfuSe half of make bench, in the guest (tests/guest/bench.sh runs it):
# the emulated STM32F4 ROM (dfu-emu --dfuse stm32f4, a fresh one for each
# run) flashed from 0x08000000 by dfu.ko (cat IMAGE > /dev/dfuN: the driver
# erases the sectors it touches, sends Set Address, leaves at close) and by
# Debian's dfu-util (-a 0 -s 0x08000000:leave -D IMAGE, dfu.ko not loaded),
# then the whole 1 MiB alt read back by both (cat /dev/dfuN, dfu-util -U).
# The time of a run is from the start of the tool until it returns (for cat:
# until close returned, after the leave). Each run is checked: the flash
# holds the image and is erased after it, the erase list is the sectors the
# image touches (the same for both tools), and the upload equals the flash.
# Prints, one per run:
#   bench: dfuse TOOL OP SIZE MS
#   bench: dfuse-stats TOOL OP SIZE set_address=N erases=N dfuse_writes=N
#          busy_ms=N ... (busy_ms: the device's busy time, erases and writes)
# and at the end "bench: dfuse image SIZE..., N runs each, erase E ms, write W ms".
# Needs in /payload: dfu-emu, dfu-util, dfu.ko, images/dfuse-bench-SIZE.bin
# for each SIZE in $DFU_BENCH_DFUSE_SIZES (tests/bench.sh makes them).
# DFU_BENCH_DFUSE_RUNS: runs of each (default DFU_BENCH_RUNS, else 5).
# DFU_BENCH_DFUSE_ERASE_MS (40) and DFU_BENCH_DFUSE_WRITE_MS (4): the
# emulator's busy times of a sector erase and of a 2048-byte block.
# DFU_BENCH_DFUSE_TOOLS: "dfu-util dfu.ko" (default), or one of them.
set -eu
cd /payload
sizes=${DFU_BENCH_DFUSE_SIZES:-262144 1048576}
runs=${DFU_BENCH_DFUSE_RUNS:-${DFU_BENCH_RUNS:-5}}
erase_ms=${DFU_BENCH_DFUSE_ERASE_MS:-40}
write_ms=${DFU_BENCH_DFUSE_WRITE_MS:-4}
tools=${DFU_BENCH_DFUSE_TOOLS:-dfu-util dfu.ko}
flash_size=1048576
# the STM32F4's internal flash: 4*16 KiB, 1*64 KiB, 7*128 KiB sectors
sectors="0x08000000 0x08004000 0x08008000 0x0800c000 0x08010000 0x08020000
0x08040000 0x08060000 0x08080000 0x080a0000 0x080c0000 0x080e0000"
emu=
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
die() { echo "bench: dfuse: $*" >&2; exit 1; }
stat_of() { sed -n "s/^$1=//p" /tmp/bench-stats; }
has_tool() { case " $tools " in *" $1 "*) return 0 ;; esac; return 1; }

# start_emu [ARGS]: a fresh emulated ROM, configured by the host
start_emu() {
	rm -f /tmp/ready /tmp/bench-stats /tmp/bench-flash.bin
	./dfu-emu --dfuse stm32f4 --dfuse-erase-ms "$erase_ms" \
		--dfuse-write-ms "$write_ms" --out /tmp/bench-flash.bin \
		--stats /tmp/bench-stats --ready /tmp/ready "$@" 2>/tmp/bench-emu.err &
	emu=$!
	n=0
	until [ -e /tmp/ready ]; do
		n=$((n + 1))
		[ $n -lt 1000 ] || die "the emulated device did not appear"
		sleep 0.01
	done
}
# stop_emu: it writes the flash to /tmp/bench-flash.bin as it exits
stop_emu() {
	kill "$emu"
	wait "$emu" || true
	emu=
}
# usb_present: the emulated ROM is on the bus (0483:df11)
usb_present() {
	grep -qs df11 /sys/bus/usb/devices/*/idProduct
}
# wait_back: the device answered the leave, dropped off the bus for 200 ms
# and is enumerated again (and, with dfu.ko loaded, bound again)
wait_back() {
	n=0
	until [ "$(stat_of leaves)" = 1 ]; do
		n=$((n + 1))
		[ $n -lt 500 ] || die "$1: the device did not leave"
		sleep 0.01
	done
	sleep 0.5
	n=0
	until usb_present && { [ "$1" = dfu-util ] || dfu_node >/dev/null; }; do
		n=$((n + 1))
		[ $n -lt 500 ] || die "$1: the device did not come back after the leave"
		sleep 0.01
	done
}
# dfu_node: /dev/dfuN of the device, once dfu.ko's probe made it
dfu_node() {
	node=/dev/$(ls /sys/bus/usb/drivers/dfu/*/dfu 2>/dev/null) && [ -c "$node" ] &&
		echo "$node"
}
wait_node() {
	n=0
	until node=$(dfu_node); do
		n=$((n + 1))
		[ $n -lt 1000 ] || die "dfu.ko made no /dev/dfuN for the DfuSe device"
		sleep 0.01
	done
}
# expected_erased SIZE: the sectors an image of SIZE bytes at 0x08000000 touches
expected_erased() {
	out=
	for s in $sectors; do
		[ $((s - 0x08000000)) -lt "$1" ] || break
		out=${out:+$out,}$s
	done
	echo "$out"
}
# check_flash TOOL SIZE IMAGE: the flash holds IMAGE, 0xff after it,
# exactly the sectors IMAGE touches were erased, once each, and IMAGE went
# in 2048-byte blocks, each once
check_flash() {
	cmp -s -n "$2" "$3" /tmp/bench-flash.bin ||
		die "$1: the flash at 0x08000000 is not the $2-byte image"
	[ "$(stat -c %s /tmp/bench-flash.bin)" = $flash_size ] ||
		die "$1: the flash image is not $flash_size bytes"
	[ "$(tail -c +$(($2 + 1)) /tmp/bench-flash.bin | tr -d '\377' | wc -c)" -eq 0 ] ||
		die "$1: the flash after the $2-byte image is not erased"
	e=$(stat_of erased)
	[ "$e" = "$(expected_erased "$2")" ] ||
		die "$1: erased $e, want the sectors touched: $(expected_erased "$2")"
	[ "$(stat_of mass_erases)" = 0 ] || die "$1: a mass erase"
	[ "$(stat_of dfuse_writes)" = $((($2 + 2047) / 2048)) ] ||
		die "$1: $(stat_of dfuse_writes) blocks written, want $((($2 + 2047) / 2048))"
}
# print_stats TOOL OP SIZE
print_stats() {
	echo "bench: dfuse-stats $1 $2 $3 set_address=$(stat_of set_address)" \
		"erases=$(stat_of erases) dfuse_writes=$(stat_of dfuse_writes)" \
		"busy_ms=$(($(stat_of erases) * erase_ms + $(stat_of dfuse_writes) * write_ms))" \
		"dfuse_reads=$(stat_of dfuse_reads) getstatus=$(stat_of getstatus)" \
		"early_polls=$(stat_of early_polls) erased=$(stat_of erased)"
}

# download TOOL SIZE
download() {
	img=images/dfuse-bench-$2.bin
	[ "$(stat -c %s "$img")" = "$2" ] || die "$img is not $2 bytes"
	start_emu
	if [ "$1" = dfu-util ]; then
		t0=$(now_ms)
		./dfu-util -d 0483:df11 -a 0 -s 0x08000000:leave -D "$img" \
			>/tmp/bench-du.out 2>&1 ||
			{ tr '\r' '\n' </tmp/bench-du.out | grep -v '%' >&2; die "dfu-util -D failed"; }
		t1=$(now_ms)
	else
		wait_node
		t0=$(now_ms)
		cat "$img" >"$node" || die "cat $img > $node failed"
		t1=$(now_ms)
	fi
	wait_back "$1"
	stop_emu
	check_flash "$1" "$2" "$img"
	echo "bench: dfuse $1 download $2 $((t1 - t0))"
	print_stats "$1" download "$2"
}

# upload TOOL: all 1 MiB of the flash, filled with the largest image
upload() {
	img=/tmp/bench-full.bin
	start_emu --image "$img"
	rm -f /tmp/bench-up.bin
	if [ "$1" = dfu-util ]; then
		t0=$(now_ms)
		./dfu-util -d 0483:df11 -a 0 -s 0x08000000:$flash_size -U /tmp/bench-up.bin \
			>/tmp/bench-du.out 2>&1 ||
			{ tr '\r' '\n' </tmp/bench-du.out | grep -v '%' >&2; die "dfu-util -U failed"; }
		t1=$(now_ms)
	else
		wait_node
		t0=$(now_ms)
		cat "$node" >/tmp/bench-up.bin || die "cat $node failed"
		t1=$(now_ms)
	fi
	print_stats "$1" upload $flash_size
	stop_emu
	cmp -s "$img" /tmp/bench-up.bin || die "$1: the upload is not the flash"
	echo "bench: dfuse $1 upload $flash_size $((t1 - t0))"
}

# the flash for the uploads: the largest image, 0xff after it
last=
for s in $sizes; do last=$s; done
cp images/dfuse-bench-"$last".bin /tmp/bench-full.bin
if [ "$last" -lt $flash_size ]; then
	head -c $((flash_size - last)) /dev/zero | tr '\0' '\377' >>/tmp/bench-full.bin
fi

i=0
while [ $i -lt "$runs" ]; do
	i=$((i + 1))
	# dfu-util with the interface free: dfu.ko is not loaded
	if has_tool dfu-util; then
		for s in $sizes; do download dfu-util "$s"; done
		upload dfu-util
	fi
	if has_tool dfu.ko; then
		insmod ./dfu.ko
		for s in $sizes; do download dfu.ko "$s"; done
		upload dfu.ko
		rmmod dfu
	fi
done
echo "bench: dfuse image$(for s in $sizes; do printf ' %s' "$s"; done) bytes," \
	"$runs runs each, erase $erase_ms ms, write $write_ms ms per 2048-byte block"
