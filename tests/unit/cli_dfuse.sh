#!/bin/bash
# tests/unit/cli_dfuse.sh DFUCTL - test "dfuctl dfuse pack" and the DfuSe
# options that need no device: exit codes (sysexits.h), and the files it
# writes against dfu-util's dfuse-pack and dfu-suffix -c (Debian's
# dfu-util package), and the reference vector of dfu-protocol.md section 11.
# Ends with "N passed, N failed"; exits 1 when any failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dfuctl=$(realpath "${1:?usage: cli_dfuse.sh PATH/TO/dfuctl}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

# shellcheck source=tests/unit/cli-lib.sh
. "$here/cli-lib.sh"
# le32 FILE OFFSET: the little-endian u32 at OFFSET, in decimal
le32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
# suffix_ok FILE VID PID: dfu-suffix -c finds a DfuSe suffix with these IDs
suffix_ok() {
	local f=$1 vid=$2 pid=$3 name=$4
	if dfu-suffix -c "$f" >out 2>err && grep -q "BCD DFU:.*0x011A" out &&
		grep -qi "Vendor ID:.*0x$vid" out && grep -qi "Product ID:.*0x$pid" out; then
		ok "$name"
	else
		bad "$name"
	fi
}

printf '\xde\xad\xbe\xef' >v.bin
head -c 4096 /dev/urandom >a.bin
head -c 6001 /dev/urandom >b.bin

# the reference vector: 313 bytes, prefix 44 66 75 53 65 01 39 01 00 00 01, dwCRC 0xBB1AAD11
t 0 "pack the reference vector's content" dfuse pack st.dfu v.bin@0x08000000 --device 0483:df11 \
	--name ST... --bcd-device 0000 --image-size-with-suffix
if [ "$(stat -c %s st.dfu)" = 313 ] &&
	[ "$(head -c 11 st.dfu | od -An -tx1 | tr -d ' \n')" = 4466755365013901000001 ]; then
	ok "the vector's size and prefix"
else
	bad "the vector's size and prefix: $(stat -c %s st.dfu) bytes, $(head -c 11 st.dfu | od -An -tx1)"
fi
if [ "$(tail -c 4 st.dfu | od -An -tx1 | tr -d ' \n')" = 11ad1abb ]; then
	ok "the vector's dwCRC 0xBB1AAD11"
else
	bad "the vector's dwCRC: $(tail -c 4 st.dfu | od -An -tx1)"
fi
suffix_ok st.dfu 0483 df11 "dfu-suffix -c takes the vector"
# dfuse-pack's defaults are the vector's: alt 0, "ST...", bcdDevice 0, DFUImageSize with suffix
if command -v dfuse-pack >/dev/null; then
	dfuse-pack -b 0x08000000:v.bin -D 0x0483:0xdf11 ref.dfu >/dev/null 2>&1
	same st.dfu ref.dfu "the vector is what dfuse-pack writes, byte for byte"
	t 0 "pack two elements as dfuse-pack would" dfuse pack two-ref-like.dfu a.bin@0x08000000 \
		b.bin@0x08020000 --device 0483:df11 --name ST... --bcd-device 0 --image-size-with-suffix
	dfuse-pack -b 0x08000000:a.bin -b 0x08020000:b.bin -D 0x0483:0xdf11 two-ref.dfu >/dev/null 2>&1
	same two-ref-like.dfu two-ref.dfu "two elements: what dfuse-pack writes, byte for byte"
else
	bad "dfuse-pack (dfu-util) is not installed"
fi

# the default: fwupd's DFUImageSize (without the suffix), unnamed, bcdDevice ffff
t 0 "pack two elements, alt 1, for 1209:df00" dfuse pack two.dfu a.bin@0x08000000 b.bin@134348800 \
	--device 1209:DF00 --alt 1
size=$(stat -c %s two.dfu)
if [ "$size" = $((11 + 274 + 8 + 4096 + 8 + 6001 + 16)) ] && [ "$(le32 two.dfu 6)" = $((size - 16)) ]; then
	ok "DFUImageSize without the suffix, as fwupd wants"
else
	bad "size $size, DFUImageSize $(le32 two.dfu 6)"
fi
if [ "$(od -An -tu1 -j 17 -N1 two.dfu | tr -d ' ')" = 1 ] &&
	[ "$(le32 two.dfu $((11 + 274)))" = 134217728 ] &&
	[ "$(le32 two.dfu $((11 + 274 + 8 + 4096)))" = 134348800 ]; then
	ok "bAlternateSetting 1, the element addresses"
else
	bad "bAlternateSetting or the addresses"
fi
suffix_ok two.dfu 1209 df00 "dfu-suffix -c takes the packed file"
t 0 "dfuctl suffix check takes it" suffix check two.dfu
# it is parsed back as a DfuSe file: flash on a plain device would say so
t 0 "the output is overwritten" dfuse pack two.dfu v.bin@0x08000000 --device 1209:df00
[ "$(stat -c %s two.dfu)" = 313 ] && ok "overwritten with the new content" || bad "not overwritten"

t 64 "no --device" dfuse pack x.dfu a.bin@0x08000000
t 64 "an input without @ADDRESS" dfuse pack x.dfu a.bin --device 0483:df11
t 64 "a bad address" dfuse pack x.dfu a.bin@0x1ffffffff --device 0483:df11
t 64 "a bad --device" dfuse pack x.dfu a.bin@0 --device 0483
t 64 "--alt 256" dfuse pack x.dfu a.bin@0 --device 0483:df11 --alt 256
t 64 "no input" dfuse pack x.dfu --device 0483:df11
t 64 "no subcommand" dfuse
t 66 "a missing input" dfuse pack x.dfu nope.bin@0 --device 0483:df11
t 65 "overlapping elements" dfuse pack x.dfu a.bin@0x08000000 b.bin@0x08000ffc --device 0483:df11
t 65 "an element past 4 GiB" dfuse pack x.dfu a.bin@0xfffff001 --device 0483:df11
: >empty.bin
t 65 "an empty input" dfuse pack x.dfu empty.bin@0 --device 0483:df11
[ ! -e x.dfu ] && ok "nothing written on errors" || bad "x.dfu was written"
t 73 "an output in a missing directory" dfuse pack nodir/x.dfu a.bin@0 --device 0483:df11
# the device commands refuse before looking for a device
t 64 "unprotect without --yes" unprotect
if grep -q "ERASES ALL OF ITS FLASH.*--yes" err; then ok "unprotect says why"; else bad "unprotect's message"; fi
t 64 "erase --address without --length" erase --address 0x08000000
t 64 "erase --mass with --address" erase --mass --address 0x08000000 --length 4
t 64 "flash --address that is no address" flash a.bin --address 0x1ffffffff
"$dfuctl" --help >out 2>err
if grep -q "dfuse pack" out && grep -q "unprotect" out && grep -q -- "--address" out; then
	ok "--help names dfuse pack, erase, unprotect and --address"
else
	bad "--help"
fi

echo "# $msgs failed runs, each checked for a message starting with \"dfuctl COMMAND: \""
echo "cli_dfuse: $pass passed, $fail failed"
[ "$fail" = 0 ]
