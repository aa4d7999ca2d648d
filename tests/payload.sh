#!/bin/bash
# Build everything the test VM needs and gather it in build/payload:
# dfu.ko for the guest kernel, the emulated device, the selftests, the
# scripts that run in the guest and the real firmware image.
# Usage: tests/payload.sh [--ko FILE] [--out DIR]   (after tests/vm/setup.sh)
# --out DIR: gather it in DIR instead of build/payload.
# --ko FILE: put FILE into the payload as dfu.ko instead of the module built
# here, e.g. build/dkms/dfu.ko from tests/dkms.sh. It must be built from the
# same sources (same version and srcversion) for the guest's kernel (vermagic).
# With DFU_VM_KERNEL=debug the guest runs the debug kernel of
# tests/kernel/build.sh, and FILE must be its in-tree module (intree=Y, no
# MODULE_VERSION, vermagic of that kernel): build/kernel/dfu.ko.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# shellcheck source=/dev/null
. build/vm.env
if [ "${DFU_VM_KERNEL:-debian}" = debug ]; then
	# shellcheck source=/dev/null
	. build/kernel.env
	KREL=$DEBUG_KREL
fi

ko=driver/dfu.ko
p=build/payload
while [ $# -gt 0 ]; do
	case $1 in
	--ko) ko=${2:?"--ko needs a file"}; shift 2 ;;
	--out) p=${2:?"--out needs a directory"}; shift 2 ;;
	*) echo "usage: tests/payload.sh [--ko FILE] [--out DIR]" >&2; exit 2 ;;
	esac
done

make -s -C "$KDIR_612" M="$top/driver" modules
if [ "${DFU_VM_KERNEL:-debian}" = debug ]; then
	[ "$ko" != driver/dfu.ko ] || { echo "payload: the debug kernel needs --ko $DEBUG_DFU_KO" >&2; exit 1; }
	[ "$(modinfo -F intree "$ko")" = Y ] || { echo "payload: $ko is not an in-tree build" >&2; exit 1; }
elif [ "$ko" != driver/dfu.ko ]; then
	want="$(modinfo -F version driver/dfu.ko) $(modinfo -F srcversion driver/dfu.ko)"
	got="$(modinfo -F version "$ko") $(modinfo -F srcversion "$ko")"
	if [ "$want" = " " ] || [ "$got" != "$want" ]; then
		echo "payload: $ko has version and srcversion '$got'; these sources give '$want'" >&2
		exit 1
	fi
fi
if [ "$ko" != driver/dfu.ko ]; then
	vm=$(modinfo -F vermagic "$ko")
	if [ "${vm%% *}" != "$KREL" ]; then
		echo "payload: $ko is for '${vm%% *}', the guest runs $KREL" >&2
		exit 1
	fi
	echo "payload: dfu.ko is $ko, for $KREL"
fi
make -s -C tests/emulator
make -s -C userspace
make -s -C tests/selftests KSFT_DIR="$KSFT_DIR"
# make bench's tools (tests/guest/bench.sh)
make -s -C tests/bench

rm -rf "$p"
mkdir -p "$p/images" "$p/guest"
cp driver/dfu.ko tests/emulator/dfu-emu tests/selftests/dfu_flash_test \
	tests/selftests/dfu_fault_test tests/selftests/dfu_stress_test tests/selftests/dfu_suffix_test \
	tests/selftests/dfu_quirk_test tests/selftests/dfu_device_test tests/selftests/dfuctl_test \
	tests/selftests/dfu_commit_test tests/selftests/dfu_access_test tests/selftests/dfu_fuzz_test \
	tests/selftests/dfu_reset_test tests/selftests/dfu_dfuse_test tests/selftests/dfu_apple_test \
	tests/selftests/dfuctl_find_test tests/selftests/dfuctl_safety_test \
	tests/selftests/dfuctl_recover_test tests/selftests/dfuctl_fleet_test \
	userspace/dfuctl "$p/"
cp tests/guest/run "$p/"
cp tests/bench/dfu-floor tests/bench/hrsleep tests/bench/rusage "$p/"
# jq: dfuctl_test reads dfuctl's JSON with a real parser
cp "$(command -v jq)" "$p/"
cp tests/guest/*.sh "$p/guest/"
# the udev rules and unit, for tests/guest/udev.sh to install
mkdir -p "$p/udev"
cp udev/*.rules udev/*.service udev/dfu.sysusers.conf "$p/udev/"
# udev.sh creates the group dfu with it, as make install does
cp "$(command -v systemd-sysusers)" "$p/"
cp "$UBOOT_BIN" "$p/images/u-boot.bin"
# the module the guest loads: driver/dfu.ko, or the --ko file
cp "$ko" "$p/dfu.ko"
