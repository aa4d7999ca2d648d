#!/bin/bash
# Build everything the test VM needs and gather it in build/payload:
# dfu.ko for the guest kernel, the emulated device, the selftests, the
# scripts that run in the guest and the real firmware image.
# Usage: tests/payload.sh [--ko FILE]   (after tests/vm/setup.sh)
# --ko FILE: put FILE into the payload as dfu.ko instead of the module built
# here, e.g. build/dkms/dfu.ko from tests/dkms.sh. It must be built from the
# same sources (same version and srcversion) for the guest's kernel (vermagic).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# shellcheck source=/dev/null
. build/vm.env

ko=driver/dfu.ko
if [ "${1:-}" = --ko ]; then
	ko=${2:?"--ko needs a file"}
fi

make -s -C "$KDIR_612" M="$top/driver" modules
if [ "$ko" != driver/dfu.ko ]; then
	want="$(modinfo -F version driver/dfu.ko) $(modinfo -F srcversion driver/dfu.ko)"
	got="$(modinfo -F version "$ko") $(modinfo -F srcversion "$ko")"
	if [ "$want" = " " ] || [ "$got" != "$want" ]; then
		echo "payload: $ko has version and srcversion '$got'; these sources give '$want'" >&2
		exit 1
	fi
	vm=$(modinfo -F vermagic "$ko")
	if [ "${vm%% *}" != "$KREL" ]; then
		echo "payload: $ko is for '${vm%% *}', the guest runs $KREL" >&2
		exit 1
	fi
	echo "payload: dfu.ko is $ko (version and srcversion $got)"
fi
make -s -C tests/emulator
make -s -C userspace
make -s -C tests/selftests KSFT_DIR="$KSFT_DIR"

p=build/payload
rm -rf "$p"
mkdir -p "$p/images" "$p/guest"
cp driver/dfu.ko tests/emulator/dfu-emu tests/selftests/dfu_flash_test \
	tests/selftests/dfu_fault_test tests/selftests/dfu_stress_test tests/selftests/dfu_suffix_test \
	tests/selftests/dfu_quirk_test tests/selftests/dfu_device_test tests/selftests/dfuctl_test \
	tests/selftests/dfu_commit_test tests/selftests/dfu_access_test tests/selftests/dfu_fuzz_test \
	tests/selftests/dfu_reset_test \
	userspace/dfuctl "$p/"
cp tests/guest/run "$p/"
cp tests/guest/*.sh "$p/guest/"
# the udev rules and unit, for tests/guest/udev.sh to install
mkdir -p "$p/udev"
cp udev/*.rules udev/*.service "$p/udev/"
cp "$UBOOT_BIN" "$p/images/u-boot.bin"
# the module the guest loads: driver/dfu.ko, or the --ko file
cp "$ko" "$p/dfu.ko"
