#!/bin/bash
# tests/cross.sh - dfu.ko and the uapi header on other architectures, on
# the host only (nothing is loaded or run):
#
#   1. driver/ cross-built at W=1 against Debian's arm64 6.12 headers
#      (linux-headers-6.12-arm64) with Debian's aarch64-linux-gnu-gcc-12,
#      and against the 32-bit armmp headers of 6.12 and 6.1
#      (linux-headers-6.12-armmp, linux-headers-armmp) with
#      arm-linux-gnueabihf-gcc-12: no warning, no error, and a dfu.ko for
#      that machine and kernel release. On 32-bit ARM a 64-bit division
#      fails modpost (the kernel does not export __aeabi_uldivmod), and a
#      long or size_t taken for 64 bits shows as a warning (-Wformat...).
#   2. The same checks fail on broken copies: a u64 / u32 division, a
#      size_t printed with %lu (under build/cross/broken-*, never in
#      driver/).
#   3. tests/abi/uapi_layout.c: every struct size, field offset and ioctl
#      number of include/uapi/linux/usb/dfu.h is the same for x86_64,
#      i386, arm64 and armhf, so compat_ptr_ioctl() needs no
#      translation; every field and ioctl of the header is in that file;
#      and a header with a field added fails it.
#
# Debian's foreign-architecture header packages cannot be installed on
# amd64 (they depend on gcc-12 of their own architecture), so they are
# fetched with apt-get download (the architectures added to dpkg by
# tests/debian-packages.sh --arch) and unpacked with dpkg -x into
# build/cross/root with their -common tree and the linux-kbuild package of
# the same version for the host's architecture, whose scripts run here. The driver is built in
# a copy (build/cross/src-*), so driver/ keeps the host's objects.
#
# Usage: tests/cross.sh [--no-broken]   (--no-broken: skip step 2)
# Prints "ok N - ..." or "not ok N - ..." per check, then 1..N; exits 0
# when every check passed.
# shellcheck disable=SC2317 # (functions run through with_fresh_lists)
set -uo pipefail
# gcc's messages in ASCII for the greps below (the kernel's Makefile
# unexports LC_ALL, so LANG too)
export LC_ALL=C LANG=C
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

broken=yes
[ "${1:-}" = --no-broken ] && broken=no

out=build/cross
mkdir -p "$out/debs"
native=$(dpkg --print-architecture)

# shellcheck source=tests/tap.sh
. tests/tap.sh

# --- Debian packages ---------------------------------------------------------
# pahole, which modfinal runs for the BTF of modules (Debian's
# configs have CONFIG_DEBUG_INFO_BTF_MODULES); linux-libc-dev-*-cross:
# <linux/types.h> of each cross compiler. i386 is compiled by Debian's
# i686-linux-gnu-gcc, not gcc -m32: gcc-multilib conflicts with every
# Debian cross compiler.
t0=$SECONDS
log=$out/packages.log
tests/debian-packages.sh cross.sh --arch arm64 --arch armhf \
	make pahole kmod binutils gcc \
	gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf gcc-i686-linux-gnu \
	linux-libc-dev-arm64-cross linux-libc-dev-armhf-cross \
	linux-libc-dev-i386-cross >"$log" 2>&1
result "Debian packages: cross compilers, arm64 and armhf lists ($((SECONDS - t0)) s)" $? "$log"

# --- Debian's foreign kernel headers -----------------------------------------
# lane: name, meta package, ARCH, CROSS_COMPILE, readelf's Machine
lanes=(
	"arm64-6.12 linux-headers-6.12-arm64:arm64 arm64 aarch64-linux-gnu- AArch64"
	"armhf-6.12 linux-headers-6.12-armmp:armhf arm arm-linux-gnueabihf- ARM"
	"armhf-6.1 linux-headers-armmp:armhf arm arm-linux-gnueabihf- ARM"
)

depends() {	# depends PKG:ARCH: its Depends from $all, one per line
	sed -n "s/^$1 //p" <<<"$all" | tr ',' '\n' | sed 's/^ *//'
}

# The packages each lane needs: the flavour's headers, its -common tree
# (the exact version it depends on) and linux-kbuild for the host.
declare -A kdir=()
fetch_headers() {
	local debs=() st=0 metas=() flavours=() files=() get=() sandbox=()
	local lane name meta arch f flavour deps common kbuild all want
	for lane in "${lanes[@]}"; do
		read -r _ meta _ <<<"$lane"
		metas+=("$meta")
	done
	all=$(depends_all "${metas[@]}")
	for meta in "${metas[@]}"; do
		f=$(depends "$meta" | sed -n 's/^\(linux-headers-[^ ]*\).*/\1/p' | head -n1)
		[ -n "$f" ] && flavours+=("$f:${meta#*:}")
	done
	[ ${#flavours[@]} -gt 0 ] && all+=$'\n'$(depends_all "${flavours[@]}")
	for lane in "${lanes[@]}"; do
		read -r name meta _ <<<"$lane"
		flavour=$(depends "$meta" | sed -n 's/^\(linux-headers-[^ ]*\).*/\1/p' | head -n1)
		arch=${meta#*:}
		if [ -z "$flavour" ]; then
			echo "$name: apt knows no $meta (is $arch in dpkg --print-foreign-architectures, and apt-get update done?)"
			st=1
			continue
		fi
		deps=$(depends "$flavour:$arch")
		common=$(sed -n 's/^\(linux-headers-[^ ]*-common\) (= \([^)]*\)).*/\1=\2/p' <<<"$deps" | head -n1)
		kbuild=$(sed -n 's/^\(linux-kbuild-[^ ]*\).*/\1/p' <<<"$deps" | head -n1)
		if [ -z "$common" ] || [ -z "$kbuild" ]; then
			echo "$name: $flavour:$arch names no -common or linux-kbuild package: $deps"
			st=1
			continue
		fi
		echo "$name: $flavour:$arch $common $kbuild:$native"
		debs+=("$flavour:$arch" "$common" "$kbuild:$native")
		kdir[$name]=$top/$out/root/usr/src/$flavour
	done
	# the .deb file names, without fetching anything
	# shellcheck disable=SC2207
	files=($(apt-get download --print-uris "${debs[@]}" 2>/dev/null |
		awk '{ print $2 }' | sort -u))
	[ ${#files[@]} -gt 0 ] || { echo "apt-get download --print-uris named no files"; st=1; }
	get=()
	for f in "${files[@]}"; do
		[ -s "$out/debs/$f" ] || get+=("$f")
	done
	if [ ${#get[@]} -gt 0 ]; then
		echo "downloading: ${get[*]}"
		sandbox=()
		# _apt cannot write into build/ when it is root's
		[ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
		(cd "$out/debs" && apt-get download -qq "${sandbox[@]}" "${debs[@]}") || st=1
	fi
	# Unpack into one root. The flavours' scripts links are relative (they
	# land on the unpacked kbuild).
	[ "$st" = 0 ] || return 1
	unpack_debs "$out" "${files[@]}" || return 1
	for name in "${!kdir[@]}"; do
		[ -f "${kdir[$name]}/Makefile" ] || { echo "$name: no ${kdir[$name]}/Makefile"; st=1; }
	done
	return "$st"
}
t0=$SECONDS
log=$out/headers.log
with_fresh_lists fetch_headers >"$log" 2>&1
st=$?
# the kdir table again, in this shell
for lane in "${lanes[@]}"; do
	read -r name _ <<<"$lane"
	k=$(sed -n "s/^$name: linux-headers-\([^ :]*\):.*/\1/p" "$log" | tail -n1)
	[ -n "$k" ] && kdir[$name]=$top/$out/root/usr/src/linux-headers-$k
done
result "Debian's arm64 and armmp kernel headers fetched and unpacked ($((SECONDS - t0)) s)" "$st" "$log"

# --- 1. the driver, cross-built ----------------------------------------------
copy_driver() {	# copy_driver DIR: the sources as kbuild's M= wants them
	rm -rf "$1"
	mkdir -p "$1/driver" "$1/include/uapi/linux/usb"
	cp VERSION "$1/"
	cp include/uapi/linux/usb/dfu.h "$1/include/uapi/linux/usb/"
	cp driver/Kbuild "$1/driver/"
	local f
	for f in driver/*.[ch]; do
		[[ $f == *.mod.c ]] || cp "$f" "$1/driver/"
	done
}

build() {	# build LANE DIR LOG: kbuild W=1 of DIR/driver; its exit status
	local name arch cross
	read -r name _ arch cross _ <<<"$(lane_of "$1")"
	make -C "${kdir[$name]}" ARCH="$arch" CROSS_COMPILE="$cross" \
		M="$top/$2/driver" W=1 -j"$(nproc)" modules >"$3" 2>&1
}
lane_of() { local l; for l in "${lanes[@]}"; do [ "${l%% *}" = "$1" ] && echo "$l"; done; }

for lane in "${lanes[@]}"; do
	read -r name meta arch cross machine <<<"$lane"
	k=${kdir[$name]:-}
	log=$out/build-$name.log
	t0=$SECONDS
	if [ -z "$k" ]; then
		echo "no headers for $name" >"$log"
		result "dfu.ko for $name: no headers" 1 "$log"
		continue
	fi
	krel=${k##*/linux-headers-}
	copy_driver "$out/src-$name"
	build "$name" "$out/src-$name" "$log"
	st=$?
	grep -qiE 'warning|error' "$log" && st=1
	ko=$out/src-$name/driver/dfu.ko
	{
		echo "--- readelf -h, modinfo"
		got=$(readelf -h "$ko" | sed -n 's/^ *Machine: *//p')
		vermagic=$(modinfo -F vermagic "$ko")
		echo "Machine: $got; vermagic: $vermagic"
		[ "$got" = "$machine" ] || { echo "not a $machine ELF"; exit 1; }
		[ "${vermagic%% *}" = "$krel" ] || { echo "vermagic is not $krel"; exit 1; }
	} >>"$log" 2>&1 || st=1
	result "dfu.ko cross-built for $name at W=1 without a warning: $machine ELF, vermagic $krel (${cross}gcc-12, $((SECONDS - t0)) s)" "$st" "$log"
done

# --- 2. ... and fails on broken copies ---------------------------------------
# Each copy appends one function to result.c (with a prototype, so that
# W=1 has nothing else to say). Both build cleanly for arm64.
if [ $broken = yes ] && [ -n "${kdir[armhf-6.12]:-}" ]; then
	src=$out/broken-div
	copy_driver "$src"
	cat >>"$src/driver/result.c" <<-'EOF'

	u64 dfu_cross_broken(u64 bytes, u32 us);
	u64 dfu_cross_broken(u64 bytes, u32 us)
	{
		return bytes / us;	/* needs div_u64() on 32-bit */
	}
	EOF
	log=$out/broken-div.log
	st=1
	if ! build armhf-6.12 "$src" "$log"; then
		grep -q '"__aeabi_uldivmod" \[.*dfu\.ko\] undefined' "$log" && st=0
	fi
	result "a u64 / u32 division fails the armhf build at modpost (__aeabi_uldivmod undefined)" "$st" "$log"

	src=$out/broken-long
	copy_driver "$src"
	cat >>"$src/driver/result.c" <<-'EOF'

	void dfu_cross_broken(size_t len);
	void dfu_cross_broken(size_t len)
	{
		pr_debug("%lu bytes\n", len);	/* %zu: size_t is not long on 32-bit */
	}
	EOF
	log=$out/broken-long.log
	build armhf-6.12 "$src" "$log"
	st=0
	grep -qE "warning: format .{1,3}%lu.{1,3} expects argument of type .{1,3}long unsigned int.{1,3}, but argument [0-9]+ has type .{1,3}size_t" "$log" || st=1
	result "a size_t printed with %lu fails the armhf build (a -Wformat warning)" "$st" "$log"
fi

# --- 3. the uapi layout on every ABI -----------------------------------------
abi_compile() {	# abi_compile ABI INCLUDEDIR LOG
	local cc
	case $1 in
	x86_64) cc=(gcc -m64) ;;
	i386) cc=(i686-linux-gnu-gcc) ;;
	arm64) cc=(aarch64-linux-gnu-gcc) ;;
	armhf) cc=(arm-linux-gnueabihf-gcc) ;;
	esac
	"${cc[@]}" -std=c11 -Wall -Wextra -Werror -pedantic -I"$2" \
		-c -o /dev/null tests/abi/uapi_layout.c >"$3" 2>&1
}
abis="x86_64 i386 arm64 armhf"
for abi in $abis; do
	log=$out/abi-$abi.log
	abi_compile "$abi" include/uapi "$log"
	result "uapi: every struct size, field offset and ioctl number of dfu.h as asserted, on $abi" $? "$log"
done

# Every field of every struct, and every ioctl, of the header has its line
# in uapi_layout.c.
coverage() {	# coverage HEADER
	local s f missing=0
	while read -r s f; do
		grep -qF "FIELD(struct $s, $f," tests/abi/uapi_layout.c ||
			{ echo "struct $s: no FIELD line for $f"; missing=1; }
		grep -qF "SIZE(struct $s," tests/abi/uapi_layout.c ||
			{ echo "struct $s: no SIZE line"; missing=1; }
	done < <(awk '
		/^struct [a-z0-9_]+ \{/ { s = $2; next }
		s != "" && /^\};/ { s = ""; next }
		s != "" && /;/ { f = $NF; sub(/[[;].*/, "", f); print s, f }' "$1")
	while read -r f; do
		grep -qF "IOCTL($f," tests/abi/uapi_layout.c ||
			{ echo "no IOCTL line for $f"; missing=1; }
	done < <(sed -n 's/^#define[[:space:]]\{1,\}\(USB_DFU_IOCTL_[A-Z_]*\)[[:space:]]\{1,\}_IO.*/\1/p' "$1")
	return $missing
}
log=$out/abi-coverage.log
coverage include/uapi/linux/usb/dfu.h >"$log" 2>&1
st=$?
fields=$(grep -c '^FIELD(' tests/abi/uapi_layout.c)
result "uapi: tests/abi/uapi_layout.c asserts every struct field ($fields) and ioctl of dfu.h" "$st" "$log"

if [ $broken = yes ]; then
	# a field added at the end of struct usb_dfu_result: 40 bytes on
	# x86_64, 36 on i386
	inc=$out/broken-uapi
	rm -rf "$inc"
	mkdir -p "$inc/linux/usb"
	sed 's/^\t__u64 duration_us;$/&\n\t__u32 crc;/' include/uapi/linux/usb/dfu.h >"$inc/linux/usb/dfu.h"
	log=$out/broken-uapi.log
	: >"$log"
	st=0
	grep -q '__u32 crc;' "$inc/linux/usb/dfu.h" || { st=1; echo "the sed did not add the field" >>"$log"; }
	for abi in $abis; do
		if abi_compile "$abi" "$inc" "$log.$abi"; then
			st=1
			echo "$abi: compiled" >>"$log"
		else
			echo "$abi: $(grep -m1 'error:' "$log.$abi")" >>"$log"
		fi
	done
	coverage "$inc/linux/usb/dfu.h" >>"$log" 2>&1 && { st=1; echo "coverage found nothing missing" >>"$log"; }
	result "uapi: a field added to struct usb_dfu_result fails every ABI and the coverage check" "$st" "$log"
	[ "$st" -ne 0 ] || sed 's/^/# /' "$log"
fi

finish
