#!/bin/bash
# tests/compat32.sh - the driver's ioctls from 32-bit programs on the 64-bit
# kernel (compat_ioctl), in the test VM:
#
#   1. The ioctl kselftests (the ones that call ioctl() on the node, and
#      dfuctl_test) and dfuctl are built for i386 with Debian's
#      i686-linux-gnu-gcc (libc6-dev-i386-cross), not gcc -m32: gcc-multilib
#      conflicts with Debian's cross compilers (tests/cross.sh). The
#      kselftests are static (tests/selftests/Makefile); dfuctl links
#      libudev, zlib and libcrypto of Debian's i386 packages (multiarch
#      libudev-dev:i386 ..., tests/debian-packages.sh --arch i386) and is
#      dynamic: Debian has no static libudev. The existing Makefiles build
#      them from copies under build/compat32 (CC=, TOP=), so the tree keeps
#      its 64-bit programs. readelf must say ELF32, Intel 80386, and it must
#      refuse a 64-bit program.
#   2. A scratch dfu.ko without .compat_ioctl (build/compat32/nocompat,
#      never in driver/), built against the guest kernel's headers.
#   3. One VM boot (Debian's 6.12 amd64 kernel, CONFIG_IA32_EMULATION; the
#      script checks its config, and gives ia32_emulation=1 when the
#      kernel has it off by default). The payload of tests/payload.sh with
#      the 32-bit programs under their own names (the 64-bit
#      dfu_flash_test stays as dfu_flash_test64), the loader and libraries
#      of the 32-bit dfuctl; each program runs through tests/guest/check.sh
#      (insmod, the program, rmmod). Then, on the module without
#      .compat_ioctl, the 32-bit dfu_flash_test (sysfs_and_info,
#      dfuctl_info_and_status) must fail with ENOTTY from the 32-bit dfuctl
#      while the 64-bit one passes: what passed before went through
#      compat_ioctl.
#
# Not run here: dfu_fuzz_test (a fuzzer, in make check's own lane), the
# dfuctl_* tests that need udev (dfuctl_find/recover/safety_test), and
# dfu_quirk_test and dfu_stress_test (no ioctl).
#
# Usage: tests/compat32.sh [--all]   (after tests/vm/setup.sh; takes build/.vm.lock)
# --all: every test of the programs, not only those that use the ioctls.
# Prints "ok N - ..." or "not ok N - ..." per check, then 1..N; exits 0
# when every check passed. Logs: build/compat32/*.log, the guest's in
# build/compat32/vm.log.
set -uo pipefail
export LC_ALL=C LANG=C
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
# shellcheck source=/dev/null
. build/vm.env || { echo "compat32: no build/vm.env: run tests/vm/setup.sh" >&2; exit 2; }

out=build/compat32
p=build/payload-compat32
mkdir -p "$out"
cc=i686-linux-gnu-gcc

# The kselftests that call ioctl() on the node (emu.c's helpers included),
# and dfuctl_test, which drives the 32-bit dfuctl. make check runs the tests
# of each that use the ioctls (each of the 15, every struct of the header,
# and dfuctl's); --all runs the programs whole (7 minutes in the VM).
progs=(dfu_flash_test dfu_fault_test dfu_suffix_test dfu_commit_test dfu_device_test
	dfu_access_test dfu_reset_test dfu_dfuse_test dfu_apple_test dfuctl_test)
runs=(
	"dfu_flash_test -t sysfs_and_info -t dfuctl_info_and_status -t alt_settings"
	"dfu_fault_test -t abort_ioctl_mid_download -t stall_then_retry"
	"dfu_suffix_test"
	"dfu_commit_test -t set_commit_arguments -t explicit_commit_ioctl_manifests -t exit_zero_without_close_commits"
	"dfu_device_test -t detach_then_flash"
	"dfu_access_test -t target_per_file -t state_changes_need_write_access"
	"dfu_reset_test"
	"dfu_dfuse_test -t erase_ioctl -t mass_erase_ioctl -t set_base -t ioctls_need_dfuse"
	"dfu_apple_test -t boots -t read_and_detach_refused"
	"dfuctl_test -t list_shows_the_device -t flash_commits_explicitly -t abort_needs_write_access -t alt_and_verify -t detach_flash_verify -t dfuse_flash_address -t dfuse_erase"
)
case ${1:-} in
--all) runs=("${progs[@]}") ;;
"") ;;
*) echo "usage: tests/compat32.sh [--all]" >&2; exit 2 ;;
esac

# shellcheck source=tests/tap.sh
. tests/tap.sh

# --- Debian packages ---------------------------------------------------------
# Checked here by name:arch (tests/debian-packages.sh compares names without
# the architecture and would install the :i386 ones on every run).
t0=$SECONDS
log=$out/packages.log
want=(make pkg-config gcc-i686-linux-gnu libc6-dev-i386-cross libc6:i386
	libudev-dev:i386 zlib1g-dev:i386 libssl-dev:i386)
missing=()
for pkg in "${want[@]}"; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" = installed ] ||
		missing+=("$pkg")
done
: >"$log"
st=0
if [ ${#missing[@]} -gt 0 ]; then
	tests/debian-packages.sh compat32.sh --arch i386 "${missing[@]}" >"$log" 2>&1
	st=$?
fi
result "Debian packages: i686 cross compiler, i386 libudev, zlib, libcrypto (${#missing[@]} installed, $((SECONDS - t0)) s)" $st "$log"
[ $st -eq 0 ] || finish

# --- the kernel runs i386 programs ------------------------------------------
config=/boot/config-$KREL
log=$out/kconfig.log
grep -E '^(# )?CONFIG_(IA32_EMULATION|IA32_EMULATION_DEFAULT_DISABLED|COMPAT)[= ]' "$config" >"$log" 2>&1
grep -qx 'CONFIG_IA32_EMULATION=y' "$config"
result "$KREL has CONFIG_IA32_EMULATION=y" $? "$log"
if grep -qx 'CONFIG_IA32_EMULATION_DEFAULT_DISABLED=y' "$config"; then
	export DFU_VM_APPEND="${DFU_VM_APPEND:-} ia32_emulation=1"
	echo "# ia32 emulation is off by default in $KREL: booting with ia32_emulation=1"
fi

# --- 32-bit programs ---------------------------------------------------------
# From copies (cp -p keeps the times, so make rebuilds only what changed).
# kselftest_harness.h casts pointers to intmax_t (ASSERT_NE(NULL, p)), which
# gcc warns about where pointers have 32 bits: -Wno-pointer-to-int-cast. The
# environment's CFLAGS, so that the Makefile's own flags still follow.
t0=$SECONDS
log=$out/build.log
mkdir -p "$out/selftests" "$out/userspace"
cp -p tests/selftests/*.[ch] tests/selftests/Makefile "$out/selftests/"
cp -p userspace/*.[ch] userspace/Makefile "$out/userspace/"
(
	st=0
	CFLAGS="-O2 -Wno-pointer-to-int-cast" make -s -C "$out/selftests" \
		TOP="$top" KSFT_DIR="$KSFT_DIR" CC=$cc "${progs[@]}" || st=1
	# pkg-config of the i386 multiarch packages
	PKG_CONFIG_LIBDIR=/usr/lib/i386-linux-gnu/pkgconfig:/usr/share/pkgconfig \
		make -s -C "$out/userspace" TOP="$top" CC=$cc dfuctl || st=1
	exit $st
) >"$log" 2>&1
result "${#progs[@]} kselftests (static) and dfuctl built with $cc ($((SECONDS - t0)) s)" $? "$log"

# is_i386 FILE [static|dynamic]: ELF32, Intel 80386, and linked as said
is_i386() {
	local h l
	h=$(readelf -h "$1" 2>&1) || { echo "$1: $h"; return 1; }
	l=$(readelf -l "$1" 2>&1)
	grep -q 'Class: *ELF32$' <<<"$h" || { echo "$1: not ELF32: $(grep Class: <<<"$h")"; return 1; }
	grep -q 'Machine: *Intel 80386$' <<<"$h" ||
		{ echo "$1: not i386: $(grep Machine: <<<"$h")"; return 1; }
	case $2 in
	static) ! grep -q 'Requesting program interpreter' <<<"$l" || { echo "$1: not static"; return 1; } ;;
	dynamic) grep -q 'Requesting program interpreter: /lib/ld-linux.so.2' <<<"$l" ||
		{ echo "$1: not for /lib/ld-linux.so.2"; return 1; } ;;
	esac
	echo "$1: ELF32 Intel 80386 $2"
}
log=$out/elf.log
(
	st=0
	for prog in "${progs[@]}"; do
		is_i386 "$out/selftests/$prog" static || st=1
	done
	is_i386 "$out/userspace/dfuctl" dynamic || st=1
	file "$out/selftests/dfu_flash_test" "$out/userspace/dfuctl"
	exit $st
) >"$log" 2>&1
result "readelf: the ${#progs[@]} kselftests are static ELF32 Intel 80386, dfuctl is ELF32 Intel 80386 for /lib/ld-linux.so.2" $? "$log"
# the same check refuses the tree's 64-bit programs
log=$out/elf-64.log
(
	st=0
	for f in tests/selftests/dfu_flash_test userspace/dfuctl; do
		if is_i386 "$f" static; then st=1; fi
	done
	exit $st
) >"$log" 2>&1
result "readelf: the same check refuses the 64-bit tests/selftests/dfu_flash_test and userspace/dfuctl" $? "$log"

# --- dfu.ko without .compat_ioctl -----------------------------------------------
# A copy of driver/ beside ../include and ../VERSION (its Kbuild wants them);
# files are replaced only when they changed, so kbuild rebuilds only those.
t0=$SECONDS
log=$out/nocompat.log
nc=$out/nocompat
mkdir -p "$nc/driver"
ln -sfn "$top/include" "$nc/include"
cp -p VERSION "$nc/VERSION"
(
	st=0
	for f in driver/*.[ch] driver/Kbuild; do
		cmp -s "$f" "$nc/$f" || cp -p "$f" "$nc/$f"
	done
	sed '/\.compat_ioctl[[:space:]]*=[[:space:]]*compat_ptr_ioctl,/d' driver/chardev.c >"$nc/chardev.c.tmp"
	cmp -s "$nc/chardev.c.tmp" "$nc/driver/chardev.c" || mv "$nc/chardev.c.tmp" "$nc/driver/chardev.c"
	rm -f "$nc/chardev.c.tmp"
	echo "driver/chardev.c: $(grep -c 'compat_ioctl' driver/chardev.c) compat_ioctl line(s); the copy: $(grep -c 'compat_ioctl' "$nc/driver/chardev.c")"
	[ "$(grep -c 'compat_ioctl = compat_ptr_ioctl' driver/chardev.c)" = 1 ] || st=1
	! grep -q 'compat_ioctl' "$nc/driver/chardev.c" || st=1
	make -s -C "$KDIR_612" M="$top/$nc/driver" modules || st=1
	vm=$(modinfo -F vermagic "$nc/driver/dfu.ko")
	echo "vermagic: $vm"
	[ "${vm%% *}" = "$KREL" ] || st=1
	exit $st
) >"$log" 2>&1
result "scratch dfu.ko without .compat_ioctl for $KREL ($((SECONDS - t0)) s)" $? "$log"

# --- payload -----------------------------------------------------------------------
t0=$SECONDS
log=$out/payload.log
(
	st=0
	tests/payload.sh --out "$p" || exit 1
	mv "$p/dfu_flash_test" "$p/dfu_flash_test64"
	for prog in "${progs[@]}"; do
		cp "$out/selftests/$prog" "$p/$prog" || st=1
	done
	cp "$out/userspace/dfuctl" "$p/dfuctl" || st=1
	cp "$nc/driver/dfu.ko" "$p/dfu-nocompat.ko" || st=1
	# run.sh copies the libraries ldd names, not the loader
	mkdir -p "$p/lib32"
	cp -L /lib/ld-linux.so.2 "$p/lib32/ld-linux.so.2" || st=1
	exit $st
) >"$log" 2>&1
result "payload $p with the 32-bit programs ($((SECONDS - t0)) s)" $? "$log"

# The guest's run file: dash. Each line "compat32: ok - ..." or
# "compat32: not ok - ..." is one check here.
cat >"$p/run" <<EOF
#!/bin/sh
cd /payload || exit 1
rc=0
say() { echo "compat32: \$*"; case \$* in "not ok"*) rc=1 ;; esac; }
# the 32-bit dfuctl's loader (its libraries are under /usr/lib/i386-linux-gnu)
ln -sf /payload/lib32/ld-linux.so.2 /usr/lib/ld-linux.so.2
for prog in ${progs[*]} dfuctl; do
	# e_ident[EI_CLASS] 1 (ELFCLASS32), e_machine 3 (EM_386)
	elf=\$(od -An -tx1 -j4 -N1 ./\$prog | tr -d ' ')\$(od -An -tx1 -j18 -N2 ./\$prog | tr -d ' ')
	[ "\$elf" = 010300 ] || say "not ok - \$prog in the guest is ELF32 i386 (class, machine: \$elf)"
done
./dfuctl --version >/tmp/v 2>&1 && say "ok - the 32-bit dfuctl runs: \$(cat /tmp/v)" ||
	{ say "not ok - the 32-bit dfuctl runs"; cat /tmp/v; }
# passes: exit 0 and at least one test passed (a -t that matches nothing
# runs nothing)
while read -r prog; do
	t0=\$(date +%s)
	sh ./guest/check.sh "./\$prog" </dev/null >/tmp/out 2>&1
	st=\$?
	cat /tmp/out
	pass=\$(sed -n 's/^# Totals: pass:\([0-9]*\) .*/\1/p' /tmp/out)
	if [ \$st -eq 0 ] && [ "\${pass:-0}" -gt 0 ]; then
		say "ok - \$prog (32-bit): \$pass passed (\$((\$(date +%s) - t0)) s)"
	else
		say "not ok - \$prog (32-bit): exit \$st, \${pass:-no} tests passed (\$((\$(date +%s) - t0)) s)"
	fi
done <<'RUNS'
$(printf '%s\n' "${runs[@]}")
RUNS
# The module without .compat_ioctl: the 32-bit programs' ioctls fail
# (ENOTTY), the 64-bit program's pass.
echo "# dfu-nocompat.ko"
if insmod ./dfu-nocompat.ko; then
	./dfu_flash_test -t sysfs_and_info -t dfuctl_info_and_status </dev/null >/tmp/n32 2>&1
	st32=\$?
	sed 's/^/# 32-bit: /' /tmp/n32
	./dfu_flash_test64 -t sysfs_and_info </dev/null >/tmp/n64 2>&1
	st64=\$?
	sed 's/^/# 64-bit: /' /tmp/n64
	[ \$st32 -ne 0 ] && say "ok - without .compat_ioctl the 32-bit dfu_flash_test fails (exit \$st32)" ||
		say "not ok - without .compat_ioctl the 32-bit dfu_flash_test fails (exit \$st32)"
	grep -q 'Inappropriate ioctl for device' /tmp/n32 &&
		say "ok - without .compat_ioctl the 32-bit dfuctl says ENOTTY: \$(grep -m1 'Inappropriate ioctl' /tmp/n32)" ||
		say "not ok - without .compat_ioctl the 32-bit dfuctl says ENOTTY"
	[ \$st64 -eq 0 ] && grep -q '^# Totals: pass:[1-9]' /tmp/n64 && say "ok - without .compat_ioctl the 64-bit dfu_flash_test passes" ||
		say "not ok - without .compat_ioctl the 64-bit dfu_flash_test passes (exit \$st64)"
	rmmod dfu || say "not ok - rmmod dfu-nocompat.ko"
else
	say "not ok - insmod dfu-nocompat.ko"
fi
exit \$rc
EOF
chmod +x "$p/run"

# --- the VM ------------------------------------------------------------------------
t0=$SECONDS
vmlog=$out/vm.log
# the time spent waiting for the lock: when the run started
rm -f "$out/vm.start"
asked=$(date +%s)
# shellcheck disable=SC2016
DUMMY_HCD_NUM=4 flock build/.vm.lock bash -c 'date +%s >"$1"; shift; exec "$@"' _ "$out/vm.start" \
	tests/vm/run.sh --timeout 900 --log "$vmlog" "$p" >"$out/vm.out" 2>&1
vm_st=$?
waited=$(($(cat "$out/vm.start" 2>/dev/null || echo "$asked") - asked))
lines=0
while IFS= read -r line; do
	line=${line%$'\r'}
	case $line in
	*"compat32: ok - "*) result "guest: ${line#*compat32: ok - }" 0; lines=$((lines + 1)) ;;
	*"compat32: not ok - "*) result "guest: ${line#*compat32: not ok - }" 1; lines=$((lines + 1)) ;;
	esac
done < <(grep -a 'compat32: ' "$out/vm.out")
# each program, the dfuctl run and the three checks without .compat_ioctl
expect=$((${#runs[@]} + 4))
[ $vm_st -eq 0 ] && [ $lines -eq $expect ]
st=$?
# what failed, for the log: the harness's failures and run.sh's verdict
grep -a -E 'compat32: not ok|^not ok |^# [a-z_]+\.c:[0-9]+:.*Expected|^vm: ' "$out/vm.out" >"$out/vm.failures"
result "VM run: exit $vm_st, $lines of $expect guest checks reported ($((SECONDS - t0)) s, $waited s of it waiting for build/.vm.lock)" $st "$out/vm.failures"
finish
