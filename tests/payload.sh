#!/bin/bash
# Build everything the test VM needs and gather it in build/payload:
# dfu.ko for the guest kernel, the emulated device, the selftests, the
# scripts that run in the guest and the real firmware image.
# Usage: tests/payload.sh   (after tests/vm/setup.sh)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# shellcheck source=/dev/null
. build/vm.env

make -s -C "$KDIR_612" M="$top/driver" modules
make -s -C tests/emulator
make -s -C userspace
make -s -C tests/selftests KSFT_DIR="$KSFT_DIR"

p=build/payload
rm -rf "$p"
mkdir -p "$p/images" "$p/guest"
cp driver/dfu.ko tests/emulator/dfu-emu tests/selftests/dfu_flash_test \
	tests/selftests/dfu_fault_test tests/selftests/dfu_stress_test tests/selftests/dfu_suffix_test \
	tests/selftests/dfu_quirk_test tests/selftests/dfu_device_test tests/selftests/dfuctl_test \
	userspace/dfuctl "$p/"
cp tests/guest/run "$p/"
cp tests/guest/*.sh "$p/guest/"
# the udev rules and unit, for tests/guest/udev.sh to install
mkdir -p "$p/udev"
cp udev/*.rules udev/*.service "$p/udev/"
cp "$UBOOT_BIN" "$p/images/u-boot.bin"
