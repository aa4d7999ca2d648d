#!/bin/bash
# make check: host-side checks of the driver source and of dfuctl's image
# library, then the selftests in QEMU guests against the emulated DFU
# device: a short flash test on Debian's 6.12 kernel with the DKMS-built
# module, and every selftest plus the USB fuzzer on the debug kernel with
# the in-tree module.
# Ends with "N passed, N failed" (", N skipped" when any were skipped).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

tests/vm/setup.sh || { echo "check: tests/vm/setup.sh failed" >&2; exit 1; }
# shellcheck source=/dev/null
. build/vm.env
mkdir -p build/check

pass=0 fail=0 skip=0
result() {	# result NAME STATUS [LOGFILE]
	if [ "$2" -eq 0 ]; then
		echo "ok - $1"
		pass=$((pass + 1))
	else
		echo "not ok - $1"
		[ -n "${3:-}" ] && sed 's/^/#   /' "$3" | tail -n 40
		fail=$((fail + 1))
	fi
}

# tap_lane NAME: run tests/NAME.sh, whose "ok N - ..." / "not ok N - ..."
# lines each count here as "NAME: ...", then one more check that it exited
# 0 and ran as many checks as its plan (1..N) announced.
tap_lane() {
	local name=$1 log=build/check/$1.log t=$SECONDS st plan ran line
	"tests/$name.sh" >"$log" 2>&1
	st=$?
	while IFS= read -r line; do
		case $line in
		"ok "*) result "$name: ${line#ok * - }" 0 ;;
		"not ok "*) result "$name: ${line#not ok * - }" 1 "$log" ;;
		esac
	done <"$log"
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log")
	ran=$(grep -cE '^(not )?ok [0-9]+ - ' "$log")
	[ "$st" -eq 0 ] && [ -n "$plan" ] && [ "$plan" -eq "$ran" ]
	result "tests/$name.sh ran its $ran checks of ${plan:-no plan} ($((SECONDS - t)) s)" $? "$log"
}

# the driver's own sources, not what kbuild generates (dfu.mod.c)
sources=$(ls driver/*.[ch] include/uapi/linux/usb/dfu.h | grep -v '\.mod\.c$')
nc=$(ls driver/*.c | grep -vc '\.mod\.c$')

# The driver builds without a single warning at W=1 on both Debian kernels,
# and sparse (C=2: every file again, without recompiling) finds nothing in
# our files.
for kdir in "$KDIR_612" "$KDIR_61"; do
	krel=$(basename "$(dirname "$kdir")")
	log=build/check/build-$krel.log
	make -s -C "$kdir" M="$top/driver" clean >/dev/null 2>&1
	make -C "$kdir" M="$top/driver" W=1 modules >"$log" 2>&1
	st=$?
	grep -qiE 'warning|error' "$log" && st=1
	result "driver builds at W=1 against $krel with no warnings" "$st" "$log"

	log=build/check/sparse-$krel.log
	make -C "$kdir" M="$top/driver" C=2 CHECK=sparse modules >"$log" 2>&1
	st=$?
	checked=$(grep -cE '^ +CHECK +.*/driver/[^/]+\.c$' "$log")
	[ "$checked" -eq "$nc" ] || { st=1; echo "sparse checked $checked of $nc files" >>"$log"; }
	grep -E ': (warning|error):' "$log" | grep -qF "$top/" && st=1
	result "sparse reports nothing in the driver against $krel" "$st" "$log"
done

# checkpatch --strict. The DFU spec's CamelCase field names (bStatus,
# bwPollTimeout...) are kept on purpose, as usb/ch9.h keeps bLength.
log=build/check/checkpatch.log
perl "$CHECKPATCH" --no-tree --strict --terse --show-types \
	--ignore LINUX_VERSION_CODE,CAMELCASE \
	-f $sources >"$log" 2>&1
st=$?
grep -qE '(ERROR|WARNING|CHECK):' "$log" && st=1
result "checkpatch.pl --strict is clean" "$st" "$log"

# Every ioctl of the uapi header has a kernel-doc comment.
log=build/check/ioctl-doc.log
uapi=include/uapi/linux/usb/dfu.h
ioctls=$(sed -n 's/^#define[[:space:]]\{1,\}\(USB_DFU_IOCTL_[A-Z_]*\)[[:space:]]\{1,\}_IO.*/\1/p' "$uapi" | sort)
documented=$(perl "$KERNEL_DOC" -rst -sphinx-version 3.0 "$uapi" 2>/dev/null |
	sed -n 's/^\.\. c:macro:: //p' | sort)
missing=$(comm -23 <(echo "$ioctls") <(echo "$documented"))
{ echo "ioctls:" $ioctls; echo "without kernel-doc:" $missing; } >"$log"
st=0
[ -n "$ioctls" ] && [ -z "$missing" ] || st=1
result "every ioctl in $uapi has kernel-doc" "$st" "$log"

# The user guide builds with docutils, warnings as errors (kernel-doc
# directives are checked by running kernel-doc; see tests/rstcheck.py).
log=build/check/rst.log
python3 tests/rstcheck.py "$KERNEL_DOC" Documentation/usb/dfu.rst >"$log" 2>&1
result "Documentation/usb/dfu.rst builds with docutils, no warnings" $? "$log"

# The DKMS life cycle on both kernels; leaves the 6.12 module it built in
# build/dkms/dfu.ko, which the VM tests below load.
log=build/check/dkms.log
t=$SECONDS
tests/dkms.sh >"$log" 2>&1
dkms_st=$?
result "DKMS add, build, install, remove on 6.1 and 6.12 ($((SECONDS - t)) s)" "$dkms_st" "$log"

# dfu.ko built in a Debian 6.12 kernel tree, configured through our Kconfig
log=build/check/intree.log
t=$SECONDS
tests/intree.sh >"$log" 2>&1
result "in-tree build in linux-source-6.12 with CONFIG_USB_DFU=m ($((SECONDS - t)) s)" $? "$log"
# A workstation keeps the 1.7 GB tree for the next run; CI frees the disk.
[ "${CI:-}" != true ] || rm -rf build/intree

# dfu.ko cross-built at W=1 for arm64 (Debian's 6.12 headers) and 32-bit
# ARM (armmp 6.12 and 6.1), broken copies that must fail there (a u64 /
# u32 division, a size_t printed with %lu), and the uapi layout for x86_64,
# i386, arm64 and armhf. Each of tests/cross.sh's checks counts here.
tap_lane cross

log=build/check/kernel-doc.log
perl "$KERNEL_DOC" -none -Wall $sources >"$log" 2>&1
st=$?
[ -s "$log" ] && st=1
result "kernel-doc reports nothing" "$st" "$log"

# The image library and dfuctl suffix on the host: unit tests, the command
# line, and a bounded libFuzzer run of each parser (DFU_FUZZ_SECONDS, 20 s).
# tests/unit.sh installs what they need.
log=build/check/unit.log
tests/unit.sh unit >"$log" 2>&1
result "unit tests of the suffix, DfuSe and image checks and the progress display pass (cmocka, ASan, UBSan)" $? "$log"
log=build/check/cli.log
tests/unit.sh cli >"$log" 2>&1
result "dfuctl suffix: exit codes, and the same bytes as dfu-suffix" $? "$log"
# dfuctl's Makefile takes a packager's CPPFLAGS, CFLAGS and LDFLAGS on top
# of its own flags, and makes warnings errors only in our own builds.
log=build/check/packager-flags.log
(
	own=$(make -s -n -B -C userspace dfuctl)
	pkg=$(make -s -n -B -C userspace CPPFLAGS=-DPKG_CPP CFLAGS="-O1 -gz" LDFLAGS=-Wl,-z,now dfuctl)
	printf 'own build:\n%s\npackager build:\n%s\n' "$own" "$pkg"
	st=0
	for f in -std=c11 -Wall -Wextra -Werror -O2; do
		[[ " $own " == *" $f "* ]] || { st=1; echo "own build lacks $f"; }
	done
	for f in -std=c11 -Wall -Wextra -DPKG_CPP -O1 -gz -Wl,-z,now; do
		[[ " $pkg " == *" $f "* ]] || { st=1; echo "packager build lacks $f"; }
	done
	[[ " $pkg " != *" -Werror "* ]] || { st=1; echo "packager build has -Werror"; }
	exit $st
) >"$log" 2>&1
result "dfuctl builds with a packager's CPPFLAGS, CFLAGS and LDFLAGS, without -Werror" $? "$log"
log=build/check/version.log
make -s -C userspace >"$log" 2>&1 && userspace/dfuctl --version >>"$log" 2>&1 &&
	[ "$(tail -n1 "$log")" = "dfuctl $(cat VERSION)" ]
result "dfuctl --version prints the package's VERSION" $? "$log"
# dfu-recovery@.service's sandbox: systemd-analyze security below 3 and
# verify clean; the sysusers file makes the group dfu of 60-dfu.rules
log=build/check/systemd-unit.log
tests/systemd-unit.sh >"$log" 2>&1
result "dfu-recovery@.service: systemd-analyze security below 3, verify clean; dfu.sysusers.conf makes the group dfu" $? "$log"
for f in suffix dfuse image; do
	log=build/check/fuzz-$f.log
	tests/unit.sh fuzz "$f" >"$log" 2>&1
	result "libFuzzer finds nothing in the $f check in ${DFU_FUZZ_SECONDS:-20} s" $? "$log"
done

# vm_lane NAME KERNEL PAYLOAD MODE KO: boot KERNEL (debian or debug) with
# the payload, run "run MODE" in it, count its TAP lines, and check that
# the guest's kernel log stayed clean and that the guest loaded KO.
vm_lane() {
	local name=$1 kernel=$2 payload=$3 mode=$4 want_ko=$5
	local vmlog=build/check/vm-$name.log vmst counts p f s ran built st
	# eight dummy_hcd ports, for dfuctl_fleet_test's eight devices at once
	DFU_VM_KERNEL=$kernel DUMMY_HCD_NUM=8 tests/vm/run.sh \
		--timeout "${DFU_CHECK_TIMEOUT:-3000}" --log "$vmlog" "$payload" "$mode" >/dev/null
	vmst=$?
	tr -d '\r' <"$vmlog" | grep -E '^(not )?ok [0-9-]|^#' | grep -vE '^# *(RUN|OK) ' |
		sed -n '/=== dmesg/q;p'
	counts=$(tr -d '\r' <"$vmlog" | awk '
		/^ok [0-9-]/ { if ($0 ~ /# SKIP/) s++; else p++ }
		/^not ok [0-9-]/ { f++ }
		END { printf "%d %d %d", p, f, s }')
	read -r p f s <<<"$counts"
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	# what the guest's kernel log showed, and how a guest that never
	# reported ended (run.sh has told failed boots on stderr)
	if [ "$vmst" -ge 124 ]; then
		sed -n '/=== dmesg begin/q;p' "$vmlog" | tail -n 40
	else
		sed -n '/kernel log problems =====$/,/end of kernel log problems/p' "$vmlog"
	fi >"build/check/vm-$name-why.log"
	result "$name: the VM ran every test and its kernel log is clean" "$vmst" "build/check/vm-$name-why.log"
	# Each kselftest program announced its plan (1..N after "TAP version
	# 13") and reported N results and its totals: one that died halfway
	# fails here instead of shrinking the count.
	# (awk reads to the end: a reader that quits early would fail the
	# pipeline under pipefail)
	tr -d '\r' <"$vmlog" | awk '
		/=== dmesg/ { dmesg = 1 }
		dmesg { next }
		function done_prog(why) {
			if (seen != plan || why != "") {
				printf "program %d: plan 1..%d, %d results%s\n", progs, plan, seen, why
				bad++
			}
			inprog = 0
		}
		/^TAP version 13/ { if (inprog) done_prog(", no totals"); inprog = 1; progs++; plan = -1; seen = 0; next }
		inprog && plan < 0 && /^1\.\.[0-9]+/ { plan = substr($0, 4) + 0; next }
		inprog && /^(not )?ok [0-9]+ / { seen++ }
		inprog && /^# Totals:/ { done_prog("") }
		END {
			if (inprog) done_prog(", no totals")
			printf "%d kselftest programs, %d short of their plan\n", progs, bad
			exit (bad > 0 || progs == 0)
		}' >"build/check/vm-$name-plans.log"
	result "$name: every selftest program reported as many results as its plan announced" $? "build/check/vm-$name-plans.log"
	ran=$(tr -d '\r' <"$vmlog" | sed -n 's/^# dfu.ko sha256 //p' | head -n1)
	built=$(sha256sum <"$want_ko" 2>/dev/null | cut -d' ' -f1)
	st=0
	[ -n "$ran" ] && [ "$ran" = "$built" ] || st=1
	echo "the VM loaded dfu.ko with sha256 '$ran'; $want_ko has '$built'" >"build/check/vm-$name-ko.log"
	result "$name: the VM loaded $want_ko" "$st" "build/check/vm-$name-ko.log"
}

# Debian's own 6.12 kernel: a short flash test of the DKMS-built module
# (dfu_flash_test's own_device tests), so that what users install is tested.
log=build/check/payload-debian.log
if [ "$dkms_st" -eq 0 ] && tests/payload.sh --ko build/dkms/dfu.ko --out build/payload-debian >"$log" 2>&1; then
	result "driver, emulator and selftests build for Debian's 6.12" 0
	vm_lane debian debian build/payload-debian flash build/dkms/dfu.ko
else
	result "driver, emulator and selftests build for Debian's 6.12" 1 "$log"
fi

# The debug kernel (KASAN, lockdep, UBSAN, kmemleak...; tests/kernel/build.sh,
# cached in $DFU_CACHE) with the in-tree module: every selftest, then the
# USB fuzzer on a fixed block of seeds (DFU_FUZZ_SEEDS).
log=build/check/kernel.log
t=$SECONDS
tests/kernel/build.sh >"$log" 2>&1
kst=$?
result "debug kernel and in-tree dfu.ko (CONFIG_USB_DFU=m) build ($((SECONDS - t)) s)" "$kst" "$log"
log=build/check/payload-debug.log
if [ "$kst" -eq 0 ] && . build/kernel.env &&
   DFU_VM_KERNEL=debug tests/payload.sh --ko "$DEBUG_DFU_KO" --out build/payload-debug >"$log" 2>&1; then
	result "driver, emulator and selftests build for the debug kernel" 0
	t=$SECONDS
	seeds=${DFU_FUZZ_SEEDS:-1-24}
	DFU_FUZZ_SEEDS=$seeds vm_lane debug debug build/payload-debug check "$DEBUG_DFU_KO"
	# the fuzzer ran every seed it was given, no fewer
	want=$(( ${seeds#*-} - ${seeds%-*} + 1 ))
	ran=$(tr -d '\r' <build/check/vm-debug.log | sed -n 's/^# summary: \([0-9]*\) seeds,.*/\1/p' | tail -n1)
	echo "the fuzzer ran '${ran}' seeds of $seeds ($want)" >build/check/fuzz-seeds.log
	[ "$ran" = "$want" ]
	result "the USB fuzzer ran all $want seeds" $? build/check/fuzz-seeds.log
	echo "# debug kernel lane: $((SECONDS - t)) s"
else
	result "driver, emulator and selftests build for the debug kernel" 1 "$log"
fi

# The emulator's STM32F4 DfuSe ROM against Debian's dfu-util, without
# dfu.ko: the device the driver's DfuSe support will be tested on behaves
# as the reference host expects (flash and leave, read back, a .dfu file,
# mass erase).
log=build/check/dfuse-dfu-util.log
t=$SECONDS
tests/dfuse-dfu-util.sh >"$log" 2>&1
result "dfu-util flashes and reads the emulated DfuSe devices (stm32f4, stusbd, bmp, gd32vf103) ($((SECONDS - t)) s)" $? "$log"

# The emulator's Apple SecureROM (dfu-emu --apple) against Debian's
# irecovery, the reference host, and dfu-util, without dfu.ko: the device
# the driver's Apple support is tested on gets from irecovery what it
# expects, and boots or rejects the image as a real ROM would. Then dfu.ko
# on the same images: the same DNLOADs and dwCRC as irecovery; and
# irecovery beside dfu.ko (bind_apple=N, or the interface unbound).
log=build/check/apple-irecovery.log
t=$SECONDS
tests/apple-irecovery.sh >"$log" 2>&1
result "irecovery boots images on the emulated Apple ROM and --apple-accept rejects others; dfu-util's downloads are rejected; dfu.ko sends what irecovery sends ($((SECONDS - t)) s)" $? "$log"

# The ioctls from 32-bit programs on the 64-bit kernel (compat_ioctl): the
# ioctl kselftests and dfuctl built for i386 (Debian's i686-linux-gnu-gcc,
# i386 multiarch libraries) in one VM boot, and a scratch dfu.ko without
# .compat_ioctl that must fail them (ENOTTY) and pass the 64-bit test.
# Each of tests/compat32.sh's checks counts here.
tap_lane compat32

# An embedded host as it is: Debian's 6.12 kernel with busybox as the only
# userland (no udev, no GNU binaries), the README's mdev.conf lines under
# mdev -s and mdev -d, busybox cat, dd bs=1 and dd conv=fsync, sysfs and
# the kernel log (tests/busybox.sh). Each of its checks counts here.
tap_lane busybox

# dfu.ko on arm64: Debian's arm64 6.12 kernel in qemu-system-aarch64 (virt,
# TCG) with a guest of busybox alone; raw_gadget.ko, dfu.ko (W=1), dfu-emu
# and the flash, fault and suffix kselftests cross-built for it, 55 of their
# tests (make check-arm64 runs them whole). Each of tests/arm64.sh's checks
# counts here.
tap_lane arm64

# An appliance as it ships: a Debian 12 image from mmdebstrap (its root
# file system cached in $DFU_CACHE/appliance/), the project installed by
# README.md's appliance commands as written, booted with systemd as PID 1;
# the real udev rule and dfu-recovery@.service flash, refuse and stop at
# three attempts, and the journal tells (tests/appliance.sh).
tap_lane appliance

# make install and make uninstall into a staging DESTDIR, as a local
# install (PREFIX=/usr/local) and as a package or an appliance image would
# (PREFIX=/usr, then depmod -b as README.md says).
alias_dfu='usb:v1209p2300d0100dc00dsc00dp00icFEisc01ip02in00'	# a DFU-mode interface
for prefix in /usr/local /usr; do
	case $prefix in
	/usr) rules=/usr/lib/udev/rules.d units=/usr/lib/systemd/system sysusers=/usr/lib/sysusers.d
		tmpfiles=/usr/lib/tmpfiles.d ;;
	*) rules=/etc/udev/rules.d units=/etc/systemd/system sysusers=/etc/sysusers.d
		tmpfiles=/etc/tmpfiles.d ;;
	esac
	stage=$top/build/check/stage
	log=build/check/install-$(basename "$prefix").log
	rm -rf "$stage"
	st=0
	{
		make -s install DESTDIR="$stage" PREFIX="$prefix" KDIR="$KDIR_612" || st=1
		expect=$({
			echo "/lib/modules/$KREL/updates/dfu.ko"
			echo "$prefix/bin/dfuctl"
			echo "$prefix/include/linux/usb/dfu.h"
			echo "$sysusers/dfu.conf"
			echo "$tmpfiles/dfu.conf"
			for f in udev/*.rules; do echo "$rules/${f##*/}"; done
			for f in udev/*.service; do
				[ -e "$f" ] && echo "$units/${f##*/}"
			done
			for f in userspace/*.1; do
				[ -e "$f" ] && echo "$prefix/share/man/man1/${f##*/}"
			done
		} | sort)
		got=$(cd "$stage" && find . ! -type d | sed 's/^\.//' | sort)
		echo "installed:"
		echo "$got"
		[ "$got" = "$expect" ] || { st=1; echo "expected:"; echo "$expect"; }
		cmp driver/dfu.ko "$stage/lib/modules/$KREL/updates/dfu.ko" || st=1
		cmp include/uapi/linux/usb/dfu.h "$stage$prefix/include/linux/usb/dfu.h" || st=1
		[ -x "$stage$prefix/bin/dfuctl" ] || { st=1; echo "dfuctl is not executable"; }
		for f in udev/*.service; do	# units run the dfuctl installed here
			[ -e "$f" ] || continue
			if grep -q /usr/bin/dfuctl "$f" &&
			   ! grep -q "ExecStart=$prefix/bin/dfuctl " "$stage$units/${f##*/}"; then
				st=1
				echo "${f##*/} does not run $prefix/bin/dfuctl"
			fi
		done
		if [ "$prefix" = /usr ]; then
			depmod -b "$stage" "$KREL" || st=1
			dep=$(modprobe -d "$stage" -S "$KREL" --show-depends "$alias_dfu") || st=1
			echo "modprobe --show-depends $alias_dfu: $dep"
			[[ $dep == "insmod $stage/lib/modules/$KREL/updates/dfu.ko"* ]] || st=1
			rm -f "$stage/lib/modules/$KREL"/modules.*
		fi
		make -s uninstall DESTDIR="$stage" PREFIX="$prefix" KDIR="$KDIR_612" || st=1
		left=$(cd "$stage" && find . ! -type d)
		[ -z "$left" ] || { st=1; echo "left after uninstall:"; echo "$left"; }
	} >"$log" 2>&1
	result "make install, uninstall with DESTDIR and PREFIX=$prefix" "$st" "$log"
done

echo
line="$pass passed, $fail failed"
[ "$skip" -gt 0 ] && line="$line, $skip skipped"
echo "$line"
[ "$fail" -eq 0 ]
