#!/bin/sh
# The emulated STM32F4 ROM (dfu-emu --dfuse stm32f4) against Debian's
# dfu-util, in the guest, with dfu.ko NOT loaded: the emulator's DfuSe is
# checked against a host that real STM32s are flashed with, not against
# our driver. Prints TAP lines; exits 1 when one fails.
# Needs in /payload: dfu-emu, dfu-util, images/dfuse-100k.bin (any 102400
# bytes) and images/dfuse-two.dfu (dfuse-pack: dfuse-el1.bin, 4096 bytes at
# 0x08000000, and dfuse-el2.bin, 6144 bytes at 0x08020000), made by
# tests/dfuse-dfu-util.sh.
set -u
cd /payload
img=images/dfuse-100k.bin
size=102400
t=0
rc=0
emu=
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
ok() { t=$((t + 1)); echo "ok $t - dfuse: $*"; }
nok() { t=$((t + 1)); echo "not ok $t - dfuse: $*"; rc=1; }
check() { # check DESCRIPTION COMMAND...
	d=$1
	shift
	if "$@"; then ok "$d"; else nok "$d"; fi
}
stat_of() { sed -n "s/^$1=//p" /tmp/dfuse-stats; }

# start_emu [ARGS]: the emulated ROM, configured by the host
start_emu() {
	rm -f /tmp/ready /tmp/dfuse-stats /tmp/flash.bin
	./dfu-emu --dfuse stm32f4 --out /tmp/flash.bin --stats /tmp/dfuse-stats \
		--ready /tmp/ready "$@" 2>/tmp/emu.err &
	emu=$!
	n=0
	until [ -e /tmp/ready ]; do
		n=$((n + 1))
		[ $n -lt 1000 ] || { echo "# the emulated device did not appear"; return 1; }
		sleep 0.01
	done
}
# stop_emu: it writes the flash to /tmp/flash.bin as it exits
stop_emu() {
	kill "$emu" 2>/dev/null
	wait "$emu"
	emu=
}
# wait_leave: the leave was answered and the device is back on the bus
wait_leave() {
	n=0
	until [ "$(stat_of leaves)" = 1 ]; do
		n=$((n + 1))
		[ $n -lt 500 ] || return 1
		sleep 0.01
	done
	sleep 0.5	# off the bus for 200 ms, then enumerated again
	n=0
	until ./dfu-util -l 2>/dev/null | grep -q '0483:df11'; do
		n=$((n + 1))
		[ $n -lt 50 ] || return 1
		sleep 0.1
	done
}
# run_du NAME ARGS...: dfu-util, its output in /tmp/NAME.out, time printed
run_du() {
	name=$1
	shift
	t0=$(now_ms)
	./dfu-util "$@" >/tmp/"$name".out 2>&1
	r=$?
	echo "# dfu-util $*: exit $r, $(($(now_ms) - t0)) ms"
	[ $r -eq 0 ] || sed 's/^/#   /' /tmp/"$name".out
	return $r
}
# erased_after OFFSET FILE: nothing but 0xff from OFFSET on
erased_after() {
	[ "$(tail -c +$(($1 + 1)) "$2" | tr -d '\377' | wc -c)" -eq 0 ]
}

echo "# $(./dfu-util -V | head -1)"

# 1. raw image across the 16/64 KiB sectors, then leave
start_emu || exit 1
check "dfu-util lists the ROM's internal flash layout" \
	sh -c "./dfu-util -l | grep -q 'name=\"@Internal Flash  /0x08000000/04\*016Kg,01\*064Kg,07\*128Kg\"'"
check "dfu-util -s 0x08000000:leave -D (100 KiB)" \
	run_du dn -a 0 -s 0x08000000:leave -D "$img"
check "the device left (dfuMANIFEST, disconnect) and came back" wait_leave
# its last words, without the progress bars
tr '\r' '\n' </tmp/dn.out | grep -v '%' | tail -5 | sed 's/^/#   /'
check "dfu-util sent the leave and saw dfuMANIFEST" \
	grep -q 'Transitioning to dfuMANIFEST state' /tmp/dn.out
check "flash at 0x08000000 holds the image" cmp -n $size "$img" /tmp/flash.bin
check "flash after the image is erased" erased_after $size /tmp/flash.bin
e=$(stat_of erased)
check "erase list is the five sectors touched ($e)" \
	[ "$e" = 0x08000000,0x08004000,0x08008000,0x0800c000,0x08010000 ]
echo "# set_address=$(stat_of set_address) dfuse_writes=$(stat_of dfuse_writes) early_polls=$(stat_of early_polls) stalls=$(stat_of stalls)"
check "no GETSTATUS before its bwPollTimeout" [ "$(stat_of early_polls)" = 0 ]

# 2. read it back
rm -f /tmp/back.bin
check "dfu-util -s 0x08000000:$size -U" \
	run_du up -a 0 -s 0x08000000:$size -U /tmp/back.bin
check "upload equals the image" cmp "$img" /tmp/back.bin
rm -f /tmp/ob.bin
check "dfu-util -a 1 -s 0x1FFFC000:16 -U (option bytes)" \
	run_du ob -a 1 -s 0x1FFFC000:16 -U /tmp/ob.bin
ob_ok() { [ "$(od -An -tx1 -N2 /tmp/ob.bin | tr -d ' ')" = ecaa ] && [ "$(stat -c %s /tmp/ob.bin)" = 16 ]; }
check "option bytes: 16 bytes, USER 0xEC, RDP 0xAA" ob_ok
stop_emu
check "flash at exit is still the image" cmp -n $size "$img" /tmp/flash.bin

# 3. a DfuSe file with two elements in different sectors (dfuse-pack)
start_emu || exit 1
check "dfu-util -D two-element .dfu" run_du dfu -a 0 -D images/dfuse-two.dfu
stop_emu
check "element 1 at 0x08000000" cmp -n 4096 images/dfuse-el1.bin /tmp/flash.bin
check "element 2 at 0x08020000" cmp -n 6144 -i 0:131072 images/dfuse-el2.bin /tmp/flash.bin
check "flash between them is erased" sh -c \
	"[ \$(dd if=/tmp/flash.bin bs=4096 skip=1 count=31 2>/dev/null | tr -d '\377' | wc -c) -eq 0 ]"
check "flash after element 2 is erased" erased_after $((131072 + 6144)) /tmp/flash.bin
e=$(stat_of erased)
check "erase list is the two sectors touched ($e)" [ "$e" = 0x08000000,0x08020000 ]

# 4. mass erase, then the image, onto a full flash (--image)
head -c 1048576 /dev/zero >/tmp/zero.bin
start_emu --image /tmp/zero.bin || exit 1
check "dfu-util -s 0x08000000:mass-erase:force:leave -D" \
	run_du me -a 0 -s 0x08000000:mass-erase:force:leave -D "$img"
check "the device left and came back" wait_leave
me_ok() { [ "$(stat_of mass_erases)" = 1 ] && [ -z "$(stat_of erased)" ]; }
check "mass_erases=1, no sector erase" me_ok
stop_emu
check "flash holds the image" cmp -n $size "$img" /tmp/flash.bin
check "the rest of the zeroed flash is erased" erased_after $size /tmp/flash.bin

echo "1..$t"
exit $rc
