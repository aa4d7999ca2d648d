#!/bin/bash
# tests/arm64.sh - dfu.ko loaded and run on arm64: Debian's arm64 6.12
# kernel in qemu-system-aarch64 (-M virt, TCG, Cortex-A57, 2 CPUs), with a
# guest of busybox alone (tests/vm/run.sh with DFU_VM_ARCH=arm64):
#
#   1. Debian packages: qemu-system-arm (qemu-system-aarch64),
#      gcc-aarch64-linux-gnu and libc6-dev-arm64-cross (static programs).
#   2. Debian's arm64 kernel image (linux-image-6.12-arm64's package), its
#      headers (linux-headers-6.12-arm64's, the same version: the lane
#      stops when the two differ), their -common tree, linux-kbuild for the
#      host, and busybox-static:arm64, fetched with apt-get download
#      (the .debs tests/cross.sh fetched are reused from build/cross/debs)
#      and unpacked with dpkg -x into build/arm64/root.
#   3. Cross-built with aarch64-linux-gnu-gcc, in copies under build/arm64
#      (the host's objects and programs stay as they are): raw_gadget.ko
#      (build/src's raw_gadget.c, from tests/vm/setup.sh) and dfu.ko at
#      W=1 (no warning) for that kernel, the emulator and the kselftests
#      dfu_flash_test, dfu_fault_test and dfu_suffix_test, static; readelf
#      must say AArch64 (and vermagic the arm64 release) for each.
#   4. One boot (build/.vm.lock): the guest says uname -m is aarch64 and
#      uname -r the image's release, loads usb-common, usbcore, udc-core,
#      dummy_hcd (the image's .ko.xz, decompressed), raw_gadget and the
#      arm64 dfu.ko (its sha256 must be the one built here), and runs each
#      program through tests/guest/check.sh (insmod, the program, rmmod).
#      Each kselftest result is one check here; the kernel log is judged
#      by run.sh (BUG, WARNING, Oops... fail the run).
#
# Usage: tests/arm64.sh [--full] [--ko FILE] [--emu FILE]
# --full (make check-arm64): the three programs whole (60 tests, about 230 s
#   in the guest under TCG on 2 host cores), except for three tests that
#   cannot pass here: dfu_flash_test's dfuctl_info_and_status (dfuctl is
#   not built for arm64: it links libudev), dfu_fault_test's
#   error_at_close and dfu_suffix_test's mismatched_suffix_is_refused (each
#   wants "cat IMAGE > NODE" to fail when the error comes at close();
#   busybox cat ignores close()'s error, and busybox sh runs its cat applet
#   whatever PATH says). tests/busybox.sh checks that busybox behaviour;
#   make check's x86 lanes run the three tests.
# Without --full (make check): the same but for the two slowest parts,
#   dfu_flash_test's variant t64_full (64-byte blocks, 80 s) and
#   real_image_cat_dd (U-Boot's image by cat, dd bs=1M and dd bs=1, 36 s):
#     dfu_flash_test -T dfuctl_info_and_status -T real_image_cat_dd -V t64_full
#     dfu_fault_test -T error_at_close
#     dfu_suffix_test -T mismatched_suffix_is_refused
#   (55 tests, about 125 s in the guest).
# --ko FILE / --emu FILE: boot with FILE as dfu.ko / dfu-emu instead (to
#   see the lane fail: a dfu.ko for amd64, a broken emulator).
# Prints "ok N - ..." or "not ok N - ..." per check, then 1..N; exits 0
# when every check passed. Logs: build/arm64/*.log, the guest's console in
# build/arm64/vm.log.
# shellcheck disable=SC2317 # (functions run through with_fresh_lists)
set -uo pipefail
export LC_ALL=C LANG=C
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

full=no ko_override="" emu_override=""
while [ $# -gt 0 ]; do
	case $1 in
	--full) full=yes; shift ;;
	--ko) ko_override=$(realpath "${2:?}"); shift 2 ;;
	--emu) emu_override=$(realpath "${2:?}"); shift 2 ;;
	*) echo "usage: tests/arm64.sh [--full] [--ko FILE] [--emu FILE]" >&2; exit 2 ;;
	esac
done

out=build/arm64
p=build/payload-arm64
cross=aarch64-linux-gnu-
mkdir -p "$out/debs"
native=$(dpkg --print-architecture)

if [ $full = yes ]; then
	runs=(
		"dfu_flash_test -T dfuctl_info_and_status"
		"dfu_fault_test -T error_at_close"
		"dfu_suffix_test -T mismatched_suffix_is_refused"
	)
	vm_timeout=3600
else
	runs=(
		"dfu_flash_test -T dfuctl_info_and_status -T real_image_cat_dd -V t64_full"
		"dfu_fault_test -T error_at_close"
		"dfu_suffix_test -T mismatched_suffix_is_refused"
	)
	vm_timeout=900
fi
# DFU_ARM64_RUNS: these runs instead, one "PROGRAM [ARGS]" a line (to time
# one test)
if [ -n "${DFU_ARM64_RUNS:-}" ]; then
	mapfile -t runs <<<"$DFU_ARM64_RUNS"
fi
progs=(dfu_flash_test dfu_fault_test dfu_suffix_test)

# shellcheck source=tests/tap.sh
. tests/tap.sh

# --- 1. Debian packages ------------------------------------------------------
t0=$SECONDS
log=$out/packages.log
{
	tests/vm/setup.sh &&
	tests/debian-packages.sh arm64.sh --arch arm64 make xz-utils cpio kmod pahole \
		binutils qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
		linux-libc-dev-arm64-cross
} >"$log" 2>&1
result "Debian packages: qemu-system-arm, aarch64 cross compiler and static libc, arm64 lists ($((SECONDS - t0)) s)" $? "$log"
[ "$failed" -eq 0 ] || finish
# shellcheck source=/dev/null
. build/vm.env

# --- 2. Debian's arm64 kernel, headers and busybox ---------------------------
# "NAME VERSION" of the first dependency of $2 (a PKG:ARCH in $all) called
# $3*, with its (= VERSION)
dep_of() {
	sed -n "s/^$2 //p" <<<"$1" | tr ',' '\n' | sed 's/^ *//' |
		sed -n "s/^\\($3[^ ]*\\) (= \\([^)]*\\)).*/\\1 \\2/p" | head -n1
}
fetch() {
	local all img hdr common kbuild files=() get=() want f sandbox=() st=0
	all=$(depends_all linux-image-6.12-arm64:arm64 linux-headers-6.12-arm64:arm64)
	img=$(dep_of "$all" linux-image-6.12-arm64:arm64 linux-image-)
	hdr=$(dep_of "$all" linux-headers-6.12-arm64:arm64 linux-headers-)
	echo "image: $img; headers: $hdr"
	if [ -z "$img" ] || [ -z "$hdr" ]; then
		echo "apt knows no linux-image-6.12-arm64:arm64 or linux-headers-6.12-arm64:arm64"
		return 1
	fi
	# the same release and version, or the modules do not load
	if [ "${img#linux-image-}" != "${hdr#linux-headers-}" ]; then
		echo "the image ($img) and the headers ($hdr) differ"
		return 1
	fi
	all=$(depends_all "${hdr%% *}:arm64")
	common=$(dep_of "$all" "${hdr%% *}:arm64" linux-headers-)
	kbuild=$(sed -n "s/^${hdr%% *}:arm64 //p" <<<"$all" | tr ',' '\n' |
		sed -n 's/^ *\(linux-kbuild-[^ ]*\).*/\1/p' | head -n1)
	if [ -z "$common" ] || [ -z "$kbuild" ]; then
		echo "${hdr%% *} names no -common or linux-kbuild"
		return 1
	fi
	debs=("${img%% *}:arm64=${img#* }" "${hdr%% *}:arm64=${hdr#* }" "${common%% *}=${common#* }"
		"$kbuild:$native" busybox-static:arm64)
	echo "packages: ${debs[*]}"
	# shellcheck disable=SC2207
	files=($(apt-get download --print-uris "${debs[@]}" 2>/dev/null | awk '{ print $2 }' | sort -u))
	[ ${#files[@]} = ${#debs[@]} ] || { echo "apt-get download --print-uris named ${#files[@]} files for ${#debs[@]} packages"; return 1; }
	for f in "${files[@]}"; do
		[ -s "$out/debs/$f" ] && continue
		# tests/cross.sh's copy of the headers
		if [ -s "build/cross/debs/$f" ] && cp -l "build/cross/debs/$f" "$out/debs/$f" 2>/dev/null; then
			echo "reused build/cross/debs/$f"
			continue
		fi
		get+=("$f")
	done
	if [ ${#get[@]} -gt 0 ]; then
		echo "downloading: ${get[*]}"
		[ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
		(cd "$out/debs" && apt-get download -qq "${sandbox[@]}" "${debs[@]}") || return 1
	fi
	unpack_debs "$out" "${files[@]}" || return 1
	echo "KREL=${img%% *}" | sed 's/=linux-image-/=/' >"$out/krel"
}
t0=$SECONDS
log=$out/fetch.log
with_fresh_lists fetch >"$log" 2>&1
st=$?
KREL=$(sed -n 's/^KREL=//p' "$out/krel" 2>/dev/null)
root=$top/$out/root
kdir=$root/usr/src/linux-headers-$KREL
vmlinuz=$root/boot/vmlinuz-$KREL
kmoddir=$root/lib/modules/$KREL
bb=$root/bin/busybox
{
	[ -n "$KREL" ] && [ -f "$kdir/Makefile" ] && [ -f "$vmlinuz" ] && [ -x "$bb" ] &&
		[ -f "$kmoddir/kernel/drivers/usb/gadget/udc/dummy_hcd.ko.xz" ] || st=1
	ls -l "$vmlinuz" "$bb" "$kmoddir/kernel/drivers/usb/gadget/udc/dummy_hcd.ko.xz"
} >>"$log" 2>&1
result "Debian's arm64 kernel ${KREL:-?} (image, modules, headers of one version) and busybox-static:arm64 fetched and unpacked ($((SECONDS - t0)) s)" "$st" "$log"
[ "$failed" -eq 0 ] || finish

# The host's busybox lists the applets for the arm64 one (run.sh): the
# same Debian version.
log=$out/busybox.log
{
	h=$(dpkg-query -W -f='${Version}' busybox-static)
	a=$(sed -n 's/.*busybox-static_\([^_]*\)_arm64\.deb$/\1/p' "$root/.debs" | sed 's/%3a/:/')
	echo "host busybox-static $h, arm64 $a"
	file "$bb"
	[ "${h%+b*}" = "${a%+b*}" ] && file "$bb" | grep -q 'ARM aarch64.*statically linked'
} >"$log" 2>&1
result "busybox-static:arm64 is a static aarch64 busybox of the host's busybox-static version" $? "$log"

# --- 3. cross-built ---------------------------------------------------------------
kbuild() {	# kbuild DIR LOG
	make -C "$kdir" ARCH=arm64 CROSS_COMPILE=$cross M="$top/$1" W="${W:-}" \
		-j"$(nproc)" modules >"$2" 2>&1
}
is_a64() {	# is_a64 FILE: ELF64 AArch64
	local h
	h=$(readelf -h "$1" 2>&1) || { echo "$1: $h"; return 1; }
	grep -q 'Machine: *AArch64$' <<<"$h" || { echo "$1: $(grep Machine: <<<"$h")"; return 1; }
	echo "$1: AArch64"
}
vermagic_ok() {	# vermagic_ok KO
	local vm
	vm=$(modinfo -F vermagic "$1")
	echo "$1: vermagic $vm"
	[ "${vm%% *}" = "$KREL" ]
}

t0=$SECONDS
log=$out/raw_gadget.log
rg=$out/raw_gadget
rgsrc=build/src/drivers/usb/gadget/legacy/raw_gadget.c
(
	if ! [ "$rg/raw_gadget.ko" -nt "$rgsrc" ] || ! [ "$rg/raw_gadget.ko" -nt "$kdir/Makefile" ]; then
		rm -rf "$rg"
		mkdir -p "$rg"
		cp "$rgsrc" "$rg/"
		echo 'obj-m := raw_gadget.o' >"$rg/Kbuild"
		kbuild "$rg" "$rg/build.log" || { cat "$rg/build.log"; exit 1; }
		cat "$rg/build.log"
	fi
	is_a64 "$rg/raw_gadget.ko" && vermagic_ok "$rg/raw_gadget.ko"
) >"$log" 2>&1
result "raw_gadget.ko cross-built for $KREL: AArch64, vermagic $KREL ($((SECONDS - t0)) s)" $? "$log"

# dfu.ko at W=1, in a copy beside ../include and ../VERSION (driver/'s Kbuild
# wants them); files are replaced only when they changed.
t0=$SECONDS
log=$out/dfu.log
src=$out/src
(
	mkdir -p "$src/driver" "$src/include/uapi/linux/usb"
	cmp -s VERSION "$src/VERSION" || cp -p VERSION "$src/VERSION"
	cmp -s include/uapi/linux/usb/dfu.h "$src/include/uapi/linux/usb/dfu.h" ||
		cp -p include/uapi/linux/usb/dfu.h "$src/include/uapi/linux/usb/dfu.h"
	for f in driver/*.[ch] driver/Kbuild; do
		[[ $f == *.mod.c ]] && continue
		cmp -s "$f" "$src/$f" || cp -p "$f" "$src/$f"
	done
	W=1 kbuild "$src/driver" "$out/dfu-build.log"
	st=$?
	cat "$out/dfu-build.log"
	grep -qiE 'warning|error' "$out/dfu-build.log" && st=1
	is_a64 "$src/driver/dfu.ko" && vermagic_ok "$src/driver/dfu.ko" || st=1
	exit $st
) >"$log" 2>&1
result "dfu.ko cross-built for $KREL at W=1 without a warning: AArch64, vermagic $KREL ($((SECONDS - t0)) s)" $? "$log"

# the emulator and the kselftests, static, from copies (cp -p keeps the
# times, so make rebuilds only what changed)
t0=$SECONDS
log=$out/programs.log
(
	st=0
	mkdir -p "$out/emulator" "$out/selftests"
	cp -p tests/emulator/*.[ch] tests/emulator/Makefile "$out/emulator/"
	cp -p tests/selftests/*.[ch] tests/selftests/Makefile "$out/selftests/"
	make -s -C "$out/emulator" CC=${cross}gcc -j"$(nproc)" dfu-emu || st=1
	make -s -C "$out/selftests" TOP="$top" KSFT_DIR="$KSFT_DIR" CC=${cross}gcc \
		-j"$(nproc)" "${progs[@]}" || st=1
	for f in "$out/emulator/dfu-emu" "${progs[@]/#/$out/selftests/}"; do
		is_a64 "$f" || st=1
		readelf -l "$f" | grep -q 'Requesting program interpreter' && { echo "$f: not static"; st=1; }
	done
	exit $st
) >"$log" 2>&1
result "dfu-emu and ${progs[*]} cross-built static for AArch64 with ${cross}gcc ($((SECONDS - t0)) s)" $? "$log"
[ "$failed" -eq 0 ] || finish

# what run.sh boots (DFU_VM_ARCH=arm64); rewritten only on change
env_new="# generated by tests/arm64.sh
ARM64_KREL=$KREL
ARM64_VMLINUZ=$vmlinuz
ARM64_KMODDIR=$kmoddir
ARM64_RAW_GADGET_KO=$top/$rg/raw_gadget.ko
ARM64_BUSYBOX=$bb"
[ "$(cat "$out/vm.env" 2>/dev/null)" = "$env_new" ] || printf '%s\n' "$env_new" >"$out/vm.env"

# --- 4. the guest ------------------------------------------------------------------
ko=$src/driver/dfu.ko
[ -z "$ko_override" ] || { ko=$ko_override; echo "# dfu.ko: $ko"; }
emu=$out/emulator/dfu-emu
[ -z "$emu_override" ] || { emu=$emu_override; echo "# dfu-emu: $emu"; }
rm -rf "$p"
mkdir -p "$p/images" "$p/guest"
cp "$ko" "$p/dfu.ko"
cp "$emu" "$p/dfu-emu"
for prog in "${progs[@]}"; do cp "$out/selftests/$prog" "$p/"; done
cp tests/guest/check.sh "$p/guest/"
cp "$UBOOT_BIN" "$p/images/u-boot.bin"
ko_sha=$(sha256sum <"$p/dfu.ko" | cut -d' ' -f1)
ko_src=$(modinfo -F srcversion "$p/dfu.ko" 2>/dev/null)

# The guest's run file: busybox sh. Each line "arm64: ok - ..." or
# "arm64: not ok - ..." is one check here, "arm64: PROG: ok N NAME" (the
# harness's) too.
cat >"$p/run" <<EOF
#!/bin/sh
cd /payload || exit 1
rc=0
say() { echo "arm64: \$*"; case \$* in "not ok"*) rc=1 ;; esac; }
m=\$(uname -m) r=\$(uname -r)
[ "\$m" = aarch64 ] && say "ok - uname -m: \$m" || say "not ok - uname -m: \$m, not aarch64"
[ "\$r" = "$KREL" ] && say "ok - uname -r: \$r" || say "not ok - uname -r: \$r, not $KREL"
for mod in usb_common usbcore udc_core dummy_hcd raw_gadget; do
	grep -q "^\$mod " /proc/modules || say "not ok - \$mod is not loaded"
done
# the module loaded is this dfu.ko (srcversion), then unloaded for check.sh
if insmod ./dfu.ko 2>/tmp/insmod; then
	src=\$(cat /sys/module/dfu/srcversion)
	[ "\$src" = "$ko_src" ] && say "ok - dfu.ko loaded: srcversion \$src, as built" ||
		say "not ok - dfu.ko loaded: srcversion \$src, built $ko_src"
	rmmod dfu || say "not ok - rmmod dfu"
else
	say "not ok - insmod dfu.ko: \$(cat /tmp/insmod)"
fi
while read -r prog args; do
	t0=\$(date +%s)
	sh ./guest/check.sh "./\$prog \$args" </dev/null >/tmp/out 2>&1
	st=\$?
	sed 's/^/# /' /tmp/out
	sed -n 's/^\\(\\(not \\)\\{0,1\\}ok [0-9][0-9]* .*\\)/\\1/p' /tmp/out | sed "s/^/arm64: \$prog: /"
	t=\$((\$(date +%s) - t0))
	pass=\$(sed -n 's/^# Totals: pass:\\([0-9]*\\) .*/\\1/p' /tmp/out)
	totals=\$(sed -n 's/^# Totals: //p' /tmp/out)
	sha=\$(sed -n 's/^# dfu.ko sha256 //p' /tmp/out)
	[ "\$sha" = "$ko_sha" ] || say "not ok - \$prog: the guest's dfu.ko is \$sha"
	if [ \$st -eq 0 ] && [ "\${pass:-0}" -gt 0 ]; then
		say "ok - \$prog \$args: \$totals (\$t s)"
	else
		say "not ok - \$prog \$args: exit \$st, \${totals:-no totals} (\$t s)"
	fi
done <<'RUNS'
$(printf '%s\n' "${runs[@]}")
RUNS
exit \$rc
EOF
chmod +x "$p/run"

t0=$SECONDS
vmlog=$out/vm.log
rm -f "$out/vm.start"
asked=$(date +%s)
# shellcheck disable=SC2016
DFU_VM_ARCH=arm64 flock build/.vm.lock bash -c 'date +%s >"$1"; shift; exec "$@"' _ "$out/vm.start" \
	tests/vm/run.sh --timeout "$vm_timeout" --log "$vmlog" "$p" >"$out/vm.out" 2>&1
vm_st=$?
waited=$(($(cat "$out/vm.start" 2>/dev/null || echo "$asked") - asked))
lines=0 progs_reported=0
while IFS= read -r line; do
	line=${line%$'\r'}
	case $line in
	"arm64: ok - "*) result "guest: ${line#arm64: ok - }" 0; lines=$((lines + 1)) ;;
	"arm64: not ok - "*) result "guest: ${line#arm64: not ok - }" 1; lines=$((lines + 1)) ;;
	"arm64: "*": ok "*|"arm64: "*": not ok "*)
		l=${line#arm64: }
		prog=${l%%: *} l=${l#*: }
		case $l in
		ok*) st=0 ;;
		*) st=1 ;;
		esac
		l=${l#not } l=${l#ok }
		result "$prog: ${l#* }" $st
		progs_reported=$((progs_reported + 1))
		;;
	esac
done < <(grep -a '^arm64: ' "$out/vm.out")
boot=$(sed -n 's/^vm: payload starts at \([0-9.]*\)s uptime.*/\1/p' "$vmlog" | tail -n1)
# uname -m, uname -r, the module's srcversion and one line per program
expect=$((3 + ${#runs[@]}))
[ $vm_st -eq 0 ] && [ $lines -eq $expect ] && [ $progs_reported -gt 0 ]
st=$?
# what failed, for the log: the checks, the harness's failures, run.sh's
# verdict and the kernel log problems it found
awk '/^vm: ===== kernel log problems/ { p = 1 } p || /^vm: / ||
	/arm64: not ok|arm64: .*: not ok|^# .*[a-z_]+\.c:[0-9]+:.*(Expected|Timeout)/
	/^vm: ===== end of kernel log problems/ { p = 0 }' "$out/vm.out" >"$out/vm.failures"
result "VM run (qemu-system-aarch64, TCG): exit $vm_st, $lines of $expect guest checks and $progs_reported kselftest results reported; payload started at ${boot:-?} s uptime ($((SECONDS - t0)) s, $waited s of it waiting for build/.vm.lock)" $st "$out/vm.failures"
finish
