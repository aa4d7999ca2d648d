#!/bin/sh
# The emulated DfuSe devices (dfu-emu --dfuse stm32f4, stusbd, bmp,
# gd32vf103) against Debian's dfu-util, in the guest, with dfu.ko NOT
# loaded: each personality is checked against a host that real devices
# are flashed with, not against our driver. Prints TAP lines; exits 1 when
# one fails.
# Needs in /payload: dfu-emu, dfu-util, images/dfuse-100k.bin (any 102400
# bytes), images/dfuse-el1.bin (any 4096 bytes) and images/dfuse-two.dfu
# (dfuse-pack: dfuse-el1.bin at 0x08000000 and dfuse-el2.bin, 6144 bytes,
# at 0x08020000), made by tests/dfuse-dfu-util.sh.
set -u
cd /payload
img=images/dfuse-100k.bin
size=102400
small=images/dfuse-el1.bin	# 4096 bytes
t=0
rc=0
emu=
id=
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
ok() { t=$((t + 1)); echo "ok $t - dfuse: $*"; }
nok() { t=$((t + 1)); echo "not ok $t - dfuse: $*"; rc=1; }
check() { # check DESCRIPTION COMMAND...
	d=$1
	shift
	if "$@"; then ok "$d"; else nok "$d"; fi
}
stat_of() { sed -n "s/^$1=//p" /tmp/dfuse-stats; }
stat_is() { [ "$(stat_of "$1")" = "$2" ]; }

# start_emu PROFILE [ARGS]: the emulated device, configured by the host
start_emu() {
	prof=$1
	shift
	case $prof in
	stm32f4|stusbd) id=0483:df11 ;;
	bmp) id=1d50:6017 ;;
	gd32vf103) id=28e9:0189 ;;
	esac
	rm -f /tmp/ready /tmp/dfuse-stats /tmp/flash.bin
	./dfu-emu --dfuse "$prof" --out /tmp/flash.bin --stats /tmp/dfuse-stats \
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
# wait_back KEY VALUE: the stats say KEY=VALUE (a leave, an unprotect)
# and the device is back on the bus
wait_back() {
	n=0
	until stat_is "$1" "$2"; do
		n=$((n + 1))
		[ $n -lt 500 ] || return 1
		sleep 0.01
	done
	sleep 0.5	# off the bus for 200 ms, then enumerated again
	n=0
	until ./dfu-util -l 2>/dev/null | grep -q "$id"; do
		n=$((n + 1))
		[ $n -lt 50 ] || return 1
		sleep 0.1
	done
}
wait_leave() { wait_back leaves 1; }
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
# fails_du NAME ARGS...: dfu-util must fail
fails_du() {
	name=$1
	shift
	./dfu-util "$@" >/tmp/"$name".out 2>&1
	r=$?
	echo "# dfu-util $*: exit $r"
	last_words "$name" 3
	# its error (stderr, unbuffered, comes before the buffered stdout)
	grep 'dfu-util: ' /tmp/"$name".out | grep -v 'DFU suffix' | sed 's/^/#   /'
	[ $r -ne 0 ]
}
# last_words NAME: dfu-util's last lines, without the progress bars
last_words() { tr '\r' '\n' </tmp/"$1".out | grep -v '%' | grep -v '^ *$' | tail -"${2:-5}" | sed 's/^/#   /'; }
# erased_after OFFSET FILE: nothing but 0xff from OFFSET on
erased_after() {
	[ "$(tail -c +$(($1 + 1)) "$2" | tr -d '\377' | wc -c)" -eq 0 ]
}
# all_ff FILE: nothing but 0xff
all_ff() { erased_after 0 "$1"; }
# zero_after OFFSET FILE: nothing but 0x00 from OFFSET on
zero_after() {
	[ "$(tail -c +$(($1 + 1)) "$2" | tr -d '\000' | wc -c)" -eq 0 ]
}
# at OFFSET LEN FILE: LEN bytes of FILE from OFFSET, on stdout
at() { tail -c +$(($1 + 1)) "$3" | head -c "$2"; }
# ff_at OFFSET LEN FILE: LEN bytes of 0xff at OFFSET
ff_at() { [ "$(at "$1" "$2" "$3" | tr -d '\377' | wc -c)" -eq 0 ]; }
# same_at OFFSET IMAGE FILE: FILE holds IMAGE at OFFSET
same_at() {
	at "$1" "$(stat -c %s "$2")" "$3" >/tmp/at.bin
	cmp -s "$2" /tmp/at.bin
}

all0=$(now_ms)
echo "# $(./dfu-util -V | head -1)"

# --- stm32f4: the STM32F4 system-memory ROM --------------------------------

# 1. raw image across the 16/64 KiB sectors, then leave
start_emu stm32f4 || exit 1
check "dfu-util lists the ROM's internal flash layout" \
	sh -c "./dfu-util -l | grep -q 'name=\"@Internal Flash  /0x08000000/04\*016Kg,01\*064Kg,07\*128Kg\"'"
check "dfu-util -s 0x08000000:leave -D (100 KiB)" \
	run_du dn -a 0 -s 0x08000000:leave -D "$img"
check "the device left (dfuMANIFEST, disconnect) and came back" wait_leave
last_words dn
check "dfu-util sent the leave and saw dfuMANIFEST" \
	grep -q 'Transitioning to dfuMANIFEST state' /tmp/dn.out
check "flash at 0x08000000 holds the image" cmp -n $size "$img" /tmp/flash.bin
check "flash after the image is erased" erased_after $size /tmp/flash.bin
e=$(stat_of erased)
check "erase list is the five sectors touched ($e)" \
	[ "$e" = 0x08000000,0x08004000,0x08008000,0x0800c000,0x08010000 ]
echo "# set_address=$(stat_of set_address) dfuse_writes=$(stat_of dfuse_writes) early_polls=$(stat_of early_polls) stalls=$(stat_of stalls)"
check "no GETSTATUS before its bwPollTimeout" stat_is early_polls 0

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
start_emu stm32f4 || exit 1
check "dfu-util -D two-element .dfu" run_du dfu -a 0 -D images/dfuse-two.dfu
stop_emu
check "element 1 at 0x08000000" cmp -n 4096 images/dfuse-el1.bin /tmp/flash.bin
check "element 2 at 0x08020000" cmp -n 6144 -i 0:131072 images/dfuse-el2.bin /tmp/flash.bin
check "flash between them is erased" sh -c \
	"[ \$(dd if=/tmp/flash.bin bs=4096 skip=1 count=31 2>/dev/null | tr -d '\377' | wc -c) -eq 0 ]"
check "flash after element 2 is erased" erased_after $((131072 + 6144)) /tmp/flash.bin
e=$(stat_of erased)
check "erase list is the two sectors touched ($e)" [ "$e" = 0x08000000,0x08020000 ]

# 4. mass erase, then the image, onto a full flash (--image). Not the
# F405's 100 ms, the default: dfu-util takes that for the F405's lie and
# waits 35 s.
head -c 1048576 /dev/zero >/tmp/zero.bin
start_emu stm32f4 --image /tmp/zero.bin --dfuse-mass-erase-ms 300 || exit 1
check "dfu-util -s 0x08000000:mass-erase:force:leave -D" \
	run_du me -a 0 -s 0x08000000:mass-erase:force:leave -D "$img"
check "the device left and came back" wait_leave
me_ok() { [ "$(stat_of mass_erases)" = 1 ] && [ -z "$(stat_of erased)" ]; }
check "mass_erases=1, no sector erase" me_ok
stop_emu
check "flash holds the image" cmp -n $size "$img" /tmp/flash.bin
check "the rest of the zeroed flash is erased" erased_after $size /tmp/flash.bin

# 5. --dfuse-blank: dfuERROR/errFIRMWARE at power-up, CLRSTATUS clears it
start_emu stm32f4 --dfuse-blank || exit 1
blank_first() { stat_is state 10 && stat_is status 10; }
check "--dfuse-blank: the device starts in dfuERROR/errFIRMWARE" blank_first
check "dfu-util -s 0x08000000 -D (4 KiB) onto the blank chip" \
	run_du bl -a 0 -s 0x08000000 -D "$small"
last_words bl 12 | grep -i 'state\|status'
check "dfu-util cleared the status (clrstatus=$(stat_of clrstatus))" stat_is clrstatus 1
stop_emu
check "flash holds the 4 KiB" cmp -n 4096 "$small" /tmp/flash.bin

# 6. --dfuse-protected: reads and writes refused (errVENDOR), Read
# Unprotect wipes the flash and lifts the protection
start_emu stm32f4 --dfuse-protected --image "$img" || exit 1
check "--dfuse-protected: dfu-util -U fails" \
	fails_du pu -a 0 -s 0x08000000:4096 -U /tmp/pu.bin
prot_err() { stat_is state 10 && stat_is status 11 && stat_is dfuse_denied 1 &&
	grep -q 'dfuse_upload: libusb_control_transfer returned -9' /tmp/pu.out; }
check "the upload stalled, the device is in dfuERROR/errVENDOR (denied=$(stat_of dfuse_denied))" prot_err
check "--dfuse-protected: dfu-util -D fails" \
	fails_du pd -a 0 -s 0x08000000 -D "$small"
prot_dn() { stat_is dfuse_denied 2 && stat_is status 11 && [ -z "$(stat_of erased)" ] &&
	grep -q 'ERASE_PAGE not correctly executed' /tmp/pd.out; }
check "the erase was refused with errVENDOR (ERASE_PAGE not correctly executed), nothing erased" prot_dn
check "dfu-util -s 0x08000000:unprotect:force -D" \
	run_du un -a 0 -s 0x08000000:unprotect:force -D "$small"
last_words un 2
check "the device wiped itself, dropped off the bus and came back" \
	wait_back unprotects 1
check "dfuse_protected=0 after Read Unprotect" stat_is dfuse_protected 0
rm -f /tmp/pu.bin
check "dfu-util -s 0x08000000:4096 -U now works" \
	run_du pu2 -a 0 -s 0x08000000:4096 -U /tmp/pu.bin
check "the flash reads erased" all_ff /tmp/pu.bin
rm -f /tmp/ob.bin
check "dfu-util -a 1 -U option bytes" run_du ob2 -a 1 -s 0x1FFFC000:16 -U /tmp/ob.bin
check "option bytes: RDP 0xAA again" ob_ok
stop_emu
check "the whole flash is erased" all_ff /tmp/flash.bin

# 7. --dfuse-layout: two zones of 32 KiB with a gap between them
# (0x08008000..0x0800ffff); the device's memory is what the string says,
# so --out holds the two zones one after the other (64 KiB)
two='@Flash/0x08000000/2*016Kg/0x08010000/2*016Kg'
lz0=$(now_ms)
start_emu stm32f4 --dfuse-layout 0 "$two" || exit 1
check "--dfuse-layout: dfu-util lists the two-zone layout" \
	sh -c "./dfu-util -l | grep -qF 'alt=0, name=\"$two\"'"
check "--dfuse-layout: dfu-util -s 0x08010000:leave -D (4 KiB) into the second zone" \
	run_du lz -a 0 -s 0x08010000:leave -D "$small"
check "--dfuse-layout: the device left and came back" wait_leave
e=$(stat_of erased)
check "--dfuse-layout: erase list is the second zone's first sector ($e)" \
	[ "$e" = 0x08010000 ]
rm -f /tmp/back.bin
check "--dfuse-layout: dfu-util -s 0x08010000:4096 -U" \
	run_du lzu -a 0 -s 0x08010000:4096 -U /tmp/back.bin
check "--dfuse-layout: upload equals the image" cmp "$small" /tmp/back.bin
stop_emu
check "--dfuse-layout: the flash is the two zones, 64 KiB" \
	[ "$(stat -c %s /tmp/flash.bin)" = 65536 ]
check "--dfuse-layout: the second zone (offset 32768) holds the image" \
	same_at 32768 "$small" /tmp/flash.bin
check "--dfuse-layout: the first zone is erased" ff_at 0 32768 /tmp/flash.bin
check "--dfuse-layout: the second zone after the image is erased" \
	erased_after $((32768 + 4096)) /tmp/flash.bin
echo "# --dfuse-layout checks: $(($(now_ms) - lz0)) ms"

# --- stusbd: ST's USB device library, application at 0x0800C000 ----------------

start_emu stusbd || exit 1
check "stusbd: dfu-util lists the layout with the read-only bootloader" \
	sh -c "./dfu-util -l | grep -q 'name=\"@Internal Flash   /0x08000000/03\*016Ka,01\*016Kg,01\*064Kg,07\*128Kg\"'"
check "stusbd: dfu-util -s 0x0800C000:leave -D (100 KiB)" \
	run_du sdn -a 0 -s 0x0800C000:leave -D "$img"
check "stusbd: the device left and came back" wait_leave
last_words sdn 3
check "stusbd: dfu-util saw dfuMANIFEST" \
	grep -q 'Transitioning to dfuMANIFEST state' /tmp/sdn.out
e=$(stat_of erased)
check "stusbd: erase list is the three sectors touched ($e)" \
	[ "$e" = 0x0800c000,0x08010000,0x08020000 ]
echo "# set_address=$(stat_of set_address) dfuse_writes=$(stat_of dfuse_writes) early_polls=$(stat_of early_polls) stuck=$(stat_of dfuse_stuck)"
check "stusbd: no GETSTATUS before its bwPollTimeout" stat_is early_polls 0
check "stusbd: 100 blocks of 1024 written, none stuck" \
	sh -c "[ $(stat_of dfuse_writes) = 100 ] && [ $(stat_of dfuse_stuck) = 0 ]"
rm -f /tmp/back.bin
check "stusbd: dfu-util -s 0x0800C000:$size -U" \
	run_du sup -a 0 -s 0x0800C000:$size -U /tmp/back.bin
check "stusbd: upload equals the image" cmp "$img" /tmp/back.bin
stop_emu
check "stusbd: flash at 0x0800C000 holds the image" same_at 49152 "$img" /tmp/flash.bin
check "stusbd: the bootloader sectors are untouched" ff_at 0 49152 /tmp/flash.bin
check "stusbd: flash after the image is erased" erased_after $((49152 + size)) /tmp/flash.bin

# The library's mass erase does nothing, so dfu-util, which then erases no
# page, writes over the old flash: the write fails its verify and the
# device stays in dfuDNBUSY for good, which dfu-util polls forever.
start_emu stusbd --image "$img" || exit 1
timeout 4 ./dfu-util -a 0 -s 0x0800C000:mass-erase:force -D "$small" >/tmp/sme.out 2>&1
r=$?
echo "# dfu-util -a 0 -s 0x0800C000:mass-erase:force -D: exit $r"
last_words sme 2
stuck_ok() { stat_is dfuse_ignored 1 && stat_is dfuse_stuck 1 && stat_is state 4 && [ -z "$(stat_of erased)" ]; }
check "stusbd: mass erase ignored, the write stuck in dfuDNBUSY (ignored=$(stat_of dfuse_ignored) stuck=$(stat_of dfuse_stuck) state=$(stat_of state))" stuck_ok
check "stusbd: dfu-util polls it until killed (exit $r)" [ $r = 124 ]
stop_emu

# --- bmp: Black Magic Probe's bootloader, application at 0x08002000 ------------

head -c 5632 "$img" >/tmp/bmp.bin	# 5.5 pages of 1 KiB
start_emu bmp || exit 1
check "bmp: dfu-util lists the layout" \
	sh -c "./dfu-util -l | grep -q '1d50:6017.*name=\"@Internal Flash   /0x08000000/8\*001Ka,56\*001Kg\"'"
check "bmp: dfu-util -s 0x08002000:leave -D (5.5 KiB)" \
	run_du bdn -a 0 -s 0x08002000:leave -D /tmp/bmp.bin
check "bmp: the device left and came back" wait_leave
last_words bdn 3
e=$(stat_of erased)
check "bmp: erase list is the six pages touched ($e)" \
	[ "$e" = 0x08002000,0x08002400,0x08002800,0x08002c00,0x08003000,0x08003400 ]
check "bmp: nothing lost, nothing stuck" \
	sh -c "[ $(stat_of dfuse_lost_bytes) = 0 ] && [ $(stat_of dfuse_stuck) = 0 ]"
rm -f /tmp/back.bin
check "bmp: dfu-util -s 0x08002000:5632 -U (bounded by :LEN)" \
	run_du bup -a 0 -s 0x08002000:5632 -U /tmp/back.bin
check "bmp: upload equals the image" cmp /tmp/bmp.bin /tmp/back.bin
check "bmp: the device sent 5632 bytes (dfuse_read_bytes=$(stat_of dfuse_read_bytes))" \
	stat_is dfuse_read_bytes 5632
rm -f /tmp/end.bin
check "bmp: dfu-util -s 0x0800F800:4096 -U past the end of flash" \
	run_du bend -a 0 -s 0x0800F800:4096 -U /tmp/end.bin
check "bmp: 4096 bytes, never short: 2 KiB of flash, 2 KiB of 0xff" \
	sh -c "[ \$(stat -c %s /tmp/end.bin) = 4096 ] && [ $(stat_of dfuse_pad_bytes) = 2048 ]"
# Set Address into the bootloader: BMP hangs in dfuDNBUSY with poll 0,
# which dfu-util gives up on after 100 polls; its next run recovers
# (BMP takes a DNLOAD in any state).
check "bmp: dfu-util -s 0x08000000:1024 -U (the bootloader) fails" \
	fails_du bst -a 0 -s 0x08000000:1024 -U /tmp/bst.bin
check "bmp: dfu-util says the device is stuck (dfuse_stuck=$(stat_of dfuse_stuck))" \
	sh -c "grep -q 'Device stuck after special command request' /tmp/bst.out && [ $(stat_of dfuse_stuck) = 1 ]"
rm -f /tmp/back.bin
check "bmp: the next dfu-util -s 0x08002000:1024 -U works" \
	run_du brc -a 0 -s 0x08002000:1024 -U /tmp/back.bin
check "bmp: and reads the image" cmp -n 1024 /tmp/bmp.bin /tmp/back.bin
stop_emu
check "bmp: flash at 0x08002000 holds the image" same_at 8192 /tmp/bmp.bin /tmp/flash.bin
check "bmp: flash after it is erased" erased_after $((8192 + 5632)) /tmp/flash.bin

# --- gd32vf103: GigaDevice's ROM, which lies about its pages ---------------

head -c 131072 /dev/zero >/tmp/zero.bin
tail -c 5632 "$img" >/tmp/gd.bin
start_emu gd32vf103 --image /tmp/zero.bin || exit 1
./dfu-util -l 2>/dev/null | grep 28e9 | sed 's/^/#   /'
check "gd32vf103: dfu-util reads the 8-bit serial 3CBJ and the 512*002Kg layout" \
	sh -c "./dfu-util -l | grep -q 'name=\"@Internal Flash  /0x08000000/512\*002Kg\", serial=\"3CBJ\"'"
run_du gdn -a 0 -s 0x08000000:leave -D /tmp/gd.bin
gr=$?
last_words gdn 4
check "gd32vf103: dfu-util fixed the layout (page size 1024, count 128)" \
	grep -q 'Fixed layout based on part number: page size 1024, count 128' /tmp/gdn.out
check "gd32vf103: dfu-util -s 0x08000000:leave -D exits 0 (the leave's errors ignored)" \
	[ $gr = 0 ]
check "gd32vf103: the device left at the zero-length DNLOAD and came back" wait_leave
e=$(stat_of erased)
check "gd32vf103: erase list is the six 1 KiB pages touched ($e)" \
	[ "$e" = 0x08000000,0x08000400,0x08000800,0x08000c00,0x08001000,0x08001400 ]
rm -f /tmp/back.bin
check "gd32vf103: dfu-util -s 0x08000000:5632 -U" \
	run_du gup -a 0 -s 0x08000000:5632 -U /tmp/back.bin
check "gd32vf103: upload equals the image" cmp /tmp/gd.bin /tmp/back.bin
stop_emu
check "gd32vf103: flash holds the image" cmp -n 5632 /tmp/gd.bin /tmp/flash.bin
check "gd32vf103: the page it touched last is erased after the image" \
	ff_at 5632 512 /tmp/flash.bin
check "gd32vf103: the pages after it still hold the zeros" zero_after 6144 /tmp/flash.bin
check "gd32vf103: the flash is 128 KiB" [ "$(stat -c %s /tmp/flash.bin)" = 131072 ]

echo "# all checks: $(($(now_ms) - all0)) ms"
echo "1..$t"
exit $rc
