#!/bin/bash
# tests/intree.sh - build dfu.ko in tree: in Debian's linux-source-6.12
# with Debian's 6.12 configuration, CONFIG_USB_DFU=m set through the
# repository's Kconfig entry.
#
# The tarball is extracted once into build/intree/linux-source-6.12 (1.7 GB)
# and kept with what modules_prepare made; a new tarball replaces it. Each
# run puts the current driver into it with "make intree" (README: Install):
# drivers/usb/misc/dfu/ with Kconfig, Kbuild and sources, hooked into
# drivers/usb/misc/Kconfig and Makefile, and include/uapi/linux/usb/dfu.h;
# then it adds the line of Documentation/userspace-api/ioctl/
# ioctl-number.rst.dfu to the tree's ioctl-number.rst, after checking that
# Linux 6.12 does not use ioctl type 0xDF.
# It configures from the headers' .config with scripts/config --module
# USB_DFU and olddefconfig, runs modules_prepare, builds drivers/usb/misc/
# (which must reach dfu/ through the Makefile hook) and
# drivers/usb/misc/dfu/dfu.ko at W=1.
#
# There is no vmlinux.o (building vmlinux takes hours here), so modpost
# cannot resolve the module's symbols. It runs with KBUILD_MODPOST_WARN=1,
# and the script checks instead that each undefined symbol of dfu.o is
# exported by Debian's 6.12 kernel (Module.symvers of its headers).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

tests/vm/setup.sh
# shellcheck source=/dev/null
. build/vm.env

say() { echo "intree: $*"; }
die() { echo "intree: FAIL: $*" >&2; exit 1; }
t_start=$SECONDS
lap=$SECONDS
timed() {	# timed WHAT: print the seconds since the last call
	say "$1: $((SECONDS - lap)) s"
	lap=$SECONDS
}

tarball=/usr/src/linux-source-6.12.tar.xz
dir=build/intree
tree=$dir/linux-source-6.12
misc=$tree/drivers/usb/misc
jobs=$(nproc)

# --- the tree, extracted once ---------------------------------------------------
want=$(stat -c '%s %Y' "$tarball")
tests/kernel/extract.sh "$dir"
timed "tree ready"

# Copy $1 to $2 only when it differs, so that make rebuilds only what changed.
put() {
	cmp -s "$1" "$2" || cp "$1" "$2"
}

# --- the driver, placed as a patch for drivers/usb/misc/ would place it ---------
make -s intree KSRC="$tree"

# --- the ioctl type, registered as the patch would register it ------------------
# Documentation/userspace-api/ioctl/ioctl-number.rst.dfu holds the table line
# for 0xDF. The tree's ioctl-number.rst is made each run from the tarball's,
# which must not know 0xDF (no table line, no _IO* with type 0xDF in
# include/), with the line inserted before the first larger type; docutils
# must then parse it without a warning (a line that does not fit the table
# columns does not).
rst=Documentation/userspace-api/ioctl/ioctl-number.rst
orig=$dir/ioctl-number.rst.orig
if ! [ -s "$orig" ] || [ "$(cat "$orig.stamp" 2>/dev/null)" != "$want" ]; then
	tar -xOJf "$tarball" "linux-source-6.12/$rst" >"$orig"
	echo "$want" >"$orig.stamp"
fi
dfu_line=$(grep '^0x[0-9A-F][0-9A-F]  ' "$rst.dfu")
if [ "$(grep -c '^0x' "$rst.dfu")" != 1 ] || [ "${dfu_line:0:6}" != '0xDF  ' ]; then
	die "$rst.dfu: want one table line for 0xDF, have: $dfu_line"
fi
! grep -qi '^0xDF ' "$orig" || die "Linux 6.12's $rst already lists 0xDF"
users=$(grep -rEil '_IO(R|W|WR)?[[:space:]]*\([[:space:]]*0xDF[[:space:]]*[,)]' \
	"$tree/include" | grep -v "include/uapi/linux/usb/dfu.h$" || true)
[ -z "$users" ] || die "ioctl type 0xDF is used in Linux 6.12 by: $users"
awk -v line="$dfu_line" '
	!done && /^0x[0-9A-Fa-f][0-9A-Fa-f]  / && toupper($1) > "0XDF" { print line; done = 1 }
	{ print }
	END { if (!done) exit 1 }' "$orig" >"$dir/ioctl-number.rst" ||
	die "found no place for 0xDF in $rst"
grep -A1 '^0xDF ' "$dir/ioctl-number.rst" | tail -n1 | grep -q '^0xE5 ' ||
	die "$rst: 0xDF not before 0xE5"
[ "$(diff "$orig" "$dir/ioctl-number.rst" | grep -c '^[<>]')" = 1 ] ||
	die "$rst: the patch changes more than one line"
if ! out=$(python3 tests/rstcheck.py "$KERNEL_DOC" "$dir/ioctl-number.rst"); then
	die "$rst with the 0xDF line: $(echo "$out" | head -n 2)"
fi
put "$dir/ioctl-number.rst" "$tree/$rst"
grep -qxF "$dfu_line" "$tree/$rst" || die "$tree/$rst lacks the 0xDF line"
say "$rst: 0xDF was free in Linux 6.12, its line is in"

# --- configuration: Debian's, plus CONFIG_USB_DFU=m through our Kconfig --------
config=$KDIR_612/.config
[ -f "$config" ] || die "no $config (linux-headers-$KREL)"
cp "$config" "$dir/config.new"
"$tree/scripts/config" --file "$dir/config.new" --module USB_DFU
# Unchanged input: keep .config, so that nothing is rebuilt. kbuild itself
# runs syncconfig when a Kconfig file changed (and drops USB_DFU if a
# broken Kconfig entry was there last time: then configure again).
if ! cmp -s "$dir/config.new" "$dir/config.in" ||
   ! grep -qx 'CONFIG_USB_DFU=m' "$tree/.config" ||
   ! [ -f "$tree/include/config/auto.conf" ]; then
	cp "$dir/config.new" "$tree/.config"
	make -s -C "$tree" olddefconfig >"$dir/config.log" 2>&1 ||
		{ cat "$dir/config.log"; die "olddefconfig failed"; }
	mv "$dir/config.new" "$dir/config.in"
	timed "configured"
fi

# Module BTF is made against vmlinux: Debian's headers ship its BTF as
# vmlinux for that purpose, and kbuild wants the file before it links .ko.
put "$KDIR_612/vmlinux" "$tree/vmlinux"

make -s -C "$tree" -j"$jobs" modules_prepare >"$dir/prepare.log" 2>&1 ||
	{ tail -n 30 "$dir/prepare.log"; die "modules_prepare failed"; }
timed "modules_prepare"
# Kconfig drops a symbol that no Kconfig file defines
grep -qx 'CONFIG_USB_DFU=m' "$tree/.config" ||
	die "CONFIG_USB_DFU=m did not survive olddefconfig: drivers/usb/misc/dfu/Kconfig was not read"
say "$(grep -c '^CONFIG_' "$tree/.config") options from $config, CONFIG_USB_DFU=m"

# --- build --------------------------------------------------------------------------
rm -f "$misc/dfu/dfu.ko" "$misc/modules.order"
log=$dir/build.log
if ! make -C "$tree" -j"$jobs" W=1 drivers/usb/misc/ >"$log" 2>&1; then
	tail -n 30 "$log"
	die "make drivers/usb/misc/ failed"
fi
grep -qx 'drivers/usb/misc/dfu/dfu.o' "$misc/modules.order" ||
	die "drivers/usb/misc/Makefile did not lead kbuild to dfu/ (modules.order)"
timed "drivers/usb/misc/ (with dfu/ through the Makefile hook)"

if ! make -C "$tree" -j"$jobs" W=1 KBUILD_MODPOST_WARN=1 \
	drivers/usb/misc/dfu/dfu.ko >>"$log" 2>&1; then
	tail -n 30 "$log"
	die "make drivers/usb/misc/dfu/dfu.ko failed"
fi
ko=$misc/dfu/dfu.ko
[ -f "$ko" ] || die "no $ko"
timed "dfu.ko"

# No warning about our files, other than modpost's unresolved symbols
warnings=$(grep -iE 'warning|error' "$log" | grep 'drivers/usb/misc/dfu/' |
	grep -v '^WARNING: modpost: "[^"]*" \[drivers/usb/misc/dfu/dfu.ko\] undefined!$' || true)
[ -z "$warnings" ] || die "warnings at W=1:
$warnings"

# Every symbol dfu.ko needs is exported by Debian's 6.12 kernel.
symvers=$KDIR_612/Module.symvers
# (__this_module is defined in dfu.mod.o)
undefined=$(nm -u "$misc/dfu/dfu.o" | awk '$2 != "__this_module" { print $2 }' | sort -u)
[ -n "$undefined" ] || die "nm -u found no undefined symbols in dfu.o"
missing=$(awk '{ print $2 }' "$symvers" | sort -u | comm -13 - <(echo "$undefined"))
[ -z "$missing" ] || die "not exported by $KREL: $missing"
say "$(echo "$undefined" | wc -l) undefined symbols of dfu.o, all exported by $KREL"

# The module as kbuild made it in tree
[ "$(modinfo -F intree "$ko")" = Y ] || die "$ko: no intree=Y"
[ -z "$(modinfo -F version "$ko")" ] || die "$ko: an in-tree build has no MODULE_VERSION"
aliases=$(modinfo -F alias "$ko" | sort)
expected=$(printf 'usb:v*p*d*dc*dsc*dp*icFEisc01ip0%sin*\n' 0 1 2)
[ "$aliases" = "$expected" ] || die "$ko: aliases are
$aliases"
say "$ko: intree=Y, $(modinfo -F vermagic "$ko")"
say "passed in $((SECONDS - t_start)) s"
