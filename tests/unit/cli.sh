#!/bin/bash
# tests/unit/cli.sh DFUCTL - test "dfuctl suffix": exit codes (sysexits.h),
# output, and the bytes it writes against the public vectors and against
# dfu-util's own dfu-suffix. Needs dfu-suffix and tests/unit/mkdfuse.
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

echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
