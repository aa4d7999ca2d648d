#!/bin/sh
# The emulated Apple SecureROM (dfu-emu --apple, issue 13) against Debian's
# irecovery (libirecovery 1.0.0, the reference host: what it puts on the
# wire is what the driver must put there) and Debian's dfu-util, in the
# guest, with dfu.ko NOT loaded. Every case is judged by what the device
# got (--stats, --out) and how it came back on the bus (sysfs), never by
# irecovery's exit status alone. Prints TAP lines; exits 1 when one fails.
# Needs in /payload: dfu-emu, irecovery, dfu-util, images/apple-N.bin for N
# in 1 2032 2033 2048 300001 1048576 and images/apple-other.bin (4096
# bytes), all random, and images/apple-2033.dfu (apple-2033.bin with the
# suffix of dfu-suffix -v 05ac -p ffff -d ffff), made by
# tests/apple-irecovery.sh.
set -u
cd /payload || exit 1
t=0
rc=0
emu=
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
ok() { t=$((t + 1)); echo "ok $t - apple: $*"; }
nok() { t=$((t + 1)); echo "not ok $t - apple: $*"; rc=1; }
check() { # check DESCRIPTION CODE: CODE is evaluated here
	if eval "$2"; then ok "$1"; else nok "$1"; return 1; fi
}
stat_of() { sed -n "s/^$1=//p" /tmp/apple-stats 2>/dev/null; }
# stats KEY=VALUE...: all of them hold; the first that does not is told
stats() {
	for kv in "$@"; do
		[ "$(stat_of "${kv%%=*}")" = "${kv#*=}" ] && continue
		echo "#   --stats: ${kv%%=*}=$(stat_of "${kv%%=*}"), want ${kv#*=}"
		return 1
	done
}
# wait_stat KEY VALUE: within 10 s
wait_stat() {
	n=0
	until [ "$(stat_of "$1")" = "$2" ]; do
		n=$((n + 1))
		[ $n -lt 1000 ] || { echo "#   $1 did not become $2"; return 1; }
		sleep 0.01
	done
}

# The 05ac device on the bus: "PID DEVNUM", or nothing.
apple_dev() {
	for d in /sys/bus/usb/devices/*; do
		[ -r "$d/idVendor" ] && [ "$(cat "$d/idVendor")" = 05ac ] || continue
		echo "$(cat "$d/idProduct") $(cat "$d/devnum")"
	done
}
devnum() { apple_dev | cut -d' ' -f2; }
# wait_dev PID OLD: 05ac:PID is on the bus with a device number other than
# OLD (the ROM left and was enumerated anew), within 30 s
wait_dev() {
	n=0
	while :; do
		cur=$(apple_dev)
		case $cur in
		"$1 "*) [ "${cur#* }" != "$2" ] && return 0 ;;
		esac
		n=$((n + 1))
		[ $n -lt 300 ] || { echo "#   no new 05ac:$1 on the bus (there: ${cur:-nothing})"; return 1; }
		sleep 0.1
	done
}

# start_emu [ARGS]: the ROM, configured by the host
start_emu() {
	rm -f /tmp/ready /tmp/apple-stats /tmp/apple-out
	./dfu-emu --apple --out /tmp/apple-out --stats /tmp/apple-stats \
		--ready /tmp/ready "$@" 2>/tmp/emu.err &
	emu=$!
	n=0
	until [ -e /tmp/ready ]; do
		n=$((n + 1))
		[ $n -lt 1000 ] || { echo "# the emulated ROM did not appear"; sed 's/^/#   /' /tmp/emu.err; return 1; }
		sleep 0.01
	done
	# sysfs has it once the host configured it; irecovery finds it there
	n=0
	until [ -n "$(apple_dev)" ]; do
		n=$((n + 1))
		[ $n -lt 100 ] || return 1
		sleep 0.01
	done
}
stop_emu() {
	[ -n "$emu" ] || return 0
	kill "$emu" 2>/dev/null
	wait "$emu"
	emu=
}

# Debian's irecovery 1.0.0 frees libusb's device list in
# irecv_open_with_ecid() and then reads the entry after the device it
# opened from it. glibc's tcache overwrites the second word of a freed
# block, so irecovery dies in libusb right after opening the ROM, before
# it sends a single request (in this VM every time; upstream fixed it
# later). Without the tcache the freed block of a short list goes to a
# fastbin, which writes only its first word, and the stale entry still
# points at the root hub: irecovery runs to the end. A crash that happens
# anyway is tolerated (exit 128+signal) and the case is judged by what the
# device got; exception-trace 0 keeps the kernel from logging the crash as
# a "general protection" trap, which the VM run counts as a kernel problem.
echo 0 >/proc/sys/debug/exception-trace
# irec NAME ARGS...: irecovery, output in /tmp/NAME.out, exit in $irc
irec() {
	name=$1
	shift
	t0=$(now_ms)
	GLIBC_TUNABLES=glibc.malloc.tcache_count=0 timeout 120 ./irecovery "$@" \
		>/tmp/"$name".out 2>&1
	irc=$?
	if [ $irc -gt 128 ] && [ $irc -lt 160 ]; then
		echo "# irecovery $*: killed by signal $((irc - 128)) (1.0.0's use-after-free), $(($(now_ms) - t0)) ms"
	else
		echo "# irecovery $*: exit $irc, $(($(now_ms) - t0)) ms"
	fi
}
# irec_done: irecovery ran to the end or crashed; not "no device", not hung
irec_done() {
	[ $irc -eq 0 ] || { [ $irc -gt 128 ] && [ $irc -lt 160 ]; } || {
		tr '\r' '\n' </tmp/"$name".out | grep -v '%' | tail -5 | sed 's/^/#   /'
		return 1
	}
}
# dnloads N: "DNLOADS LAST" libirecovery sends for an image of N bytes:
# 2048-byte blocks, the 16-byte suffix in the last one when it fits, else
# in one more DNLOAD
dnloads() {
	blocks=$((($1 + 2047) / 2048))
	last=$(($1 - (blocks - 1) * 2048))
	if [ $((last + 16)) -gt 2048 ]; then
		echo "$((blocks + 1)) 16"
	else
		echo "$blocks $((last + 16))"
	fi
}
max_ok() { [ "$(stat_of apple_max_dnload)" -le 2048 ] 2>/dev/null; }
# le32 VALUE: the 4 bytes of VALUE, little-endian
le32() {
	v=$(($1))
	# shellcheck disable=SC2059
	printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $((v & 255)) \
		$((v >> 8 & 255)) $((v >> 16 & 255)) $((v >> 24 & 255)))"
}

all0=$(now_ms)
check "dfu.ko is not loaded (irecovery and dfu-util talk to the ROM alone)" \
	'! grep -q "^dfu " /proc/modules'
./irecovery -V >/tmp/version.out 2>&1
check "Debian's irecovery runs in the guest ($(head -n1 /tmp/version.out); its libraries came with it)" \
	"grep -q '^irecovery 1\\.0\\.0' /tmp/version.out"

# irecovery -q: the identity and nonces the emulator sends, as irecovery
# reads them (iSerialNumber, string 1); it sends no DFU request.
q_has() { # q_has FILE LINE...: every LINE is in FILE
	f=$1
	shift
	for l in "$@"; do
		grep -qx "$l" "$f" || { echo "#   irecovery -q: no '$l'"; sed 's/^/#     /' "$f"; return 1; }
	done
}
start_emu
irec query -q
check "irecovery -q shows the identity the ROM sent: CPID 0x8015, BDID 0x0e, ECID 0x001a2b3c4d5e6f70, SRTG, the NONC and SNON of string 1, DFU mode; no DFU request, no reset" \
	'irec_done && q_has /tmp/query.out "CPID: 0x8015" "BDID: 0x0e" \
		"ECID: 0x001a2b3c4d5e6f70" "SRTG: iBoot-3332.0.0.1.23" \
		"NONC: 5a1e7c0d3b9f24680ace13579bdf02468ace13579bdf02468ace13579bdf0246" \
		"SNON: 0123456789abcdef0123456789abcdef01234567" "MODE: DFU" &&
		stats apple_getstatus=0 apple_dnloads=0 apple_stalls=0 apple_resets_early=0'
stop_emu
start_emu --serial "CPID:8010 CPRV:11 CPFM:03 SCEP:01 BDID:08 ECID:0000000000000ABC IBFL:1A SRTG:[iBoot-2696.0.0.1.33]"
irec query2 -q
check "irecovery -q with --serial of another chip shows that one: CPID 0x8010, BDID 0x08, ECID 0x0000000000000abc, IBFL 0x1a" \
	'irec_done && q_has /tmp/query2.out "CPID: 0x8010" "BDID: 0x08" \
		"ECID: 0x0000000000000abc" "IBFL: 0x1a" "SRTG: iBoot-2696.0.0.1.33"'
stop_emu
start_emu --apple-recovery
irec query3 -q
check "irecovery -q on --apple-recovery (05ac:1281, FE/01/02 with a bulk OUT endpoint): recovery mode, same identity" \
	'irec_done && q_has /tmp/query3.out "MODE: Recovery" "CPID: 0x8015" \
		"ECID: 0x001a2b3c4d5e6f70" && [ "$(apple_dev | cut -d" " -f1)" = 1281 ] &&
		stats apple_mode=recovery'
stop_emu

# irecovery -f: each image boots, and the device got exactly the file
for size in 1 2032 2033 2048 300001 1048576; do
	img=images/apple-$size.bin
	set -- $(dnloads $size)
	want_dn=$1 want_last=$2
	start_emu
	old=$(devnum)
	t0=$(now_ms)
	irec flash-$size -f "$img"
	eval "ims_$size=$(($(now_ms) - t0))"
	wait_stat apple_reattaches 1 && wait_dev 1281 "$old"
	back=$?
	eval "icrc_$size=$(stat_of apple_crc)"
	check "irecovery -f, $size bytes: the ROM boots it and comes back as 05ac:1281 (recovery mode)" \
		'irec_done && [ $back = 0 ] &&
			stats apple_boots=1 apple_rejects=0 apple_mode=recovery'
	check "irecovery -f, $size bytes: the device got the file (--out), suffix and CRC right, $((size + 16)) bytes in $want_dn DNLOADs of at most 2048 (the last $want_last)" \
		'cmp -s /tmp/apple-out "$img" && max_ok &&
			stats apple_suffix_ok=1 apple_crc_ok=1 apple_received=$((size + 16)) \
			apple_dnloads=$want_dn apple_last_dnload=$want_last apple_zlp=1'
	check "irecovery -f, $size bytes: the only reset came in state 8 (apple_resets_state8=1, apple_resets_early=0), no stall" \
		'stats apple_resets_state8=1 apple_resets_early=0 apple_stalls=0'
	[ "$size" != 2033 ] || crc_2033=$(stat_of apple_crc)
	stop_emu
done

# --apple-accept: only the image "signed for this device" boots
start_emu --apple-accept images/apple-other.bin
old=$(devnum)
irec reject -f images/apple-2033.bin
wait_stat apple_reattaches 1 && wait_dev 1227 "$old"
back=$?
check "--apple-accept another file: irecovery -f of 2033 bytes arrives whole (suffix, CRC right) but the ROM rejects it and comes back as a fresh 05ac:1227" \
	'irec_done && [ $back = 0 ] && cmp -s /tmp/apple-out images/apple-2033.bin &&
		stats apple_boots=0 apple_rejects=1 apple_suffix_ok=1 apple_crc_ok=1 \
		apple_mode=dfu apple_state=2 apple_resets_state8=1 apple_resets_early=0'
old=$(devnum)
irec accept -f images/apple-other.bin
wait_stat apple_reattaches 2 && wait_dev 1281 "$old"
back=$?
check "--apple-accept: the same ROM then boots that file itself (-> 05ac:1281)" \
	'irec_done && [ $back = 0 ] && cmp -s /tmp/apple-out images/apple-other.bin &&
		stats apple_boots=1 apple_rejects=1 apple_mode=recovery apple_resets_state8=2'
stop_emu

# dfu-util decides run-time or DFU mode from bInterfaceProtocol alone: the
# ROM's 0 is "run-time" to it. It lists the ROM as a run-time device; asked
# to download, it claims the "run-time" interface, finds dfuIDLE, warns
# that the device seems to be in DFU mode already and downloads the file
# without the suffix the ROM needs: a file without one as it is, and from
# a file with one (dfu-suffix's suffix for 05ac:ffff is the very suffix the
# ROM checks) only the bytes before it. The ROM takes the last 16 bytes it
# got for the suffix, rejects the image at dfu-util's reset in state 8 and
# comes back as 1227: nothing booted. What dfu-util exits with after that
# depends on its reset of a device that left (74 here so far): not judged.
start_emu
./dfu-util -l >/tmp/du-list.out 2>&1
echo "# dfu-util -l: exit $?"
check "dfu-util -l lists the ROM as a run-time device: 'Found Runtime: [05ac:1227]'" \
	"grep -q 'Found Runtime: \\[05ac:1227\\]' /tmp/du-list.out"
old=$(devnum)
./dfu-util -D images/apple-2033.bin >/tmp/du-dn.out 2>&1
echo "# dfu-util -D images/apple-2033.bin: exit $?"
head -c 2017 images/apple-2033.bin >/tmp/apple-2017.bin
wait_stat apple_reattaches 1 && wait_dev 1227 "$old"
back=$?
check "dfu-util -D, 2033 bytes: takes the ROM for run-time ('already in DFU mode?'), sends the file without the suffix; the ROM drops its last 16 bytes, rejects it and comes back as 05ac:1227" \
	'grep -q "Claiming USB DFU (Run-Time) Interface" /tmp/du-dn.out &&
		grep -q "Device already in DFU mode" /tmp/du-dn.out && [ $back = 0 ] &&
		cmp -s /tmp/apple-out /tmp/apple-2017.bin &&
		stats apple_received=2033 apple_dnloads=1 apple_suffix_ok=0 apple_crc_ok=0 \
		apple_boots=0 apple_rejects=1 apple_resets_state8=1 apple_mode=dfu' ||
	tr '\r' '\n' </tmp/du-dn.out | grep -v '%' | tail -8 | sed 's/^/#   /'
printf '\377\377\377\377\254\005\000\001\125\106\104\020' >/tmp/apple-magic
tail -c 16 images/apple-2033.dfu | head -c 12 >/tmp/dfu-magic
tail -c 4 images/apple-2033.dfu >/tmp/dfu-crc
check "dfu-suffix -v 05ac -p ffff -d ffff writes the suffix the ROM checks: its 12 bytes, and the dwCRC irecovery sent for the same 2033 bytes (${crc_2033:-none})" \
	'cmp -s /tmp/apple-magic /tmp/dfu-magic && [ -n "${crc_2033:-}" ] &&
		le32 "$crc_2033" | cmp -s - /tmp/dfu-crc'
old=$(devnum)
./dfu-util -D images/apple-2033.dfu >/tmp/du-dfu.out 2>&1
echo "# dfu-util -D images/apple-2033.dfu: exit $?"
wait_stat apple_reattaches 2 && wait_dev 1227 "$old"
back=$?
check "dfu-util -D of that file with the ROM's suffix: sends the 2033 bytes before the suffix only; the ROM rejects them as well and comes back as 05ac:1227" \
	'[ $back = 0 ] && cmp -s /tmp/apple-out /tmp/apple-2017.bin &&
		stats apple_received=2033 apple_dnloads=1 apple_suffix_ok=0 \
		apple_boots=0 apple_rejects=2 apple_resets_state8=2 apple_mode=dfu' ||
	tr '\r' '\n' </tmp/du-dfu.out | grep -v '%' | tail -8 | sed 's/^/#   /'
stop_emu

# --- the driver on the same bytes ---------------------------------------------
# dfu.ko must put on the wire what irecovery does: the same DNLOADs and the
# same dwCRC for the same file, and the ROM boots it. Then the two side by
# side: irecovery works with dfu.ko loaded when bind_apple is N, or when
# the one interface is unbound.
# The node dfu.ko made for the 05ac device, or nothing
apple_node() {
	for d in /sys/class/dfu/dfu*; do
		[ -e "$d/device/../idVendor" ] || continue
		[ "$(cat "$d/device/../idVendor")" = 05ac ] && echo "/dev/${d##*/}"
	done
}
# wait_node: $node is the ROM's node, within 10 s
wait_node() {
	n=0
	until node=$(apple_node) && [ -n "$node" ] && [ -c "$node" ]; do
		n=$((n + 1))
		[ $n -lt 1000 ] || { echo "#   no dfu node for the ROM"; return 1; }
		sleep 0.01
	done
}
if insmod ./dfu.ko; then ok "insmod dfu.ko"; else nok "insmod dfu.ko"; fi
for size in 1 2032 2033 2048 300001 1048576; do
	img=images/apple-$size.bin
	set -- $(dnloads $size)
	want_dn=$1 want_last=$2
	eval "want_crc=\${icrc_$size:-none} irec_ms=\${ims_$size:-?}"
	start_emu
	wait_node || true
	old=$(devnum)
	t0=$(now_ms)
	cat "$img" >"$node"
	crc=$?
	ms=$(($(now_ms) - t0))
	wait_stat apple_reattaches 1 && wait_dev 1281 "$old"
	back=$?
	echo "# $size bytes: cat to dfu.ko $ms ms, irecovery -f $irec_ms ms (with its device lookup)"
	check "dfu.ko, cat of $size bytes: exit 0, the ROM boots it (05ac:1281) and got the file; the same $want_dn DNLOADs (last $want_last) and dwCRC ($want_crc) as irecovery, one reset in state 8" \
		'[ $crc = 0 ] && [ $back = 0 ] && cmp -s /tmp/apple-out "$img" && max_ok &&
			stats apple_boots=1 apple_suffix_ok=1 apple_crc_ok=1 \
			apple_dnloads=$want_dn apple_last_dnload=$want_last apple_crc=$want_crc \
			apple_zlp=1 apple_resets_state8=1 apple_resets_early=0 apple_stalls=0'
	stop_emu
done

# The file with the ROM's own suffix (dfu-suffix 05ac:ffff), which dfu-util
# cannot flash: the suffix guard takes it off, the driver appends its own,
# and the ROM gets what irecovery sends for the bare image.
start_emu
wait_node || true
old=$(devnum)
cat images/apple-2033.dfu >"$node"
crc=$?
wait_stat apple_reattaches 1 && wait_dev 1281 "$old"
back=$?
check "dfu.ko, cat of the 2033 bytes with dfu-suffix's 05ac:ffff suffix (rejected through dfu-util): the ROM boots the 2033 bytes, dwCRC as irecovery's (${crc_2033:-none})" \
	'[ $crc = 0 ] && [ $back = 0 ] && cmp -s /tmp/apple-out images/apple-2033.bin &&
		stats apple_boots=1 apple_crc=${crc_2033:-none} apple_dnloads=2'
stop_emu

# bind_apple=N: the ROM gets no node, and irecovery flashes it with dfu.ko loaded
echo N >/sys/module/dfu/parameters/bind_apple
start_emu
sleep 1
node=$(apple_node)
old=$(devnum)
irec bound-n -f images/apple-2033.bin
wait_stat apple_reattaches 1 && wait_dev 1281 "$old"
back=$?
check "dfu.ko loaded with bind_apple=N: no node for the ROM, and irecovery -f boots the image" \
	'[ -z "$node" ] && irec_done && [ $back = 0 ] && stats apple_boots=1 apple_crc_ok=1'
stop_emu
echo Y >/sys/module/dfu/parameters/bind_apple

# bind_apple=Y and the one interface unbound: irecovery has it again
start_emu
wait_node || true
intf=$(basename "$(readlink "/sys/class/dfu/${node#/dev/}/device")")
irec bound-y -q
bound_rc=$irc
echo "$intf" >/sys/bus/usb/drivers/dfu/unbind
old=$(devnum)
irec unbound -f images/apple-2033.bin
wait_stat apple_reattaches 1 && wait_dev 1281 "$old"
back=$?
echo "# irecovery -q while dfu.ko holds $intf: exit $bound_rc"
check "dfu.ko bound: the ROM has a node; after echo $intf > /sys/bus/usb/drivers/dfu/unbind irecovery -f boots the image" \
	'[ -n "$intf" ] && irec_done && [ $back = 0 ] && stats apple_boots=1'
stop_emu
if rmmod dfu; then ok "rmmod dfu"; else nok "rmmod dfu"; fi

echo "# apple: all cases $(($(now_ms) - all0)) ms"
echo "1..$t"
exit $rc
