#!/bin/bash
# tests/unit/cli.sh DFUCTL - test "dfuctl suffix": exit codes (sysexits.h),
# output, and the bytes it writes against the public vectors and against
# dfu-util's own dfu-suffix; a damaged suffix is never buried under a new
# one; and the options that need no device: numbers (decimal unless 0x),
# --device IDs, upload's refusal to overwrite. Needs dfu-suffix and
# tests/unit/mkdfuse.
# Ends with "N passed, N failed"; exits 1 when any failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vectors=$here/../vectors
dfuctl=$(realpath "${1:?usage: cli.sh PATH/TO/dfuctl}")
mkdfuse=$here/mkdfuse
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

# shellcheck source=tests/unit/cli-lib.sh
. "$here/cli-lib.sh"

# has PATTERN NAME: the last run's stdout matches
has() {
	if grep -qE -- "$1" out; then ok "$2"; else bad "$2: no '$1' in the output"; fi
}

# reseal FILE: write the DFU CRC of all but its last 4 bytes into them, so
# that a test's change to the file is its only defect. The CRC comes from
# gzip's trailer (CRC-32, little endian), complemented: not from dfuctl.
reseal() {
	local n crc dfu
	n=$(($(stat -c %s "$1") - 4))
	crc=$(head -c "$n" "$1" | gzip -c | tail -c 8 | head -c 4 | od -An -tu4 | tr -d ' ')
	dfu=$((~crc & 0xffffffff))
	printf '%b' "$(printf '\\x%02x' $((dfu & 255)) $((dfu >> 8 & 255)) \
		$((dfu >> 16 & 255)) $((dfu >> 24)))" | dd of="$1" bs=1 seek="$n" conv=notrunc status=none
}

# says PATTERN NAME: the last run's stderr matches
says() {
	if grep -qE -- "$1" err; then ok "$2"; else bad "$2: no '$1' in the error"; fi
}

# --- usage --------------------------------------------------------------------
t 64 "suffix without an action" suffix
t 64 "unknown action" suffix frobnicate x
t 0 "--help" suffix --help
has "dfuctl suffix add FILE" "--help prints the usage"
t 64 "check without FILE" suffix check
t 64 "two FILEs" suffix check a b
t 64 "--vid with check" suffix check --vid 1234 "$vectors/firmware.dfu"
t 64 "--pid with remove" suffix remove --pid 1234 "$vectors/firmware.dfu"
t 64 "--vid not hex" suffix add --vid 12g4 x
t 64 "--pid above ffff" suffix add --pid 10000 x
t 64 "--did negative" suffix add --did -1 x
t 64 "--spec without a value" suffix add x --spec
# upload --size is checked before any device is looked for
t 64 "upload --size negative" upload x --size -1
t 64 "upload --size zero" upload x --size 0
t 64 "upload --size beyond 64 bits" upload x --size 18446744073709551616
t 64 "upload --size not a number" upload x --size 12k
# numbers are decimal unless 0x: "08" is eight (octal would refuse it)
# and no sign or blank gets in; 69 (no device on the port "none") means
# the number passed
t 69 "upload --size 08 is decimal" upload x --size 08 --path none
t 69 "upload --size 010 is decimal" upload x --size 010 --path none
t 69 "upload --size 0x10" upload x --size 0x10 --path none
t 69 "upload --size 0X1f" upload x --size 0X1f --path none
t 64 "upload --size +10" upload x --size +10
t 64 "upload --size ' 10'" upload x --size " 10"
t 64 "upload --size '10 '" upload x --size "10 "
t 64 "upload --size 0x" upload x --size 0x
t 64 "upload --size 0x-1" upload x --size 0x-1
t 64 "upload --size 1e3" upload x --size 1e3
t 64 "upload --size 0b101" upload x --size 0b101
t 64 "upload --size 99999999999999999999 (beyond 64 bits)" upload x --size 99999999999999999999
t 69 "upload --size 18446744073709551615 (64 bits)" upload x --size 18446744073709551615 --path none
t 69 "upload --size 0xffffffffffffffff" upload x --size 0xffffffffffffffff --path none
t 64 "upload --size 0x10000000000000000" upload x --size 0x10000000000000000
t 66 "flash --timeout 09 is decimal (then the missing image)" flash "$tmp/missing.bin" --timeout 09
t 64 "flash --timeout 86401" flash "$tmp/missing.bin" --timeout 86401
t 64 "flash --address 010000000 is decimal, beyond 32 bits" flash "$tmp/missing.bin" --address 010000000000
# --device: hex IDs as lsusb shows them (dfu-util's syntax); no 0x, sign or
# blank, never more than 4 digits
t 69 "--device 1209:df00" upload x --device 1209:df00 --path none
t 69 "--device 1209:DF00,1209:df01" upload x --device 1209:DF00,1209:df01 --path none
t 69 "--device 483:df11 (dfu-util's leading zero left out)" upload x --device 483:df11 --path none
for bad in 0x12:34 0X12:34 +483:df11 -483:df11 12090:df00 " 1209:df00" "1209:df00 " \
	"1209 :df00" 1209:+f00 1209:0xdf 1209-df00 1209:df00x 1209:df00,0x1209:df01 \
	1209:df00,1209:df01,1209:df02 1209:df00:1 "" "+1209:df00,-1"; do
	t 64 "--device '$bad' refused" upload x --device "$bad" --path none
done
says "as lsusb shows it" "the --device error says what it wants"
# flash --all and upload --all (every matching device at once): their
# usage errors come before any device is looked for
head -c 100 /dev/zero >all.bin
t 64 "flash --jobs without --all" flash all.bin --jobs 2
says "go with --all" "--jobs without --all says it goes with --all"
t 64 "flash --json without --all" flash all.bin --json
t 64 "flash --all with a NODE" flash all.bin /dev/dfu0 --all
says "give no NODE" "--all with a NODE says why not"
t 64 "flash --all --jobs 0" flash all.bin --all --jobs 0
t 64 "flash --all --jobs 1025" flash all.bin --all --jobs 1025
t 64 "flash --all --jobs 2x" flash all.bin --all --jobs 2x
t 64 "flash --all --wait" flash all.bin --all --wait 5
t 64 "flash --all --dfu-serial" flash all.bin --all --detach --dfu-serial S
t 66 "flash --all reads the image first" flash "$tmp/missing.bin" --all
t 69 "flash --all with no matching device" flash all.bin --all --path none
says "no DFU device matches" "flash --all with no device says so"
t 64 "upload --all without DIR" upload --all
t 64 "upload --all with a NODE" upload --all . /dev/dfu0
t 64 "upload --jobs without --all" upload x --jobs 2
t 73 "upload --all into a missing directory" upload --all "$tmp/nodir"
t 73 "upload --all into a file" upload --all all.bin
says "give an existing directory" "upload --all says what DIR must be"
t 69 "upload --all with no matching device" upload --all . --path none
# upload never overwrites: refused before any device is looked for
printf 'old backup' >backup.bin
t 73 "upload onto an existing file" upload backup.bin
says "never overwritten" "the upload error says why"
printf 'old backup' >expect.bin
same backup.bin expect.bin "the existing backup is untouched"
ln -s "$tmp/nowhere" dangling.bin
t 73 "upload onto a dangling symlink" upload dangling.bin
[ -e "$tmp/nowhere" ] && bad "upload created the symlink's target" || ok "nothing created through the symlink"
t 64 "unknown option" suffix add --frob x
t 64 "bare 'dfuctl' still a usage error" 

# --- check ----------------------------------------------------------------------
t 66 "check a missing file" suffix check "$tmp/missing.dfu"
t 66 "check a directory" suffix check "$tmp"
t 0 "check firmware.dfu" suffix check "$vectors/firmware.dfu"
has "idVendor +0x1234" "firmware.dfu: idVendor 1234"
has "idProduct +0x4321" "firmware.dfu: idProduct 4321"
has "bcdDevice +0xdead" "firmware.dfu: bcdDevice dead"
has "bcdDFU +0x0100" "firmware.dfu: bcdDFU 0100"
has "CRC 0xc6e75934" "firmware.dfu: CRC c6e75934"
has "payload +136 bytes" "firmware.dfu: 136 bytes of payload"
t 0 "check fakedevice01.dfu" suffix check "$vectors/fakedevice01.dfu"
has "DFU suffix, 62 bytes" "fakedevice01.dfu: bLength 62"
has "idVendor +0x273f" "fakedevice01.dfu: idVendor 273f"
has "idProduct +0x1009" "fakedevice01.dfu: idProduct 1009"
t 0 "check example.dfu" suffix check "$vectors/example.dfu"
has "idVendor +0xffff \(any\)" "example.dfu: wildcard vendor"
for v in metadata metadata-multiple; do
	t 0 "check $v.dfu" suffix check "$vectors/$v.dfu"
	has "payload +6 bytes" "$v.dfu: 6 bytes of payload"
done

printf 'plain firmware, no suffix at all' >plain.bin
t 65 "check a file without a suffix" suffix check plain.bin
cp "$vectors/firmware.dfu" badcrc.dfu
printf '\xff' | dd of=badcrc.dfu bs=1 seek=5 conv=notrunc status=none
cmp -s badcrc.dfu "$vectors/firmware.dfu" && bad "the test's corruption changed nothing"
t 65 "check a file whose CRC is wrong" suffix check badcrc.dfu
says "CRC 0x[0-9a-f]+ in the suffix, 0x[0-9a-f]+ computed" "the CRC error shows both CRCs"
cp "$vectors/firmware.dfu" resealed.dfu
reseal resealed.dfu
same resealed.dfu "$vectors/firmware.dfu" "the test's own CRC (from gzip) agrees with the vector"
head -c 20 "$vectors/fakedevice01.dfu" >cut.dfu
tail -c 16 "$vectors/fakedevice01.dfu" >>cut.dfu
reseal cut.dfu
t 65 "check a file shorter than its bLength (62 > 36), CRC correct" suffix check cut.dfu
says "bLength 62, file 36 bytes" "the length error shows bLength and the file size"
cp "$vectors/firmware.dfu" short.dfu
printf '\x0f' | dd of=short.dfu bs=1 seek=147 conv=notrunc status=none
reseal short.dfu
t 65 "check a bLength of 15, CRC correct" suffix check short.dfu

# --- add: the bytes of dfu-suffix ----------------------------------------------------
head -c 136 "$vectors/firmware.dfu" >fw.bin
t 0 "add --vid 1234 --pid 4321 --did dead" suffix add fw.bin --vid 1234 --pid 4321 --did dead
same fw.bin "$vectors/firmware.dfu" "add rebuilds firmware.dfu byte for byte"
head -c 12 "$vectors/example.dfu" >ex.bin
t 0 "add with no IDs" suffix add ex.bin
same ex.bin "$vectors/example.dfu" "add rebuilds example.dfu byte for byte (wildcards, bcdDFU 0100)"
head -c 136 "$vectors/firmware.dfu" >fw2.bin
t 0 "add with dfu-suffix's short options" suffix add -v 0x1234 -p 4321 -d DEAD -S 0100 fw2.bin
same fw2.bin "$vectors/firmware.dfu" "short options and 0x prefixes give the same bytes"
cp "$vectors/firmware.dfu" twice.dfu
t 65 "add to a file that has a suffix" suffix add twice.dfu --vid 1
same twice.dfu "$vectors/firmware.dfu" "a refused add leaves the file alone"
t 66 "add to a missing file" suffix add "$tmp/missing.bin"
: >empty.bin
t 0 "add to an empty file" suffix add empty.bin
t 0 "check the suffix-only file" suffix check empty.bin
has "payload +0 bytes" "the suffix-only file has 0 bytes of payload"

# --- add after a damaged suffix: refused, nothing changed (65); --force ---------------
# near DAMAGED: "UFD" in place, but the CRC or bLength is wrong
for f in badcrc.dfu short.dfu cut.dfu; do
	cp "$f" "near-$f"
	t 65 "add after a damaged suffix ($f)" suffix add "near-$f" --vid 1209 --pid df00
	same "near-$f" "$f" "$f: the refused add leaves the file alone"
done
cp badcrc.dfu near.dfu
t 65 "add after a suffix with a wrong CRC" suffix add near.dfu
says "damaged DFU suffix \(CRC 0x[0-9a-f]{8} in it" "the error shows the CRCs"
says "dfuctl suffix remove --force near.dfu" "the error says how to cut it off"
# near TRAILING: a valid suffix, then a newline or padding
cp "$vectors/firmware.dfu" nl.dfu
echo >>nl.dfu
cp nl.dfu nl.orig
t 65 "add after a valid suffix and a newline" suffix add nl.dfu
says "followed by more bytes" "the error says what follows the suffix"
says "truncate -s 152 nl.dfu" "the error gives the size that keeps the suffix"
same nl.dfu nl.orig "the refused add leaves the file alone"
cp "$vectors/firmware.dfu" pad.dfu
head -c $((512 - 152)) /dev/zero | tr '\0' '\377' >>pad.dfu
t 65 "add after a valid suffix and 0xff padding to 512 bytes" suffix add pad.dfu
# near SIGNATURE: one byte of "UFD" changed, bLength 16, CRC fixed
cp "$vectors/firmware.dfu" sig.dfu
printf 'E' | dd of=sig.dfu bs=1 seek=146 conv=notrunc status=none
reseal sig.dfu
t 65 "check sees no suffix in 'UFE'" suffix check sig.dfu
t 65 "add after a suffix whose signature reads UFE" suffix add sig.dfu
says "signature is damaged" "the error names the signature"
# not near: the last 4 bytes are the CRC of the ones before, but no
# signature (firmware may end in its own CRC so): a suffix goes on
cp "$vectors/firmware.dfu" crc.dfu
printf 'XYZ' | dd of=crc.dfu bs=1 seek=144 conv=notrunc status=none
reseal crc.dfu
t 0 "add after 16 bytes that end in their CRC, no signature" suffix add crc.dfu
# not near: a valid suffix more than 4 KiB before the end is firmware
cp "$vectors/firmware.dfu" far.dfu
head -c 4097 /dev/zero >>far.dfu
t 0 "add after a suffix 4097 bytes before the end" suffix add far.dfu
cp "$vectors/firmware.dfu" near4k.dfu
head -c 4096 /dev/zero >>near4k.dfu
t 65 "add after a suffix 4096 bytes before the end" suffix add near4k.dfu
# --force: the suffix goes on anyway, after the old bytes
cp badcrc.dfu forced.dfu
t 0 "add --force after a damaged suffix" suffix add --force forced.dfu --vid 1209
says "anyway \(--force\)" "add --force warns"
t 0 "the forced file checks" suffix check forced.dfu
has "payload +152 bytes" "the damaged suffix stayed as payload"
t 64 "check --force" suffix check --force badcrc.dfu
# remove --force cuts the damaged suffix off; then add works
head -c 136 "$vectors/firmware.dfu" >fw136.bin
for f in badcrc.dfu sig.dfu nl.orig pad.dfu; do
	cp "$f" "rf-$f"
	head -c 136 "$f" >"rf-$f.want"
	t 65 "remove without --force ($f)" suffix remove "rf-$f"
	t 0 "remove --force ($f)" suffix remove --force "rf-$f"
	same "rf-$f" "rf-$f.want" "$f: remove --force leaves the 136 bytes before the suffix"
done
cp fw136.bin rf-again.bin
t 0 "add after remove --force" suffix add rf-again.bin --vid 1234 --pid 4321 --did dead
same rf-again.bin "$vectors/firmware.dfu" "the suffix is whole again"
cp cut.dfu rf-cut.dfu
t 0 "remove --force with bLength past the file: 16 bytes" suffix remove --force rf-cut.dfu
[ "$(stat -c %s rf-cut.dfu)" -eq 20 ] && ok "cut.dfu: 20 bytes left" ||
	bad "cut.dfu: $(stat -c %s rf-cut.dfu) bytes left, want 20"
printf 'plain firmware, no suffix at all' >plain2.bin
cp plain2.bin plain2.orig
t 65 "remove --force with nothing like a suffix" suffix remove --force plain2.bin
same plain2.bin plain2.orig "nothing removed from a plain file"

# --- remove ---------------------------------------------------------------------
cp "$vectors/firmware.dfu" rm.dfu
t 0 "remove" suffix remove rm.dfu
head -c 136 "$vectors/firmware.dfu" >fw.bin
same rm.dfu fw.bin "remove leaves the payload"
t 65 "remove from a file without a suffix" suffix remove rm.dfu
same rm.dfu fw.bin "a refused remove leaves the file alone"
cp badcrc.dfu badcrc2.dfu
t 65 "remove a damaged suffix" suffix remove badcrc2.dfu
same badcrc2.dfu badcrc.dfu "a damaged suffix is not removed"
cp "$vectors/metadata.dfu" md.dfu
t 0 "remove a 29-byte suffix" suffix remove md.dfu
printf amalia >amalia
same md.dfu amalia "remove takes all bLength bytes, as dfu-suffix does"

# --- DfuSe --------------------------------------------------------------------------
"$mkdfuse" st.dfu
t 0 "check a DfuSe file" suffix check st.dfu
has "bcdDFU +0x011a" "DfuSe: bcdDFU 011a"
has "target 0 +alt 0, \"ST\.\.\.\"" "DfuSe: the target and its name"
has "address 0x08000000, 4 bytes" "DfuSe: the element"
t 0 "remove the DfuSe suffix" suffix remove st.dfu
printf 'X' | dd of=st.dfu bs=1 seek=11 conv=notrunc status=none
t 0 "add a DfuSe suffix" suffix add st.dfu --spec 011a --vid 0483 --pid df11 --did 0
t 65 "check a DfuSe file with a damaged target" suffix check st.dfu
says '"Target"' "the DfuSe error names the defect"

# --- waits: --wait's timeout, and a signal while waiting ---------------------------
# (the host has no DFU device, so these runs wait for one; a DFU device
# here would make them wrong, so they say so)
if [ -n "$(ls /sys/class/dfu 2>/dev/null)" ]; then
	bad "this host has DFU nodes: the wait tests need none"
else
	head -c 100 /dev/urandom >w.bin
	t 69 "flash --wait 1 with no device: no device" flash w.bin --wait 1
	says "waited 1 s" "the timeout says how long it waited"
	for sig in INT TERM; do
		# job control: a background job that does not ignore SIGINT
		st=$(set -m
		     "$dfuctl" flash w.bin --wait 30 >out 2>err &
		     pid=$!
		     sleep 0.5
		     kill -s "$sig" "$pid"
		     wait "$pid"
		     echo $?)
		want=$((128 + $(kill -l "$sig")))
		if [ "$st" = "$want" ]; then
			ok "SIG$sig while waiting ends it by the signal (status $st)"
		else
			bad "SIG$sig while waiting: status $st, want $want"
		fi
	done
fi

# --- against dfu-util's dfu-suffix ------------------------------------------------------
if ! command -v dfu-suffix >/dev/null; then
	bad "dfu-suffix is not installed (apt-get install dfu-util)"
else
	for n in 0 1 1000 65536; do
		head -c "$n" /dev/urandom >"r$n.ref"
		cp "r$n.ref" "r$n.ours"
		dfu-suffix -v 1d50 -p 6089 -d 0102 -a "r$n.ref" >/dev/null 2>&1
		"$dfuctl" suffix add --vid 1d50 --pid 6089 --did 0102 "r$n.ours" >/dev/null
		same "r$n.ours" "r$n.ref" "$n bytes: the same file as dfu-suffix -a"
		dfu-suffix -c "r$n.ours" >out 2>&1
		has "Vendor ID:.*0x1D50" "$n bytes: dfu-suffix -c reads our suffix"
	done
	head -c 300 /dev/urandom >spec.ref
	cp spec.ref spec.ours
	dfu-suffix -S 011a -v 0483 -a spec.ref >/dev/null 2>&1
	"$dfuctl" suffix add -S 011a -v 0483 spec.ours >/dev/null
	same spec.ours spec.ref "--spec 011a, pid and did defaulted: the same file as dfu-suffix"
fi

echo "# $msgs failed runs, each checked for a message starting with \"dfuctl COMMAND: \""
echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
